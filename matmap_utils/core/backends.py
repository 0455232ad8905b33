"""Where per-structure work runs: a local process pool (the default) or a Ray cluster.

A :class:`Backend` applies one picklable function to a stream of task arguments and yields each
result as soon as it is done, keeping only a bounded number of tasks in flight (so a pool of a
million structures is never held in memory at once).  Two implementations:

* :class:`LocalBackend` — worker processes on this machine (``MATMAP_N_JOBS`` cores, start method
  ``MATMAP_MP_START``), or this very process with ``n_jobs=1``;
* :class:`RayBackend` — Ray tasks (one CPU each) on the cluster at ``MATMAP_RAY_ADDRESS``
  (``auto``: the cluster this machine belongs to), or on a private local Ray instance that this
  process starts on 127.0.0.1 and stops when done (address ``local-ray``: no ``ray start`` needed).

:func:`get_backend` picks one: an explicit ``address`` (``"local"``, ``"local-ray"``, a cluster),
else the backend made current by :func:`use_backend`, else Ray when ``MATMAP_RAY_ADDRESS`` is set,
else the local pool.
A failed task (an exception inside ``func``, a lost worker or node) comes back as a
:class:`TaskFailure` value, never as an exception of the loop: callers turn it into rows with a
reason.  ``KeyboardInterrupt`` stops the loop (the caller's chunk cache keeps what was finished).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from matmap_utils.core import settings

#: Value shared by every task of a :class:`LocalBackend` run (set once per worker process).
_SHARED: dict[str, Any] = {}

#: Address meaning "a private Ray instance started by this process on 127.0.0.1" (no cluster).
LOCAL_RAY = "local-ray"


@dataclass
class TaskFailure:
    """A task that produced no result: ``kind`` is ``"error"`` (``func`` raised) or ``"worker"``
    (the process, worker or node running it was lost); ``error`` is one line."""

    error: str
    kind: str = "error"


def default_n_jobs() -> int:
    """Cores to use: ``MATMAP_N_JOBS`` or all available cores."""
    env = settings.get("MATMAP_N_JOBS")
    if env:
        return env
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def start_method() -> str:
    """``fork`` on Linux (works from notebooks and scripts alike; workers must not use torch
    threads inherited from the parent), ``spawn`` elsewhere; ``MATMAP_MP_START`` overrides."""
    env = settings.get("MATMAP_MP_START")
    if env:
        return env
    return "fork" if sys.platform.startswith("linux") else "spawn"


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception, first line only, at most 500 characters."""
    return f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:500]


#: Set in a worker process of a :class:`LocalBackend` pool or a Ray task (see :func:`in_worker`).
_WORKER: dict[str, bool] = {"is": False}


def in_worker() -> bool:
    """True in a worker process of a backend: such a process computes on one core.

    A forked worker must never open a multi-threaded torch (OpenMP) region: when the parent used
    OpenMP threads before the fork, GNU libgomp in the child waits at its first parallel region
    for threads that were not copied, forever (seen in chapter 06's paper profile: the metal
    classifier's automatic thread choice picked 2 threads inside forked workers, and the
    screening hung at 0 % CPU).  One thread per worker is also what avoids oversubscription."""
    return _WORKER["is"]


def effective_n_jobs(n_jobs: int | None) -> int:
    """Processes a parallel call may start: 1 inside a worker (:func:`in_worker`: no nested pools,
    one core each), else ``n_jobs``, with ``None`` or 0 meaning :func:`default_n_jobs`
    (``MATMAP_N_JOBS`` or every available core).  The one rule of :func:`~matmap_utils.core.parallel.parallel_map`
    and of the CV searches of :mod:`matmap_utils.benchmark.models`."""
    if in_worker():
        return 1
    return default_n_jobs() if not n_jobs else max(1, int(n_jobs))


def _init_worker(shared: Any = None, has_shared: bool = False) -> None:  # pragma: no cover - in workers
    """Worker start: mark the process (:func:`in_worker`), one torch thread, the shared value."""
    _WORKER["is"] = True
    torch = sys.modules.get("torch")  # only when the parent had imported it (never import it here)
    if torch is not None:
        torch.set_num_threads(1)
    if has_shared:
        _SHARED["value"] = shared


def _call_shared(func: Callable, arg: Any) -> Any:
    return func(arg, _SHARED["value"]) if "value" in _SHARED else func(arg)


class Backend:
    """Common interface: ``imap(func, args, shared=None)`` yields ``(index, result)`` pairs in
    completion order, ``result`` being ``func(arg)`` (or ``func(arg, shared)`` when ``shared`` is
    given: sent once per worker, not once per task) or a :class:`TaskFailure`."""

    name = "backend"
    n_workers = 1

    def imap(self, func: Callable, args: Iterable[Any], *, shared: Any = None) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name} ({self.n_workers} worker{'s' if self.n_workers != 1 else ''})"

    def close(self) -> None:
        """Release what the backend started (worker pools, a private Ray instance)."""


