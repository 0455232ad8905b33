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

import gzip
import io
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

#: Å²/fs → cm²/s
A2_PER_FS_TO_CM2_PER_S = 0.1
KB_EV = 8.617333262e-5  # eV/K
H_MEV_THZ = 4.135667696  # meV per THz (E = h ν)
E_CHARGE = 1.602176634e-19  # C
KB_J = 1.380649e-23  # J/K


class TrajectoryError(ValueError):
    """Bad or inconsistent trajectory input (message names the file)."""


# --------------------------------------------------------------------------------------
# The trajectory container
# --------------------------------------------------------------------------------------


@dataclass
class Trajectory:
    """A fixed-cell MD trajectory.

    ``positions`` are *unwrapped* Cartesian coordinates (frames × atoms × 3, Å, float64);
    ``velocities`` (same shape, Å/fs) are optional; ``dt_fs`` is the time between stored frames
    (= MD time step × stride).
    """

    species: np.ndarray
    lattice: np.ndarray
    positions: np.ndarray
    dt_fs: float
    temperature_K: float | None = None
    velocities: np.ndarray | None = None
    source: str = "<memory>"
    timestep_fs: float | None = None
    stride: int | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.species = np.asarray(self.species).astype(str)
        self.lattice = np.asarray(self.lattice, dtype=float).reshape(3, 3)
        self.positions = np.asarray(self.positions, dtype=np.float64)
        if self.velocities is not None:
            self.velocities = np.asarray(self.velocities, dtype=np.float64)
        validate(self)

    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.positions.shape[1]

    @property
    def duration_fs(self) -> float:
        return (self.n_frames - 1) * self.dt_fs

    @property
    def volume(self) -> float:
        return float(abs(np.linalg.det(self.lattice)))

    def indices(self, specie: str | Sequence[str] | None) -> np.ndarray:
        if specie is None:
            return np.arange(self.n_atoms)
        wanted = [specie] if isinstance(specie, str) else list(specie)
        idx = np.flatnonzero(np.isin(self.species, wanted))
        if idx.size == 0:
            raise TrajectoryError(f"{self.source}: no atoms of species {wanted} "
                                  f"(species present: {sorted(set(self.species))})")
        return idx

    def composition(self) -> dict[str, int]:
        sp, counts = np.unique(self.species, return_counts=True)
        return {str(s): int(c) for s, c in zip(sp, counts)}

    def subset_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> "Trajectory":
        sl = slice(start, stop, step)
        vel = None if self.velocities is None else self.velocities[sl]
        return Trajectory(self.species, self.lattice, self.positions[sl], self.dt_fs * step,
                          self.temperature_K, vel, self.source, self.timestep_fs,
                          None if self.stride is None else self.stride * step, dict(self.meta))


def validate(traj: Trajectory) -> None:
    """Raise :class:`TrajectoryError` naming the file for inconsistent trajectories."""
    src = traj.source
    pos = traj.positions
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise TrajectoryError(f"{src}: positions must be (frames, atoms, 3), got {pos.shape}")
    if pos.shape[0] < 2:
        raise TrajectoryError(f"{src}: a trajectory needs at least 2 frames, got {pos.shape[0]}")
    if len(traj.species) != pos.shape[1]:
        raise TrajectoryError(f"{src}: {len(traj.species)} species for {pos.shape[1]} atoms")
    if not np.all(np.isfinite(pos)):
        bad = np.argwhere(~np.isfinite(pos))[0]
        raise TrajectoryError(f"{src}: non-finite coordinates (first at frame {bad[0]}, atom {bad[1]})")
    if not np.all(np.isfinite(traj.lattice)) or abs(np.linalg.det(traj.lattice)) < 1e-6:
        raise TrajectoryError(f"{src}: invalid lattice {traj.lattice.tolist()}")
    if not (traj.dt_fs > 0 and math.isfinite(traj.dt_fs)):
        raise TrajectoryError(f"{src}: time between frames must be > 0 fs, got {traj.dt_fs}")
    if traj.velocities is not None:
        if traj.velocities.shape != pos.shape:
            raise TrajectoryError(f"{src}: velocities {traj.velocities.shape} do not match "
                                  f"positions {pos.shape}")
        if not np.all(np.isfinite(traj.velocities)):
            raise TrajectoryError(f"{src}: non-finite velocities")


# --------------------------------------------------------------------------------------
# Unwrapping
# --------------------------------------------------------------------------------------


def unwrap_fractional(frac: np.ndarray) -> np.ndarray:
    """Unwrap fractional coordinates (frames × atoms × 3): remove jumps across the cell.

    Assumes no atom moves more than half a cell between consecutive frames (minimum image).
    """
    frac = np.asarray(frac, dtype=np.float64)
    d = np.diff(frac, axis=0)
    d -= np.round(d)
    out = np.empty_like(frac)
    out[0] = frac[0]
    np.cumsum(d, axis=0, out=out[1:])
    out[1:] += frac[0]
    return out


