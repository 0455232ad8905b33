"""Shared machinery: content-hash keys, atomic writes, per-item failures in parallel maps."""

from __future__ import annotations

import time

import numpy as np
import pytest

from matmap_utils.core.cache import atomic_write_npz, atomic_write_text, hash_key, hash_structure, load_npz
from matmap_utils.core.parallel import failures_frame, parallel_map, values_or_raise


def _square_or_fail(x):
    if x == 3:
        raise ValueError("three is bad")
    if x == 5:
        time.sleep(5)
    return x * x


def test_parallel_map_keeps_order_and_reports_each_failure():
    out = parallel_map(_square_or_fail, [1, 2, 3, 4, 5], keys=list("abcde"), n_jobs=2, timeout=1.0, progress=False)
    assert [o.key for o in out] == list("abcde")
    assert [o.value for o in out if o.ok] == [1, 4, 16]
    bad = failures_frame(out).set_index("id")
    assert bad.loc["c", "kind"] == "error" and "three is bad" in bad.loc["c", "reason"]
    assert bad.loc["e", "kind"] == "timeout"


def test_parallel_map_in_process_same_result():
    a = parallel_map(_square_or_fail, [1, 2, 3], n_jobs=1, progress=False)
    b = parallel_map(_square_or_fail, [1, 2, 3], n_jobs=2, progress=False)
    assert [(o.value, o.error) for o in a] == [(o.value, o.error) for o in b]


def test_hash_key_stable_and_sensitive():
    assert hash_key({"a": 1, "b": [1, 2]}) == hash_key({"b": [1, 2], "a": 1})
    assert hash_key({"a": 1}) != hash_key({"a": 2})
    assert hash_key(np.arange(3)) != hash_key(np.arange(4))


def test_hash_structure_ignores_wrapping_but_not_settings():
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(4), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    t = Structure(Lattice.cubic(4), ["Li", "F"], [[1.0, 0, 0], [0.5, 0.5, -0.5]])
    assert hash_structure(s, {"cutoff": 5}) == hash_structure(t, {"cutoff": 5})
    assert hash_structure(s, {"cutoff": 5}) != hash_structure(s, {"cutoff": 6})
    s2 = s.copy()
    s2.replace(0, "Na")
    assert hash_structure(s2) != hash_structure(s)


def test_atomic_writes_leave_no_partial_file(tmp_path):
    target = tmp_path / "x.npz"
    atomic_write_npz(target, a=np.arange(5))
    assert np.array_equal(load_npz(target)["a"], np.arange(5))
    with pytest.raises(RuntimeError):
        from matmap_utils.core.cache import atomic_path

        with atomic_path(tmp_path / "y.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert not (tmp_path / "y.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]
    atomic_write_text(tmp_path / "z.txt", "done")
    assert (tmp_path / "z.txt").read_text() == "done"


def test_load_npz_refuses_pickles(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):
        load_npz(path)


def test_terminal_progress_never_writes_into_a_non_terminal(monkeypatch, capsys):
    """MATMAP_PROGRESS=terminal (what ``matmap book`` sets for kernels): with no TTY — a kernel's
    redirected stderr, CI — the bar is off instead of landing in the executed page."""
    from matmap_utils.core import progress

    monkeypatch.setenv("MATMAP_PROGRESS", "terminal")
    monkeypatch.setattr(progress, "_TERMINAL", [None])
    assert list(progress.progress_bar(range(3), desc="x")) == [0, 1, 2]
    assert progress.progress_bar(range(3)).disable
    assert capsys.readouterr().err == ""


def test_values_or_raise_names_the_first_failure():
    good = parallel_map(_square_or_fail, [1, 2, 4], keys=["a", "b", "c"], n_jobs=1, progress=False)
    assert values_or_raise(good, "fit") == [1, 4, 16]
    mixed = parallel_map(_square_or_fail, [1, 3, 3], keys=["a", "b", "c"], n_jobs=1, progress=False)
    with pytest.raises(RuntimeError, match=r"^fit b failed \(2 of 3\): "):
        values_or_raise(mixed, "fit")
