"""``matmap md STRUCTURE``: NVT molecular dynamics with CHGNet, extended XYZ with velocities."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import torch

from matmap_utils.cli.main import COMMANDS
from matmap_utils.core.cache import atomic_write_json
from matmap_utils.data.registry import fetch
from matmap_utils.transport.md import MDSettings, package_versions, run_nvt, to_atoms


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "md",
        help=COMMANDS["md"],
        description="Langevin equilibration then Nosé–Hoover-chain NVT production with CHGNet. "
        "Writes every STRIDE-th production step (positions Å, velocities Å/fs) to -o "
        "(.extxyz or .extxyz.gz) and a sidecar OUT.provenance.json (command, seed, "
        "settings, package versions, wall time).",
    )
    p.add_argument("structure", help="structure file (CIF, POSCAR, ...) or a mirror name such as mp_li/mp-985583.cif")
    p.add_argument("--temperature", type=float, required=True, help="temperature (K)")
    p.add_argument("--steps", type=int, default=2000, help="production MD steps (default 2000)")
    p.add_argument("--equil-steps", type=int, default=500, help="equilibration steps (default 500)")
    p.add_argument("--timestep", type=float, default=2.0, help="time step in fs (default 2)")
    p.add_argument("--stride", type=int, default=5, help="steps between saved frames (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial velocities/Langevin noise")
    p.add_argument("--supercell", type=int, nargs=3, default=(1, 1, 1), metavar=("NA", "NB", "NC"))
    p.add_argument("--device", default=None, help="torch device (default: GPU when present)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--material", default=None, help="label stored in the provenance")
    p.add_argument("-o", "--output", required=True, help="output .extxyz or .extxyz.gz")
    p.set_defaults(func=run)


def run(args) -> int:

    out = Path(args.output)
    if not (out.name.endswith(".extxyz") or out.name.endswith(".extxyz.gz")):
        raise ValueError(f"{out}: output must end in .extxyz or .extxyz.gz")
    src = Path(args.structure)
    source = args.structure
    if not src.exists():
        try:
            src = fetch(args.structure)
        except Exception as exc:  # noqa: BLE001
            raise FileNotFoundError(f"{args.structure}: not a file and not a mirror name ({exc})") from None
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = MDSettings(
        temperature_K=args.temperature,
        steps=args.steps,
        timestep_fs=args.timestep,
        equil_steps=args.equil_steps,
        stride=args.stride,
        seed=args.seed,
        supercell=tuple(args.supercell),
    )
    atoms = to_atoms(src)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    res = run_nvt(
        atoms,
        settings,
        out,
        device=args.device,
        log_every=50,
        label=f"{args.material or src.stem} {args.temperature:g} K",
    )
    n_atoms = len(atoms) * int(settings.supercell[0] * settings.supercell[1] * settings.supercell[2])
    prov = {
        "file": str(out),
        "material": args.material or atoms.get_chemical_formula(mode="reduce"),
        "source": source,
        "temperature_K": args.temperature,
        "timestep_fs": args.timestep,
        "stride": args.stride,
        "dt_frame_fs": args.timestep * args.stride,
        "steps": args.steps,
        "equil_steps": args.equil_steps,
        "n_atoms": n_atoms,
        "n_frames": res.n_frames,
        "seed": args.seed,
        "supercell": list(settings.supercell),
        "thermostat": "Langevin (friction 0.02/fs) equilibration, then Nose-Hoover chain "
        f"(tdamp {settings.tdamp_steps:g} steps, chain 3) production",
        "potential": "CHGNet pretrained (weights shipped in the chgnet wheel)",
        "device": args.device or "auto",
        "threads": args.threads,
        "command": "matmap md " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if len(sys.argv) > 1 and sys.argv[1] == "md"
        else None,
        "started_utc": started,
        "wall_time_s": round(res.wall_time_s, 1),
        "seconds_per_step": round(res.seconds_per_step, 4),
        "mean_temperature_K": round(res.mean_temperature_K, 1),
        "versions": package_versions(),
    }
    side = atomic_write_json(out.with_name(out.name + ".provenance.json"), prov)
    os.chmod(side, 0o644)  # atomic writes create 0600 files; the sidecar is meant to be shared
    print(
        f"wrote {res.n_frames} frames to {out} ({res.wall_time_s:.0f} s, <T> = {res.mean_temperature_K:.0f} K)",
        file=sys.stderr,
    )
    return 0
