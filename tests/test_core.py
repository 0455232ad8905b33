"""core: every MATMAP_* variable declared once; every cache kind keyed by all of its inputs.

The known keys below were computed with the code *before* the package was split into study
folders: they pin that caches made then are still found (a deliberate change bumps a version).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
from structures_lib import li2o

import matmap_utils
from matmap_utils.core import cache, settings
from matmap_utils.core.cache import KINDS, CacheKind, hash_key, hash_structure, structure_fingerprint

REPO = Path(__file__).resolve().parent.parent


def _import_all() -> None:
    for m in pkgutil.walk_packages(matmap_utils.__path__, "matmap_utils."):
        if not m.name.endswith("__main__"):
            importlib.import_module(m.name)


# ---------------------------------------------------------------- settings


def test_every_matmap_variable_in_the_code_is_declared():
    used = set()
    for f in (REPO / "matmap_utils").rglob("*.py"):
        used |= set(re.findall(r"MATMAP_[A-Z_]+[A-Z]", f.read_text()))
    declared = {v.name for v in settings.VARIABLES}
    assert used - declared == set(), "declare these in matmap_utils/core/settings.py"
    assert declared - used == set(), "declared but never used"


def test_no_module_reads_a_matmap_variable_from_os_environ():
    for f in (REPO / "matmap_utils").rglob("*.py"):
        if f.name == "settings.py":
            continue
        assert not re.search(r"environ(\.get\(|\[)\s*['\"]MATMAP_", f.read_text()), f


def test_readme_documents_every_variable():
    readme = (REPO / "README.md").read_text()
    for v in settings.VARIABLES:
        assert f"`{v.name}`" in readme, f"README lacks {v.name}"


def test_settings_parse_at_call_time(monkeypatch):
    monkeypatch.delenv("MATMAP_N_JOBS", raising=False)
    assert settings.get("MATMAP_N_JOBS") is None
    monkeypatch.setenv("MATMAP_N_JOBS", "3")
    assert settings.get("MATMAP_N_JOBS") == 3
    monkeypatch.setenv("MATMAP_MEGNET_REDUCE", "off")
    assert settings.get("MATMAP_MEGNET_REDUCE") is False
    monkeypatch.setenv("MATMAP_OFFLINE", "yes")
    assert settings.get("MATMAP_OFFLINE") is True
    monkeypatch.setenv("MATMAP_DATA_MIRROR", "")
    assert settings.is_set("MATMAP_DATA_MIRROR") and settings.get("MATMAP_DATA_MIRROR") is None
    with pytest.raises(KeyError, match="not a declared"):
        settings.get("MATMAP_NO_SUCH_THING")


# ---------------------------------------------------------------- cache keys

#: Keys of li2o() (and fixed toy inputs) made by the code before the split.
LEGACY = {
    "descriptors": "5522f25edafa006ab4862b08",
    "bvse": "c8b6067b95e5d9286c8dc777",
    "sse_descriptors": "b54752ffd5bbc5e8daa5b014",
    "mapnet_sweep": "3a91ede7d0c66f4fd88323ee",
    "parsed_cifs": "07467acf48dd052377971334",
    "mp_li_index": "c65aa47310ec13944ab843d5",
    "structure_summary": "ac9476d88d408d07a30945f6",
    "megnet_pool": "9c25df97f10cfdd53b1cc3dc",
}

_X = np.arange(6, dtype=np.float32).reshape(2, 3)


def _legacy_inputs():
    from matmap_utils.materials_map import bvse, descriptors
    from matmap_utils.transport import sse_descriptors as sd

    s = li2o()
    fp = structure_fingerprint(s)
    return {
        "descriptors": (fp, descriptors.settings_key()),
        "bvse": (fp, bvse.settings_key({"method": "bvlain"})),  # the fast method has keys of its own
        "sse_descriptors": (fp, 225, "Li2O", sd.LI_LI_EXCLUSION, sd.NN_SHELL_FACTOR),
        "mapnet_sweep": (_X, _X, np.array([1.0, 2.0]), None, [0.1], {"a": 1}, 0, "2.13.0", ["x", "y"]),
        "parsed_cifs": ("obelix", sorted([("a", "s1"), ("b", "s2")]), "2025.1.1"),
        "mp_li_index": (["s1", "s2"],),
        "structure_summary": ([hash_structure(s, "summary", 0.1)],),
        "megnet_pool": (["mp-1"], [hash_structure(s, [{"cutoff": 5.0}, {"cutoff": 4.0}])]),
    }


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_keys_of_unchanged_computations_survive_the_move(name):
    _import_all()
    assert KINDS[name].key(*_legacy_inputs()[name]) == LEGACY[name]


def _perturb(x):
    """A different value of the same kind (so that a key that ignores ``x`` is caught)."""
    if isinstance(x, np.ndarray):
        y = x.copy()
        y.flat[0] = y.flat[0] + 1
        return y
    if isinstance(x, dict):
        k = sorted(x)[0] if x else "extra"
        return {**x, k: _perturb(x.get(k, 0))}
    if isinstance(x, (list, tuple)):
        return type(x)([_perturb(x[0]), *x[1:]]) if x else [1]
    if isinstance(x, bool):
        return not x
    if isinstance(x, (int, float)):
        return x + 1
    if isinstance(x, str):
        return x + "'"
    if x is None:
        return 0
    raise TypeError(type(x))


#: Kinds made after the split: example inputs for the every-input test.
NEW_INPUTS = {
    "megnet_properties": (["mp-1", "mp-2"], ["h1", "h2"], ["nonmetal", "log10K"]),
    "pool_screening": ({"model": {"weights.pt": "sha"}}, ["id1", "id2"], ["h1", "h2"]),
    "oxidation_signs": (
        {"lattice": [[1.0]], "species": [[["Li", 1.0]]], "frac": [[0.0, 0.0, 0.0]]},
        {"bv_max_permutations": 1000, "max_combinations": 2000000, "tol": 0.001, "rel_tol": 0.05},
    ),
}


def _all_inputs():
    return {**_legacy_inputs(), **NEW_INPUTS}


def test_every_kind_is_covered_here():
    _import_all()
    covered = set(_all_inputs()) | {"mapnet_grid"}
    assert set(KINDS) <= covered | {k for k in KINDS if k.startswith("test-")}, "add new kinds to this test"


@pytest.mark.parametrize("name", sorted(LEGACY) + sorted(NEW_INPUTS))
def test_every_input_and_the_version_change_the_key(name):
    _import_all()
    kind, inputs = KINDS[name], _all_inputs()[name]
    base = kind.key(*inputs)
    for i in range(len(inputs)):
        changed = list(inputs)
        changed[i] = _perturb(changed[i])
        assert kind.key(*changed) != base, f"{name}: input {i} does not reach the key"
    bumped = dataclasses.replace(
        kind,
        name=f"test-{name}",
        version=(kind.version or 0) + 1 if not isinstance(kind.version, str) else kind.version + "b",
    )
    try:
        assert bumped.key(*inputs) != base
    finally:
        KINDS.pop(bumped.name, None)


def test_version_inside_settings_changes_descriptor_and_bvse_keys():
    """descriptors/bvse carry their version in the settings dict: bumping VERSION changes keys."""
    from matmap_utils.materials_map import bvse, descriptors

    fp = structure_fingerprint(li2o())
    for mod in (descriptors, bvse):
        k0 = mod.CACHE.key(fp, mod.settings_key())
        assert mod.CACHE.key(fp, {**mod.settings_key(), "version": mod.VERSION + "x"}) != k0


def test_grid_search_key_covers_every_input():
    """The 02 grid-search table was once keyed on Xc alone (a comment swallowed the rest)."""
    from matmap_utils.materials_map.autoencoder import MapConfig
    from matmap_utils.materials_map.training import grid_key

    Xc, Xs, y = _X, _X + 10, np.array([0.5, 0.7])
    kw = dict(
        W=0.1,
        batch_sizes=[16, 32],
        lrs=[1e-3],
        weight_decays=[1e-6],
        seed=0,
        config=MapConfig(),
        split=["train", "val"],
    )
    base = grid_key(Xc, Xs, y, **kw)
    assert grid_key(Xc, _perturb(Xs), y, **kw) != base
    assert grid_key(Xc, Xs, _perturb(y), **kw) != base
    assert grid_key(_perturb(Xc), Xs, y, **kw) != base
    for name, value in [
        ("W", 1.0),
        ("batch_sizes", [16]),
        ("lrs", [3e-4]),
        ("weight_decays", [1e-4]),
        ("seed", 1),
        ("split", ["val", "train"]),
        ("config", dataclasses.replace(MapConfig(), patience=3)),
    ]:
        assert grid_key(Xc, Xs, y, **{**kw, name: value}) != base, name


def test_a_kind_cannot_be_redefined_differently():
    CacheKind("test-redefine", folder="x", version=1)
    CacheKind("test-redefine", folder="x", version=1)  # the same definition again is fine
    try:
        with pytest.raises(ValueError, match="defined twice"):
            CacheKind("test-redefine", folder="x", version=2)
    finally:
        KINDS.pop("test-redefine", None)


def test_hash_key_is_order_free_for_dicts_and_sensitive_to_arrays():
    assert hash_key({"a": 1, "b": 2}) == hash_key({"b": 2, "a": 1})
    assert hash_key(np.zeros(3)) != hash_key(np.zeros(4))
    assert cache.hash_key("x", 1) != cache.hash_key(1, "x")


def test_override_sets_a_variable_for_child_processes_and_restores_it(monkeypatch):
    monkeypatch.delenv("MATMAP_SHARED_ASSETS", raising=False)
    with settings.override("MATMAP_SHARED_ASSETS", "1"):
        assert settings.get("MATMAP_SHARED_ASSETS") is True
        assert os.environ["MATMAP_SHARED_ASSETS"] == "1"
    assert not settings.is_set("MATMAP_SHARED_ASSETS")
    monkeypatch.setenv("MATMAP_SHARED_ASSETS", "0")
    with settings.override("MATMAP_SHARED_ASSETS", "1"):
        pass
    assert os.environ["MATMAP_SHARED_ASSETS"] == "0"
    with pytest.raises(KeyError, match="not a declared"):
        with settings.override("MATMAP_NOT_A_SETTING", "1"):
            pass


def test_torch_threads_sets_and_restores_the_count():
    import torch

    from matmap_utils.core.runtime import torch_threads

    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with torch_threads(target):
        assert torch.get_num_threads() == target
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(target):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before  # restored on an exception too
    for noop in (torch_threads(0), torch_threads(target, torch.device("meta"))):  # 0 / not a CPU: untouched
        with noop:
            assert torch.get_num_threads() == before
