"""Tests that guard the science, not the plumbing (issue 17): on fixed small inputs, each fails
when a result changes, not when a file is missing.

* The materials-map autoencoder (Yamaguchi et al. 2023, Eqs. 1–4) reconstructs a fixed
  synthetic descriptor set with a test R² above a floor measured when this test was written,
  minus a margin.
* The VDOS (López et al. 2023, Eq. 5) of a synthetic harmonic trajectory holds 3 modes per atom
  and peaks at the oscillator's ħω.
* D of an argyrodite AIMD run (López et al. 2023, Eqs. 3–4) from ``transport.diffusion`` equals,
  within 5 %, an independent implementation written here from the equations — its own XDATCAR
  parser, unwrapping, MSD over all time origins and least-squares fit over τmax/2 ≤ τ ≤ τmax.
* Every AtomSets configuration (McHaffie et al. 2025, Fig. 3: 4 simplifications × V0–V3) beats the
  mean (prior) and shuffled-label controls on a fixed synthetic set whose label depends on the
  sets' content.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from matmap_utils.data.trajectories import Trajectory
from matmap_utils.transport.vibrations import vdos

torch = pytest.importorskip("torch")

from matmap_utils.materials_map import autoencoder, training  # noqa: E402
from matmap_utils.screening.atomsets import configs as as_configs  # noqa: E402
from matmap_utils.screening.atomsets.model import pack_sets  # noqa: E402
from matmap_utils.screening.atomsets.training import train_ensemble  # noqa: E402
from matmap_utils.screening.metrics import classification_metrics, control_metrics  # noqa: E402
from matmap_utils.screening.simplify import MODES  # noqa: E402

# -- the autoencoder ---------------------------------------------------------------------------

#: Test R² measured on the fixed input below when this guard was written (torch 2.x, CPU); the
#: floors are these minus :data:`MARGIN` (measured 2026, this repository's CI machine).
MEASURED_R2 = {"r2_comp": 0.973, "r2_struct": 0.972, "r2_me": 0.565}
#: Reconstructions are stable to a few 0.001 across platforms; the ME head on 32 test rows less so.
MARGIN = {"r2_comp": 0.05, "r2_struct": 0.05, "r2_me": 0.10}
GUARD_CONFIG = dict(
    comp_hidden=(32, 8),
    struct_hidden=(32, 8),
    head_hidden=(16,),
    max_epochs=150,
    patience=30,
    device="cpu",
    threads=1,
)


@pytest.fixture(scope="module")
def guard_map():
    Xc, Xs, y = autoencoder.synthetic_descriptors(n=160, d_comp=40, d_struct=30, seed=11)
    res = training.train_maps(Xc, Xs, y.to_numpy(), Ws=[0.1], seed=0, **GUARD_CONFIG)
    return res.metrics.loc[0.1]


@pytest.mark.parametrize("key", ["r2_comp", "r2_struct", "r2_me"])
def test_autoencoder_reconstruction_r2_above_its_measured_floor(guard_map, key):
    got = float(guard_map[f"test_{key}"])
    floor = MEASURED_R2[key] - MARGIN[key]
    assert got >= floor, f"test {key} fell to {got:.3f} (measured {MEASURED_R2[key]:.3f}, floor {floor:.3f})"


# -- the VDOS ----------------------------------------------------------------------------------

H_MEV_THZ = 4.135667696  # meV per THz (E = h ν), CODATA


def _harmonic_trajectory(energy_meV: float, n_atoms: int = 8, n_frames: int = 4000, dt_fs: float = 1.0):
    """Independent harmonic oscillators of one frequency, random amplitudes and phases, with exact
    velocities (Å/fs)."""
    rng = np.random.default_rng(0)
    omega = 2 * np.pi * energy_meV / H_MEV_THZ * 1e-3  # rad/fs
    t = np.arange(n_frames)[:, None, None] * dt_fs
    amp = rng.uniform(0.05, 0.15, (1, n_atoms, 3))
    phase = rng.uniform(0, 2 * np.pi, (1, n_atoms, 3))
    base = rng.uniform(0, 10, (1, n_atoms, 3))
    pos = base + amp * np.cos(omega * t + phase)
    vel = -amp * omega * np.sin(omega * t + phase)
    return Trajectory(["Li"] * n_atoms, np.eye(3) * 10.0, pos, dt_fs, 300.0, vel, source="<harmonic>")


def test_vdos_integrates_to_three_per_atom_and_peaks_at_the_oscillator():
    d = vdos(_harmonic_trajectory(20.0))
    assert np.trapezoid(d.g, d.energy_meV) == pytest.approx(3.0, rel=1e-6)
    assert d.energy_meV[np.argmax(d.g)] == pytest.approx(20.0, abs=0.5)
    mean_E = np.trapezoid(d.g * d.energy_meV, d.energy_meV) / 3.0
    assert mean_E == pytest.approx(20.0, rel=0.1)  # a single mode: ⟨ω⟩ (Eq. 6) is the oscillator's


# -- D of an argyrodite run against an independent Eq. 3–4 -------------------------------------

ARGYRODITE = "aimd/argyrodite/Li6PS5Cl/0p/run1/actual_XDATCAR.gz"
ARGYRODITE_DT_FS = 2.0 * 50  # time step 2 fs, one frame every 50 steps (Morgan 2021)


def _read_xdatcar_li(path) -> tuple[np.ndarray, np.ndarray]:
    """(lattice 3×3 Å, fractional Li coordinates frames × Li × 3) from a VASP XDATCAR."""
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    scale = float(lines[1])
    lattice = np.array([[float(v) for v in lines[2 + k].split()] for k in range(3)]) * scale
    species, counts = lines[5].split(), [int(c) for c in lines[6].split()]
    n = sum(counts)
    start = sum(counts[: species.index("Li")])
    frames, k = [], 7
    while k < len(lines):
        if lines[k].strip().lower().startswith("direct configuration"):
            block = lines[k + 1 : k + 1 + n]
            frames.append(
                [[float(v) for v in row.split()[:3]] for row in block[start : start + counts[species.index("Li")]]]
            )
            k += n + 1
        else:
            k += 1
    return lattice, np.array(frames)


def _independent_D_cm2_s(lattice: np.ndarray, frac: np.ndarray, dt_fs: float) -> float:
    """López et al. Eq. 3 (MSD averaged over ions and all time origins, lags up to N/2) and Eq. 4
    (D = slope / 6 of a least-squares line over τmax/2 ≤ τ ≤ τmax), from scratch."""
    jumps = np.diff(frac, axis=0)
    jumps -= np.round(jumps)  # minimum image between consecutive frames
    unwrapped = np.concatenate([frac[:1], frac[:1] + np.cumsum(jumps, axis=0)]) @ lattice
    n = len(unwrapped)
    lags = np.arange(1, n // 2 + 1)
    msd = np.array([((unwrapped[m:] - unwrapped[:-m]) ** 2).sum(axis=2).mean() for m in lags])
    tau = lags * dt_fs
    tmax = tau[-1]
    win = tau >= tmax / 2
    A = np.stack([tau[win], np.ones(win.sum())], axis=1)
    slope = np.linalg.lstsq(A, msd[win], rcond=None)[0][0]  # Å²/fs
    return slope / 6.0 * 0.1  # 1 Å²/fs = 0.1 cm²/s


@pytest.mark.mirror
def test_argyrodite_D_matches_an_independent_eq_3_4():
    from matmap_utils.data.registry import fetch  # noqa: PLC0415 - only with the mirror
    from matmap_utils.data.trajectories import read_xdatcar  # noqa: PLC0415
    from matmap_utils.transport.diffusion import diffusion  # noqa: PLC0415

    path = fetch(ARGYRODITE)
    lattice, frac = _read_xdatcar_li(path)
    ours = _independent_D_cm2_s(lattice, frac, ARGYRODITE_DT_FS)
    traj = read_xdatcar(path, timestep_fs=2.0, stride=50, temperature_K=500.0)
    pkg = diffusion(traj, "Li")  # no drift correction, window τmax/2 … τmax: like for like
    assert frac.shape[1] == len(traj.indices("Li")) and frac.shape[0] == traj.n_frames
    assert ours > 0 and pkg.D_cm2_s == pytest.approx(ours, rel=0.05)


# -- AtomSets against its controls -------------------------------------------------------------

#: Every configuration of McHaffie et al. 2025, Fig. 3: simplification × MEGNet feature level.
ALL_CONFIGS = as_configs.all_configs(MODES, sorted(as_configs.FEATURE_DIMS))
#: Margins over the better control, set from a measurement on the inputs below (2026): trained, the
#: smallest margins over the 16 configurations were 0.34 (AUC-PR) and 0.83 (MCC); untrained
#: (learning rate 0, random weights only) the largest were 0.48 and 0.45 — so the MCC margin fails
#: every configuration whose training does not learn.
CONTROL_MARGIN = {"auc_pr": 0.2, "mcc": 0.6}


def _synthetic_sets(mode: str, level: int, n: int = 96, seed: int = 5):
    """Sets of 3–10 sites drawn from six fixed "species" vectors of the level's width (the species
    differ per simplification, as its features do); a set is superionic when at least a third of
    its sites are species 0 — the label depends on the set's content, not on its size."""
    rng = np.random.default_rng([seed, MODES.index(mode), level])
    species = rng.normal(size=(6, as_configs.feature_dim(level)))
    mats, y = [], []
    for i in range(n):
        size = int(rng.integers(3, 11))
        frac = (i % 2) * rng.uniform(0.4, 0.8) + (1 - i % 2) * rng.uniform(0.0, 0.2)
        kinds = np.where(rng.random(size) < frac, 0, rng.integers(1, 6, size))
        mats.append(species[kinds] + 0.05 * rng.normal(size=(size, species.shape[1])))
        y.append(int(np.mean(kinds == 0) >= 1 / 3))
    return mats, np.array(y)


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=lambda c: as_configs.config_name(*c))
def test_every_atomsets_configuration_beats_both_controls(config):
    """The k-fold architecture of each configuration (``configs.paper_config``), trained on a fixed
    synthetic set, scores the held-out third above the mean (prior) and shuffled-label controls of
    ``metrics.control_metrics`` in AUC-PR and MCC — by a margin, so a training that learns nothing
    (or learns the prior) fails."""
    mode, level = config
    mats, y = _synthetic_sets(mode, level)
    tr, va = np.arange(64), np.arange(64, len(y))
    cfg = as_configs.paper_config(level, set2set_hidden=16, init_lr=0.01, epochs=40, batch_size=16)
    res = train_ensemble(
        cfg, pack_sets([mats[i] for i in tr]), y[tr], seeds=[0], data_seed=0,
        val=pack_sets([mats[i] for i in va]), eval_every=40,
    )  # fmt: skip
    got = classification_metrics(y[va], res.val_proba[-1][0])
    ctrl = control_metrics(y[tr], y[va], n_shuffles=100, seed=0)
    for m, margin in CONTROL_MARGIN.items():
        bar = max(ctrl[f"mean_{m}"], ctrl[f"shuffled_{m}"])
        assert got[m] >= bar + margin, f"{as_configs.config_name(*config)}: {m} {got[m]:.3f} vs controls {bar:.3f}"
