"""The execution layer: local process pool and Ray give the same results, chunks are cached and
resumable, one bad item is a row with its reason, a lost worker is reported and not cached.

Tests marked ``ray`` start their own Ray instance on 127.0.0.1 (2 CPUs, no dashboard) and stop
it through their own handle; deselect them with ``-m "not ray"``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matmap_utils.core import backends
from matmap_utils.core.backends import LocalBackend, TaskFailure, use_backend
from matmap_utils.core.cache import KINDS, CacheKind, hash_key
from matmap_utils.core.chunked import concat_chunks, run_chunked
from matmap_utils.core.parallel import parallel_map

KIND = CacheKind("test_backends_chunks", folder="test_backends", version=1)
KINDS.pop(KIND.name)  # a test-only kind: not one of the package's (tests/test_core.py lists those)
N_ITEMS = 60
REPO = Path(__file__).resolve().parent.parent


# ---- stand-in per-item work (module level: picklable; sent by value to Ray) ------------------
def square_or_fail(x):
    if x == 3:
        raise ValueError("three is bad")
    return x * x


def fake_screen(pairs, shared=None):
    """A cheap stand-in for the screening: numbers derived from each item, fails on ``bad`` items."""
    rows = {}
    for key, item in pairs:
        if "bad" in key:
            raise RuntimeError(f"cannot screen {key}")
        v = np.frombuffer(hash_key(item).encode(), dtype=np.uint8).astype(float)
        rows[key] = {"score": float(v.mean()), "n": int(len(str(item))), "tag": str(shared), "reason": None}
    return pd.DataFrame.from_dict(rows, orient="index")


def die_in_worker(pairs, shared=None):
    if any(k == "item-007" for k, _ in pairs):
        os._exit(7)  # the worker process vanishes, as when the OS kills it
    return fake_screen(pairs, shared)


def items(n=N_ITEMS, bad=()):
    out = []
    for i in range(n):
        key = f"item-{i:03d}" + ("-bad" if i in bad else "")
        payload = f"structure {i} " * (1 + i % 7)
        out.append((key, payload, hash_key(payload)))
    return out


def chunks_of(triples, size=8):
    return [triples[i : i + size] for i in range(0, len(triples), size)]


@pytest.fixture(scope="module")
def ray_cluster(private_ray):
    """The private Ray instance of ``conftest.private_ray``, with this module sent by value."""
    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield private_ray


def run(backend, triples, shared="ctx", func=fake_screen, size=8):
    res = run_chunked(func, chunks_of(triples, size), kind=KIND, token={"v": 1}, shared=shared, backend=backend)
    return res, concat_chunks(res)


# ---- local backend ------------------------------------------------------------------------
def test_local_imap_streams_every_result_and_reports_failures():
    got = dict(LocalBackend(2).imap(square_or_fail, range(10)))
    assert sorted(got) == list(range(10))
    assert isinstance(got[3], TaskFailure) and "three is bad" in got[3].error
    assert [got[i] for i in range(10) if i != 3] == [i * i for i in range(10) if i != 3]


class FakeTasks:
    """Handles for :func:`backends._bounded`: ``submit`` starts a task (refused for args in
    ``refuse``), ``wait_some`` finishes a seeded random non-empty subset of the handles it is given
    (out of submission order), ``result`` is ``arg * arg``; the peak number in flight is recorded."""

    def __init__(self, refuse=(), seed=0):
        self.refuse, self.rng = set(refuse), np.random.default_rng(seed)
        self.in_flight, self.peak, self.consumed = {}, 0, 0

    def args(self, n):
        for a in range(n):
            self.consumed += 1
            yield a

    def submit(self, a):
        if a in self.refuse:
            raise RuntimeError(f"pool refuses {a}")
        handle = object()
        self.in_flight[handle] = a
        self.peak = max(self.peak, len(self.in_flight))
        return handle

    def wait_some(self, handles):
        assert set(handles) == set(self.in_flight)  # the loop waits on exactly what it submitted
        done = [h for h in handles if self.rng.random() < 0.3] or [handles[-1]]
        return done, [h for h in handles if h not in done]

    def result(self, handle):
        return self.in_flight.pop(handle) ** 2


@pytest.mark.parametrize("max_in_flight", [1, 3, 7])
def test_the_bounded_loop_keeps_at_most_max_in_flight_and_yields_each_result_once(max_in_flight):
    tasks = FakeTasks(refuse={4, 11})
    out = []
    for i, r in backends._bounded(
        tasks.submit, tasks.wait_some, tasks.result, tasks.args(20), max_in_flight, submit_failure="worker"
    ):
        # lazy: never more arguments taken than results given back plus those in flight
        assert tasks.consumed <= len(out) + 1 + max_in_flight
        out.append((i, r))
    assert sorted(i for i, _ in out) == list(range(20))
    assert tasks.peak == max_in_flight and not tasks.in_flight
    got = dict(out)
    assert all(got[i] == i * i for i in range(20) if i not in (4, 11))
    assert [(got[i].kind, got[i].error) for i in (4, 11)] == [
        ("worker", f"RuntimeError: pool refuses {i}") for i in (4, 11)
    ]
    if max_in_flight > 1:  # completion order, not submission order
        assert [i for i, _ in out] != sorted(i for i, _ in out)


def test_the_bounded_loop_raises_a_refused_submit_without_submit_failure_and_rejects_no_slots():
    tasks = FakeTasks(refuse={2})
    loop = backends._bounded(tasks.submit, tasks.wait_some, tasks.result, tasks.args(5), 3)
    with pytest.raises(RuntimeError, match="pool refuses 2"):
        list(loop)
    with pytest.raises(ValueError, match="max_in_flight must be at least 1, got 0"):
        list(backends._bounded(tasks.submit, tasks.wait_some, tasks.result, range(3), 0))


def test_chunks_are_cached_and_a_rerun_computes_nothing(tmp_cache, capsys):
    res1, df1 = run(LocalBackend(2), items())
    assert (res1.n_computed, res1.n_cached, res1.n_items) == (8, 0, N_ITEMS)
    res2, df2 = run(LocalBackend(2), items())
    assert (res2.n_computed, res2.n_cached) == (0, 8)
    pd.testing.assert_frame_equal(df1, df2)
    assert "8 from the cache" in res2.summary()
    changed = items()
    changed[10] = (changed[10][0], "another structure", hash_key("another structure"))
    res3, _ = run(LocalBackend(1), changed)
    assert (res3.n_computed, res3.n_cached) == (1, 7)  # only the chunk holding the changed item


def test_an_item_that_raises_is_a_failure_row_and_its_chunk_mates_are_kept(tmp_cache):
    res, df = run(LocalBackend(2), items(bad={5, 41}))
    assert res.n_failed_items == 2 and len(df) == N_ITEMS
    bad = df[df["reason"].notna()]
    assert list(bad.index) == ["item-005-bad", "item-041-bad"]
    assert bad["reason"].str.contains("RuntimeError: cannot screen").all()
    assert df["score"].notna().sum() == N_ITEMS - 2


def test_a_lost_worker_is_reported_not_cached_and_recomputed_later(tmp_cache):
    res, df = run(LocalBackend(2), items(), func=die_in_worker)
    assert res.n_lost >= 1 and res.n_computed + res.n_lost == 8
    assert df.loc["item-007", "reason"].startswith("worker")
    assert "run again" in res.summary()
    res2, df2 = run(LocalBackend(2), items())
    assert res2.n_computed == res.n_lost and df2["reason"].isna().all()


def test_a_run_killed_midway_resumes_and_finishes_with_the_same_output(tmp_path, monkeypatch):
    """A driver process that dies after 3 chunks (os._exit, like a kill -9) leaves 3 cached chunks;
    the rerun takes them from the cache and the table equals an uninterrupted run's."""
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "cache"))
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_backends as t
        from matmap_utils.core.backends import LocalBackend
        done = []
        def dying(pairs, shared=None):
            if len(done) == 3:
                os._exit(3)
            done.append(1)
            return t.fake_screen(pairs, shared)
        t.run(LocalBackend(1), t.items(), func=dying)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=os.environ.copy(), timeout=300)
    assert proc.returncode == 3
    res, df = run(LocalBackend(2), items())
    assert (res.n_cached, res.n_computed) == (3, 5)
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "fresh"))
    _, ref = run(LocalBackend(1), items())
    pd.testing.assert_frame_equal(df, ref)


