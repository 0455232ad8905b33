"""`make book` for a newcomer: ETA from recorded or shipped timings, resume after a killed kernel,
and two builds sharing one cache."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

from matmap_utils.book import build, execute
from matmap_utils.core.cache import atomic_write_npz, load_npz

NB_A = '# %% tags=["parameters"]\nprofile = "paper"\nseed = 0\n\n# %%\n' + (
    "from pathlib import Path\n"
    "import os\n"
    "log = Path(os.environ['MATMAP_ROOT']) / 'runs.log'\n"
    "log.write_text(log.read_text() + 'a\\n' if log.exists() else 'a\\n')\n"
)
#: computes an "intermediate" into the cache once, then dies on its first run (a killed kernel)
NB_B = '# %% tags=["parameters"]\nprofile = "paper"\nseed = 0\n\n# %%\n' + (
    "import os, signal\n"
    "from pathlib import Path\n"
    "root = Path(os.environ['MATMAP_ROOT'])\n"
    "cached = Path(os.environ['MATMAP_CACHE']) / 'compute' / 'demo' / 'x.txt'\n"
    "if not cached.exists():\n"
    "    cached.parent.mkdir(parents=True, exist_ok=True)\n"
    "    (root / 'computed.log').write_text((root / 'computed.log').read_text() + 'x' "
    "if (root / 'computed.log').exists() else 'x')\n"
    "    cached.write_text('42')\n"
    "if (root / 'die').exists():\n"
    "    (root / 'die').unlink()\n"
    "    os.kill(os.getpid(), signal.SIGKILL)\n"
)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    for d in ("notebooks", "params", "data"):
        (root / d).mkdir(parents=True)
    (root / "data" / "registry.tsv.gz").write_bytes(b"")
    (root / "params" / "ci.yaml").write_text("_all: {profile: ci, seed: 0}\n")
    (root / "params" / "timings.yaml").write_text("ci: {91_a: 30, 92_b: 50}\n")
    (root / "notebooks" / "91_a.py").write_text(NB_A)
    (root / "notebooks" / "92_b.py").write_text(NB_B)
    monkeypatch.setenv("MATMAP_ROOT", str(root))
    monkeypatch.setenv("MATMAP_CACHE", str(tmp_path / "cache"))
    return root


def test_eta_line_counts_what_is_left():
    stems = ["a", "b", "c"]
    line = build.eta_line(1, stems, {"a": 10.0, "b": 30.0, "c": 40.0}, elapsed=12.0)
    assert line.startswith("[2/3] b: running (typically 30 s") and "about 1 min 10 s left" in line
    assert "no recorded time" in build.eta_line(0, ["z"], {"z": None}, 0.0)


def test_expected_times_come_from_this_machine_first(repo):
    assert build.expected_seconds(["91_a", "92_b", "99_x"], "ci") == {"91_a": 30.0, "92_b": 50.0, "99_x": None}
    execute.execute_notebook("91_a", profile="ci")
    rec = build.expected_seconds(["91_a"], "ci")["91_a"]
    assert rec is not None and rec != 30.0
    assert "cold" in execute.recorded_history("91_a")["ci"] or "warm" in execute.recorded_history("91_a")["ci"]


def test_a_killed_kernel_resumes_where_it_stopped(repo, capsys):
    (repo / "die").write_text("")
    with pytest.raises(execute.NotebookFailed, match="kernel died"):
        build.execute_all("ci", stems=["91_a", "92_b"])
    assert (repo / "runs.log").read_text() == "a\n" and (repo / "computed.log").read_text() == "x"
    timings = build.execute_all("ci", stems=["91_a", "92_b"])
    out = capsys.readouterr().out
    assert "[1/2] 91_a: up to date" in out and "[2/2] 92_b: executed" in out
    assert [t["executed_now"] for t in timings] == [False, True]
    assert (repo / "runs.log").read_text() == "a\n"  # 91_a was not run again
    assert (repo / "computed.log").read_text() == "x"  # 92_b reused its cached intermediate
    stamp = json.loads((repo / "book" / "executed" / ".stamps" / "92_b.json").read_text())
    assert stamp["cache"] == "warm" and "warm" in stamp["history"]["ci"]


def _writer(path: str, value: float, n: int) -> None:
    for _ in range(n):
        atomic_write_npz(path, x=np.full(50_000, value))


def test_two_processes_writing_one_cache_entry_never_leave_a_broken_file(tmp_path):
    target = tmp_path / "compute" / "kind" / "entry.npz"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(target), v, 60)) for v in (1.0, 2.0)]
    for p in procs:
        p.start()
    seen = set()
    while any(p.is_alive() for p in procs):
        if target.exists():
            x = load_npz(target)["x"]  # always a whole file: one writer's or the other's
            assert x.shape == (50_000,) and len(set(np.unique(x))) == 1
            seen.add(float(x[0]))
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert seen <= {1.0, 2.0} and not list(Path(target.parent).glob("*.tmp"))


def _run_notebook(root: str, cache: str, q) -> None:
    import os

    os.environ["MATMAP_ROOT"], os.environ["MATMAP_CACHE"] = root, cache
    try:
        execute.execute_notebook("91_a", profile="ci", force=True)
        q.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        q.put(repr(exc))


def test_two_builds_of_one_notebook_at_once(repo, tmp_path):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_run_notebook, args=(str(repo), str(tmp_path / "cache"), q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert sorted(q.get(timeout=5) for _ in procs) == ["ok", "ok"]
    stamp = json.loads((repo / "book" / "executed" / ".stamps" / "91_a.json").read_text())
    assert stamp["parameters"]["profile"] == "ci"
    nb = json.loads((repo / "book" / "executed" / "91_a.ipynb").read_text())
    assert nb["cells"] and not list((repo / "book" / "executed").glob(".*running*"))
