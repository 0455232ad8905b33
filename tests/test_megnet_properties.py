"""MEGNet's metal classifier and log10K/log10G in torch against the ORIGINAL Keras models.

Fixtures: tests/fixtures/megnet/reference_extra.json (megnet 1.3.2 / tensorflow-cpu 2.15.1,
recipe make_reference_extra.py): 39 structures — the 24 of reference.json plus nine metals and
intermetallics, a semiconductor and five insulators.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure

from matmap_utils.screening.megnet import model as megnet_model
from matmap_utils.screening.megnet.model import TARGETS, load_model
from matmap_utils.screening.megnet.properties import PROPERTY_MODELS, moduli_gpa, pool_properties, predict_chunk
from matmap_utils.transport.elastic import elastic_descriptors

FIX = Path(__file__).parent / "fixtures" / "megnet"
pytestmark = pytest.mark.mirror  # the model weights come from the data mirror
INTERMETALLICS = ("LiSiAu2", "Li15Au4", "LiZr2Pt", "LiCuAu2", "LiMgPt2")


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIX / "reference_extra.json").read_text())


@pytest.fixture(scope="module")
def structures(ref):
    base = json.loads((FIX / "reference.json").read_text())["structures"]
    out = {}
    for i in ref["ids"]:
        d = base.get(i) or ref["extra_structures"][i]
        out[i] = Structure(Lattice(d["lattice"]), d["numbers"], d["frac_coords"])
    return out


def test_fixture_covers_metals_and_insulators(ref):
    assert len(ref["ids"]) >= 20
    formulas = {d["formula"] for d in ref["extra_structures"].values()}
    assert set(INTERMETALLICS) <= formulas and {"Li2O", "LiF", "LiCl"} <= formulas
    assert ref["models"]["band_classification"]["final_activation"] == "sigmoid"


FIXTURE_KEY = {"nonmetal": "band_classification", "log10K": "log10K", "log10G": "log10G"}


@pytest.mark.parametrize("path", ["kernels", "torch"])
@pytest.mark.parametrize("name", PROPERTY_MODELS)
def test_predictions_equal_original(ref, structures, name, path, monkeypatch):
    m = load_model(name)
    fix = ref["models"][FIXTURE_KEY[name]]
    assert m.sha == fix["sha256"][:16] + fix["json_sha256"][:8] and m.cutoff == fix["cutoff"]
    if path == "kernels":
        monkeypatch.setattr(megnet_model, "FAST_MIN_BONDS", 0)
    else:
        monkeypatch.setattr(m, "reduce_graphs", False)
        monkeypatch.setattr(m, "_fused", False)
    ours = m.predict([structures[i] for i in ref["ids"]], ids=ref["ids"], batch_size=8)
    assert list(ours.index) == ref["ids"] and list(ours.columns) == [TARGETS[name]]
    np.testing.assert_allclose(ours[TARGETS[name]], fix["predict_structures_batch8"], atol=1e-4, rtol=0)


def test_the_intermetallics_of_the_old_top_20_are_metals(ref, structures):
    by_formula = {d["formula"]: i for i, d in ref["extra_structures"].items()}
    p = load_model("nonmetal").predict(list(structures.values()), ids=list(structures))["p_nonmetal"]
    for f in INTERMETALLICS + ("LiAl", "LiPt"):
        assert p[by_formula[f]] < 0.5, f
    for f in ("Li2O", "LiF", "LiCl", "Li10Ge(PS6)2", "Li3InCl6"):
        assert p[by_formula[f]] > 0.5, f


def test_pool_properties_match_the_models_and_report_failures(structures, tmp_cache):
    ids = list(structures)[:6]
    lonely = Structure(Lattice.cubic(12.0), ["Li"], [[0, 0, 0]])  # no neighbour within 4 Å
    frame = pd.DataFrame({"structure": [structures[i] for i in ids] + [lonely]}, index=ids + ["lonely"])
    pred, fails = pool_properties(frame, n_jobs=1, progress=False)
    assert list(pred.index) == ids and list(fails["id"]) == ["lonely"]
    for name in PROPERTY_MODELS:
        direct = load_model(name).predict([structures[i] for i in ids], ids=ids)[TARGETS[name]]
        np.testing.assert_allclose(pred[TARGETS[name]], direct, atol=1e-6)
    again, _ = pool_properties(frame, n_jobs=1, progress=False)  # from the cache
    pd.testing.assert_frame_equal(pred, again)
    assert len(list((tmp_cache / "compute" / "megnet").glob("*.parquet"))) == 1


def test_disordered_sites_use_the_occupancy_weighted_embedding():
    """A 50/50 Li/Na site gives a value between the pure Li and pure Na cells (same geometry)."""
    lat = Lattice.cubic(4.1)
    coords = [[0, 0, 0], [0.5, 0.5, 0.5]]
    cells = [Structure(lat, [sp, "Cl"], coords) for sp in ("Li", {"Li": 0.5, "Na": 0.5}, "Na")]
    p = predict_chunk(["li", "mix", "na"], cells, ("log10K",))["log10_K_VRH_GPa"]
    assert min(p["li"], p["na"]) < p["mix"] < max(p["li"], p["na"])


def test_elastic_descriptors_of_li2o_from_the_moduli(ref, structures):
    """Li2O: MEGNet's K and G against the VRH average of the measured single-crystal constants
    (Hull et al. 1988, :data:`matmap_utils.transport.elastic.EXPERIMENTAL_LI`) — within twice
    MEGNet's test error (0.05 / 0.08 in log10)."""
    from matmap_utils.transport.elastic import EXPERIMENTAL_LI, cubic_vrh

    exp = next(e for e in EXPERIMENTAL_LI if e["material"] == "Li2O")
    K_exp, G_exp = cubic_vrh(*exp["cij"])
    i = next(k for k, d in ref["extra_structures"].items() if d["formula"] == "Li2O")
    pred = pd.DataFrame({TARGETS[n]: load_model(n).predict([structures[i]])[TARGETS[n]] for n in ("log10K", "log10G")})
    moduli = moduli_gpa(pred).iloc[0]
    assert abs(np.log10(moduli["K_VRH_GPa"] / K_exp)) < 0.1 and abs(np.log10(moduli["G_VRH_GPa"] / G_exp)) < 0.16
    d = elastic_descriptors(moduli["K_VRH_GPa"], moduli["G_VRH_GPa"], structures[i].density).iloc[0]
    assert 0.1 < d["poisson_ratio"] < 0.25 and d["v_longitudinal_km_s"] > d["v_transverse_km_s"] > 5.0
