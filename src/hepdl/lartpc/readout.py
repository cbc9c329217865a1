"""From ionisation charge to wire images: drift, diffusion, wire response, noise, zero suppression.

Each deposit's electrons drift to the wire planes at x = 0 (both planes are taken at x = 0: the
few mm between them are neglected, a modelling choice). On the way

* a fraction ``exp(-t / tau)`` survives attachment, t = x / 1.543 mm/us and tau = 1.6 ms
  (12 % lost from the cathode);
* the cloud spreads by diffusion, ``sigma = sqrt(2 D t)``, with D_L = 6.2 cm2/s along the drift
  (Li et al., NIM A 816 (2016) 160) and D_T = 16.3 cm2/s across it (the value of MicroBooNE's
  simulation): at most 0.6 mm and 1.0 mm, well below the 4 mm pitch. Each deposit is shifted by
  one Gaussian draw (modelling choice: one shift per 3 mm step rather than per electron).

The charge is histogrammed into (plane, wire, time) on a fine grid of 4 raw ticks (0.512 us),
convolved along time with the electronics' response and summed into image bins of 20 raw ticks
(2.56 us; :mod:`hepdl.lartpc.geometry`); the time axis is read at the peak of the collection
pulse (the fixed delay of the shaping is taken out, as a reconstruction's t0 does), so a
deposit at drift distance x shows in image bin ``floor(x / 0.395 cm)``. The responses (modelling choice, after the shapes of
ArgoNeuT/LArIAT's signals):

* collection (plane 1, ``v``): unipolar, ``h(t) = (t / tau)^2 exp(-t / tau)`` with peaking time
  ``2 tau`` = 2 us, normalised to unit area: an image's collection bins sum to the charge;
* induction (plane 0, ``u``): bipolar, ``dh/dt`` (positive while the electrons approach the
  wire, negative once they have passed), normalised so that its positive lobe has area 0.5 and
  its total area is 0.

The charge is counted in ADC units of 200 electrons. White Gaussian noise of 4 ADC per image
bin is added to every bin of both planes; a minimum-ionising track along the beam then peaks at
S/N of about 20 on the collection plane and 10 on the induction plane. Last, as a DAQ's zero
suppression does, every bin with ``|value| < 3 sigma`` (12 ADC) is set to 0: more than 99 % of
an image is then exactly zero and the files compress well. Set ``noise_adc=0`` for noiseless
images and ``zero_suppression_sigma=0`` to keep the noise everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepdl.lartpc.geometry import (
    DRIFT_SPEED_CM_PER_US,
    ELECTRON_LIFETIME_US,
    N_PLANES,
    N_TIME_BINS,
    N_WIRES,
    TICK_US,
    TICKS_PER_BIN,
    project,
)

__all__ = ["FINE_TICKS", "ReadoutConfig", "add_noise", "response_kernels", "wire_signals"]

#: Raw ticks per bin of the fine grid on which the response is applied (0.512 us).
FINE_TICKS = 4
_N_FINE = N_TIME_BINS * TICKS_PER_BIN // FINE_TICKS
_PER_BIN = TICKS_PER_BIN // FINE_TICKS


@dataclass(frozen=True)
class ReadoutConfig:
    """Settings of drift and read-out.

    Attributes
    ----------
    lifetime_us : electron lifetime [us]
    diffusion_long_cm2_per_s, diffusion_trans_cm2_per_s : diffusion constants [cm2/s]
    peaking_time_us : peaking time of the shaped collection pulse [us]
    induction_lobe : area of the induction response's positive lobe (collection area = 1)
    electrons_per_adc : electrons per ADC count
    noise_adc : RMS of the white noise per image bin [ADC]; 0 for none
    zero_suppression_sigma : bins with ``|value| < zero_suppression_sigma * noise_adc`` are set
        to 0 (0 keeps every bin)
    """

    lifetime_us: float = ELECTRON_LIFETIME_US
    diffusion_long_cm2_per_s: float = 6.2
    diffusion_trans_cm2_per_s: float = 16.3
    peaking_time_us: float = 2.0
    induction_lobe: float = 0.5
    electrons_per_adc: float = 200.0
    noise_adc: float = 4.0
    zero_suppression_sigma: float = 3.0

    def __post_init__(self):
        if not self.peaking_time_us > 0:
            raise ValueError(f"peaking_time_us must be positive, got {self.peaking_time_us!r}")
        if not self.noise_adc >= 0:
            raise ValueError(f"noise_adc must be >= 0, got {self.noise_adc!r}")
        if not self.electrons_per_adc > 0:
            raise ValueError(f"electrons_per_adc must be positive, got {self.electrons_per_adc!r}")


def response_kernels(config: ReadoutConfig = ReadoutConfig()) -> np.ndarray:
    """The two planes' responses to a unit charge, on the fine grid of 0.512 us.

    Returns
    -------
    (2, K) float array
        Row 0 the induction (bipolar, sums to 0, positive lobe ``induction_lobe``), row 1 the
        collection (unipolar, sums to 1); bin ``k`` covers ``[k, k + 1) x 0.512 us`` after the
        charge arrives.

    Examples
    --------
    >>> kernels = response_kernels()
    >>> [round(float(k.sum()), 6) for k in kernels]
    [0.0, 1.0]
    >>> round(float(kernels[0][kernels[0] > 0].sum()), 3)
    0.5
    """
    fine_us = FINE_TICKS * TICK_US
    tau = config.peaking_time_us / 2.0
    n = int(np.ceil(14.0 * tau / fine_us))
    t = (np.arange(n) + 0.5) * fine_us / tau
    collection = t**2 * np.exp(-t)
    collection /= collection.sum()
    induction = (2.0 * t - t**2) * np.exp(-t)
    induction -= induction.mean()
    induction *= config.induction_lobe / induction[induction > 0].sum()
    return np.stack([induction, collection])


def wire_signals(x, y, z, electrons, *, rng: np.random.Generator,
                 config: ReadoutConfig = ReadoutConfig()) -> np.ndarray:
    """Noiseless wire images of one event's deposits.

    Parameters
    ----------
    x, y, z : arrays
        Deposit positions [cm] (:mod:`hepdl.lartpc.geometry` frame).
    electrons : array
        Ionisation electrons of each deposit after recombination.
    rng : numpy.random.Generator
        For the diffusion.
    config : ReadoutConfig

    Returns
    -------
    (2, 240, 128) float32
        Plane (0 induction u, 1 collection v), wire, time bin; ADC counts.

    Examples
    --------
    One deposit of 20,000 electrons at 10 cm drift: it arrives at raw tick 506, image bin 25,
    and the collection plane sees all of it but the 4 % lost to attachment on the way (96 ADC):

    >>> image = wire_signals([10.0], [0.0], [45.0], [2e4], rng=np.random.default_rng(0))
    >>> image.shape, round(float(image[1].sum()), 1), round(float(image[0].sum()), 1)
    ((2, 240, 128), 96.0, 0.0)
    >>> int(np.argmax(image[1].max(axis=0))), int(np.argmax(image[1].max(axis=1)))
    (25, 122)
    """
    x, y, z, electrons = (np.asarray(a, dtype=float).ravel() for a in (x, y, z, electrons))
    time_us = np.maximum(x, 0.0) / DRIFT_SPEED_CM_PER_US
    charge = electrons * np.exp(-time_us / config.lifetime_us)
    seconds = time_us * 1e-6
    sigma_long = np.sqrt(2.0 * config.diffusion_long_cm2_per_s * seconds)
    sigma_trans = np.sqrt(2.0 * config.diffusion_trans_cm2_per_s * seconds)
    shift = rng.standard_normal((3, x.size))
    u, v, tick = project(x + sigma_long * shift[0], y + sigma_trans * shift[1],
                         z + sigma_trans * shift[2])
    fine = np.floor(tick / FINE_TICKS).astype(np.int64)
    adc = charge / config.electrons_per_adc
    grid = np.zeros((N_PLANES, N_WIRES, _N_FINE))
    for plane, coordinate in enumerate((u, v)):
        wire = np.floor(coordinate).astype(np.int64)
        ok = (wire >= 0) & (wire < N_WIRES) & (fine >= 0) & (fine < _N_FINE)
        grid[plane] = np.bincount(wire[ok] * _N_FINE + fine[ok], weights=adc[ok],
                                  minlength=N_WIRES * _N_FINE).reshape(N_WIRES, _N_FINE)
    kernels = response_kernels(config)
    size = _N_FINE + kernels.shape[1]
    spectrum = np.fft.rfft(grid, n=size, axis=-1) * np.fft.rfft(kernels, n=size, axis=-1)[:, None]
    peak = int(np.argmax(kernels[1]))  # time is read at the collection pulse's peak
    shaped = np.fft.irfft(spectrum, n=size, axis=-1)[..., peak:peak + _N_FINE]
    images = shaped.reshape(N_PLANES, N_WIRES, N_TIME_BINS, _PER_BIN).sum(axis=-1)
    images[np.abs(images) < 1e-6] = 0.0  # FFT round-off where there is no charge
    return images.astype(np.float32)


def add_noise(images, *, rng: np.random.Generator, config: ReadoutConfig = ReadoutConfig()):
    """Add white noise and apply the zero suppression (see the module docstring).

    Parameters
    ----------
    images : (..., 2, 240, 128) array [ADC]
    rng : numpy.random.Generator
    config : ReadoutConfig

    Returns
    -------
    float32 array of the same shape [ADC]

    Examples
    --------
    >>> blank = np.zeros((2, 240, 128), np.float32)
    >>> noisy = add_noise(blank, rng=np.random.default_rng(0))
    >>> 0.001 < float(np.mean(noisy != 0)) < 0.005   # 3 sigma two-sided: 0.27 %
    True
    """
    images = np.asarray(images, dtype=np.float32)
    if config.noise_adc > 0:
        images = images + rng.normal(0.0, config.noise_adc, images.shape).astype(np.float32)
    if config.zero_suppression_sigma > 0 and config.noise_adc > 0:
        images = np.where(np.abs(images) < config.zero_suppression_sigma * config.noise_adc,
                          np.float32(0.0), images)
    return images
