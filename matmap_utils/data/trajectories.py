"""MD trajectories: the :class:`Trajectory` container and readers for XDATCAR, extxyz, ASE .traj, pymatgen-diffusion JSON and position arrays (units: Å, fs, K)."""

from __future__ import annotations

import gzip
import io
import json
import math
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms, units
from pymatgen.core import Structure

from matmap_utils.data.structures import read_structure


class TrajectoryError(ValueError):
    """Bad or inconsistent trajectory input (message names the file)."""


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
            raise TrajectoryError(
                f"{self.source}: no atoms of species {wanted} (species present: {sorted(set(self.species))})"
            )
        return idx

    def composition(self) -> dict[str, int]:
        sp, counts = np.unique(self.species, return_counts=True)
        return {str(s): int(c) for s, c in zip(sp, counts)}

    def subset_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Trajectory:
        sl = slice(start, stop, step)
        vel = None if self.velocities is None else self.velocities[sl]
        return Trajectory(
            self.species,
            self.lattice,
            self.positions[sl],
            self.dt_fs * step,
            self.temperature_K,
            vel,
            self.source,
            self.timestep_fs,
            None if self.stride is None else self.stride * step,
            dict(self.meta),
        )


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
            raise TrajectoryError(f"{src}: velocities {traj.velocities.shape} do not match positions {pos.shape}")
        if not np.all(np.isfinite(traj.velocities)):
            raise TrajectoryError(f"{src}: non-finite velocities")


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


