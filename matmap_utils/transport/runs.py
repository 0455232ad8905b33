"""Tables over many MD runs: reading the registered AIMD runs, per-condition summaries, descriptor rows and Arrhenius fits per system (chapters 03-04)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pymatgen.core import Composition, Element

from matmap_utils.core.parallel import failures_frame, parallel_map
from matmap_utils.data.registry import fetch
from matmap_utils.data.trajectories import Trajectory, read_trajectory
from matmap_utils.transport.diffusion import H_MEV_THZ, arrhenius, diffusion, msd_fft, nernst_einstein, remove_drift
from matmap_utils.transport.vibrations import (
    VDOS_COLUMNS,
    classify_diffusive,
    kinetic_temperature,
    lindemann_ratio,
    vibrational_analysis,
)


def load_aimd_run(row) -> Trajectory:
    """Read one row of :func:`matmap_utils.data.datasets.aimd_runs` (files through ``data.fetch``)."""

    structure = fetch(row["structure_name"]) if row.get("structure_name") else None
    return read_trajectory(
        fetch(row["name"]),
        format=row["format"],
        timestep_fs=float(row["timestep_fs"]),
        stride=int(row["stride"]),
        temperature_K=float(row["temperature_K"]),
        structure=structure,
    )


def _read_row(row: dict) -> Trajectory:
    return load_aimd_run(row)


def read_runs(runs, n_jobs: int | None = None) -> tuple[list[Trajectory | None], pd.DataFrame]:  # noqa: F821
    """Read every run of a run table in parallel. Returns (trajectories in row order, with None
    for failures; failures table with a reason per failed run)."""

    rows = [dict(r) for _, r in runs.iterrows()]
    outs = parallel_map(_read_row, rows, keys=[r["name"] for r in rows], n_jobs=n_jobs)
    return [o.value if o.error is None else None for o in outs], failures_frame(outs)


def condition_table(
    runs, trajs: Sequence[Trajectory | None], by: Sequence[str], drift: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:  # noqa: F821
    """Per-run and per-condition (pooled) D for a run table.

    Returns (per_run, per_condition, msd) where ``msd[condition]`` is a dict with ``lag_ps``,
    ``mean`` (pooled MSD, Å²), ``sem`` (standard error over runs, Å²; NaN for one run).
    """

    runs = runs.reset_index(drop=True).copy()
    runs["_ok"] = [t is not None for t in trajs]
    per_run = []
    for i, row in runs.iterrows():
        t = trajs[i]
        if t is None:
            continue
        r = diffusion(t, row["specie"], drift=drift)
        per_run.append(
            {
                **{c: row[c] for c in by},
                "run": row.get("run"),
                "name": row["name"],
                "n_frames": t.n_frames,
                "dt_frame_fs": t.dt_fs,
                **r.as_dict(),
            }
        )
    per_run = pd.DataFrame(per_run)
    cond_rows, curves = [], {}
    for key, grp in runs[runs["_ok"]].groupby(list(by), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        ts = [trajs[i] for i in grp.index]
        specie = grp["specie"].iloc[0]
        r = diffusion(ts, specie, drift=drift)
        t0 = ts[0]
        n_mob = len(t0.indices(specie))
        sigma = nernst_einstein(r.D_cm2_s, n_mob, t0.volume, r.temperature_K) if r.temperature_K else float("nan")
        cond_rows.append(
            {
                **dict(zip(by, key)),
                **r.as_dict(),
                "sigma_NE_S_cm": sigma,
                "n_frames": min(t.n_frames for t in ts),
                "dt_frame_fs": t0.dt_fs,
                "duration_ps": min(t.duration_fs for t in ts) / 1000,
            }
        )
        runs_msd = r.msd.msd_runs
        sem = runs_msd.std(axis=0, ddof=1) / np.sqrt(len(ts)) if len(ts) > 1 else np.full(runs_msd.shape[1], np.nan)
        curves[key if len(key) > 1 else key[0]] = {
            "lag_ps": r.msd.lag_fs / 1000,
            "mean": r.msd.msd,
            "sem": sem,
            "xyz": r.msd.msd_xyz,
            "fit": (r.fit_start_fs / 1000, r.fit_end_fs / 1000),
            "D_cm2_s": r.D_cm2_s,
            "intercept": r.intercept_A2,
        }
    return per_run, pd.DataFrame(cond_rows), curves


def descriptor_row(
    traj: Trajectory,
    specie: str,
    *,
    threshold_A: float = 1.5,
    min_nyquist_meV: float = 60.0,
    drift: bool = False,
    framework_mobile_fraction: float = 0.1,
) -> tuple[dict, dict]:
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
    row = {
        "specie": specie,
        "temperature_K": traj.temperature_K,
        "D_cm2_s": r.D_cm2_s,
        "D_err_cm2_s": r.D_err_cm2_s,
        "Dx_cm2_s": r.D_xyz_cm2_s[0],
        "Dy_cm2_s": r.D_xyz_cm2_s[1],
        "Dz_cm2_s": r.D_xyz_cm2_s[2],
        "msd_tmax_A2": float(r.msd.msd[-1]),
        "tmax_ps": r.fit_end_fs / 1000,
        "sigma_NE_S_cm": nernst_einstein(r.D_cm2_s, n_mob, traj.volume, traj.temperature_K)
        if traj.temperature_K
        else float("nan"),
        "n_atoms": traj.n_atoms,
        "duration_ps": traj.duration_fs / 1000,
        "dt_frame_fs": traj.dt_fs,
        "velocities_from_file": traj.velocities is not None,
    }
    fw = np.setdiff1d(np.arange(traj.n_atoms), traj.indices(specie))
    if fw.size:
        pos = remove_drift(traj, specie) if drift else traj.positions
        row["framework_msd_tmax_A2"] = float(msd_fft(pos[:, fw]).sum(axis=1)[-1])
        diff = classify_diffusive(traj, threshold_A)
        row["framework_diffusive_fraction"] = float(diff[fw].mean())
        # Anions (Pauling χ ≥ 2.5: S, O, Cl, I, ...) move > threshold when polyanions rotate
        # (paddle-wheel) without the host breaking; diffusing framework *cations* (P, Ge, ...)
        # mean the host has melted or decomposed: not a solid-electrolyte state.
        anion = np.array([(Element(sp).X or 0) >= 2.5 for sp in traj.species])
        cat = fw[~anion[fw]]
        row["anion_diffusive_fraction"] = float(diff[fw[anion[fw]]].mean()) if anion[fw].any() else 0.0
        row["framework_cation_diffusive_fraction"] = float(diff[cat].mean()) if cat.size else 0.0
        row["framework_mobile"] = bool(row["framework_cation_diffusive_fraction"] > framework_mobile_fraction)
    nyq = 1e3 / (2 * traj.dt_fs) * H_MEV_THZ
    row["nyquist_meV"] = nyq
    row["T_kinetic_K"] = kinetic_temperature(traj)["all"]
    # finite-difference velocities whose kinetic temperature is far from the stated one mean the
    # frame interval (time metadata) is wrong or too coarse: no VDOS from them
    suspect = (
        traj.velocities is None and bool(traj.temperature_K) and not 0.5 < row["T_kinetic_K"] / traj.temperature_K < 1.5
    )
    row["time_metadata_suspect"] = bool(suspect and nyq >= min_nyquist_meV)
    spectra: dict = {}
    if nyq >= min_nyquist_meV and traj.temperature_K and not suspect:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table, spectra = vibrational_analysis(traj, threshold_A=threshold_A)
        by = table.set_index("group")
        for g, suffix in (("all", ""), ("nd", "_nd"), ("d", "_d")):
            for c in VDOS_COLUMNS:
                row[c + suffix] = float(by.loc[g, c]) if g in by.index else float("nan")
        row["lindemann"] = float(by["lindemann"].iloc[0])
        row["n_diffusive"] = int(by.loc["d", "n_atoms"]) if "d" in by.index else 0
    else:
        for suffix in ("", "_nd", "_d"):
            for c in VDOS_COLUMNS:
                row[c + suffix] = float("nan")
        row["lindemann"] = lindemann_ratio(traj, np.flatnonzero(~classify_diffusive(traj, threshold_A)))["lindemann"]
        row["n_diffusive"] = int(classify_diffusive(traj, threshold_A).sum())
    return row, spectra


def equipartition_check(runs, trajs: Sequence[Trajectory]) -> pd.DataFrame:
    """Is the stated frame interval right? Kinetic temperature (K, equipartition over all atoms) of
    finite-difference velocities at the stated frame interval, and as if every stored frame were one
    MD time step apart (``timestep_fs``).

    Frames one MD step apart give the thermostat temperature; sparse frames give far less
    (vibrations average out). One row per run: ``system``, ``stated_T_K``, ``stated_frame_fs``,
    ``T_kinetic_K (stated frames)``, ``T_kinetic_K (one MD step per frame)``.
    """
    checks = []
    for (_, row), t in zip(runs.iterrows(), trajs):
        one_step = Trajectory(
            t.species, t.lattice, t.positions, t.timestep_fs, t.temperature_K, None, t.source, t.timestep_fs, 1
        )
        checks.append(
            {
                "system": row["system"],
                "stated_T_K": row["temperature_K"],
                "stated_frame_fs": t.dt_fs,
                "T_kinetic_K (stated frames)": kinetic_temperature(t)["all"],
                "T_kinetic_K (one MD step per frame)": kinetic_temperature(one_step)["all"],
            }
        )
    return pd.DataFrame(checks)


def _label_formula(label: str) -> str | None:
    """Reduced formula of a run label, None when it is not a formula."""
    try:
        return Composition(str(label)).reduced_formula
    except Exception:  # noqa: BLE001
        return None


def analyze_generated(runs, specie: str = "Li", *, threshold_A: float = 1.5) -> tuple[pd.DataFrame, dict, dict]:  # noqa: F821
    """Descriptor rows, VDOS spectra and MSD curves of the generated set
    (:func:`matmap_utils.transport.md.md_runs`). Unreadable runs become rows with an ``error``."""

    rows, spectra, curves = [], {}, {}
    for _, run in runs.iterrows():
        key = (run["material"], float(run["temperature_K"]))
        formula = _label_formula(run["material"])
        try:
            t = read_trajectory(run["path"])
            # the trajectory's own composition: a run's label (e.g. "LiTi2PO43") need not parse as a formula
            formula = Composition(dict(zip(*np.unique(t.species, return_counts=True)))).reduced_formula
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
        rows.append(
            {
                "system": run["material"],
                "reduced_formula": formula,
                "source": "CHGNet NVT (this work)",
                "file": run["file"],
                "n_frames": run["n_frames"],
                **row,
                "temperature_K": float(run["temperature_K"]),
            }
        )
    return pd.DataFrame(rows), spectra, curves


def arrhenius_table(
    df,
    by: str = "system",
    T: str = "temperature_K",
    D: str = "D_cm2_s",
    D_err: str = "D_err_cm2_s",
    extrapolate_K: float = 300.0,
) -> pd.DataFrame:  # noqa: F821
    """Arrhenius fit per group with ≥ 2 temperatures (positive D): Ea, D0 (± errors) and D
    extrapolated to ``extrapolate_K`` (an extrapolation far outside the fitted range)."""

    rows = []
    for key, g in df.dropna(subset=[D]).groupby(by):
        g = g[g[D] > 0]
        if g[T].nunique() < 2:
            continue
        err = g[D_err] if D_err in g else None
        fit = arrhenius(g[T], g[D], err)
        rows.append(
            {
                by: key,
                **fit.as_dict(),
                "T_min_K": g[T].min(),
                "T_max_K": g[T].max(),
                f"D_{int(extrapolate_K)}K_cm2_s": float(fit.D(extrapolate_K)),
            }
        )
    cols = [
        by,
        "Ea_eV",
        "Ea_err_eV",
        "D0_cm2_s",
        "D0_err_cm2_s",
        "n_points",
        "weighted",
        "T_min_K",
        "T_max_K",
        f"D_{int(extrapolate_K)}K_cm2_s",
    ]
    return pd.DataFrame(rows, columns=cols)


def frame_interval_decision(traj: Trajectory, *, tolerance: tuple[float, float] = (0.5, 1.5)) -> dict:
    """Decide a position-only trajectory's frame interval from the physics (equipartition).

    Finite-difference velocities over an interval Δt give a kinetic temperature that scales as
    1/Δt² while the frames resolve the vibrations, so the interval at which they would give the
    stated thermostat temperature T is Δt* = Δt_stated √(T_kin(Δt_stated) / T).  The stated
    interval is kept when T_kin/T lies within ``tolerance``; otherwise the candidate k × (MD time
    step), k = 1 … stride, nearest to Δt* is taken if it passes the same test (``"corrected"``), and
    the run is ``"excluded"`` when none does.  Runs with stored velocities are ``"kept"``.
    Returns ``{"decision", "stated_dt_fs", "implied_dt_fs", "dt_fs", "T_kinetic_K"}`` (T at ``dt_fs``).
    """
    out = {"stated_dt_fs": traj.dt_fs, "stated_T_K": traj.temperature_K}
    if traj.velocities is not None or not traj.temperature_K:
        return {**out, "decision": "kept", "implied_dt_fs": np.nan, "dt_fs": traj.dt_fs, "T_kinetic_K": np.nan}
    t_kin = kinetic_temperature(traj)["all"]
    implied = traj.dt_fs * np.sqrt(t_kin / traj.temperature_K)
    lo, hi = tolerance
    if lo < t_kin / traj.temperature_K < hi:
        return {**out, "decision": "kept", "implied_dt_fs": implied, "dt_fs": traj.dt_fs, "T_kinetic_K": t_kin}
    step = traj.timestep_fs or traj.dt_fs
    cands = step * np.arange(1, max(int(traj.stride or 1), 1) + 1)
    best = float(cands[np.argmin(np.abs(cands - implied))])
    t_best = t_kin * (traj.dt_fs / best) ** 2
    ok = lo < t_best / traj.temperature_K < hi
    return {
        **out,
        "decision": "corrected" if ok else "excluded",
        "implied_dt_fs": implied,
        "dt_fs": best if ok else np.nan,
        "T_kinetic_K": t_best if ok else t_kin,
    }


def retimed(traj: Trajectory, dt_fs: float) -> Trajectory:
    """The same frames with frame interval ``dt_fs`` (stride 1 if ``dt_fs`` is the MD time step)."""
    stride = int(round(dt_fs / traj.timestep_fs)) if traj.timestep_fs else None
    return Trajectory(
        traj.species,
        traj.lattice,
        traj.positions,
        dt_fs,
        traj.temperature_K,
        traj.velocities,
        traj.source,
        traj.timestep_fs,
        stride,
        {**traj.meta, "stated_dt_fs": traj.dt_fs},
    )
