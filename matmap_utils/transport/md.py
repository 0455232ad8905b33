"""NVT molecular dynamics with the CHGNet universal potential (through ASE).

The CHGNet weights ship inside the ``chgnet`` wheel, so :func:`load_calculator` works offline.
A run is

1. velocities drawn from Maxwell–Boltzmann at ``temperature`` (seeded), centre-of-mass momentum
   removed;
2. ``equil_steps`` of Langevin dynamics (friction ``0.02 /fs``) to thermalise quickly;
3. ``steps`` of production with a Nosé–Hoover chain thermostat (``tdamp = 100 * timestep``), which
   perturbs the dynamics (and hence the velocity autocorrelation / VDOS) far less than Langevin.

Every ``stride``-th production step is written to an extended-XYZ file (gzip-compressed when the
name ends in ``.gz``) holding positions (Å, 5 decimals) and velocities in Å/fs (7 significant
digits; ``velocity_unit=A/fs`` in every frame comment — ``ase.io.read`` keeps them as the array
``atoms.arrays["velocities"]``, not as momenta). The frame comment
carries ``Lattice``, ``Time`` (fs since production start), ``Temperature`` (instantaneous, K),
``energy`` (eV) plus ``md_timestep_fs``, ``md_stride`` and ``md_temperature_K`` so a reader needs
no extra arguments. Numbers are written with float32-level precision to keep files small.

The CPU thread count is left to the caller (``torch.set_num_threads``); a GPU is used when present
(:func:`matmap_utils.core.runtime.torch_device`).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import ase
import numpy as np
import pandas as pd
import pymatgen.core
import torch
from ase import Atoms, units
from ase.md.langevin import Langevin
from ase.md.nose_hoover_chain import NoseHooverChainNVT
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from pymatgen.io.ase import AseAtomsAdaptor

from matmap_utils.core.paths import repo_root
from matmap_utils.core.runtime import torch_device
from matmap_utils.data.structures import read_structure

#: Folder of the generated trajectory set (committed, small).
MD_DIR_NAME = "data/md"


@dataclass
class MDSettings:
    temperature_K: float
    steps: int = 2000  # production steps
    timestep_fs: float = 2.0
    equil_steps: int = 500
    stride: int = 5  # production steps between saved frames
    seed: int = 0
    friction_per_fs: float = 0.02  # Langevin equilibration
    tdamp_steps: float = 100.0  # Nosé–Hoover damping time in time steps
    supercell: tuple[int, int, int] = (1, 1, 1)

    def validate(self) -> None:
        if not (0 < self.temperature_K < 10000):
            raise ValueError(f"temperature must be in (0, 10000) K, got {self.temperature_K}")
        if self.steps < 1 or self.equil_steps < 0 or self.stride < 1:
            raise ValueError("steps ≥ 1, equil_steps ≥ 0 and stride ≥ 1 are required")
        if not (0 < self.timestep_fs <= 5):
            raise ValueError(f"timestep must be in (0, 5] fs, got {self.timestep_fs}")


@dataclass
class MDResult:
    path: Path
    n_frames: int
    wall_time_s: float
    seconds_per_step: float
    mean_temperature_K: float
    settings: dict = field(default_factory=dict)


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine an MD run (written into its provenance file)."""
    import chgnet  # lazy: chgnet is an optional dependency (only the MD commands need it)

    return {
        "python": platform.python_version(),
        "chgnet": getattr(chgnet, "__version__", "?"),
        "ase": ase.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pymatgen": getattr(pymatgen.core, "__version__", "?"),
    }


def load_calculator(device: str | None = None):
    """CHGNet calculator (pretrained weights from the wheel), on ``device`` or the auto device."""

    from chgnet.model import CHGNet  # lazy: chgnet is an optional dependency (only the MD commands need it)
    from chgnet.model.dynamics import CHGNetCalculator  # lazy: as above

    dev = str(device or torch_device())
    with contextlib.redirect_stdout(io.StringIO()):  # chgnet prints a banner on load
        model = CHGNet.load(verbose=False) if "verbose" in CHGNet.load.__code__.co_varnames else CHGNet.load()
        calc = CHGNetCalculator(model=model, use_device=dev)
    return calc


def to_atoms(structure):
    """ASE Atoms from a pymatgen Structure, an ASE Atoms or a path (CIF/POSCAR/...)."""

    if isinstance(structure, Atoms):
        return structure.copy()
    if isinstance(structure, (str, os.PathLike)):
        structure = read_structure(structure)

    if not structure.is_ordered:
        raise ValueError("MD needs an ordered structure (partial occupancies found)")
    return AseAtomsAdaptor.get_atoms(structure)


