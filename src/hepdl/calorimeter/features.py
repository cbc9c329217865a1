"""The public LCD feature set, computed from ECAL and HCAL images as the public code does.

The features are those the CLIC/LCD calorimeter files carry beside their images, computed as
the public conversion script (``addFeatures``, LCD / CaloDNN, 2017) computes them, for a batch
of events at once:

* ``ECAL_E``, ``HCAL_E``: the sum of the cells [GeV];
* ``ECAL_nHits``, ``HCAL_nHits``: the number of cells above ``threshold_gev`` (0.1, the public
  code's ``> 0.1`` applied to cells in GeV, i.e. after its factor 50 on the raw Geant cells);
* ``ECAL_ratioFirstLayerToTotalE``, ``ECAL_ratioFirstLayerToSecondLayerE`` (and HCAL's): the
  first layer's energy over the total and over the second layer's;
* ``ECALmomentX1``...``ECALmomentZ6`` (and HCAL's): the moments of the projections on x, y and
  the layer axis, in cell units: moment 1 is the energy-weighted mean cell index (the
  centroid), moments 2-6 are the central moments ``sum_i P_i (i - centroid)^k / sum_i P_i``;
* ``HCAL_ECAL_ERatio`` = HCAL_E / ECAL_E, ``HCAL_ECAL_nHitsRatio`` = HCAL_nHits / ECAL_nHits.

As in the public files, a ratio with a zero denominator is ``inf`` or ``nan`` (an electron
often leaves nothing in the HCAL, so its HCAL moments are ``nan``): tree models take them as
they are; a network needs them replaced (``np.nan_to_num``) first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FEATURE_NAMES", "HIT_THRESHOLD_GEV", "add_features", "feature_matrix"]

#: Cells above this energy count as hits [GeV].
HIT_THRESHOLD_GEV = 0.1
_CHUNK = 512


def _names(calo: str) -> list[str]:
    return ([f"{calo}_E", f"{calo}_nHits", f"{calo}_ratioFirstLayerToTotalE",
             f"{calo}_ratioFirstLayerToSecondLayerE"]
            + [f"{calo}moment{axis}{k}" for axis in "XYZ" for k in range(1, 7)])


#: The 46 feature names, in the order of :func:`feature_matrix`.
FEATURE_NAMES = (*_names("ECAL"), *_names("HCAL"), "HCAL_ECAL_ERatio", "HCAL_ECAL_nHitsRatio")


def _moments(projection, total):
    """Moments 1-6 of projections (n, size) about their centroid, in cell units."""
    index = np.arange(projection.shape[1], dtype=float)
    centroid = projection @ index / total
    out = [centroid]
    offset = index[None, :] - centroid[:, None]
    for k in range(2, 7):
        out.append(np.einsum("ni,ni->n", projection, offset**k) / total)
    return out


def _one_calorimeter(image, calo, threshold_gev):
    image = np.asarray(image, dtype=np.float64)
    total = image.sum(axis=(1, 2, 3))
    layers = image.sum(axis=(1, 2))
    out = {f"{calo}_E": total,
           f"{calo}_nHits": (image > threshold_gev).sum(axis=(1, 2, 3)),
           f"{calo}_ratioFirstLayerToTotalE": layers[:, 0] / total,
           f"{calo}_ratioFirstLayerToSecondLayerE": layers[:, 0] / layers[:, 1]}
    projections = {"X": image.sum(axis=(2, 3)), "Y": image.sum(axis=(1, 3)), "Z": layers}
    for axis, projection in projections.items():
        for k, moment in enumerate(_moments(projection, total), start=1):
            out[f"{calo}moment{axis}{k}"] = moment
    return out


def add_features(ecal, hcal, *, threshold_gev: float = HIT_THRESHOLD_GEV) -> dict:
    """The public features of each event, from its ECAL and HCAL images.

    Parameters
    ----------
    ecal : (n, nx, ny, n_layers) array
        ECAL cell energies [GeV], the layer axis last (25 x 25 x 25 or 51 x 51 x 25).
    hcal : (n, nx, ny, n_layers) array
        HCAL cell energies [GeV] (5 x 5 x 60 or 11 x 11 x 60).
    threshold_gev : float
        A cell above this energy is a hit [GeV].

    Returns
    -------
    dict
        :data:`FEATURE_NAMES` -> (n,) arrays: ``*_nHits`` int64, the rest float64 (``nan`` or
        ``inf`` where a denominator is zero, as in the public files).

    Examples
    --------
    One hit of 2 GeV in ECAL cell (3, 4) of layer 0 and 1 GeV in (5, 4) of layer 1:

    >>> ecal = np.zeros((1, 25, 25, 25)); hcal = np.zeros((1, 5, 5, 60))
    >>> ecal[0, 3, 4, 0], ecal[0, 5, 4, 1] = 2.0, 1.0
    >>> f = add_features(ecal, hcal)
    >>> f["ECAL_E"].tolist(), f["ECAL_nHits"].tolist(), f["ECAL_ratioFirstLayerToSecondLayerE"]
    ([3.0], [2], array([2.]))
    >>> round(float(f["ECALmomentX1"][0]), 4), round(float(f["ECALmomentX2"][0]), 4)
    (3.6667, 0.8889)
    >>> bool(np.isnan(f["HCALmomentX1"][0])), float(f["HCAL_ECAL_ERatio"][0])
    (True, 0.0)
    """
    ecal, hcal = np.asarray(ecal), np.asarray(hcal)
    if ecal.ndim != 4 or hcal.ndim != 4 or ecal.shape[0] != hcal.shape[0]:
        raise ValueError(f"ecal and hcal must be (n, nx, ny, n_layers) arrays of the same n "
                         f"events, got shapes {ecal.shape} and {hcal.shape}")
    n = ecal.shape[0]
    parts = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, max(n, 1), _CHUNK):
            stop = start + _CHUNK
            out = _one_calorimeter(ecal[start:stop], "ECAL", threshold_gev)
            out.update(_one_calorimeter(hcal[start:stop], "HCAL", threshold_gev))
            out["HCAL_ECAL_ERatio"] = out["HCAL_E"] / out["ECAL_E"]
            out["HCAL_ECAL_nHitsRatio"] = out["HCAL_nHits"] / out["ECAL_nHits"]
            parts.append(out)
    return {name: np.concatenate([part[name] for part in parts]) for name in FEATURE_NAMES}


def feature_matrix(features, names=FEATURE_NAMES) -> np.ndarray:
    """Stack features (a dict of (n,) arrays, e.g. a particle file's) into an (n, k) float64
    matrix, columns in the order of ``names``.

    Examples
    --------
    >>> feature_matrix({"ECAL_E": np.array([1.0, 2.0]), "HCAL_E": np.array([0.5, 0.0])},
    ...                names=["HCAL_E", "ECAL_E"])
    array([[0.5, 1. ],
           [0. , 2. ]])
    """
    missing = [name for name in names if name not in features]
    if missing:
        raise KeyError(f"features lack {', '.join(missing)}; compute them with add_features "
                       "or read a file that has them")
    return np.stack([np.asarray(features[name], dtype=np.float64) for name in names], axis=1)
