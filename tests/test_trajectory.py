"""Tests of matmap_utils.transport on tiny synthetic trajectories with known answers."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from matmap_utils.data import trajectories
from matmap_utils.transport import diffusion, reference, vibrations
from matmap_utils.transport import runs as transport_runs


def _xdatcar_text(frac: np.ndarray, lattice: np.ndarray, symbols, counts, lattices=None) -> str:
    head = ["test", "1.0"] + [" ".join(f"{x:.8f}" for x in row) for row in lattice]
    head += [" ".join(symbols), " ".join(str(c) for c in counts)]
    out = list(head)
    for k, fr in enumerate(frac):
        if lattices is not None and k > 0:
            out += ["test", "1.0"] + [" ".join(f"{x:.8f}" for x in row) for row in lattices[k]]
            out += [" ".join(symbols), " ".join(str(c) for c in counts)]
        out.append(f"Direct configuration= {k + 1:5d}")
        out += [" ".join(f"{x:.8f}" for x in row) for row in fr]
    return "\n".join(out) + "\n"


def _random_walk(n_frames=1200, n_atoms=150, dt=2.0, D_A2_fs=0.05, seed=0):
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(2 * D_A2_fs * dt)  # per component per frame
    steps = rng.normal(scale=sigma, size=(n_frames - 1, n_atoms, 3))
    pos = np.concatenate([np.zeros((1, n_atoms, 3)), np.cumsum(steps, axis=0)])
    return pos


# ---------------------------------------------------------------------------- MSD / D


def test_fft_msd_equals_direct_msd():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(41, 7, 3)).cumsum(axis=0)
    np.testing.assert_allclose(diffusion.msd_fft(x), diffusion.msd_direct(x), atol=1e-9)
    np.testing.assert_allclose(diffusion.msd_fft(x, max_lag=30), diffusion.msd_direct(x, max_lag=30), atol=1e-9)


def test_fft_msd_matches_eq3_double_sum_for_one_lag():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 3, 3)).cumsum(axis=0)
    m = 4
    expect = sum(((x[j + m] - x[j]) ** 2).sum() for j in range(20 - m)) / (3 * (20 - m))
    assert diffusion.msd_fft(x)[m].sum() == pytest.approx(expect)


def test_random_walk_recovers_known_D():
    D_true = 0.05  # Å²/fs → 5e-3 cm²/s
    pos = _random_walk(n_atoms=600, D_A2_fs=D_true)
    species = ["Li"] * 600
    traj = trajectories.Trajectory(species, np.eye(3) * 50.0, pos, 2.0, 300.0)
    res = diffusion.diffusion(traj, "Li")
    D_cm2 = D_true * 0.1
    assert res.D_cm2_s == pytest.approx(D_cm2, rel=0.06)
    np.testing.assert_allclose(res.D_xyz_cm2_s, D_cm2, rtol=0.12)
    assert np.isfinite(res.D_err_cm2_s) and 0 < res.D_err_cm2_s < 0.2 * D_cm2
    assert abs(res.D_cm2_s - D_cm2) < 3 * res.D_err_cm2_s
    assert "block" in res.err_method
    assert res.fit_end_fs == pytest.approx(600 * 2.0)
    assert res.fit_start_fs == pytest.approx(300 * 2.0)


def test_anisotropic_walk_components_and_pooling():
    rng = np.random.default_rng(3)
    runs = []
    for _k in range(3):
        steps = rng.normal(size=(600, 250, 3)) * np.array([0.1, 0.1, 0.4])
        pos = np.concatenate([np.zeros((1, 250, 3)), steps.cumsum(axis=0)])
        runs.append(trajectories.Trajectory(["Li"] * 250, np.eye(3) * 30, pos, 1.0, 500.0))
    res = diffusion.diffusion(runs, "Li")
    expect = np.array([0.01, 0.01, 0.16]) / 2 * 0.1  # σ²/(2Δt) in Å²/fs → cm²/s
    np.testing.assert_allclose(res.D_xyz_cm2_s, expect, rtol=0.15)
    assert res.n_runs == 3 and "3 runs" in res.err_method
    assert res.D_runs_cm2_s.shape == (3,)


def test_drift_removal_cancels_a_rigid_translation():
    rng = np.random.default_rng(4)
    pos = _random_walk(n_frames=300, n_atoms=20, seed=4)
    frame = np.zeros((300, 10, 3)) + rng.normal(scale=0.01, size=(300, 10, 3))
    full = np.concatenate([pos, frame], axis=1)
    shift = np.linspace(0, 30, 300)[:, None, None] * np.array([1.0, 0, 0])
    sp = ["Li"] * 20 + ["S"] * 10
    ref = diffusion.diffusion(trajectories.Trajectory(sp, np.eye(3) * 40, full, 2.0), "Li").D_cm2_s
    drifted = trajectories.Trajectory(sp, np.eye(3) * 40, full + shift, 2.0)
    assert diffusion.diffusion(drifted, "Li").D_cm2_s > 2 * ref
    assert diffusion.diffusion(drifted, "Li", drift=True).D_cm2_s == pytest.approx(ref, rel=0.05)


def test_arrhenius_recovers_Ea_and_D0():
    T = np.array([600.0, 800.0, 1000.0, 1200.0])
    D = 1e-3 * np.exp(-0.25 / (diffusion.KB_EV * T))
    fit = diffusion.arrhenius(T, D, 0.05 * D)
    assert fit.Ea_eV == pytest.approx(0.25, rel=1e-6)
    assert fit.D0_cm2_s == pytest.approx(1e-3, rel=1e-6)
    assert fit.weighted and fit.Ea_err_eV > 0
    two = diffusion.arrhenius(T[:2], D[:2])
    assert two.Ea_eV == pytest.approx(0.25, rel=1e-6) and np.isnan(two.Ea_err_eV)
    with pytest.raises(ValueError):
        diffusion.arrhenius([600.0], [1e-6])


def test_nernst_einstein_against_hand_formula():
    from scipy.constants import Boltzmann, elementary_charge

    sigma = diffusion.nernst_einstein(1e-6, 20, 1000.0, 600.0)
    n = 20 / 1000e-24
    assert sigma == pytest.approx(n * elementary_charge**2 * 1e-6 / (Boltzmann * 600.0))


# ---------------------------------------------------------------------------- readers


def test_unwrap_particle_crossing_the_boundary(tmp_path):
    a = 5.0
    n = 30
    x_true = 4.0 + 0.35 * np.arange(n)  # crosses x = 5 Å several times
    frac = np.zeros((n, 2, 3))
    frac[:, 0, 0] = (x_true / a) % 1.0
    frac[:, 0, 1:] = 0.5
    frac[:, 1] = 0.25  # a static atom
    lattice = np.eye(3) * a
    path = tmp_path / "XDATCAR.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(_xdatcar_text(frac, lattice, ["Li", "S"], [1, 1]))
    traj = trajectories.read_xdatcar(path, timestep_fs=1.0, stride=2)
    np.testing.assert_allclose(traj.positions[:, 0, 0], x_true, atol=1e-6)
    assert traj.dt_fs == 2.0 and list(traj.species) == ["Li", "S"]
    cart = frac @ lattice
    np.testing.assert_allclose(trajectories.unwrap_cartesian(cart, lattice)[:, 0, 0], x_true, atol=1e-6)


def test_npy_reader_with_structure(tmp_path):
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(6.0), ["Na", "S"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    frac = np.tile(s.frac_coords, (10, 1, 1))
    frac[:, 0, 2] = (0.95 + 0.02 * np.arange(10)) % 1.0
    np.save(tmp_path / "t.npy", frac)
    traj = trajectories.read_trajectory(tmp_path / "t.npy", structure=s, timestep_fs=2, stride=10)
    assert traj.dt_fs == 20.0
    np.testing.assert_allclose(np.diff(traj.positions[:, 0, 2]), 0.12, atol=1e-9)


def test_pmg_json_reader(tmp_path):
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(6.0), ["Li", "S"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    disp = np.zeros((2, 5, 3))
    disp[0, :, 0] = np.arange(5) * 0.7
    d = {
        "structure": s.as_dict(),
        "displacements": disp.tolist(),
        "time_step": 2,
        "step_skip": 10,
        "temperature": 600,
        "specie": "Li",
    }
    (tmp_path / "da.json").write_text(json.dumps(d))
    traj = trajectories.read_trajectory(tmp_path / "da.json")
    assert traj.dt_fs == 20.0 and traj.temperature_K == 600.0
    np.testing.assert_allclose(traj.positions[:, 0, 0], np.arange(5) * 0.7)


def test_extxyz_reader_velocities_and_metadata(tmp_path):
    lines = []
    for k in range(4):
        lines.append("2")
        lines.append(
            'Lattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3:velocities:R:3 '
            f"velocity_unit=A/fs Time={10 * k} md_timestep_fs=2.0 md_stride=5 "
            'md_temperature_K=900 pbc="T T T"'
        )
        lines.append(f"Li {(1.0 + 1.5 * k) % 5:.5f} 1 1 0.15 0 0")
        lines.append("S 3 3 3 0 0 0")
    path = tmp_path / "t.extxyz.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    traj = trajectories.read_trajectory(path)
    assert traj.dt_fs == 10.0 and traj.temperature_K == 900.0
    np.testing.assert_allclose(traj.positions[:, 0, 0], 1.0 + 1.5 * np.arange(4), atol=1e-5)
    np.testing.assert_allclose(traj.velocities[:, 0, 0], 0.15)


# ---------------------------------------------------------------------------- bad inputs


def test_bad_inputs_raise_naming_the_file(tmp_path):
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(6.0), ["Na", "S"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    one = tmp_path / "one.npy"
    np.save(one, np.zeros((1, 2, 3)))
    with pytest.raises(trajectories.TrajectoryError, match="one.npy.*2 frames"):
        trajectories.read_positions_array(one, s, 2.0)
    nan = tmp_path / "nan.npy"
    arr = np.zeros((5, 2, 3))
    arr[2, 1, 0] = np.nan
    np.save(nan, arr)
    with pytest.raises(trajectories.TrajectoryError, match="nan.npy.*NaN"):
        trajectories.read_positions_array(nan, s, 2.0)
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((5, 3, 3)))
    with pytest.raises(trajectories.TrajectoryError, match="wrong.npy.*3 atoms.*2 sites"):
        trajectories.read_positions_array(wrong, s, 2.0)
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(trajectories.TrajectoryError, match="obj.npy"):
        trajectories.read_positions_array(obj, s, 2.0)


def test_variable_cell_xdatcar_is_refused(tmp_path):
    frac = np.full((3, 1, 3), 0.5)
    lats = [np.eye(3) * 5.0, np.eye(3) * 5.1, np.eye(3) * 5.2]
    path = tmp_path / "XDATCAR_npt"
    path.write_text(_xdatcar_text(frac, lats[0], ["Li"], [1], lattices=lats))
    with pytest.raises(trajectories.TrajectoryError, match="XDATCAR_npt.*variable-cell"):
        trajectories.read_xdatcar(path, 2.0)
    with pytest.raises(trajectories.TrajectoryError, match="time step"):
        trajectories.read_trajectory(path, format="xdatcar")


def test_species_mismatch_and_single_frame_in_memory():
    with pytest.raises(trajectories.TrajectoryError, match="species"):
        trajectories.Trajectory(["Li"], np.eye(3) * 5, np.zeros((3, 2, 3)), 1.0)
    with pytest.raises(trajectories.TrajectoryError, match="at least 2 frames"):
        trajectories.Trajectory(["Li"], np.eye(3) * 5, np.zeros((1, 1, 3)), 1.0)
    traj = trajectories.Trajectory(["S", "S"], np.eye(3) * 5, np.zeros((3, 2, 3)), 1.0)
    with pytest.raises(trajectories.TrajectoryError, match="no atoms of species"):
        diffusion.diffusion(traj, "Li")


# ---------------------------------------------------------------------------- VDOS


def _oscillators(f_thz=5.0, n=2000, dt=2.0, n_atoms=8, seed=0, amp=0.5):
    rng = np.random.default_rng(seed)
    t = np.arange(n) * dt
    phase = rng.uniform(0, 2 * np.pi, size=(n_atoms, 3))
    w = 2 * np.pi * f_thz * 1e-3  # rad/fs
    pos = amp * np.sin(w * t[:, None, None] + phase[None])
    vel = amp * w * np.cos(w * t[:, None, None] + phase[None])
    return pos + 2.0, vel


def test_vdos_of_harmonic_oscillator_peaks_at_its_frequency():
    f = 5.0
    pos, vel = _oscillators(f)
    traj = trajectories.Trajectory(["Ar"] * 8, np.eye(3) * 20, pos, 2.0, 300.0, vel)
    d = vibrations.vdos(traj)
    E0 = f * diffusion.H_MEV_THZ
    assert d.energy_meV[np.argmax(d.g)] == pytest.approx(E0, abs=0.3)
    assert np.trapezoid(d.g, d.energy_meV) == pytest.approx(3.0)
    desc = vibrations.vibrational_descriptors(d, 300.0)
    assert desc["omega_mean_meV"] == pytest.approx(E0, rel=0.03)
    x = E0 * 1e-3 / (diffusion.KB_EV * 300.0)
    cv_einstein = 3 * x * x * np.exp(x) / np.expm1(x) ** 2
    assert desc["Cv_kB_atom"] == pytest.approx(cv_einstein, rel=0.02)
    e_einstein = 3 * E0 * (0.5 + 1 / np.expm1(x))
    assert desc["Evib_meV_atom"] == pytest.approx(e_einstein, rel=0.02)
    f_einstein = 3 * diffusion.KB_EV * 1e3 * 300 * np.log(2 * np.sinh(x / 2))
    assert desc["Fvib_meV_atom"] == pytest.approx(f_einstein, rel=0.05, abs=0.3)
    # the ω30 cut-off keeps only modes below 30 meV
    assert desc["omega30_meV"] == pytest.approx(E0, rel=0.03)


def test_finite_difference_velocities_warn_with_nyquist():
    pos, _ = _oscillators(2.0, n=400, dt=10.0)
    traj = trajectories.Trajectory(["Ar"] * 8, np.eye(3) * 20, pos, 10.0, 300.0)
    with pytest.warns(UserWarning, match="Nyquist frequency 50.00 THz"):
        d = vibrations.vdos(traj)
    assert not d.from_velocities
    assert d.energy_meV[np.argmax(d.g)] == pytest.approx(2.0 * diffusion.H_MEV_THZ, abs=0.5)


def test_classification_and_lindemann():
    rng = np.random.default_rng(5)
    n = 400
    lattice = np.eye(3) * 10.0
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)]) * 5.0
    frame = grid[None] + rng.normal(scale=0.1, size=(n, 8, 3))
    mover = 1.0 + np.linspace(0, 6, n)[:, None, None] * np.array([1.0, 0, 0]) + np.zeros((n, 1, 3))
    pos = np.concatenate([frame, mover], axis=1)
    traj = trajectories.Trajectory(["S"] * 8 + ["Li"], lattice, pos, 2.0, 500.0)
    diff = vibrations.classify_diffusive(traj)
    assert diff.tolist() == [False] * 8 + [True]
    lind = vibrations.lindemann_ratio(traj, np.flatnonzero(~diff))
    assert lind["d_nn_A"] == pytest.approx(5.0, abs=0.05)
    assert lind["rms_disp_A"] == pytest.approx(0.1 * np.sqrt(3), rel=0.05)


def test_kinetic_temperature_of_maxwell_boltzmann_velocities():
    from ase import units
    from ase.data import atomic_masses, atomic_numbers

    rng = np.random.default_rng(6)
    T = 700.0
    m = atomic_masses[atomic_numbers["Li"]]
    sigma = np.sqrt(diffusion.KB_EV * T / m) * units.fs  # Å/fs (√(eV/amu) is an ASE velocity)
    vel = rng.normal(scale=sigma, size=(50, 400, 3))
    traj = trajectories.Trajectory(["Li"] * 400, np.eye(3) * 20, np.zeros((50, 400, 3)), 1.0, T, vel)
    assert vibrations.kinetic_temperature(traj)["Li"] == pytest.approx(T, rel=0.02)


def test_cli_diffusion_json_pools_files(tmp_path, capsys):
    from matmap_utils.cli.main import main

    rng = np.random.default_rng(7)
    paths = []
    for k in range(2):
        frac = (rng.normal(scale=0.01, size=(200, 30, 3)).cumsum(axis=0) + 0.5) % 1.0
        p = tmp_path / f"XDATCAR_{k}"
        p.write_text(_xdatcar_text(frac, np.eye(3) * 10.0, ["Li"], [30]))
        paths.append(str(p))
    rc = main(["diffusion", *paths, "--timestep", "1", "--stride", "2", "--temperature", "500", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_runs"] == 2 and out["n_ions"] == 60 and out["dt_frame_fs"] == 2.0
    # σ per frame per component = 0.1 Å → D = 0.01 / (2·2 fs) Å²/fs
    assert out["D_cm2_s"] == pytest.approx(0.01 / 4 * 0.1, rel=0.2)
    assert main(["diffusion", paths[0]]) == 2  # XDATCAR without --timestep


def test_ase_traj_reader_converts_velocities(tmp_path):
    from ase import Atoms, units
    from ase.io import Trajectory as AseTraj

    path = tmp_path / "run.traj"
    with AseTraj(str(path), "w") as tr:
        for k in range(5):
            a = Atoms("LiS", positions=[[(0.5 + 1.2 * k) % 4.0, 1, 1], [2, 2, 2]], cell=[4, 4, 4], pbc=True)
            a.set_velocities(np.array([[0.02, 0, 0], [0, 0, 0]]) / units.fs)  # 0.02 Å/fs
            tr.write(a)
    traj = trajectories.read_trajectory(path, timestep_fs=1.0, stride=10)
    assert traj.dt_fs == 10.0
    np.testing.assert_allclose(traj.velocities[:, 0, 0], 0.02, rtol=1e-6)
    np.testing.assert_allclose(traj.positions[:, 0, 0], 0.5 + 1.2 * np.arange(5), atol=1e-9)


def test_framework_mobile_flags_diffusing_cations_not_rotating_anions():
    rng = np.random.default_rng(8)
    n = 300
    base = np.array([[1, 1, 1], [5, 5, 5], [5, 1, 1], [1, 5, 1], [1, 1, 5]], float)
    pos = base[None] + rng.normal(scale=0.05, size=(n, 5, 3))
    species = ["Li", "P", "S", "S", "S"]
    ramp = np.linspace(0, 3, n)[:, None]
    anion_moves = pos.copy()
    anion_moves[:, 2, 0] += ramp[:, 0]  # an S atom moves 3 Å, P stays
    row, _ = transport_runs.descriptor_row(
        trajectories.Trajectory(species, np.eye(3) * 10, anion_moves, 2.0, 500.0), "Li"
    )
    assert row["anion_diffusive_fraction"] == pytest.approx(1 / 3) and not row["framework_mobile"]
    cation_moves = pos.copy()
    cation_moves[:, 1, 1] += ramp[:, 0]  # P diffuses
    row, _ = transport_runs.descriptor_row(
        trajectories.Trajectory(species, np.eye(3) * 10, cation_moves, 2.0, 500.0), "Li"
    )
    assert row["framework_cation_diffusive_fraction"] == 1.0 and row["framework_mobile"]


def test_descriptor_row_carries_each_groups_vdos_descriptors_or_nan_when_frames_are_sparse():
    """The all / non-diffusive / diffusive columns of a descriptor row are the descriptors of that
    group's VDOS (every one of them); frames too sparse for a VDOS give NaN in each column."""
    rng = np.random.default_rng(8)
    n = 300
    base = np.array([[1, 1, 1], [5, 5, 5], [5, 1, 1], [1, 5, 1], [1, 1, 5]], float)
    pos = base[None] + rng.normal(scale=0.05, size=(n, 5, 3))
    pos[:, 0, 0] += np.linspace(0, 3, n)  # the Li atom diffuses
    vel = np.gradient(pos, 2.0, axis=0)
    species = ["Li", "P", "S", "S", "S"]
    traj = trajectories.Trajectory(species, np.eye(3) * 10, pos, 2.0, 500.0, vel)
    row, spectra = transport_runs.descriptor_row(traj, "Li")
    assert row["n_diffusive"] == 1 and {"all", "nd", "d"} <= set(spectra)
    meta = ("nyquist_meV", "from_velocities", "n_atoms")  # the spectrum's metadata, not descriptors
    names = [k for k in vibrations.vibrational_descriptors(spectra["all"], 500.0) if k not in meta]
    assert len(names) == 7
    for group, suffix in (("all", ""), ("nd", "_nd"), ("d", "_d")):
        desc = vibrations.vibrational_descriptors(spectra[group], 500.0)
        assert {c: row[c + suffix] for c in names} == pytest.approx({c: desc[c] for c in names}, rel=1e-12)
    sparse = trajectories.Trajectory(species, np.eye(3) * 10, pos, 200.0, 500.0)  # Nyquist 10 meV
    row, spectra = transport_runs.descriptor_row(sparse, "Li")
    assert spectra == {} and np.isfinite(row["lindemann"])
    assert all(np.isnan(row[c + suffix]) for c in names for suffix in ("", "_nd", "_d"))