def unwrap_cartesian(cart: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """Unwrap wrapped Cartesian coordinates in a fixed cell (rows of ``lattice`` = cell vectors)."""
    lattice = np.asarray(lattice, float)
    frac = np.asarray(cart, float) @ np.linalg.inv(lattice)
    return unwrap_fractional(frac) @ lattice


# --------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------


def _open_text(path: Path) -> str:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        with gzip.open(path, "rt") as fh:
            return fh.read()
    return path.read_text()


def read_xdatcar(path, timestep_fs: float, stride: int = 1, temperature_K: float | None = None
                 ) -> Trajectory:
    """Vectorized VASP XDATCAR reader (plain or gzipped, VASP 5 format, fixed cell).

    ``timestep_fs`` is the MD time step (POTIM) and ``stride`` the number of MD steps between
    frames (NBLOCK); frames are ``timestep_fs * stride`` apart. A variable-cell XDATCAR (a header
    repeated with a different lattice) is refused.
    """
    path = Path(path)
    text = _open_text(path)
    lines = text.splitlines()
    if len(lines) < 8:
        raise TrajectoryError(f"{path}: too short for an XDATCAR ({len(lines)} lines)")
    try:
        scale = float(lines[1].split()[0])
        lattice = np.array([[float(x) for x in lines[i].split()[:3]] for i in (2, 3, 4)]) * scale
        symbols = lines[5].split()
        counts = [int(x) for x in lines[6].split()]
    except (ValueError, IndexError) as exc:
        raise TrajectoryError(f"{path}: cannot parse the XDATCAR header ({exc})") from None
    if len(symbols) != len(counts):
        raise TrajectoryError(f"{path}: {len(symbols)} element symbols but {len(counts)} counts "
                              "(VASP 4 XDATCAR without symbols is not supported)")
    n_atoms = sum(counts)
    species = np.repeat(symbols, counts)
    starts = [i for i, ln in enumerate(lines) if ln.lstrip().startswith(("Direct", "Cartesian"))]
    if not starts:
        raise TrajectoryError(f"{path}: no 'Direct configuration' blocks")
    cartesian = lines[starts[0]].lstrip().startswith("Cartesian")
    # a header repeated between blocks → variable cell (or at least a restated one)
    for k, (a, b) in enumerate(zip(starts[:-1], starts[1:])):
        if b - a == n_atoms + 1:
            continue
        extra = [ln for ln in lines[a + n_atoms + 1:b] if ln.strip()]
        try:
            lat2 = np.array([[float(x) for x in extra[i].split()[:3]] for i in (2, 3, 4)])
            lat2 *= float(extra[1].split()[0])
        except (ValueError, IndexError):
            raise TrajectoryError(f"{path}: malformed block after frame {k + 1} "
                                  f"(expected {n_atoms} coordinate lines)") from None
        if not np.allclose(lat2, lattice, atol=1e-6):
            raise TrajectoryError(f"{path}: variable-cell trajectory (lattice changes at "
                                  f"frame {k + 2}); only fixed-cell (NVT) runs are supported")
    # drop a truncated last frame
    if len(lines) - starts[-1] - 1 < n_atoms:
        warnings.warn(f"{path}: last frame truncated, dropped", stacklevel=2)
        starts = starts[:-1]
    block = [ln for s in starts for ln in lines[s + 1:s + 1 + n_atoms]]
    try:
        flat = np.array(" ".join(block).split(), dtype=np.float64)
    except ValueError as exc:
        raise TrajectoryError(f"{path}: non-numeric coordinates ({exc})") from None
    n_frames = len(starts)
    if flat.size != n_frames * n_atoms * 3:
        # lines may carry extra columns (e.g. selective dynamics flags)
        rows = [ln.split()[:3] for ln in block]
        flat = np.array(rows, dtype=np.float64).ravel()
    coords = flat.reshape(n_frames, n_atoms, 3)
    if cartesian:
        coords = coords * scale @ np.linalg.inv(lattice)
    if not np.all(np.isfinite(coords)):
        raise TrajectoryError(f"{path}: non-finite coordinates")
    pos = unwrap_fractional(coords) @ lattice
    return Trajectory(species, lattice, pos, timestep_fs * stride, temperature_K, None, str(path),
                      timestep_fs, stride)


def _frames_to_traj(frames, path: Path, timestep_fs, stride, temperature_K) -> Trajectory:
    from ase import units

    if len(frames) < 2:
        raise TrajectoryError(f"{path}: a trajectory needs at least 2 frames, got {len(frames)}")
    cell0 = frames[0].cell.array
    sym0 = frames[0].get_chemical_symbols()
    for k, fr in enumerate(frames):
        if fr.get_chemical_symbols() != sym0:
            raise TrajectoryError(f"{path}: species change at frame {k}")
        if not np.allclose(fr.cell.array, cell0, atol=1e-5):
            raise TrajectoryError(f"{path}: variable-cell trajectory (cell changes at frame {k}); "
                                  "only fixed-cell (NVT) runs are supported")
    if abs(np.linalg.det(cell0)) < 1e-6:
        raise TrajectoryError(f"{path}: no periodic cell")
    info = frames[0].info
    ts = timestep_fs if timestep_fs is not None else info.get("md_timestep_fs")
    st = stride if stride is not None else info.get("md_stride")
    if ts is not None and st is not None:
        dt = float(ts) * int(st)
    elif "Time" in info and "Time" in frames[1].info:
        dt = float(frames[1].info["Time"]) - float(info["Time"])
        ts, st = dt, 1
    else:
        raise TrajectoryError(f"{path}: no time step in the file; pass timestep_fs (and stride)")
    temp = temperature_K if temperature_K is not None else info.get("md_temperature_K")
    cart = np.stack([fr.get_positions() for fr in frames])
    pos = unwrap_cartesian(cart, cell0)
    vel = None
    if "velocities" in frames[0].arrays:
        unit = str(info.get("velocity_unit", "ase"))
        vel = np.stack([fr.arrays["velocities"] for fr in frames]).astype(np.float64)
        if unit.lower() not in ("a/fs", "å/fs", "angstrom/fs"):
            vel = vel * units.fs  # ASE velocity unit → Å/fs
    elif frames[0].has("momenta"):
        vel = np.stack([fr.get_velocities() for fr in frames]) * units.fs
        if not np.any(vel):
            vel = None
    return Trajectory(np.array(sym0), cell0, pos, dt, None if temp is None else float(temp), vel,
                      str(path), None if ts is None else float(ts), None if st is None else int(st),
                      {"format": "ase"})


def read_extxyz(path, timestep_fs: float | None = None, stride: int | None = None,
                temperature_K: float | None = None) -> Trajectory:
    """Extended XYZ (plain or ``.gz``) via ``ase.io``; velocities in Å/fs when the frame says
    ``velocity_unit=A/fs`` (files of :mod:`matmap_utils.md`), else ASE units converted."""
    import ase.io

    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt") as fh:
                frames = ase.io.read(io.StringIO(fh.read()), index=":", format="extxyz")
        else:
            frames = ase.io.read(path, index=":", format="extxyz")
    except Exception as exc:  # noqa: BLE001 - ase raises many kinds
        raise TrajectoryError(f"{path}: cannot read as extended XYZ ({exc})") from None
    return _frames_to_traj(frames, path, timestep_fs, stride, temperature_K)


def read_ase_traj(path, timestep_fs: float, stride: int = 1, temperature_K: float | None = None
                  ) -> Trajectory:
    """ASE ``.traj`` file; velocities from the stored momenta (converted to Å/fs)."""
    import ase.io

    path = Path(path)
    try:
        frames = ase.io.read(path, index=":", format="traj")
    except Exception as exc:  # noqa: BLE001
        raise TrajectoryError(f"{path}: cannot read as an ASE trajectory ({exc})") from None
    return _frames_to_traj(frames, path, timestep_fs, stride, temperature_K)


def read_pmg_diffusion_json(path, timestep_fs: float | None = None, stride: int | None = None,
                            temperature_K: float | None = None) -> Trajectory:
    """A serialized pymatgen ``DiffusionAnalyzer`` (structure + displacements of every site).

    Positions = initial Cartesian coordinates + displacements (already unwrapped by pymatgen;
    they include the framework drift that pymatgen subtracts only at analysis time).
    """
    from pymatgen.core import Structure

    path = Path(path)
    try:
        d = json.loads(_open_text(path))
        structure = Structure.from_dict(d["structure"])
        disp = np.asarray(d["displacements"], dtype=np.float64)
    except (KeyError, ValueError, TypeError) as exc:
        raise TrajectoryError(f"{path}: not a DiffusionAnalyzer JSON ({exc})") from None
    if disp.ndim != 3 or disp.shape[0] != len(structure):
        raise TrajectoryError(f"{path}: displacements {disp.shape} do not match the structure's "
                              f"{len(structure)} sites")
    pos = structure.cart_coords[None, :, :] + disp.transpose(1, 0, 2)
    ts = float(timestep_fs if timestep_fs is not None else d.get("time_step"))
    st = int(stride if stride is not None else d.get("step_skip", 1))
    temp = temperature_K if temperature_K is not None else d.get("temperature")
    species = np.array([s.specie.symbol for s in structure])
    return Trajectory(species, structure.lattice.matrix, pos, ts * st,
                      None if temp is None else float(temp), None, str(path), ts, st,
                      {"format": "pmg_diffusion_json"})


def read_positions_array(path, structure, timestep_fs: float, stride: int = 1,
                         temperature_K: float | None = None, coords: str = "auto") -> Trajectory:
    """A (frames × atoms × 3) ``.npy`` array of positions plus the structure giving species and cell.

    ``coords``: ``"fractional"``, ``"cartesian"`` or ``"auto"`` (fractional when every value lies
    in [-0.5, 1.5]). Wrapped coordinates are unwrapped. Loaded with ``allow_pickle=False``.
    """
    from .structures import read_structure

    path = Path(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise TrajectoryError(f"{path}: not a plain numeric .npy array ({exc})") from None
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise TrajectoryError(f"{path}: expected (frames, atoms, 3), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise TrajectoryError(f"{path}: non-numeric array of dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise TrajectoryError(f"{path}: array contains NaN or inf")
    if not hasattr(structure, "lattice"):
        structure = read_structure(structure)
    if len(structure) != arr.shape[1]:
        raise TrajectoryError(f"{path}: {arr.shape[1]} atoms in the array but {len(structure)} "
                              "sites in the structure")
    lattice = structure.lattice.matrix
    if coords == "auto":
        coords = "fractional" if (arr.min() >= -0.5 and arr.max() <= 1.5) else "cartesian"
    if coords == "fractional":
        pos = unwrap_fractional(arr) @ lattice
    elif coords == "cartesian":
        pos = unwrap_cartesian(arr, lattice)
    else:
        raise ValueError(f"coords must be 'fractional', 'cartesian' or 'auto', not {coords!r}")
    species = np.array([s.specie.symbol for s in structure])
    return Trajectory(species, lattice, pos, timestep_fs * stride, temperature_K, None, str(path),
                      timestep_fs, stride, {"format": "npy", "coords": coords})


def detect_format(path) -> str:
    name = Path(path).name.lower()
    if name.endswith((".extxyz", ".extxyz.gz", ".xyz", ".xyz.gz")):
        return "extxyz"
    if name.endswith(".traj"):
        return "traj"
    if name.endswith((".json", ".json.gz")):
        return "pmg_diffusion_json"
    if name.endswith(".npy"):
        return "npy"
    if "xdatcar" in name:
        return "xdatcar"
    raise TrajectoryError(f"{path}: cannot tell the trajectory format from the name; "
                          "pass format= (xdatcar, extxyz, traj, pmg_diffusion_json, npy)")


def read_trajectory(path, *, format: str | None = None, timestep_fs: float | None = None,
                    stride: int | None = None, temperature_K: float | None = None,
                    structure=None) -> Trajectory:
    """Read any supported trajectory; ``format`` defaults to a guess from the file name."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    fmt = format or detect_format(path)
    if fmt == "xdatcar":
        if timestep_fs is None:
            raise TrajectoryError(f"{path}: an XDATCAR does not store the time step; pass "
                                  "timestep_fs (POTIM) and stride (NBLOCK)")
        return read_xdatcar(path, timestep_fs, stride or 1, temperature_K)
    if fmt == "extxyz":
        return read_extxyz(path, timestep_fs, stride, temperature_K)
    if fmt == "traj":
        if timestep_fs is None:
            raise TrajectoryError(f"{path}: pass timestep_fs for an ASE .traj file")
        return read_ase_traj(path, timestep_fs, stride or 1, temperature_K)
    if fmt == "pmg_diffusion_json":
        return read_pmg_diffusion_json(path, timestep_fs, stride, temperature_K)
    if fmt == "npy":
        if structure is None or timestep_fs is None:
            raise TrajectoryError(f"{path}: a positions array needs structure= and timestep_fs")
        return read_positions_array(path, structure, timestep_fs, stride or 1, temperature_K)
    raise TrajectoryError(f"{path}: unknown format {fmt!r}")


# --------------------------------------------------------------------------------------
# MSD (Eq. 3)
# --------------------------------------------------------------------------------------


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
        out[m] = (d ** 2).mean(axis=(0, 1))
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


# --------------------------------------------------------------------------------------
# D (Eq. 4), pooling, Arrhenius, Nernst–Einstein
# --------------------------------------------------------------------------------------


@dataclass
class MSDResult:
    lag_fs: np.ndarray  # (L,)
    msd: np.ndarray  # (L,) total Å²
    msd_xyz: np.ndarray  # (L, 3)
    n_ions: int
    n_runs: int = 1
    msd_runs: np.ndarray | None = None  # (runs, L) total MSD of each run


def msd(traj: Trajectory, specie: str | Sequence[str] = "Li", *, drift: bool = False,
        max_lag: int | None = None) -> MSDResult:
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
        return {"specie": self.specie, "D_cm2_s": self.D_cm2_s, "D_err_cm2_s": self.D_err_cm2_s,
                "Dx_cm2_s": float(self.D_xyz_cm2_s[0]), "Dy_cm2_s": float(self.D_xyz_cm2_s[1]),
                "Dz_cm2_s": float(self.D_xyz_cm2_s[2]),
                "Dx_err_cm2_s": float(self.D_xyz_err_cm2_s[0]),
                "Dy_err_cm2_s": float(self.D_xyz_err_cm2_s[1]),
                "Dz_err_cm2_s": float(self.D_xyz_err_cm2_s[2]),
                "intercept_A2": self.intercept_A2, "fit_start_fs": self.fit_start_fs,
                "fit_end_fs": self.fit_end_fs, "n_ions": self.n_ions, "n_runs": self.n_runs,
                "err_method": self.err_method, "temperature_K": self.temperature_K}


def _fit_D(res: MSDResult, lo: float, hi: float):
    w = fit_window(res.lag_fs, lo, hi)
    if w.sum() < 2:
        raise ValueError("fewer than 2 lags in the fit window; the trajectory is too short")
    t = res.lag_fs[w]
    s, b = _slope(t, res.msd[w])
    sx = np.array([_slope(t, res.msd_xyz[w, k])[0] for k in range(3)])
    return (s / 6.0 * A2_PER_FS_TO_CM2_PER_S, sx / 2.0 * A2_PER_FS_TO_CM2_PER_S, b,
            float(t[0]), float(t[-1]))


def diffusion(trajs: Trajectory | Sequence[Trajectory], specie: str = "Li", *, drift: bool = False,
              n_blocks: int = 5, fit_lo: float = 0.5, fit_hi: float = 1.0) -> DiffusionResult:
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
    pooled = MSDResult(results[0].lag_fs,
                       np.average([r.msd for r in results], axis=0, weights=w),
                       np.average([r.msd_xyz for r in results], axis=0, weights=w),
                       int(w.sum()), len(results), np.array([r.msd for r in results]))
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
    return DiffusionResult(specie, D, err, Dxyz, err_xyz, b, t0, t1, pooled.n_ions, len(trajs),
                           method, temp, pooled, per_run)


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
        return {k: getattr(self, k) for k in
                ("Ea_eV", "Ea_err_eV", "D0_cm2_s", "D0_err_cm2_s", "n_points", "weighted")}


def arrhenius(T: Iterable[float], D: Iterable[float], D_err: Iterable[float] | None = None
              ) -> ArrheniusResult:
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
    return ArrheniusResult(float(Ea), float(np.sqrt(cov[1, 1])), D0, float(D0 * np.sqrt(cov[0, 0])),
                           int(T.size), bool(weighted))


def nernst_einstein(D_cm2_s: float, n_ions: int, volume_A3: float, temperature_K: float,
                    charge: float = 1.0) -> float:
    """Ionic conductivity σ = n q² D / (kB T) in S/cm.

    Assumptions: Haven ratio 1 (tracer D = charge D; no cross-correlations between ions), only the
    analysed species carries charge, ideal (non-interacting) carriers.
    """
    n_cm3 = n_ions / (volume_A3 * 1e-24)
    q = charge * E_CHARGE
    return float(n_cm3 * q * q * D_cm2_s / (KB_J * temperature_K))


# --------------------------------------------------------------------------------------
# VACF → VDOS (Eq. 5) and vibrational descriptors (Eqs. 6–7 and harmonic thermodynamics)
# --------------------------------------------------------------------------------------


def masses(traj: Trajectory) -> np.ndarray:
    """Atomic masses (amu) of the atoms of ``traj``."""
    from ase.data import atomic_masses, atomic_numbers

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
    warnings.warn(f"{traj.source}: no velocities stored; using finite differences of positions "
                  f"every {traj.dt_fs:g} fs (Nyquist frequency {nyq_thz:.2f} THz = "
                  f"{nyq_thz * H_MEV_THZ:.1f} meV; higher modes are aliased/attenuated)",
                  stacklevel=2)
    v = (traj.positions[2:] - traj.positions[:-2]) / (2.0 * traj.dt_fs)
    return (_remove_com_velocity(v, masses(traj)) if remove_com else v), False


def kinetic_temperature(traj: Trajectory) -> dict[str, float]:
    """Equipartition temperature Σ m v² / (3 N kB) overall and per species (K).

    With finite-difference velocities this checks the frame interval: sampled every MD step it
    matches the thermostat temperature; sampled more sparsely it is far lower (vibrations
    average out), so a value ≫ or ≪ the stated temperature flags wrong time metadata."""
    from ase import units

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, _ = velocities_of(traj)
    m = masses(traj)
    # amu Å²/fs² → eV
    ke = 0.5 * m[None, :] * (v ** 2).sum(axis=2) * (units._amu * 1e10 / units._e)
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


def vdos(traj: Trajectory, atoms: np.ndarray | None = None, *, group: str = "all",
         mass_weighted: bool = True, max_lag: int | None = None,
         velocities: np.ndarray | None = None) -> VDOS:
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
    return {"omega_mean_meV": w_mean, "omega30_meV": w30, "Evib_meV_atom": Evib,
            "Fvib_meV_atom": Fvib, "Svib_kB_atom": Svib, "Cv_kB_atom": Cv, "theta_D_K": theta,
            "nyquist_meV": d.nyquist_meV, "from_velocities": d.from_velocities,
            "n_atoms": d.n_atoms}


def classify_diffusive(traj: Trajectory, threshold_A: float = 1.5, window: float = 0.1
                       ) -> np.ndarray:
    """Boolean mask of diffusive atoms: the distance between an atom's mean position over the
    first and over the last ``window`` fraction of the run exceeds ``threshold_A`` (averaging over
    the windows removes thermal vibration)."""
    k = max(1, int(round(window * traj.n_frames)))
    a = traj.positions[:k].mean(axis=0)
    b = traj.positions[-k:].mean(axis=0)
    return np.linalg.norm(b - a, axis=1) > threshold_A


def lindemann_ratio(traj: Trajectory, atoms: np.ndarray) -> dict:
    """Lindemann ratio of a group of (non-diffusive) atoms:
    sqrt(⟨|r_i − ⟨r_i⟩|²⟩) averaged over the atoms, divided by their mean nearest-neighbour
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


def vibrational_analysis(traj: Trajectory, *, threshold_A: float = 1.5, cutoff_meV: float = 30.0,
                         mass_weighted: bool = True) -> tuple["pd.DataFrame", dict[str, VDOS]]:  # noqa: F821
    """All vibrational descriptors of one trajectory, for the groups ``all``, ``nd``
    (non-diffusive ions), ``d`` (diffusive ions, when any) and each species.

    Returns (table with one row per group, {group: VDOS}). The Lindemann ratio is computed for the
    non-diffusive ions and repeated on every row.
    """
    import pandas as pd

    if traj.temperature_K is None:
        raise ValueError(f"{traj.source}: the temperature is needed for the thermodynamic functions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if traj.velocities is not None else "default")
        v, from_file = velocities_of(traj)
    diff = classify_diffusive(traj, threshold_A)
    groups: dict[str, np.ndarray] = {"all": np.arange(traj.n_atoms),
                                     "nd": np.flatnonzero(~diff)}
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


# --------------------------------------------------------------------------------------
# Run tables (the mirror's AIMD runs, the generated CHGNet set) and reference codes
# --------------------------------------------------------------------------------------


def load_aimd_run(row) -> Trajectory:
    """Read one row of :func:`matmap_utils.data.aimd_runs` (files through ``data.fetch``)."""
    from .data import fetch

    structure = fetch(row["structure_name"]) if row.get("structure_name") else None
    return read_trajectory(fetch(row["name"]), format=row["format"],
                           timestep_fs=float(row["timestep_fs"]), stride=int(row["stride"]),
                           temperature_K=float(row["temperature_K"]), structure=structure)


def _read_row(row: dict) -> Trajectory:
    return load_aimd_run(row)


def read_runs(runs, n_jobs: int | None = None) -> tuple[list[Trajectory | None], "pd.DataFrame"]:  # noqa: F821
    """Read every run of a run table in parallel. Returns (trajectories in row order, with None
    for failures; failures table with a reason per failed run)."""
    from .parallel import failures_frame, parallel_map

    rows = [dict(r) for _, r in runs.iterrows()]
    outs = parallel_map(_read_row, rows, keys=[r["name"] for r in rows], n_jobs=n_jobs)
    return [o.value if o.error is None else None for o in outs], failures_frame(outs)


def condition_table(runs, trajs: Sequence[Trajectory | None], by: Sequence[str],
                    drift: bool = False) -> tuple["pd.DataFrame", "pd.DataFrame", dict]:  # noqa: F821
    """Per-run and per-condition (pooled) D for a run table.

    Returns (per_run, per_condition, msd) where ``msd[condition]`` is a dict with ``lag_ps``,
    ``mean`` (pooled MSD, Å²), ``sem`` (standard error over runs, Å²; NaN for one run).
    """
    import pandas as pd

    runs = runs.reset_index(drop=True).copy()
    runs["_ok"] = [t is not None for t in trajs]
    per_run = []
    for i, row in runs.iterrows():
        t = trajs[i]
        if t is None:
            continue
        r = diffusion(t, row["specie"], drift=drift)
        per_run.append({**{c: row[c] for c in by}, "run": row.get("run"), "name": row["name"],
                        "n_frames": t.n_frames, "dt_frame_fs": t.dt_fs, **r.as_dict()})
    per_run = pd.DataFrame(per_run)
    cond_rows, curves = [], {}
    for key, grp in runs[runs["_ok"]].groupby(list(by), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        ts = [trajs[i] for i in grp.index]
        specie = grp["specie"].iloc[0]
        r = diffusion(ts, specie, drift=drift)
        t0 = ts[0]
        n_mob = len(t0.indices(specie))
        sigma = (nernst_einstein(r.D_cm2_s, n_mob, t0.volume, r.temperature_K)
                 if r.temperature_K else float("nan"))
        cond_rows.append({**dict(zip(by, key)), **r.as_dict(), "sigma_NE_S_cm": sigma,
                          "n_frames": min(t.n_frames for t in ts), "dt_frame_fs": t0.dt_fs,
                          "duration_ps": min(t.duration_fs for t in ts) / 1000})
        runs_msd = r.msd.msd_runs
        sem = (runs_msd.std(axis=0, ddof=1) / np.sqrt(len(ts)) if len(ts) > 1
               else np.full(runs_msd.shape[1], np.nan))
        curves[key if len(key) > 1 else key[0]] = {
            "lag_ps": r.msd.lag_fs / 1000, "mean": r.msd.msd, "sem": sem,
            "xyz": r.msd.msd_xyz, "fit": (r.fit_start_fs / 1000, r.fit_end_fs / 1000),
            "D_cm2_s": r.D_cm2_s, "intercept": r.intercept_A2}
    return per_run, pd.DataFrame(cond_rows), curves


def to_ase_frames(traj: Trajectory) -> list:
    """ASE Atoms per frame (positions wrapped back into the cell; for reference codes)."""
    from ase import Atoms

    frames = []
    for p in traj.positions:
        a = Atoms(symbols=list(traj.species), positions=p, cell=traj.lattice, pbc=True)
        a.wrap()
        frames.append(a)
    return frames


def kinisi_diffusion(trajs: Trajectory | Sequence[Trajectory], specie: str = "Li", *,
                     seed: int = 0, n_samples: int = 1000) -> dict:
    """D from ``kinisi`` (2.x) on the same frames and the same Eq. 4 window (τmax = N/2 lags,
    fit from τmax/2). kinisi computes the same all-origins MSD but fits it by Bayesian
    generalised least squares with the MSD covariance (posterior mean and s.d. reported) and
    removes the centre-of-mass drift of the whole cell; it has no framework-only option."""
    import contextlib
    import io

    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer as KDA

    trajs = [trajs] if isinstance(trajs, Trajectory) else list(trajs)
    n = min(t.n_frames for t in trajs)
    L = n // 2
    dtf = trajs[0].dt_fs
    ts_fs = trajs[0].timestep_fs or dtf
    stride = trajs[0].stride or 1
    # Times in fs, not ps: kinisi truncates dt / (time_step·step_skip) to an integer frame count,
    # and in ps 0.3/0.1 = 2.999… silently becomes a lag of 2 frames (lags 3, 6, … duplicated);
    # integer-valued fs times divide exactly.
    time_step = sc.scalar(float(ts_fs), unit="fs")
    step_skip = sc.scalar(stride)
    dt = sc.arange("time interval", 1, L + 1) * time_step * step_skip
    frames = [to_ase_frames(t.subset_frames(0, n)) for t in trajs]
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        k = KDA.from_ase(frames if len(frames) > 1 else frames[0], specie=specie,
                         time_step=time_step,
                         step_skip=step_skip, dtype="identical" if len(frames) > 1 else None,
                         dt=dt, progress=False)
        k.diffusion(sc.scalar(L * dtf / 2, unit="fs"), progress=False, n_samples=n_samples,
                    random_state=np.random.RandomState(seed))
    D = sc.to_unit(k.D, "cm^2/s").values
    msd_k = k.msd.values
    # our OLS fit on kinisi's MSD (same window) isolates the effect of the estimator
    lag = np.arange(1, L + 1) * dtf
    w = fit_window(lag)
    ols = np.polyfit(lag[w], msd_k[w], 1)[0] / 6 * A2_PER_FS_TO_CM2_PER_S
    return {"D_cm2_s": float(np.mean(D)), "D_std_cm2_s": float(np.std(D)),
            "D_ols_on_kinisi_msd_cm2_s": float(ols), "msd": msd_k, "lag_fs": lag}


def pymatgen_diffusion(traj: Trajectory, specie: str = "Li", smoothed: str | bool = "max") -> dict:
    """D from pymatgen-analysis-diffusion's ``DiffusionAnalyzer`` on the same displacements.

    pymatgen removes the framework drift and, with ``smoothed="max"``, averages over time origins
    and fits MSD over *all* lags (weighted by the number of observations), not τmax/2 … τmax.
    """
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer as PDA
    from pymatgen.core import Lattice, Structure

    structure = Structure(Lattice(traj.lattice), list(traj.species), traj.positions[0],
                          coords_are_cartesian=True)
    disp = (traj.positions - traj.positions[0]).transpose(1, 0, 2)
    ts = traj.timestep_fs or traj.dt_fs
    st = traj.stride or 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        da = PDA(structure, disp, specie, traj.temperature_K or 300.0, ts, st, smoothed=smoothed)
    return {"D_cm2_s": float(da.diffusivity), "D_std_cm2_s": float(da.diffusivity_std_dev),
            "D_xyz_cm2_s": np.asarray(da.diffusivity_components, float)}


def descriptor_row(traj: Trajectory, specie: str, *, threshold_A: float = 1.5,
                   min_nyquist_meV: float = 60.0, drift: bool = False,
                   framework_mobile_fraction: float = 0.1) -> tuple[dict, dict]:
    """One row of the descriptor table: D (± error, x/y/z), Nernst–Einstein σ, msd at τmax and the
    vibrational descriptors for all / non-diffusive (``_nd``) / diffusive (``_d``) ions.

    Vibrational columns are NaN when the frames are too sparse (Nyquist < ``min_nyquist_meV``)
    to resolve the spectrum, or when finite-difference velocities give a kinetic temperature
    outside 0.5–1.5× the stated one (wrong time metadata; ``time_metadata_suspect``).
    ``framework_mobile`` flags runs where more than ``framework_mobile_fraction`` of the
    non-mobile *cations* are diffusive (the host has melted or decomposed); diffusive anions alone
    (``anion_diffusive_fraction``) can be polyanion rotations and are only reported.
    Returns (row, {group: VDOS}).
    """
    r = diffusion(traj, specie, drift=drift)
    n_mob = len(traj.indices(specie))
    row = {"specie": specie, "temperature_K": traj.temperature_K,
           "D_cm2_s": r.D_cm2_s, "D_err_cm2_s": r.D_err_cm2_s,
           "Dx_cm2_s": r.D_xyz_cm2_s[0], "Dy_cm2_s": r.D_xyz_cm2_s[1], "Dz_cm2_s": r.D_xyz_cm2_s[2],
           "msd_tmax_A2": float(r.msd.msd[-1]), "tmax_ps": r.fit_end_fs / 1000,
           "sigma_NE_S_cm": nernst_einstein(r.D_cm2_s, n_mob, traj.volume, traj.temperature_K)
           if traj.temperature_K else float("nan"),
           "n_atoms": traj.n_atoms, "duration_ps": traj.duration_fs / 1000,
           "dt_frame_fs": traj.dt_fs, "velocities_from_file": traj.velocities is not None}
    fw = np.setdiff1d(np.arange(traj.n_atoms), traj.indices(specie))
    if fw.size:
        pos = remove_drift(traj, specie) if drift else traj.positions
        row["framework_msd_tmax_A2"] = float(msd_fft(pos[:, fw]).sum(axis=1)[-1])
        from pymatgen.core import Element

        diff = classify_diffusive(traj, threshold_A)
        row["framework_diffusive_fraction"] = float(diff[fw].mean())
        # Anions (Pauling χ ≥ 2.5: S, O, Cl, I, ...) move > threshold when polyanions rotate
        # (paddle-wheel) without the host breaking; diffusing framework *cations* (P, Ge, ...)
        # mean the host has melted or decomposed: not a solid-electrolyte state.
        anion = np.array([(Element(sp).X or 0) >= 2.5 for sp in traj.species])
        cat = fw[~anion[fw]]
        row["anion_diffusive_fraction"] = float(diff[fw[anion[fw]]].mean()) if anion[fw].any() else 0.0
        row["framework_cation_diffusive_fraction"] = float(diff[cat].mean()) if cat.size else 0.0
        row["framework_mobile"] = bool(row["framework_cation_diffusive_fraction"]
                                       > framework_mobile_fraction)
    nyq = 1e3 / (2 * traj.dt_fs) * H_MEV_THZ
    row["nyquist_meV"] = nyq
    row["T_kinetic_K"] = kinetic_temperature(traj)["all"]
    # finite-difference velocities whose kinetic temperature is far from the stated one mean the
    # frame interval (time metadata) is wrong or too coarse: no VDOS from them
    suspect = (traj.velocities is None and bool(traj.temperature_K)
               and not 0.5 < row["T_kinetic_K"] / traj.temperature_K < 1.5)
    row["time_metadata_suspect"] = bool(suspect and nyq >= min_nyquist_meV)
    spectra: dict = {}
    names = ["omega_mean_meV", "omega30_meV", "Evib_meV_atom", "Fvib_meV_atom", "Svib_kB_atom",
             "Cv_kB_atom", "theta_D_K"]
    if nyq >= min_nyquist_meV and traj.temperature_K and not suspect:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table, spectra = vibrational_analysis(traj, threshold_A=threshold_A)
        by = table.set_index("group")
        for g, suffix in (("all", ""), ("nd", "_nd"), ("d", "_d")):
            for c in names:
                row[c + suffix] = float(by.loc[g, c]) if g in by.index else float("nan")
        row["lindemann"] = float(by["lindemann"].iloc[0])
        row["n_diffusive"] = int(by.loc["d", "n_atoms"]) if "d" in by.index else 0
    else:
        for suffix in ("", "_nd", "_d"):
            for c in names:
                row[c + suffix] = float("nan")
        row["lindemann"] = lindemann_ratio(traj, np.flatnonzero(~classify_diffusive(traj, threshold_A)))["lindemann"]
        row["n_diffusive"] = int(classify_diffusive(traj, threshold_A).sum())
    return row, spectra


def analyze_generated(runs, specie: str = "Li", *, threshold_A: float = 1.5
                      ) -> tuple["pd.DataFrame", dict, dict]:  # noqa: F821
    """Descriptor rows, VDOS spectra and MSD curves of the generated set
    (:func:`matmap_utils.md.md_runs`). Unreadable runs become rows with an ``error``."""
    import pandas as pd
    from pymatgen.core import Composition

    rows, spectra, curves = [], {}, {}
    for _, run in runs.iterrows():
        key = (run["material"], float(run["temperature_K"]))
        try:
            t = read_trajectory(run["path"])
            row, sp = descriptor_row(t, specie, threshold_A=threshold_A)
            r = diffusion(t, specie)
            curves[key] = {"lag_ps": r.msd.lag_fs / 1000, "msd": r.msd.msd, "xyz": r.msd.msd_xyz}
            for s in sorted(set(t.species)):
                m = msd_fft(t.positions[:, t.species == s])
                curves[key][f"msd_{s}"] = m.sum(axis=1)
            spectra[key] = sp
            row["error"] = None
        except Exception as exc:  # noqa: BLE001 - one bad file is a row, not a crash
            row = {"error": f"{type(exc).__name__}: {exc}"}
        rows.append({"system": run["material"],
                     "reduced_formula": Composition(run["material"]).reduced_formula,
                     "source": "CHGNet NVT (this work)", "file": run["file"],
                     "n_frames": run["n_frames"], **row,
                     "temperature_K": float(run["temperature_K"])})
    return pd.DataFrame(rows), spectra, curves


def arrhenius_table(df, by: str = "system", T: str = "temperature_K", D: str = "D_cm2_s",
                    D_err: str = "D_err_cm2_s", extrapolate_K: float = 300.0) -> "pd.DataFrame":  # noqa: F821
    """Arrhenius fit per group with ≥ 2 temperatures (positive D): Ea, D0 (± errors) and D
    extrapolated to ``extrapolate_K`` (an extrapolation far outside the fitted range)."""
    import pandas as pd

    rows = []
    for key, g in df.dropna(subset=[D]).groupby(by):
        g = g[g[D] > 0]
        if g[T].nunique() < 2:
            continue
        err = g[D_err] if D_err in g else None
        fit = arrhenius(g[T], g[D], err)
        rows.append({by: key, **fit.as_dict(), "T_min_K": g[T].min(), "T_max_K": g[T].max(),
                     f"D_{int(extrapolate_K)}K_cm2_s": float(fit.D(extrapolate_K))})
    cols = [by, "Ea_eV", "Ea_err_eV", "D0_cm2_s", "D0_err_cm2_s", "n_points", "weighted", "T_min_K",
            "T_max_K", f"D_{int(extrapolate_K)}K_cm2_s"]
    return pd.DataFrame(rows, columns=cols)
