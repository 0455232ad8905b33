"""``matmap diffusion TRAJ…``: D (Eq. 4) from MSD (Eq. 3), and vibrational descriptors."""

from __future__ import annotations

import json
import sys
import warnings

import pandas as pd

from matmap_utils.cli.main import COMMANDS
from matmap_utils.data import trajectories
from matmap_utils.transport import diffusion, vibrations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "diffusion",
        help=COMMANDS["diffusion"],
        description="Reads XDATCAR(.gz), extended XYZ(.gz), ASE .traj, pymatgen DiffusionAnalyzer "
        "JSON or .npy position arrays (with --structure). Several files are treated as "
        "independent runs of one system and pooled. D is fitted over "
        "tau_max/2 <= tau <= tau_max with tau_max = half the (shortest) run.",
    )
    p.add_argument("trajectories", nargs="+", metavar="TRAJ")
    p.add_argument("--specie", default="Li", help="mobile species (default Li)")
    p.add_argument("--timestep", type=float, default=None, help="MD time step in fs (POTIM)")
    p.add_argument("--stride", type=int, default=None, help="MD steps between frames (NBLOCK)")
    p.add_argument("--temperature", type=float, default=None, help="temperature in K")
    p.add_argument(
        "--format",
        default=None,
        choices=["xdatcar", "extxyz", "traj", "pmg_diffusion_json", "npy"],
        help="trajectory format (default: from the file name)",
    )
    p.add_argument("--structure", default=None, help="structure file for .npy position arrays")
    p.add_argument("--drift", action="store_true", help="subtract the framework (non-mobile atoms) mean displacement")
    p.add_argument("--blocks", type=int, default=5, help="time blocks for a single run's error")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args) -> int:

    trajs = []
    for path in args.trajectories:
        trajs.append(
            trajectories.read_trajectory(
                path,
                format=args.format,
                timestep_fs=args.timestep,
                stride=args.stride,
                temperature_K=args.temperature,
                structure=args.structure,
            )
        )
    comps = {tuple(sorted(t.composition().items())) for t in trajs}
    if len(comps) > 1:
        raise ValueError(
            "the trajectories have different compositions; pool only runs of one "
            "system: " + "; ".join(str(dict(c)) for c in comps)
        )
    res = diffusion.diffusion(trajs, args.specie, drift=args.drift, n_blocks=args.blocks)
    out = res.as_dict()
    out["files"] = [str(t.source) for t in trajs]
    out["dt_frame_fs"] = trajs[0].dt_fs
    if res.temperature_K:
        t0 = trajs[0]
        out["sigma_NE_S_cm"] = diffusion.nernst_einstein(
            res.D_cm2_s, len(t0.indices(args.specie)), t0.volume, res.temperature_K
        )
    vib = []
    for t in trajs:
        if t.velocities is None or t.temperature_K is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table, _ = vibrations.vibrational_analysis(t)
        table.insert(0, "file", str(t.source))
        vib.append(table)
    if vib:
        out["vibrational"] = pd.concat(vib).to_dict(orient="records")
    if args.json:
        print(json.dumps(out, indent=2, default=float))
        return 0
    print(
        f"{len(trajs)} run(s), {res.n_ions} {args.specie} ions, frame every {trajs[0].dt_fs:g} fs, "
        f"T = {res.temperature_K if res.temperature_K is not None else '?'} K"
    )
    print(f"fit window: {res.fit_start_fs / 1000:.3f}–{res.fit_end_fs / 1000:.3f} ps (tau_max/2 … tau_max)")
    print(f"D = {res.D_cm2_s:.3e} ± {res.D_err_cm2_s:.2e} cm^2/s  ({res.err_method})")
    for ax, d, e in zip("xyz", res.D_xyz_cm2_s, res.D_xyz_err_cm2_s):
        print(f"  D_{ax} = {d:.3e} ± {e:.2e} cm^2/s")
    if "sigma_NE_S_cm" in out:
        print(f"Nernst–Einstein sigma = {out['sigma_NE_S_cm']:.3e} S/cm at T (Haven ratio 1, no cross-correlations)")
    if vib:
        cols = ["file", "group", *vibrations.VIB_COLUMNS]
        with pd.option_context(
            "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format
        ):
            print(pd.concat(vib)[cols].to_string(index=False))
    elif not any(t.velocities is not None for t in trajs):
        print("(no velocities in the files: vibrational descriptors not computed)", file=sys.stderr)
    return 0
