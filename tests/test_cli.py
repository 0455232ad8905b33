"""The `matmap` command line: discovery, data subcommands, one-line errors."""

from __future__ import annotations

import subprocess
import sys

from matmap_utils.cli.main import build_parser, main


def test_help_lists_core_commands():
    text = build_parser().format_help()
    for cmd in ("data", "run", "book"):
        assert cmd in text


def test_data_verify_reports_failures(fake_repo, capsys):
    fake_repo("demo/ok.txt", b"ok")
    fake_repo("demo/bad.txt", b"bad", sha="a" * 64)
    rc = main(["data", "verify"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "MISMATCH  demo/bad.txt" in out and "1 ok, 1 mismatched, 0 missing" in out


def test_data_verify_ok(fake_repo, capsys):
    fake_repo("demo/ok.txt", b"ok")
    assert main(["data", "verify", "demo"]) == 0


def test_data_fetch_unknown_name_is_one_line(fake_repo, capsys):
    fake_repo("demo/ok.txt", b"ok")
    rc = main(["data", "fetch", "nothing/here"])
    err = capsys.readouterr().err
    assert rc == 2 and "matches no registered file" in err and "Traceback" not in err


def test_run_unknown_notebook_is_one_line(capsys):
    rc = main(["run", "77_nothing", "--profile", "ci"])
    err = capsys.readouterr().err
    assert rc == 2 and "no notebook" in err


def test_console_script_installed():
    out = subprocess.run([sys.executable, "-m", "matmap_utils.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("matmap ")


def test_every_listed_command_registers_its_full_parser():
    """`matmap --help` lists commands without importing them; each module must register the command
    named in COMMANDS with that help, and accept `--help` once loaded."""
    import argparse
    import importlib

    from matmap_utils.cli.main import COMMANDS

    for name, help_ in COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"matmap_utils.cli.{name}").register(sub)
        assert list(sub.choices) == [name]
        assert sub._choices_actions[0].help == help_
        assert build_parser(name).format_help().count(name) >= 1
    assert "screen" in build_parser(None).format_help()  # listed without being imported


def test_truncated_gzip_trajectory_is_one_clear_line(tmp_path, capsys):
    import gzip

    lines = ["Li", "1.0", "5 0 0", "0 5 0", "0 0 5", "Li", "2"]
    for k in range(200):
        lines += [f"Direct configuration= {k + 1}", "0.1 0.1 0.1", f"0.5 0.5 {0.5 + 0.001 * k:.4f}"]
    blob = gzip.compress(("\n".join(lines) + "\n").encode())
    bad = tmp_path / "XDATCAR.gz"
    bad.write_bytes(blob[: len(blob) // 2])
    rc = main(["diffusion", str(bad), "--timestep", "2", "--stride", "1", "--format", "xdatcar"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().count("\n") == 0 and "truncated or corrupt gzip" in err and str(bad) in err
    assert "Traceback" not in err
