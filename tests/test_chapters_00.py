"""Chapter 00's tables on small hand-made frames (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pymatgen.core import Lattice, Structure
from structures_lib import li2o

from matmap_utils.chapters import ch00_data_overview as ch00


def _disordered():
    return Structure(Lattice.cubic(4.0), [{"Li": 0.5, "Na": 0.5}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_dataset_counts_and_cif_status():
    ob = pd.DataFrame(
        {
            "structure": [li2o(), _disordered(), None],
            "sigma_rt": [1e-3, 1e-6, 2e-4],
            "Space group #": [225, 221, 225],
        }
    )
    mch = pd.DataFrame({"structure": [li2o(), None], "superionic": [True, False]})
    counts = ch00.dataset_counts(ob, mch)
    assert counts.loc["OBELiX"].tolist()[:4] == [3, 2, 1, 2]
    assert counts.loc["OBELiX", "space groups"] == 2
    assert counts.loc["McHaffie et al. (548)"].tolist()[:4] == [2, 1, 0, 1]
    assert np.isnan(counts.loc["McHaffie et al. (548)", "space groups"])
    assert ch00.cif_status(ob["structure"]).tolist() == ["ordered", "disordered", "no CIF"]


def test_inventories_group_and_sum():
    runs = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "system": ["X", "X", "Y"],
            "disorder": [0.0, 0.0, np.nan],
            "temperature_K": [500, 500, 600],
            "timestep_fs": [2.0, 2.0, 1.0],
            "stride": [50, 50, 10],
            "run": [1, 2, 1],
        }
    )
    inv = ch00.aimd_inventory(runs, pd.Series({"a": 1e6, "b": 3e6, "c": 5e5}))
    x = inv[inv["system"] == "X"].iloc[0]
    assert x["runs"] == 2 and x["size_MB"] == 4.0 and x["frame interval (fs)"] == 100.0
    assert inv[inv["system"] == "Y"].iloc[0]["size_MB"] == 0.5  # NaN disorder kept as its own group
    gen = pd.DataFrame(
        {
            "material": ["m", "m"],
            "source": ["mp", "mp"],
            "n_atoms": [10, 10],
            "temperature_K": [800.0, 600.0],
            "timestep_fs": [2.0, 2.0],
            "dt_frame_fs": [20.0, 20.0],
            "n_frames": [101, 101],
            "steps": [2500, 2500],
        }
    )
    row = ch00.generated_md_inventory(gen).iloc[0]
    assert row["temperatures_K"] == "600, 800" and row["production_ps"] == 5.0