def _open_text(path: Path) -> str:
    """The file's text, gunzipped when it starts with the gzip magic bytes; a truncated or corrupt
    gzip stream is a :class:`TrajectoryError` naming the file (not a bare ``EOFError``)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return _gunzip_text(path)
    return path.read_text()


def _gunzip_text(path: Path) -> str:
    try:
        with gzip.open(path, "rt") as fh:
            return fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise TrajectoryError(f"{path}: truncated or corrupt gzip file ({exc})") from None


def read_xdatcar(path, timestep_fs: float, stride: int = 1, temperature_K: float | None = None) -> Trajectory:
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
        raise TrajectoryError(
            f"{path}: {len(symbols)} element symbols but {len(counts)} counts "
            "(VASP 4 XDATCAR without symbols is not supported)"
        )
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
        extra = [ln for ln in lines[a + n_atoms + 1 : b] if ln.strip()]
        try:
            lat2 = np.array([[float(x) for x in extra[i].split()[:3]] for i in (2, 3, 4)])
            lat2 *= float(extra[1].split()[0])
        except (ValueError, IndexError):
            raise TrajectoryError(
                f"{path}: malformed block after frame {k + 1} (expected {n_atoms} coordinate lines)"
            ) from None
        if not np.allclose(lat2, lattice, atol=1e-6):
            raise TrajectoryError(
                f"{path}: variable-cell trajectory (lattice changes at "
                f"frame {k + 2}); only fixed-cell (NVT) runs are supported"
            )
    # drop a truncated last frame
    if len(lines) - starts[-1] - 1 < n_atoms:
        warnings.warn(f"{path}: last frame truncated, dropped", stacklevel=2)
        starts = starts[:-1]
    block = [ln for s in starts for ln in lines[s + 1 : s + 1 + n_atoms]]
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
    return Trajectory(species, lattice, pos, timestep_fs * stride, temperature_K, None, str(path), timestep_fs, stride)


def _frames_to_traj(frames, path: Path, timestep_fs, stride, temperature_K) -> Trajectory:

    if len(frames) < 2:
        raise TrajectoryError(f"{path}: a trajectory needs at least 2 frames, got {len(frames)}")
    cell0 = frames[0].cell.array
    sym0 = frames[0].get_chemical_symbols()
    for k, fr in enumerate(frames):
        if fr.get_chemical_symbols() != sym0:
            raise TrajectoryError(f"{path}: species change at frame {k}")
        if not np.allclose(fr.cell.array, cell0, atol=1e-5):
            raise TrajectoryError(
                f"{path}: variable-cell trajectory (cell changes at frame {k}); "
                "only fixed-cell (NVT) runs are supported"
            )
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
    return Trajectory(
        np.array(sym0),
        cell0,
        pos,
        dt,
        None if temp is None else float(temp),
        vel,
        str(path),
        None if ts is None else float(ts),
        None if st is None else int(st),
        {"format": "ase"},
    )


def read_extxyz(
    path, timestep_fs: float | None = None, stride: int | None = None, temperature_K: float | None = None
) -> Trajectory:
    """Extended XYZ (plain or ``.gz``) via ``ase.io``; velocities in Å/fs when the frame says
    ``velocity_unit=A/fs`` (files of :mod:`matmap_utils.transport.md`), else ASE units converted."""

    path = Path(path)
    try:
        if path.suffix == ".gz":
            frames = ase.io.read(io.StringIO(_gunzip_text(path)), index=":", format="extxyz")
        else:
            frames = ase.io.read(path, index=":", format="extxyz")
    except TrajectoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - ase raises many kinds
        raise TrajectoryError(f"{path}: cannot read as extended XYZ ({exc})") from None
    return _frames_to_traj(frames, path, timestep_fs, stride, temperature_K)


def read_ase_traj(path, timestep_fs: float, stride: int = 1, temperature_K: float | None = None) -> Trajectory:
    """ASE ``.traj`` file; velocities from the stored momenta (converted to Å/fs)."""

    path = Path(path)
    try:
        frames = ase.io.read(path, index=":", format="traj")
    except Exception as exc:  # noqa: BLE001
        raise TrajectoryError(f"{path}: cannot read as an ASE trajectory ({exc})") from None
    return _frames_to_traj(frames, path, timestep_fs, stride, temperature_K)


def read_pmg_diffusion_json(
    path, timestep_fs: float | None = None, stride: int | None = None, temperature_K: float | None = None
) -> Trajectory:
    """A serialized pymatgen ``DiffusionAnalyzer`` (structure + displacements of every site).

    Positions = initial Cartesian coordinates + displacements (already unwrapped by pymatgen;
    they include the framework drift that pymatgen subtracts only at analysis time).
    """

    path = Path(path)
    try:
        d = json.loads(_open_text(path))
        structure = Structure.from_dict(d["structure"])
        disp = np.asarray(d["displacements"], dtype=np.float64)
    except (KeyError, ValueError, TypeError) as exc:
        raise TrajectoryError(f"{path}: not a DiffusionAnalyzer JSON ({exc})") from None
    if disp.ndim != 3 or disp.shape[0] != len(structure):
        raise TrajectoryError(f"{path}: displacements {disp.shape} do not match the structure's {len(structure)} sites")
    pos = structure.cart_coords[None, :, :] + disp.transpose(1, 0, 2)
    ts = float(timestep_fs if timestep_fs is not None else d.get("time_step"))
    st = int(stride if stride is not None else d.get("step_skip", 1))
    temp = temperature_K if temperature_K is not None else d.get("temperature")
    species = np.array([s.specie.symbol for s in structure])
    return Trajectory(
        species,
        structure.lattice.matrix,
        pos,
        ts * st,
        None if temp is None else float(temp),
        None,
        str(path),
        ts,
        st,
        {"format": "pmg_diffusion_json"},
    )


def read_positions_array(
    path, structure, timestep_fs: float, stride: int = 1, temperature_K: float | None = None, coords: str = "auto"
) -> Trajectory:
    """A (frames × atoms × 3) ``.npy`` array of positions plus the structure giving species and cell.

    ``coords``: ``"fractional"``, ``"cartesian"`` or ``"auto"`` (fractional when every value lies
    in [-0.5, 1.5]). Wrapped coordinates are unwrapped. Loaded with ``allow_pickle=False``.
    """

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
        raise TrajectoryError(f"{path}: {arr.shape[1]} atoms in the array but {len(structure)} sites in the structure")
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
    return Trajectory(
        species,
        lattice,
        pos,
        timestep_fs * stride,
        temperature_K,
        None,
        str(path),
        timestep_fs,
        stride,
        {"format": "npy", "coords": coords},
    )


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
    raise TrajectoryError(
        f"{path}: cannot tell the trajectory format from the name; "
        "pass format= (xdatcar, extxyz, traj, pmg_diffusion_json, npy)"
    )


def read_trajectory(
    path,
    *,
    format: str | None = None,
    timestep_fs: float | None = None,
    stride: int | None = None,
    temperature_K: float | None = None,
    structure=None,
) -> Trajectory:
    """Read any supported trajectory; ``format`` defaults to a guess from the file name."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    fmt = format or detect_format(path)
    if fmt == "xdatcar":
        if timestep_fs is None:
            raise TrajectoryError(
                f"{path}: an XDATCAR does not store the time step; pass timestep_fs (POTIM) and stride (NBLOCK)"
            )
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


def to_ase_frames(traj: Trajectory) -> list:
    """ASE Atoms per frame (positions wrapped back into the cell; for reference codes)."""

    frames = []
    for p in traj.positions:
        a = Atoms(symbols=list(traj.species), positions=p, cell=traj.lattice, pbc=True)
        a.wrap()
        frames.append(a)
    return frames