def test_equipartition_check_scales_with_the_frame_interval():
    """Finite-difference velocities ∝ 1/Δt, so T_kinetic ∝ 1/Δt²: frames stated 10 MD steps apart
    give 1/100 of the temperature read at one step per frame."""
    rng = np.random.default_rng(4)
    u = rng.normal(scale=0.02, size=(1, 12, 3))  # Å per frame
    pos = np.arange(50)[:, None, None] * u
    t = trajectories.Trajectory(["Li"] * 6 + ["S"] * 6, np.eye(3) * 12, pos, 20.0, 600.0, None, "x", 2.0, 10)
    runs = pd.DataFrame({"system": ["toy"], "temperature_K": [600.0]})
    checks = transport_runs.equipartition_check(runs, [t])
    row = checks.iloc[0]
    assert row["system"] == "toy" and row["stated_T_K"] == 600.0 and row["stated_frame_fs"] == 20.0
    assert row["T_kinetic_K (stated frames)"] == pytest.approx(vibrations.kinetic_temperature(t)["all"])
    assert row["T_kinetic_K (one MD step per frame)"] == pytest.approx(100 * row["T_kinetic_K (stated frames)"])


def test_compare_estimators_pools_ours_and_averages_pymatgen():
    lattice = np.eye(3) * 30.0
    trajs = []
    for seed in (1, 2):
        walk = _random_walk(n_frames=1200, n_atoms=20, D_A2_fs=0.01, seed=seed)
        rng = np.random.default_rng(seed + 10)
        host = rng.uniform(0, 30, size=(1, 20, 3)) + np.zeros((1200, 1, 3))
        pos = np.concatenate([walk + 15.0, host], axis=1)
        trajs.append(trajectories.Trajectory(["Li"] * 20 + ["S"] * 20, lattice, pos, 2.0, 500.0, None, "x", 2.0, 1))
    cmp = reference.compare_estimators([(("walk", 0.0), trajs, "Li")], compare_kinisi=False)
    row = cmp.iloc[0]
    assert row["n_runs"] == 2 and row["system"] == "walk"
    assert row["D_ours"] == pytest.approx(diffusion.diffusion(trajs, "Li").D_cm2_s)
    assert row["D_ours_drift_removed"] == pytest.approx(diffusion.diffusion(trajs, "Li", drift=True).D_cm2_s)
    per_run = [reference.pymatgen_diffusion(t, "Li")["D_cm2_s"] for t in trajs]
    assert row["D_pymatgen"] == pytest.approx(np.mean(per_run))
    assert row["ours/pymatgen-1"] == pytest.approx(row["D_ours_drift_removed"] / row["D_pymatgen"] - 1)
    assert "D_kinisi" not in cmp and "ours/kinisi-1" not in cmp
    # the random walk has D = 0.01 Å²/fs = 1e-3 cm²/s; both estimators see it
    assert row["D_ours"] == pytest.approx(1e-3, rel=0.3) and row["D_pymatgen"] == pytest.approx(1e-3, rel=0.3)
