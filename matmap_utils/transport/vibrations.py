"""Vibrational analysis of MD runs (López et al. 2023, Sec. 2.3): VACF, VDOS, vibrational descriptors, Lindemann ratio, diffusive/vibrating atoms."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ase import units
from ase.data import atomic_masses, atomic_numbers

from matmap_utils.data.trajectories import Trajectory, TrajectoryError
from matmap_utils.transport.diffusion import H_MEV_THZ, KB_EV, _autocorr_fft


def masses(traj: Trajectory) -> np.ndarray:
    """Atomic masses (amu) of the atoms of ``traj``."""

    return np.array([atomic_masses[atomic_numbers[s]] for s in traj.species])


def _remove_com_velocity(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    vcm = (v * m[None, :, None]).sum(axis=1) / m.sum()
    return v - vcm[:, None, :]


def velocities_of(traj: Trajectory, remove_com: bool = True) -> tuple[np.ndarray, bool]:
    """(velocities Å/fs, from_file). Without stored velocities, central finite differences of the
    unwrapped positions (one frame lost at each end), with a warning stating the Nyquist
    frequency 1/(2Δt) above which nothing can be resolved. With ``remove_com`` the
    mass-weighted centre-of-mass velocity of the whole cell (a translation, not a vibration) is
    subtracted frame by frame."""
    if traj.velocities is not None:
        v = traj.velocities
        return (_remove_com_velocity(v, masses(traj)) if remove_com else v), True
    if traj.n_frames < 3:
        raise TrajectoryError(f"{traj.source}: need ≥ 3 frames for finite-difference velocities")
    nyq_thz = 1e3 / (2 * traj.dt_fs)
    warnings.warn(
        f"{traj.source}: no velocities stored; using finite differences of positions "
        f"every {traj.dt_fs:g} fs (Nyquist frequency {nyq_thz:.2f} THz = "
        f"{nyq_thz * H_MEV_THZ:.1f} meV; higher modes are aliased/attenuated)",
        stacklevel=2,
    )
    v = (traj.positions[2:] - traj.positions[:-2]) / (2.0 * traj.dt_fs)
    return (_remove_com_velocity(v, masses(traj)) if remove_com else v), False


def kinetic_temperature(traj: Trajectory) -> dict[str, float]:
    """Equipartition temperature Σ m v² / (3 N kB) overall and per species (K).

    With finite-difference velocities this checks the frame interval: sampled every MD step it
    matches the thermostat temperature; sampled more sparsely it is far lower (vibrations
    average out), so a value ≫ or ≪ the stated temperature flags wrong time metadata."""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, _ = velocities_of(traj)
    m = masses(traj)
    # amu Å²/fs² → eV
    ke = 0.5 * m[None, :] * (v**2).sum(axis=2) * (units._amu * 1e10 / units._e)
    out = {"all": float(2 * ke.mean() / (3 * KB_EV))}
    for s in sorted(set(traj.species)):
        out[s] = float(2 * ke[:, traj.species == s].mean() / (3 * KB_EV))
    return out


def vacf(v: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """⟨v_i(τ)·v_i(0)⟩ for each atom, averaged over all time origins (lags × atoms), via FFT."""
    n = v.shape[0]
    max_lag = n // 2 if max_lag is None else max_lag
    c = _autocorr_fft(v)[: max_lag + 1].sum(axis=-1)
    return c / (n - np.arange(max_lag + 1))[:, None]


@dataclass
class VDOS:
    energy_meV: np.ndarray  # ħω grid
    g: np.ndarray  # normalised to 3 modes per atom: ∫ g dE = 3
    group: str
    n_atoms: int
    nyquist_meV: float
    from_velocities: bool


def vdos(
    traj: Trajectory,
    atoms: np.ndarray | None = None,
    *,
    group: str = "all",
    mass_weighted: bool = True,
    max_lag: int | None = None,
    velocities: np.ndarray | None = None,
) -> VDOS:
    """VDOS of a group of atoms from the Fourier transform of the VACF (Eq. 5).

    The VACF (all time origins, lags up to N/2) is tapered with a half Hann window and
    cosine-transformed; the spectrum is clipped at 0 and normalised to 3 modes per atom. With
    ``mass_weighted`` (default) atoms enter with weight m_i (so every atom contributes equally,
    as in the harmonic phonon DOS); ``mass_weighted=False`` is Eq. 5 verbatim (no weights) — the
    two coincide within one species.
    """
    if velocities is None:
        v, from_file = velocities_of(traj)
    else:
        v, from_file = velocities, True
    idx = np.arange(traj.n_atoms) if atoms is None else np.asarray(atoms)
    if idx.size == 0:
        raise ValueError(f"{traj.source}: empty atom group {group!r}")
    c = vacf(v[:, idx], max_lag)
    if mass_weighted:
        c = c * masses(traj)[idx][None, :]
    c = c.sum(axis=1)
    L = c.size
    taper = np.cos(0.5 * np.pi * np.arange(L) / L) ** 2  # half Hann: 1 at τ=0 → 0 at τmax
    y = c * taper
    nfft = 1 << (4 * L - 1).bit_length()
    sym = np.concatenate([y, np.zeros(nfft - 2 * L + 1), y[:0:-1]])  # even extension
    spec = np.fft.rfft(sym).real
    freq_thz = np.fft.rfftfreq(nfft, d=traj.dt_fs) * 1e3
    E = freq_thz * H_MEV_THZ
    g = np.clip(spec, 0.0, None)
    area = np.trapezoid(g, E)
    if area <= 0:
        raise ValueError(f"{traj.source}: VDOS of group {group!r} is zero")
    g = g * (3.0 / area)
    return VDOS(E, g, group, int(idx.size), float(E[-1]), from_file)


#: Names of the per-group descriptors that :func:`vibrational_descriptors` computes from a VDOS
#: (López et al. 2023, Table 1, D–V): mean and ≤ 30 meV mean frequency (meV), vibrational energy
#: and free energy (meV/atom), entropy and heat capacity (k_B/atom), Debye temperature (K).
VDOS_COLUMNS = (
    "omega_mean_meV",
    "omega30_meV",
    "Evib_meV_atom",
    "Fvib_meV_atom",
    "Svib_kB_atom",
    "Cv_kB_atom",
    "theta_D_K",
)

#: Names of the per-group vibrational descriptors of :func:`vibrational_analysis`: those of
#: :data:`VDOS_COLUMNS` and the Lindemann ratio (dimensionless).
VIB_COLUMNS = (*VDOS_COLUMNS, "lindemann")


def vibrational_descriptors(d: VDOS, temperature_K: float, cutoff_meV: float = 30.0) -> dict:
    """⟨ω⟩ (Eq. 6), ⟨ω30⟩ (Eq. 7), Evib, Fvib, Svib, Cv and θ_D from a VDOS (per atom).

    Harmonic formulas on the normalised VDOS (3 modes per atom), x = ħω / kB T:
    Evib = ∫ g ħω [½ + n(ω)], Fvib = kB T ∫ g ln(2 sinh(x/2)), Svib = kB ∫ g [x/2 coth(x/2) −
    ln(2 sinh(x/2))], Cv = kB ∫ g x² eˣ/(eˣ−1)². The ω = 0 bin (diffusive, non-harmonic weight) is
    excluded from these integrals. θ_D from the second moment: kB θ_D = ħ sqrt(5/3 ⟨ω²⟩) (exact for
    a Debye spectrum). Energies in meV/atom, Svib and Cv in kB/atom.
    """
    E, g = d.energy_meV, d.g
    T = float(temperature_K)
    norm = np.trapezoid(g, E)
    w_mean = float(np.trapezoid(E * g, E) / norm)
    cut = E <= cutoff_meV
    w30 = float(np.trapezoid(E[cut] * g[cut], E[cut]) / np.trapezoid(g[cut], E[cut]))
    w2 = float(np.trapezoid(E * E * g, E) / norm)
    pos = E > 0
    Ep, gp = E[pos], g[pos]
    x = Ep * 1e-3 / (KB_EV * T)
    kT_meV = KB_EV * T * 1e3
    half = x / 2.0
    ln2sinh = half + np.log1p(-np.exp(-x))  # ln(2 sinh(x/2)), stable
    coth = 1.0 / np.tanh(half)
    Evib = float(np.trapezoid(gp * Ep * 0.5 * coth, Ep))
    Fvib = float(kT_meV * np.trapezoid(gp * ln2sinh, Ep))
    Svib = float(np.trapezoid(gp * (half * coth - ln2sinh), Ep))
    ex = np.exp(-x)
    Cv = float(np.trapezoid(gp * x * x * ex / (1.0 - ex) ** 2, Ep))
    theta = float(np.sqrt(5.0 / 3.0 * w2) * 1e-3 / KB_EV)
    return {
        "omega_mean_meV": w_mean,
        "omega30_meV": w30,
        "Evib_meV_atom": Evib,
        "Fvib_meV_atom": Fvib,
        "Svib_kB_atom": Svib,
        "Cv_kB_atom": Cv,
        "theta_D_K": theta,
        "nyquist_meV": d.nyquist_meV,
        "from_velocities": d.from_velocities,
        "n_atoms": d.n_atoms,
    }


def classify_diffusive(traj: Trajectory, threshold_A: float = 1.5, window: float = 0.1) -> np.ndarray:
    """Boolean mask of diffusive atoms: the distance between an atom's mean position over the
    first and over the last ``window`` fraction of the run exceeds ``threshold_A`` (averaging over
    the windows removes thermal vibration)."""
    k = max(1, int(round(window * traj.n_frames)))
    a = traj.positions[:k].mean(axis=0)
    b = traj.positions[-k:].mean(axis=0)
    return np.linalg.norm(b - a, axis=1) > threshold_A


def lindemann_ratio(traj: Trajectory, atoms: np.ndarray) -> dict:
    """Lindemann ratio of a group of (non-diffusive) atoms:
    ``sqrt(⟨|r_i − ⟨r_i⟩|²⟩)`` averaged over the atoms, divided by their mean nearest-neighbour
    distance d_nn in the time-averaged structure (neighbours among the same group, minimum image).
    """
    idx = np.asarray(atoms)
    if idx.size < 2:
        return {"lindemann": float("nan"), "rms_disp_A": float("nan"), "d_nn_A": float("nan")}
    p = traj.positions[:, idx]
    mean = p.mean(axis=0)
    rms = float(np.sqrt(((p - mean) ** 2).sum(axis=2).mean()))
    frac = mean @ np.linalg.inv(traj.lattice)
    d = frac[:, None, :] - frac[None, :, :]
    d -= np.round(d)
    # check the 27 neighbouring images too (small cells)
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    best = np.full((idx.size, idx.size), np.inf)
    for s in shifts:
        cart = (d + s) @ traj.lattice
        best = np.minimum(best, np.linalg.norm(cart, axis=2))
    np.fill_diagonal(best, np.inf)
    dnn = float(best.min(axis=1).mean())
    return {"lindemann": rms / dnn, "rms_disp_A": rms, "d_nn_A": dnn}


def vibrational_analysis(
    traj: Trajectory, *, threshold_A: float = 1.5, cutoff_meV: float = 30.0, mass_weighted: bool = True
) -> tuple[pd.DataFrame, dict[str, VDOS]]:  # noqa: F821
    """All vibrational descriptors of one trajectory, for the groups ``all``, ``nd``
    (non-diffusive ions), ``d`` (diffusive ions, when any) and each species.

    Returns (table with one row per group, {group: VDOS}). The Lindemann ratio is computed for the
    non-diffusive ions and repeated on every row.
    """

    if traj.temperature_K is None:
        raise ValueError(f"{traj.source}: the temperature is needed for the thermodynamic functions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if traj.velocities is not None else "default")
        v, from_file = velocities_of(traj)
    diff = classify_diffusive(traj, threshold_A)
    groups: dict[str, np.ndarray] = {"all": np.arange(traj.n_atoms), "nd": np.flatnonzero(~diff)}
    if diff.any():
        groups["d"] = np.flatnonzero(diff)
    for s in sorted(set(traj.species)):
        groups[s] = np.flatnonzero(traj.species == s)
    lind = lindemann_ratio(traj, groups["nd"])
    rows, spectra = [], {}
    for name, idx in groups.items():
        if idx.size == 0:
            continue
        d = vdos(traj, idx, group=name, mass_weighted=mass_weighted, velocities=v)
        d.from_velocities = from_file
        spectra[name] = d
        row = {"group": name, **vibrational_descriptors(d, traj.temperature_K, cutoff_meV), **lind}
        rows.append(row)
    return pd.DataFrame(rows), spectra