class LocalBackend(Backend):
    """Worker processes on this machine (``n_jobs=1``: this process, no pickling at all)."""

    name = "local"

    def __init__(self, n_jobs: int | None = None, max_in_flight: int | None = None):
        self.n_workers = default_n_jobs() if n_jobs is None else max(1, int(n_jobs))
        self.max_in_flight = max_in_flight or 2 * self.n_workers + 1

    def imap(self, func, args, *, shared=None):
        if self.n_workers == 1:
            yield from _inline(func, args, shared)
            return
        pool = ProcessPoolExecutor(
            max_workers=self.n_workers,
            mp_context=mp.get_context(start_method()),
            initializer=_init_worker,
            initargs=(shared, shared is not None),
        )
        try:
            submit = partial(pool.submit, _call_shared, func)
            yield from _bounded(submit, _wait_first, _local_result, args, self.max_in_flight, submit_failure="worker")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _inline(func, args, shared):
    for i, arg in enumerate(args):
        try:
            yield i, (func(arg, shared) if shared is not None else func(arg))
        except Exception as exc:  # noqa: BLE001 - reported per task by design
            yield i, TaskFailure(one_line(exc), "error")


def _local_result(fut) -> Any:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - BrokenProcessPool: a worker died
        kind = "worker" if type(exc).__name__ == "BrokenProcessPool" else "error"
        return TaskFailure(one_line(exc), kind)


