"""A tiny CHGNet NVT run through ``matmap md`` (skipped when chgnet is not installed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from matmap_utils.cli.main import main
from matmap_utils.data.trajectories import read_trajectory
from matmap_utils.transport.vibrations import kinetic_temperature

pytest.importorskip("chgnet")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def li3n_cif(tmp_path_factory):
    # Li3N (P6/mmm), 4 atoms
    s = Structure(
        Lattice.hexagonal(3.65, 3.87),
        ["N", "Li", "Li", "Li"],
        [[0, 0, 0], [0, 0, 0.5], [1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0]],
    )
    path = tmp_path_factory.mktemp("md") / "Li3N.cif"
    s.to(filename=str(path))
    return path


def test_matmap_md_writes_a_readable_trajectory_with_velocities(li3n_cif, tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "li3n.extxyz.gz"
    rc = main(
        [
            "md",
            str(li3n_cif),
            "--temperature",
            "600",
            "--steps",
            "12",
            "--equil-steps",
            "4",
            "--timestep",
            "1",
            "--stride",
            "3",
            "--seed",
            "1",
            "--device",
            "cpu",
            "--supercell",
            "2",
            "2",
            "1",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    traj = read_trajectory(out)
    assert traj.n_frames == 12 // 3 + 1 and traj.n_atoms == 16
    assert traj.dt_fs == 3.0 and traj.temperature_K == 600.0
    assert traj.velocities is not None and np.all(np.isfinite(traj.velocities))
    # velocities are in Å/fs: a few hundred K worth of kinetic energy, not ASE units (×10)
    t_kin = kinetic_temperature(traj)["all"]
    assert 50 < t_kin < 3000
    prov = json.loads((tmp_path / "li3n.extxyz.gz.provenance.json").read_text())
    assert prov["seed"] == 1 and prov["n_frames"] == traj.n_frames
    assert prov["versions"]["chgnet"] and prov["command"] is None or "md" in prov["command"]


def test_md_refuses_bad_settings(li3n_cif, tmp_path):
    assert main(["md", str(li3n_cif), "--temperature", "-5", "-o", str(tmp_path / "x.extxyz")]) == 2
    assert main(["md", str(li3n_cif), "--temperature", "300", "-o", str(tmp_path / "x.cif")]) == 2
    assert main(["md", str(tmp_path / "missing.cif"), "--temperature", "300", "-o", str(tmp_path / "x.extxyz")]) == 2
