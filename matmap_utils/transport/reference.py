"""Reference implementations used to check our diffusion coefficients: kinisi and pymatgen-analysis-diffusion (optional dependencies, imported lazily)."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pymatgen.core import Lattice, Structure

from matmap_utils.data.trajectories import Trajectory, to_ase_frames
from matmap_utils.transport.diffusion import A2_PER_FS_TO_CM2_PER_S, diffusion, fit_window


def kinisi_diffusion(
    trajs: Trajectory | Sequence[Trajectory], specie: str = "Li", *, seed: int = 0, n_samples: int = 1000
) -> dict:
    """D from ``kinisi`` (2.x) on the same frames and the same Eq. 4 window (τmax = N/2 lags,
    fit from τmax/2). kinisi computes the same all-origins MSD but fits it by Bayesian
    generalised least squares with the MSD covariance (posterior mean and s.d. reported) and
    removes the centre-of-mass drift of the whole cell; it has no framework-only option."""

    import scipp as sc  # lazy: scipp comes with kinisi, an optional dependency
    from kinisi.analyze import DiffusionAnalyzer as KDA  # lazy: kinisi is an optional dependency

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
        k = KDA.from_ase(
            frames if len(frames) > 1 else frames[0],
            specie=specie,
            time_step=time_step,
            step_skip=step_skip,
            dtype="identical" if len(frames) > 1 else None,
            dt=dt,
            progress=False,
        )
        k.diffusion(
            sc.scalar(L * dtf / 2, unit="fs"),
            progress=False,
            n_samples=n_samples,
            random_state=np.random.RandomState(seed),
        )
    D = sc.to_unit(k.D, "cm^2/s").values
    msd_k = k.msd.values
    # our OLS fit on kinisi's MSD (same window) isolates the effect of the estimator
    lag = np.arange(1, L + 1) * dtf
    w = fit_window(lag)
    ols = np.polyfit(lag[w], msd_k[w], 1)[0] / 6 * A2_PER_FS_TO_CM2_PER_S
    return {
        "D_cm2_s": float(np.mean(D)),
        "D_std_cm2_s": float(np.std(D)),
        "D_ols_on_kinisi_msd_cm2_s": float(ols),
        "msd": msd_k,
        "lag_fs": lag,
    }


def pymatgen_diffusion(traj: Trajectory, specie: str = "Li", smoothed: str | bool = "max") -> dict:
    """D from pymatgen-analysis-diffusion's ``DiffusionAnalyzer`` on the same displacements.

    pymatgen removes the framework drift and, with ``smoothed="max"``, averages over time origins
    and fits MSD over *all* lags (weighted by the number of observations), not τmax/2 … τmax.
    """
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer as PDA  # lazy: optional dependency

    structure = Structure(Lattice(traj.lattice), list(traj.species), traj.positions[0], coords_are_cartesian=True)
    disp = (traj.positions - traj.positions[0]).transpose(1, 0, 2)
    ts = traj.timestep_fs or traj.dt_fs
    st = traj.stride or 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        da = PDA(structure, disp, specie, traj.temperature_K or 300.0, ts, st, smoothed=smoothed)
    return {
        "D_cm2_s": float(da.diffusivity),
        "D_std_cm2_s": float(da.diffusivity_std_dev),
        "D_xyz_cm2_s": np.asarray(da.diffusivity_components, float),
    }


def compare_estimators(
    groups: Sequence[tuple[tuple, Sequence[Trajectory], str]],
    *,
    compare_kinisi: bool = True,
    seed: int = 0,
    kinisi_samples: int = 1000,
) -> pd.DataFrame:
    """Our D (López et al. Eq. 4, OLS over τmax/2 … τmax) against pymatgen's and kinisi's on the same frames.

    ``groups`` holds ``((system, disorder), trajectories, specie)``: the runs of one condition are
    pooled by our estimator and by kinisi; pymatgen has no pooling, so its value is the mean of its
    per-run D. One row per condition (D in cm²/s): ``D_ours`` (± ``D_ours_err``),
    ``D_ours_drift_removed`` (framework drift removed, as pymatgen does), ``D_pymatgen``, and with
    ``compare_kinisi`` ``D_kinisi`` (± ``D_kinisi_sd``, posterior mean and s.d.), ``D_ols_on_kinisi_msd``
    (our OLS window on kinisi's MSD) and ``msd_max_rel_diff`` (largest relative MSD difference over
    the lags); then the relative differences ``ours/pymatgen-1``, ``ours/kinisi-1`` and
    ``ours/(OLS on kinisi MSD)-1``.
    """
    rows = []
    for (system, dis), ts, sp in groups:
        ours = diffusion(ts, sp)
        ours_d = diffusion(ts, sp, drift=True)
        row = {
            "system": system,
            "disorder": dis,
            "n_runs": len(ts),
            "D_ours": ours.D_cm2_s,
            "D_ours_drift_removed": ours_d.D_cm2_s,
            "D_ours_err": ours.D_err_cm2_s,
        }
        row["D_pymatgen"] = np.mean([pymatgen_diffusion(t, sp)["D_cm2_s"] for t in ts])
        if compare_kinisi:
            k = kinisi_diffusion(ts, sp, seed=seed, n_samples=kinisi_samples)
            row.update(
                D_kinisi=k["D_cm2_s"],
                D_kinisi_sd=k["D_std_cm2_s"],
                D_ols_on_kinisi_msd=k["D_ols_on_kinisi_msd_cm2_s"],
                msd_max_rel_diff=float(np.max(np.abs(k["msd"] / ours.msd.msd[1:] - 1))),
            )
        rows.append(row)
    cmp = pd.DataFrame(rows)
    cmp["ours/pymatgen-1"] = cmp["D_ours_drift_removed"] / cmp["D_pymatgen"] - 1
    if compare_kinisi:
        cmp["ours/kinisi-1"] = cmp["D_ours"] / cmp["D_kinisi"] - 1
        cmp["ours/(OLS on kinisi MSD)-1"] = cmp["D_ours"] / cmp["D_ols_on_kinisi_msd"] - 1
    return cmp