def test_keyboard_interrupt_stops_the_run_and_keeps_finished_chunks(tmp_cache):
    calls = []

    def interrupted(pairs, shared=None):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return fake_screen(pairs, shared)

    with pytest.raises(KeyboardInterrupt):
        run(LocalBackend(1), items(), func=interrupted)
    res, _ = run(LocalBackend(1), items())
    assert (res.n_cached, res.n_computed) == (2, 6)


def test_backend_choice_follows_the_address_and_the_environment(monkeypatch):
    monkeypatch.delenv("MATMAP_RAY_ADDRESS", raising=False)
    assert backends.get_backend().name == "local"
    assert backends.get_backend("local", n_jobs=3).n_workers == 3
    mine = LocalBackend(1)
    with use_backend(mine):
        assert backends.get_backend() is mine and backends.current() is mine
    assert backends.current() is None


# ---- Ray ---------------------------------------------------------------------------------
@pytest.mark.ray
def test_ray_and_local_backends_give_identical_tables(ray_cluster, tmp_path, monkeypatch):
    triples = items(bad={13})
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "local"))
    res_l, local = run(LocalBackend(2), triples)
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "ray"))
    rb = backends.RayBackend()
    assert rb.n_workers == 2
    res_r, ray_df = run(rb, triples)
    assert res_r.n_computed == 8 and res_r.backend.startswith("ray")
    pd.testing.assert_frame_equal(local, ray_df)
    assert ray_df.loc["item-013-bad", "reason"].startswith("RuntimeError")
    rb.close()  # leaves the fixture's instance running (it did not start it)
    import ray

    assert ray.is_initialized()