def _fmt_frame(atoms, time_fs: float, temperature: float, energy: float, meta: dict) -> str:
    cell = atoms.cell.array
    lattice = " ".join(f"{x:.6f}" for x in cell.ravel())
    extra = " ".join(f"{k}={v}" for k, v in meta.items())
    head = (
        f'{len(atoms)}\nLattice="{lattice}" Properties=species:S:1:pos:R:3:velocities:R:3 '
        f'velocity_unit=A/fs Time={time_fs:.3f} Temperature={temperature:.2f} energy={energy:.6f} {extra} pbc="T T T"\n'
    )

    pos = atoms.get_positions()
    vel = atoms.get_velocities() * units.fs  # ASE velocity unit -> Å/fs
    sym = atoms.get_chemical_symbols()
    lines = [f"{s} {p[0]:.5f} {p[1]:.5f} {p[2]:.5f} {v[0]:.6e} {v[1]:.6e} {v[2]:.6e}" for s, p, v in zip(sym, pos, vel)]
    return head + "\n".join(lines) + "\n"


def run_nvt(
    structure,
    settings: MDSettings,
    out: str | Path,
    *,
    device: str | None = None,
    calculator=None,
    log_every: int = 0,
    label: str = "",
) -> MDResult:
    """Run equilibration + production NVT MD and write the production trajectory to ``out``."""

    settings.validate()
    atoms = to_atoms(structure)
    if tuple(settings.supercell) != (1, 1, 1):
        atoms = atoms.repeat(tuple(settings.supercell))
    atoms.calc = calculator if calculator is not None else load_calculator(device)
    rng = np.random.default_rng(settings.seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=settings.temperature_K, rng=rng)
    Stationary(atoms)
    dt = settings.timestep_fs * units.fs
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "md_timestep_fs": settings.timestep_fs,
        "md_stride": settings.stride,
        "md_temperature_K": settings.temperature_K,
    }
    t0 = time.perf_counter()
    if settings.equil_steps:
        eq = Langevin(
            atoms,
            dt,
            temperature_K=settings.temperature_K,
            friction=settings.friction_per_fs / units.fs,
            fixcm=True,
            rng=rng,
        )
        eq.run(settings.equil_steps)
    prod = NoseHooverChainNVT(atoms, dt, temperature_K=settings.temperature_K, tdamp=settings.tdamp_steps * dt)
    tmp = out.with_name(out.name + ".part")
    opener = gzip.open if out.suffix == ".gz" else open
    temps: list[float] = []
    n_frames = 0
    with opener(tmp, "wt") as fh:

        def write(step: int) -> None:
            nonlocal n_frames
            T = atoms.get_temperature()
            temps.append(T)
            fh.write(_fmt_frame(atoms, step * settings.timestep_fs, T, float(atoms.get_potential_energy()), meta))
            n_frames += 1

        write(0)
        for block in range(settings.steps // settings.stride):
            prod.run(settings.stride)
            write((block + 1) * settings.stride)
            if log_every and (block + 1) % log_every == 0:
                el = time.perf_counter() - t0
                print(f"[{label}] frame {n_frames} T={temps[-1]:.0f} K elapsed {el:.0f} s", file=sys.stderr, flush=True)
    os.replace(tmp, out)
    wall = time.perf_counter() - t0
    total = settings.steps + settings.equil_steps
    return MDResult(
        path=out,
        n_frames=n_frames,
        wall_time_s=wall,
        seconds_per_step=wall / total,
        mean_temperature_K=float(np.mean(temps)),
        settings=asdict(settings),
    )


#: Materials of the generated set: mirror CIF, label, supercell.
GENERATED_MATERIALS = {
    "Li3PS4": {"name": "mp_li/mp-985583.cif", "supercell": (1, 1, 1)},  # beta, Pnma, 32 atoms
    "Li7P3S11": {"name": "mp_li/mp-641703.cif", "supercell": (1, 1, 1)},  # P-1, 42 atoms
    "Li10GeP2S12": {"name": "mp_li/mp-696128.cif", "supercell": (1, 1, 1)},  # P4_2mc, 50 atoms
}


def md_dir() -> Path:
    return repo_root() / MD_DIR_NAME


def md_runs() -> pd.DataFrame:  # noqa: F821
    """The generated trajectory set: one row per run (from the ``data/md/*.provenance.json`` sidecars).

    Columns: ``path`` (absolute), ``file`` (relative to the repo), ``material``, ``source``
    (mirror CIF), ``temperature_K``, ``timestep_fs``, ``stride``, ``dt_frame_fs``, ``steps``,
    ``equil_steps``, ``n_atoms``, ``n_frames``, ``seed``, ``wall_time_s``, ``format``.
    Only runs whose file exists are listed (the generation may still be running).
    """

    cols = [
        "path",
        "file",
        "material",
        "source",
        "temperature_K",
        "timestep_fs",
        "stride",
        "dt_frame_fs",
        "steps",
        "equil_steps",
        "n_atoms",
        "n_frames",
        "seed",
        "wall_time_s",
        "format",
    ]
    rows = []
    for side in sorted(md_dir().glob("*.provenance.json")):
        run = json.loads(side.read_text())
        path = side.with_name(side.name.replace(".provenance.json", ""))
        if not path.exists():
            continue
        rows.append({**{c: run.get(c) for c in cols}, "path": path, "format": "extxyz"})
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["material", "temperature_K"]).reset_index(drop=True)
