"""An LCD/CLIC-like calorimeter: a silicon-tungsten ECAL in front of a steel-scintillator HCAL.

The public LCD calorimeter images (CLIC detector model, see ``datasets/calorimeter_showers``)
cut a window around the shower's barycentre: 25 x 25 ECAL cells of 5.1 mm x 25 layers, and
5 x 5 HCAL cells of 30 mm x 60 layers; the later files use a larger window, 51 x 51 x 25 and
11 x 11 x 60 (:data:`LARGE_ECAL_SHAPE`, :data:`LARGE_HCAL_SHAPE`). Arrays are ``(x, y, layer)``
with the layer (depth along the particle) last, as in the public files: ``ECAL[..., 0]`` is the
first ECAL layer.

Materials (PDG, "Atomic and Nuclear Properties of Materials", pdg.lbl.gov/AtomicNuclearProperties):

========================  ==========  ==========  ==========  =========  ====================
material                  X0 [mm]     R_M [mm]    Ec [MeV]    lambda_I   dE/dx_min
                                                              [mm]       [MeV cm2/g]
========================  ==========  ==========  ==========  =========  ====================
tungsten (19.3 g/cm3)     3.504       9.327       7.97        99.46      1.145
iron (7.874 g/cm3)        17.57       17.19       21.68       167.7      1.451
polystyrene (1.06 g/cm3)  413.1       (n/a)       (n/a)       770.7      1.936
========================  ==========  ==========  ==========  =========  ====================

Layer structure (modelling choices, sized to the data set's description: an ECAL of about 25 X0
of tungsten, an HCAL of 60 steel-scintillator layers of about 7 lambda_I, as in the CLIC CDR,
arXiv:1202.5940, and CLICdet, arXiv:1812.07337):

* ECAL: 25 layers, each 3.5 mm of tungsten (1.0 X0, 0.035 lambda_I) at a pitch of 6.36 mm (the
  radial cell size of the public conversion code; the rest is silicon, readout and air), so
  25.0 X0 and 0.88 lambda_I in all. A sampling structure spreads a shower wider than the
  absorber alone: the effective Moliere radius is R_M(W) x pitch / absorber = 16.9 mm, 3.3
  cells, and the effective interaction length 181 mm.
* HCAL: 60 layers of 19 mm steel + 3 mm scintillator at a pitch of 26.5 mm: 1.089 X0 and
  0.117 lambda_I per layer, 7.0 lambda_I in all; effective R_M 24.0 mm, lambda_I 226 mm.
* The ECAL's front face is 1.5 m from the interaction point (the CLIC ECAL inner radius, as in
  the public conversion code): this sets how far apart the two photons of a pi0 land.

All lengths are in mm, energies in GeV unless a name says otherwise.
"""

from __future__ import annotations

__all__ = [
    "ECAL_ABSORBER_MM",
    "ECAL_CELL_MM",
    "ECAL_FRONT_DISTANCE_MM",
    "ECAL_LAMBDA_EFF_MM",
    "ECAL_LAMBDA_PER_LAYER",
    "ECAL_LAYER_PITCH_MM",
    "ECAL_MIP_GEV",
    "ECAL_N_LAYERS",
    "ECAL_RM_EFF_MM",
    "ECAL_SHAPE",
    "ECAL_X0_PER_LAYER",
    "HCAL_CELL_MM",
    "HCAL_LAMBDA_EFF_MM",
    "HCAL_LAMBDA_PER_LAYER",
    "HCAL_LAYER_PITCH_MM",
    "HCAL_MIP_GEV",
    "HCAL_N_LAYERS",
    "HCAL_RM_EFF_MM",
    "HCAL_SCINTILLATOR_MM",
    "HCAL_SHAPE",
    "HCAL_STEEL_MM",
    "HCAL_X0_PER_LAYER",
    "IRON",
    "LARGE_ECAL_SHAPE",
    "LARGE_HCAL_SHAPE",
    "POLYSTYRENE",
    "TUNGSTEN",
    "ecal_lambda",
    "ecal_x0",
]

#: Tungsten (PDG): radiation length, Moliere radius [mm], critical energy [GeV], nuclear
#: interaction length [mm], minimum ionisation [MeV cm2/g], density [g/cm3], Z.
TUNGSTEN = {"x0_mm": 3.504, "moliere_radius_mm": 9.327, "critical_energy_gev": 7.97e-3,
            "lambda_i_mm": 99.46, "dedx_min_mev_cm2_g": 1.145, "density_g_cm3": 19.3, "z": 74}
