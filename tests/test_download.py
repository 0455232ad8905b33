"""The online path without the mirror, end to end against a local HTTP server on 127.0.0.1.

The server serves registered files under their URL paths (``MATMAP_DATA_URL_BASE`` points the
registry's URLs at it); one variant sends a wrong file, another drops the connection on the first
request for each file.  Nothing leaves this machine.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from matmap_utils.cli.main import main
from matmap_utils.data.download import fetch_missing
from matmap_utils.data.registry import DataHashError, fetch

FILES = {f"demo/s{k:02d}.cif": f"data_{k}\n_cell_length_a {k}\n".encode() * 40 for k in range(12)}


class _Server:
    def __init__(self, files: dict[str, bytes], mode: str = "ok"):
        self.files, self.mode, self.seen = files, mode, {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                path = self.path.lstrip("/").removeprefix("public/")
                outer.seen[path] = outer.seen.get(path, 0) + 1
                if path not in outer.files:
                    self.send_error(404)
                    return
                if outer.mode == "drop-first" and outer.seen[path] == 1:
                    self.close_connection = True
                    self.connection.close()  # no status line, no body: a dropped connection
                    return
                body = outer.files[path] if outer.mode != "wrong" else b"not the registered file\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def online(fake_repo, monkeypatch):
    """Register FILES (not in the mirror) with public-looking URLs; downloads allowed."""
    for path, content in FILES.items():
        fake_repo(path, content, in_mirror=False, url=f"https://data.example.org/public/{path}")
    monkeypatch.delenv("MATMAP_OFFLINE", raising=False)
    return monkeypatch


def test_parallel_download_then_resume_from_the_cache(online, tmp_path, capsys):
    with _Server(FILES) as base:
        online.setenv("MATMAP_DATA_URL_BASE", base)
        table = fetch_missing(list(FILES), max_workers=4, progress=False)
        assert (table["status"] == "downloaded").all() and len(table) == len(FILES)
        again = fetch_missing(list(FILES), progress=False)  # an interrupted run starts again
        assert (again["status"] == "available").all()
        assert main(["data", "fetch", *FILES]) == 0
    assert f"{len(FILES)} of {len(FILES)} files available" in capsys.readouterr().err
    cached = tmp_path / "cache" / "downloads" / "demo" / "s03.cif"
    assert cached.read_bytes() == FILES["demo/s03.cif"]


def test_a_wrong_file_is_reported_and_never_kept(online, tmp_path, capsys):
    with _Server(FILES, mode="wrong") as base:
        online.setenv("MATMAP_DATA_URL_BASE", base)
        table = fetch_missing(list(FILES)[:3], progress=False)
        assert (table["status"] == "failed").all()
        assert all("sha256" in d for d in table["detail"])
        with pytest.raises(DataHashError, match="sha256"):
            fetch(list(FILES)[0])
        assert main(["data", "fetch", *list(FILES)[:2]]) == 1
    assert "FAILED demo/s00.cif" in capsys.readouterr().err
    assert not list((tmp_path / "cache" / "downloads").rglob("*.cif"))


def test_a_dropped_connection_is_retried(online):
    with _Server(FILES, mode="drop-first") as base:
        online.setenv("MATMAP_DATA_URL_BASE", base)
        srv_files = list(FILES)[:4]
        table = fetch_missing(srv_files, max_workers=2, retries=2, progress=False)
    assert (table["status"] == "downloaded").all()


def test_without_retries_a_dropped_connection_fails_that_file_only(online):
    with _Server(FILES, mode="drop-first") as base:
        online.setenv("MATMAP_DATA_URL_BASE", base)
        table = fetch_missing(list(FILES)[:3], retries=0, progress=False)
    assert (table["status"] == "failed").all() and len(table) == 3
