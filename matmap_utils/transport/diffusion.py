"""MD trajectories: readers, mean-squared displacement, diffusion and vibrational descriptors.

Implements the Methods of López et al. (Mater. Horiz. 2023):

* Eq. 3 — MSD(τ) averaged over all mobile ions and all time origins, lags up to N/2, computed with
  the FFT (Wiener–Khinchin) algorithm in O(N log N) (:func:`msd_fft`, equal to the direct double
  sum :func:`msd_direct`).
* Eq. 4 — D from a linear fit of MSD(τ) = 6Dτ + b over τmax/2 ≤ τ ≤ τmax (:func:`diffusion`), with
  its x/y/z components (MSD_α = 2D_α τ) and an uncertainty: the standard error over independent
  runs when several runs of one system are pooled, otherwise over ``n_blocks`` consecutive time
  blocks of the single run (block averaging).
* Eq. 5 — VDOS from the Fourier transform of the velocity autocorrelation function
  (:func:`vdos`), per species and for diffusive / non-diffusive ions.
* Eqs. 6–7 — ⟨ω⟩ and ⟨ω30⟩ (30 meV cut-off), plus the harmonic Evib, Fvib, Svib, Cv, the Debye
  temperature and the Lindemann ratio (:func:`vibrational_descriptors`).

Units: positions Å, time fs, velocities Å/fs, D in cm²/s (1 Å²/fs = 0.1 cm²/s), energies of
vibrations (ħω) in meV, thermodynamic functions per atom.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from matmap_utils.data.trajectories import Trajectory

#: Å²/fs → cm²/s
A2_PER_FS_TO_CM2_PER_S = 0.1


KB_EV = 8.617333262e-5  # eV/K


H_MEV_THZ = 4.135667696  # meV per THz (E = h ν)


E_CHARGE = 1.602176634e-19  # C


KB_J = 1.380649e-23  # J/K


def remove_drift(traj: Trajectory, mobile: str | Sequence[str]) -> np.ndarray:
    """Positions with the framework's (non-``mobile`` atoms') mean displacement subtracted
    frame by frame (unweighted mean, as pymatgen's DiffusionAnalyzer does)."""
    mob = traj.indices(mobile)
    frame = np.setdiff1d(np.arange(traj.n_atoms), mob)
    if frame.size == 0:
        return traj.positions
    drift = (traj.positions[:, frame] - traj.positions[0, frame]).mean(axis=1)
    return traj.positions - drift[:, None, :]


def msd_direct(x: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """Reference O(N²) MSD per component: (lags × 3), averaged over atoms and time origins."""
    x = np.asarray(x, float)
    n = x.shape[0]
    max_lag = n // 2 if max_lag is None else max_lag
    out = np.zeros((max_lag + 1, 3))
    for m in range(1, max_lag + 1):
        d = x[m:] - x[:-m]
        out[m] = (d**2).mean(axis=(0, 1))
    return out


def _autocorr_fft(x: np.ndarray) -> np.ndarray:
    """Σ_j x[j]·x[j+m] along axis 0 for m = 0..N-1 (un-normalized), zero-padded FFT."""
    n = x.shape[0]
    nfft = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, n=nfft, axis=0)
    return np.fft.irfft(f * np.conj(f), n=nfft, axis=0)[:n]


def msd_fft(x: np.ndarray, max_lag: int | None = None, per_atom: bool = False) -> np.ndarray:
    """Eq. 3 by FFT: MSD per Cartesian component, averaged over atoms and all time origins.

    ``x``: unwrapped positions (frames × atoms × 3). Returns (max_lag+1) × 3 (lag 0 = 0), or
    (max_lag+1) × atoms × 3 with ``per_atom``. ``max_lag`` defaults to N/2 (the paper's choice).
    Uses MSD(m) = [Σ_{j<N-m} x_{j+m}² + x_j²]/(N-m) − 2 [Σ_j x_j x_{j+m}]/(N-m).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    max_lag = n // 2 if max_lag is None else int(max_lag)
    if not 1 <= max_lag < n:
        raise ValueError(f"max_lag must be in [1, {n - 1}], got {max_lag}")
    sq = x * x
    cs = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(sq, axis=0)])
    m = np.arange(max_lag + 1)
    s1 = cs[n - m] + (cs[n] - cs[m])  # Σ_{j=0}^{N-m-1} x_j² + Σ_{j=m}^{N-1} x_j²
    s2 = _autocorr_fft(x)[: max_lag + 1]
    msd = (s1 - 2.0 * s2) / (n - m).reshape((-1,) + (1,) * (x.ndim - 1))
    msd[0] = 0.0
    np.maximum(msd, 0.0, out=msd)
    return msd if per_atom else msd.mean(axis=1)


@dataclass
class MSDResult:
    lag_fs: np.ndarray  # (L,)
    msd: np.ndarray  # (L,) total Å²
    msd_xyz: np.ndarray  # (L, 3)
    n_ions: int
    n_runs: int = 1
    msd_runs: np.ndarray | None = None  # (runs, L) total MSD of each run


def msd(
    traj: Trajectory, specie: str | Sequence[str] = "Li", *, drift: bool = False, max_lag: int | None = None
) -> MSDResult:
    """MSD of ``specie`` (Eq. 3), optionally after removing the framework drift."""
    pos = remove_drift(traj, specie) if drift else traj.positions
    idx = traj.indices(specie)
    m = msd_fft(pos[:, idx], max_lag)
    return MSDResult(np.arange(m.shape[0]) * traj.dt_fs, m.sum(axis=1), m, idx.size)


def fit_window(lag_fs: np.ndarray, lo: float = 0.5, hi: float = 1.0) -> np.ndarray:
    """Mask of lags with lo·τmax ≤ τ ≤ hi·τmax (Eq. 4 window: τmax/2 … τmax)."""
    tmax = lag_fs[-1]
    return (lag_fs >= lo * tmax - 1e-9) & (lag_fs <= hi * tmax + 1e-9)


def _slope(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a, b = np.polyfit(t, y, 1)
    return float(a), float(b)


@dataclass
class DiffusionResult:
    specie: str
    D_cm2_s: float
    D_err_cm2_s: float
    D_xyz_cm2_s: np.ndarray
    D_xyz_err_cm2_s: np.ndarray
    intercept_A2: float
    fit_start_fs: float
    fit_end_fs: float
    n_ions: int
    n_runs: int
    err_method: str
    temperature_K: float | None
    msd: MSDResult
    D_runs_cm2_s: np.ndarray | None = None

    def as_dict(self) -> dict:
        return {
            "specie": self.specie,
            "D_cm2_s": self.D_cm2_s,
            "D_err_cm2_s": self.D_err_cm2_s,
            "Dx_cm2_s": float(self.D_xyz_cm2_s[0]),
            "Dy_cm2_s": float(self.D_xyz_cm2_s[1]),
            "Dz_cm2_s": float(self.D_xyz_cm2_s[2]),
            "Dx_err_cm2_s": float(self.D_xyz_err_cm2_s[0]),
            "Dy_err_cm2_s": float(self.D_xyz_err_cm2_s[1]),
            "Dz_err_cm2_s": float(self.D_xyz_err_cm2_s[2]),
            "intercept_A2": self.intercept_A2,
            "fit_start_fs": self.fit_start_fs,
            "fit_end_fs": self.fit_end_fs,
            "n_ions": self.n_ions,
            "n_runs": self.n_runs,
            "err_method": self.err_method,
            "temperature_K": self.temperature_K,
        }


def _fit_D(res: MSDResult, lo: float, hi: float):
    w = fit_window(res.lag_fs, lo, hi)
    if w.sum() < 2:
        raise ValueError("fewer than 2 lags in the fit window; the trajectory is too short")
    t = res.lag_fs[w]
    s, b = _slope(t, res.msd[w])
    sx = np.array([_slope(t, res.msd_xyz[w, k])[0] for k in range(3)])
    return (s / 6.0 * A2_PER_FS_TO_CM2_PER_S, sx / 2.0 * A2_PER_FS_TO_CM2_PER_S, b, float(t[0]), float(t[-1]))


def diffusion(
    trajs: Trajectory | Sequence[Trajectory],
    specie: str = "Li",
    *,
    drift: bool = False,
    n_blocks: int = 5,
    fit_lo: float = 0.5,
    fit_hi: float = 1.0,
) -> DiffusionResult:
    """D of ``specie`` from Eq. 4, pooling several runs of one system.

    Pooled MSD = ion-weighted mean of the runs' MSDs over the lags they share (the shortest run
    sets τmax = N_min/2). Uncertainty: standard error of the per-run D over runs (≥ 2 runs), or,
    for a single run, the standard deviation of D over ``n_blocks`` consecutive time blocks, each
    analysed with the same relative window (a block is an equivalent replica of the estimator, so
    its spread, not the spread divided by √n, is the error of the full-run value). x/y/z
    components get the same treatment.
    """
    trajs = [trajs] if isinstance(trajs, Trajectory) else list(trajs)
    if not trajs:
        raise ValueError("no trajectories given")
    dts = {round(t.dt_fs, 6) for t in trajs}
    if len(dts) > 1:
        raise ValueError(f"runs to pool must share the frame interval; got {sorted(dts)} fs")
    n_min = min(t.n_frames for t in trajs)
    max_lag = n_min // 2
    results = [msd(t, specie, drift=drift, max_lag=max_lag) for t in trajs]
    w = np.array([r.n_ions for r in results], float)
    pooled = MSDResult(
        results[0].lag_fs,
        np.average([r.msd for r in results], axis=0, weights=w),
        np.average([r.msd_xyz for r in results], axis=0, weights=w),
        int(w.sum()),
        len(results),
        np.array([r.msd for r in results]),
    )
    D, Dxyz, b, t0, t1 = _fit_D(pooled, fit_lo, fit_hi)
    temps = {t.temperature_K for t in trajs}
    temp = temps.pop() if len(temps) == 1 else None
    per_run = None
    if len(trajs) >= 2:
        fits = [_fit_D(r, fit_lo, fit_hi) for r in results]
        per_run = np.array([f[0] for f in fits])
        per_xyz = np.array([f[1] for f in fits])
        k = len(fits)
        err = float(per_run.std(ddof=1) / np.sqrt(k))
        err_xyz = per_xyz.std(axis=0, ddof=1) / np.sqrt(k)
        method = f"standard error over {k} runs"
    else:
        tr = trajs[0]
        nb = int(n_blocks)
        blen = tr.n_frames // nb if nb >= 2 else 0
        if nb >= 2 and blen >= 8:
            fits = []
            for k in range(nb):
                sub = tr.subset_frames(k * blen, (k + 1) * blen)
                fits.append(_fit_D(msd(sub, specie, drift=drift), fit_lo, fit_hi))
            Db = np.array([f[0] for f in fits])
            # Each block, fitted over the same *relative* window, is a statistically equivalent
            # replica of the full-run estimator (for diffusive motion the relative precision of
            # a τmax/2…τmax fit depends on the number of windows per run, not on its length), so
            # the spread of the block values — not its standard error — estimates the error.
            err = float(Db.std(ddof=1))
            err_xyz = np.array([f[1] for f in fits]).std(axis=0, ddof=1)
            method = f"block averaging over {nb} time blocks"
        else:
            err, err_xyz, method = float("nan"), np.full(3, np.nan), "none (too short for blocks)"
    return DiffusionResult(
        specie, D, err, Dxyz, err_xyz, b, t0, t1, pooled.n_ions, len(trajs), method, temp, pooled, per_run
    )


@dataclass
class ArrheniusResult:
    Ea_eV: float
    Ea_err_eV: float
    D0_cm2_s: float
    D0_err_cm2_s: float
    n_points: int
    weighted: bool

    def D(self, T) -> np.ndarray:
        return self.D0_cm2_s * np.exp(-self.Ea_eV / (KB_EV * np.asarray(T, float)))

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("Ea_eV", "Ea_err_eV", "D0_cm2_s", "D0_err_cm2_s", "n_points", "weighted")}


def arrhenius(T: Iterable[float], D: Iterable[float], D_err: Iterable[float] | None = None) -> ArrheniusResult:
    """Fit ln D = ln D0 − Ea/(kB T) by (weighted) least squares.

    Weights 1/σ² with σ(ln D) = σ_D/D when every ``D_err`` is finite and positive (parameter
    errors from the covariance with absolute sigma); otherwise ordinary least squares, whose
    parameter errors are scaled by the residual variance (needs ≥ 3 points; NaN for 2).
    """
    T = np.asarray(list(T), float)
    D = np.asarray(list(D), float)
    if T.size != D.size or T.size < 2:
        raise ValueError("an Arrhenius fit needs ≥ 2 (T, D) points")
    if np.any(D <= 0) or np.any(T <= 0):
        raise ValueError("D and T must be positive for an Arrhenius fit")
    y = np.log(D)
    X = np.column_stack([np.ones_like(T), -1.0 / (KB_EV * T)])
    err = None if D_err is None else np.asarray(list(D_err), float)
    weighted = err is not None and np.all(np.isfinite(err)) and np.all(err > 0)
    if weighted:
        wts = (D / err) ** 2
        A = X.T @ (wts[:, None] * X)
        beta = np.linalg.solve(A, X.T @ (wts * y))
        cov = np.linalg.inv(A)
    else:
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        dof = T.size - 2
        if dof > 0:
            s2 = float(((y - X @ beta) ** 2).sum() / dof)
            cov = s2 * np.linalg.inv(X.T @ X)
        else:
            cov = np.full((2, 2), np.nan)
    lnD0, Ea = beta
    D0 = float(np.exp(lnD0))
    return ArrheniusResult(
        float(Ea), float(np.sqrt(cov[1, 1])), D0, float(D0 * np.sqrt(cov[0, 0])), int(T.size), bool(weighted)
    )


def nernst_einstein(D_cm2_s: float, n_ions: int, volume_A3: float, temperature_K: float, charge: float = 1.0) -> float:
    """Ionic conductivity σ = n q² D / (kB T) in S/cm.

    Assumptions: Haven ratio 1 (tracer D = charge D; no cross-correlations between ions), only the
    analysed species carries charge, ideal (non-interacting) carriers.
    """
    n_cm3 = n_ions / (volume_A3 * 1e-24)
    q = charge * E_CHARGE
    return float(n_cm3 * q * q * D_cm2_s / (KB_J * temperature_K))