@pytest.mark.ray
def test_parallel_map_runs_on_ray_inside_use_backend(ray_cluster):
    local = parallel_map(square_or_fail, range(40), n_jobs=2, progress=False)
    with use_backend(backends.RayBackend()):
        on_ray = parallel_map(square_or_fail, range(40), n_jobs=2, progress=False)
    assert [(o.key, o.value, o.error) for o in local] == [(o.key, o.value, o.error) for o in on_ray]
    assert on_ray[3].kind == "error"


def _threads_seen_by_a_worker(_):
    import torch

    from matmap_utils.screening.megnet.model import usable_cores

    return torch.get_num_threads(), usable_cores(), backends.in_worker()


def test_forked_workers_compute_on_one_torch_thread():
    """A forked worker that opens a multi-threaded OpenMP region after the parent used OpenMP
    hangs forever (GNU libgomp; chapter 06's paper run stopped at 0 % CPU that way): workers
    must see one torch thread and one usable core, whatever the parent had."""
    import torch

    from matmap_utils.screening.megnet.model import usable_cores

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        x = torch.rand(4_000_000)
        float((x * 2.0 + x).sum())  # the parent has run OpenMP threads before the fork
        seen = dict(backends.LocalBackend(2).imap(_threads_seen_by_a_worker, range(4)))
    finally:
        torch.set_num_threads(before)
    assert sorted(seen) == [0, 1, 2, 3]
    assert set(seen.values()) == {(1, 1, True)}
    assert not backends.in_worker() and usable_cores() >= 1


def _nested_pool(n):
    """A worker that itself calls parallel_map (e.g. a fold trained in a worker whose training
    would otherwise start a pool of member blocks)."""
    import os

    inner = parallel_map(_pid_of, range(n), n_jobs=2, progress=False)
    return os.getpid(), {o.value for o in inner}


def _pid_of(_):
    import os

    return os.getpid()


def test_parallel_map_inside_a_worker_runs_serially_in_that_worker():
    """A daemonic pool worker cannot start processes of its own: a nested parallel_map must run
    its items in the worker itself (one core each), not fail or fork grandchildren."""
    outs = parallel_map(_nested_pool, [3, 3, 3], n_jobs=2, progress=False)
    assert all(o.ok for o in outs), [o.error for o in outs]
    for o in outs:
        pid, inner = o.value
        assert inner == {pid}


def _effective_of(n_jobs):
    return backends.effective_n_jobs(n_jobs)


def test_effective_n_jobs_is_the_rule_of_every_pool(monkeypatch):
    """One rule for parallel_map and the CV searches: n_jobs as given, None/0 every core the
    project may use (MATMAP_N_JOBS, else the cores of this process), 1 inside a worker."""
    monkeypatch.delenv("MATMAP_N_JOBS", raising=False)
    assert backends.effective_n_jobs(3) == 3 and backends.effective_n_jobs(-2) == 1
    cores = len(os.sched_getaffinity(0))
    assert backends.effective_n_jobs(None) == backends.effective_n_jobs(0) == cores
    monkeypatch.setenv("MATMAP_N_JOBS", "2")
    assert backends.effective_n_jobs(None) == backends.effective_n_jobs(0) == 2
    assert dict(LocalBackend(2).imap(_effective_of, [None, 0, 4])) == {0: 1, 1: 1, 2: 1}
    # parallel_map follows it: n_jobs=0 is a pool of MATMAP_N_JOBS workers, not this process
    pids = {o.value for o in parallel_map(_pid_of, range(4), n_jobs=0, progress=False)}
    assert os.getpid() not in pids
