"""Profiles (params/<profile>.yaml) and the parameters a notebook declares."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jupytext
import papermill as pm
import yaml

from matmap_utils.core.paths import repo_root


def load_profile(profile: str | os.PathLike) -> dict[str, Any]:
    """Read ``params/<profile>.yaml`` (or a path to a YAML file)."""
    path = Path(profile)
    if not path.suffix:
        path = repo_root() / "params" / f"{profile}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"parameter profile {path} does not exist "
            f"(have: {', '.join(p.stem for p in (repo_root() / 'params').glob('*.yaml'))})"
        )
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of notebook sections")
    return data


def notebook_parameters(nb_py: Path) -> dict[str, dict]:
    """Parameters declared in the notebook's ``parameters`` cell (name → papermill's inference)."""

    ipynb = _to_ipynb(nb_py)
    return pm.inspect_notebook(str(ipynb))


def merged_parameters(
    nb_py: Path,
    profile: str | os.PathLike | dict,
    overrides: dict | None = None,
    extra_file: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """``_all`` + the notebook's section of the profile + an extra YAML + ``-p`` overrides,
    restricted to the parameters the notebook declares (unknown names are an error)."""
    prof = load_profile(profile) if not isinstance(profile, dict) else profile
    stem = nb_py.stem
    params: dict[str, Any] = {}
    params.update(prof.get("_all") or {})
    params.update(prof.get(stem) or {})
    if extra_file:
        extra = yaml.safe_load(Path(extra_file).read_text()) or {}
        params.update(extra.get("_all", {}) if any(k.startswith("_") or k[:2].isdigit() for k in extra) else extra)
        params.update(extra.get(stem, {}) if isinstance(extra.get(stem), dict) else {})
    declared = notebook_parameters(nb_py)
    unknown_overrides = sorted(set(overrides or {}) - set(declared))
    if unknown_overrides:
        raise ValueError(
            f"{nb_py.name} has no parameter(s) {', '.join(unknown_overrides)}; "
            f"it declares: {', '.join(sorted(declared))}"
        )
    params.update(overrides or {})
    return {k: v for k, v in params.items() if k in declared}


def _to_ipynb(nb_py: Path) -> Path:
    """Convert the py:percent source to an ``.ipynb`` (cached by the source's mtime)."""

    out = repo_root() / ".cache" / "ipynb" / (nb_py.stem + ".ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists() or out.stat().st_mtime < nb_py.stat().st_mtime:
        nb = jupytext.read(nb_py)
        nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
        tmp = out.with_suffix(f".{os.getpid()}.tmp.ipynb")  # concurrent builds never share it
        jupytext.write(nb, tmp)
        os.replace(tmp, out)
    return out