def _bounded(
    submit: Callable[[Any], Any],
    wait_some: Callable[[list], tuple[Iterable, Any]],
    result: Callable[[Any], Any],
    args: Iterable,
    max_in_flight: int,
    *,
    submit_failure: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """Submit tasks lazily, at most ``max_in_flight`` pending; yield ``(index, result)`` as they finish.

    ``submit(arg)`` returns a handle (a future, a Ray object ref); ``wait_some(handles)`` blocks
    until at least one is done and returns ``(done, pending)``; ``result(handle)`` is the task's
    value or a :class:`TaskFailure`.  An exception of ``submit`` is yielded as a
    :class:`TaskFailure` of kind ``submit_failure`` (a broken pool refusing new tasks) or, when
    that is ``None``, raised."""
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
    pending: dict[Any, int] = {}
    it = iter(enumerate(args))
    exhausted = False
    while pending or not exhausted:
        while not exhausted and len(pending) < max_in_flight:
            try:
                i, a = next(it)
            except StopIteration:
                exhausted = True
                break
            try:
                pending[submit(a)] = i
            except Exception as exc:  # noqa: BLE001 - reported per task by design
                if submit_failure is None:
                    raise
                yield i, TaskFailure(one_line(exc), submit_failure)
        if not pending:
            break
        done, _ = wait_some(list(pending))
        for handle in done:
            yield pending.pop(handle), result(handle)


def _wait_first(futures: list) -> tuple[set, set]:
    return wait(futures, return_when=FIRST_COMPLETED)


class RayBackend(Backend):
    """Ray tasks of one CPU each on the cluster at ``address`` (``"auto"``: the running cluster of
    this machine; ``"local-ray"``: a private local instance of ``num_cpus`` CPUs; ``None``:
    ``MATMAP_RAY_ADDRESS``, or a private local instance when that is unset too).  The cluster's
    workers need matmap installed (same version)."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_in_flight: int | None = None):
        self.session = ray_session(address, num_cpus)
        self.session.__enter__()
        import ray  # lazy: optional `hpo` extra

        self.n_workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.max_in_flight = max_in_flight or 2 * self.n_workers + 1
        self._remote = ray.remote(num_cpus=1, max_retries=2)(_ray_task)

    def imap(self, func, args, *, shared=None):
        import ray  # lazy: optional `hpo` extra

        ref = ray.put(shared) if shared is not None else None
        yield from _bounded(
            lambda a: self._remote.remote(func, a, ref),
            partial(ray.wait, num_returns=1),
            partial(_ray_result, ray),
            args,
            self.max_in_flight,
        )

    def describe(self) -> str:
        where = self.session.address or "a private instance on 127.0.0.1"
        return f"ray at {where} ({self.n_workers} CPUs)"

    def close(self) -> None:
        self.session.__exit__(None, None, None)


def _ray_task(func, arg, shared):  # pragma: no cover - runs in Ray workers
    _WORKER["is"] = True  # Ray gives each task one CPU (and sets OMP_NUM_THREADS=1 for its workers)
    return func(arg, shared) if shared is not None else func(arg)


def _ray_result(ray, ref) -> Any:
    """The value of a finished Ray task, or a :class:`TaskFailure` (``func`` raised: ``"error"``
    with the original exception; worker or node lost after Ray's retries: ``"worker"``)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
        return TaskFailure(one_line(cause), "error")
    except ray.exceptions.RayError as exc:  # worker or node lost (after Ray's retries)
        return TaskFailure(one_line(exc), "worker")


_RAY_CLUSTER_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@contextmanager
def _loopback_only(ray):
    """Ray (2.x) replaces ``_node_ip_address="127.0.0.1"`` by this machine's network address and
    listens on every interface, unless its multi-node mode is off
    (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read when ``ray`` is imported; the raylet passes it on
    to the workers): turn it off while a private instance starts, so that it listens on the
    loopback address only, and restore it afterwards."""
    consts = getattr(getattr(ray, "_private", None), "ray_constants", None)
    saved_env, saved = os.environ.get(_RAY_CLUSTER_VAR), getattr(consts, "ENABLE_RAY_CLUSTER", None)
    os.environ[_RAY_CLUSTER_VAR] = "0"
    if saved is not None:
        consts.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if saved is not None:
            consts.ENABLE_RAY_CLUSTER = saved
        if saved_env is None:
            os.environ.pop(_RAY_CLUSTER_VAR, None)
        else:
            os.environ[_RAY_CLUSTER_VAR] = saved_env


class ray_session:
    """Context manager: a Ray instance — the cluster at ``address`` / ``$MATMAP_RAY_ADDRESS``
    (``auto`` for the cluster this machine belongs to), else (unset, or ``local-ray``) a private
    local instance with ``num_cpus`` CPUs (default ``MATMAP_N_JOBS`` / all cores) listening on
    127.0.0.1 only, its workers at the caller's priority, no dashboard, a small object store and
    its session files in a fresh temporary directory, shut down on exit.  An instance already running
    (``ray.is_initialized()``) is reused and left running.  Usage statistics are off."""

    def __init__(self, address=None, num_cpus=None, object_store_mb=256, start_timeout_s=120.0, retries=3):
        address = address or settings.get("MATMAP_RAY_ADDRESS")
        self.address = None if address == LOCAL_RAY else address
        self.num_cpus = num_cpus
        self.object_store_mb = object_store_mb
        self.start_timeout_s = start_timeout_s
        self.retries = int(retries)
        self.started = False

    def __enter__(self):
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        os.environ.setdefault("RAY_gcs_server_request_timeout_seconds", str(int(self.start_timeout_s)))
        import ray  # lazy: optional `hpo` extra; reads the RAY_* variables set above at import

        if ray.is_initialized():
            return self
        kw = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING, configure_logging=True)
        err = None
        for _ in range(max(1, self.retries)):
            try:
                if self.address:
                    ray.init(address=self.address, **kw)
                else:
                    # Ray renices its workers by +15 (to shield a cluster head's own services); on a
                    # shared machine that starves a private instance behind every other job, while
                    # the local pool's workers keep the driver's priority: keep it here too
                    os.environ.setdefault("RAY_worker_niceness", "0")
                    with _loopback_only(ray):
                        ray.init(
                            num_cpus=self.num_cpus or default_n_jobs(),
                            _node_ip_address="127.0.0.1",
                            _temp_dir=tempfile.mkdtemp(prefix="mmray"),  # short: socket paths < 108 chars
                            object_store_memory=int(self.object_store_mb) << 20,
                            **kw,
                        )
                err = None
                break
            except Exception as exc:  # noqa: BLE001 - a loaded machine can miss Ray's start deadline
                err = exc
                ray.shutdown()
        if err is not None:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise RuntimeError(f"could not start/connect to {where} ({self.retries} tries): {one_line(err)}") from err
        self.started = True
        return self

    def __exit__(self, *exc):
        if self.started:
            import ray  # lazy: optional `hpo` extra

            ray.shutdown()
            self.started = False
        return False


_CURRENT: list[Backend] = []


@contextmanager
def use_backend(backend: Backend):
    """Make ``backend`` the one :func:`get_backend` returns (and so every ``parallel_map``) inside the block."""
    _CURRENT.append(backend)
    try:
        yield backend
    finally:
        _CURRENT.pop()


def current() -> Backend | None:
    """The backend of the innermost :func:`use_backend` block, or ``None``."""
    return _CURRENT[-1] if _CURRENT else None


def in_ray_worker() -> bool:
    """True inside a Ray task (nested work then stays in that worker's process)."""
    if "ray" not in sys.modules:
        return False
    import ray  # lazy: optional `hpo` extra (already imported when we get here)

    try:
        return ray.is_initialized() and ray.get_runtime_context().worker.mode == ray.WORKER_MODE
    except Exception:  # noqa: BLE001 - an old or partial Ray: assume the driver
        return False


def get_backend(address: str | None = None, n_jobs: int | None = None, num_cpus: int | None = None) -> Backend:
    """The backend to run on: ``address="local"`` → :class:`LocalBackend` (``n_jobs`` processes);
    ``"local-ray"`` → :class:`RayBackend` on a private Ray instance of ``num_cpus`` CPUs started on
    127.0.0.1 (and stopped by its ``close``); another ``address`` (``auto``, ``ray://…``,
    ``host:port``) → :class:`RayBackend` there; ``None`` → the backend of the enclosing
    :func:`use_backend`, else by ``MATMAP_RAY_ADDRESS`` when set, else the local pool."""
    if address is None and _CURRENT:
        return _CURRENT[-1]
    if address is None:
        address = settings.get("MATMAP_RAY_ADDRESS")
    if not address or address == "local" or in_ray_worker():
        return LocalBackend(n_jobs)
    return RayBackend(address, num_cpus=num_cpus)