#: Iron (PDG), same keys.
IRON = {"x0_mm": 17.57, "moliere_radius_mm": 17.19, "critical_energy_gev": 21.68e-3,
        "lambda_i_mm": 167.7, "dedx_min_mev_cm2_g": 1.451, "density_g_cm3": 7.874, "z": 26}
#: Polystyrene scintillator (PDG), the keys that apply.
POLYSTYRENE = {"x0_mm": 413.1, "lambda_i_mm": 770.7, "dedx_min_mev_cm2_g": 1.936,
               "density_g_cm3": 1.06}

#: The image windows of the public files, (x, y, layer).
ECAL_SHAPE = (25, 25, 25)
HCAL_SHAPE = (5, 5, 60)
#: The later public files' larger windows (same cells and layers).
LARGE_ECAL_SHAPE = (51, 51, 25)
LARGE_HCAL_SHAPE = (11, 11, 60)

ECAL_N_LAYERS = 25
HCAL_N_LAYERS = 60
#: Lateral cell sizes [mm].
ECAL_CELL_MM = 5.1
HCAL_CELL_MM = 30.0
#: Tungsten per ECAL layer and layer pitch [mm].
ECAL_ABSORBER_MM = 3.5
ECAL_LAYER_PITCH_MM = 6.36
#: HCAL layer pitch [mm]: 19 mm steel + 3 mm scintillator + 4.5 mm readout and air.
HCAL_STEEL_MM = 19.0
HCAL_SCINTILLATOR_MM = 3.0
HCAL_LAYER_PITCH_MM = 26.5
#: Distance from the interaction point to the ECAL front face [mm].
ECAL_FRONT_DISTANCE_MM = 1500.0

#: Radiation and interaction lengths per layer.
ECAL_X0_PER_LAYER = ECAL_ABSORBER_MM / TUNGSTEN["x0_mm"]
ECAL_LAMBDA_PER_LAYER = ECAL_ABSORBER_MM / TUNGSTEN["lambda_i_mm"]
HCAL_X0_PER_LAYER = HCAL_STEEL_MM / IRON["x0_mm"] + HCAL_SCINTILLATOR_MM / POLYSTYRENE["x0_mm"]
HCAL_LAMBDA_PER_LAYER = (HCAL_STEEL_MM / IRON["lambda_i_mm"]
                         + HCAL_SCINTILLATOR_MM / POLYSTYRENE["lambda_i_mm"])
#: Effective Moliere radius and interaction length of the sampling structures [mm].
ECAL_RM_EFF_MM = TUNGSTEN["moliere_radius_mm"] * ECAL_LAYER_PITCH_MM / ECAL_ABSORBER_MM
HCAL_RM_EFF_MM = IRON["moliere_radius_mm"] * HCAL_LAYER_PITCH_MM / HCAL_STEEL_MM
ECAL_LAMBDA_EFF_MM = ECAL_LAYER_PITCH_MM / ECAL_LAMBDA_PER_LAYER
HCAL_LAMBDA_EFF_MM = HCAL_LAYER_PITCH_MM / HCAL_LAMBDA_PER_LAYER
#: A minimum-ionising particle's energy loss per layer, on the cells' (electron) scale [GeV].
ECAL_MIP_GEV = (TUNGSTEN["dedx_min_mev_cm2_g"] * TUNGSTEN["density_g_cm3"]
                * ECAL_ABSORBER_MM / 10.0 * 1e-3)
HCAL_MIP_GEV = (IRON["dedx_min_mev_cm2_g"] * IRON["density_g_cm3"] * HCAL_STEEL_MM / 10.0
                + POLYSTYRENE["dedx_min_mev_cm2_g"] * POLYSTYRENE["density_g_cm3"]
                * HCAL_SCINTILLATOR_MM / 10.0) * 1e-3


def ecal_x0() -> float:
    """Total ECAL depth in radiation lengths.

    Examples
    --------
    >>> round(ecal_x0(), 2)
    24.97
    """
    return ECAL_N_LAYERS * ECAL_X0_PER_LAYER


def ecal_lambda() -> float:
    """Total ECAL depth in nuclear interaction lengths (the HCAL adds ``60 x 0.117``).

    Examples
    --------
    >>> round(ecal_lambda(), 2), round(HCAL_N_LAYERS * HCAL_LAMBDA_PER_LAYER, 2)
    (0.88, 7.03)
    """
    return ECAL_N_LAYERS * ECAL_LAMBDA_PER_LAYER
