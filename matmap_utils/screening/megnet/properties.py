"""MEGNet's metal classifier and elastic moduli over a pool of structures (cached per chunk).

The three models share one graph per structure (cutoff 4 Å):

* ``p_nonmetal`` — P(band gap > 0) of the mp-2018.6.1 metal classifier (band-gap architecture with
  a sigmoid output); a structure with P < 0.5 is called a metal (McHaffie et al. 2025 screen for
  Eg > 1 eV; the band-gap regressor alone cannot say "metal", having been trained on gaps > 0);
* ``log10_K_VRH_GPa``, ``log10_G_VRH_GPa`` — log10 of the Voigt–Reuss–Hill bulk and shear moduli
  (GPa) of the mp-2019.4.1 models, the input of López et al.'s mechanical–elastic descriptors
  (:mod:`matmap_utils.transport.elastic`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from matmap_utils.core.cache import CacheKind, atomic_write_parquet, hash_structure
from matmap_utils.core.parallel import parallel_map
from matmap_utils.screening.megnet.graph import MEGNetGraphError, build_graphs, structure_arrays
from matmap_utils.screening.megnet.model import TARGETS, load_model
from matmap_utils.screening.megnet.pool import _structures_of

#: The property models, in the order of their columns.
PROPERTY_MODELS = ("nonmetal", "log10K", "log10G")

#: One parquet per chunk of structures; the models' settings (weights' sha) are hashed in.
CACHE = CacheKind("megnet_properties", folder="megnet", version=1)


def _arrays_or_reason(structure):
    if structure is None:
        return "no structure"
    try:
        return structure_arrays(structure)
    except Exception as exc:  # noqa: BLE001 - reported per structure
        return f"{type(exc).__name__}: {exc}"


def predict_chunk(ids: Sequence, arrays: Sequence, names: Sequence[str] = PROPERTY_MODELS) -> pd.DataFrame:
    """Predictions of the models ``names`` for one chunk: a frame indexed by ``ids`` with one
    column per model (:data:`TARGETS`) and ``reason`` (None, or why a structure has no value)."""
    models = [load_model(n) for n in names]
    cutoff = max(m.cutoff for m in models)
    outs = build_graphs(list(arrays), cutoff, keys=list(ids), n_jobs=1)
    frame = pd.DataFrame(index=pd.Index(list(ids), name="id"), columns=[TARGETS[n] for n in names], dtype=float)
    frame["reason"] = pd.Series({o.key: o.error for o in outs if not o.ok}, dtype=object)
    ok = [o for o in outs if o.ok]
    for name, m in zip(names, models):
        graphs, keys = [], []
        for o in ok:
            try:
                graphs.append(o.value if m.cutoff == cutoff else o.value.with_cutoff(m.cutoff))
                keys.append(o.key)
            except MEGNetGraphError as exc:
                frame.loc[o.key, "reason"] = f"{name}: {exc}"
        if graphs:
            frame.loc[keys, TARGETS[name]] = m.predict_graphs(graphs)
    return frame


def _chunk_job(item):
    ids, arrays, names = item
    return predict_chunk(ids, arrays, names)


def pool_properties(
    df_structures,
    names: Sequence[str] = PROPERTY_MODELS,
    *,
    cache: bool = True,
    n_jobs: int | None = None,
    chunk_size: int = 512,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """P(non-metal) and log10 K, log10 G (GPa) of every structure → ``(predictions, failures)``.

    ``df_structures``: a DataFrame with a ``structure`` column or a Series of structures (index =
    ids).  Chunks of ``chunk_size`` structures run in worker processes and are cached (content
    hash of the structures and the models' settings)."""
    names = tuple(names)
    ids, structures = _structures_of(df_structures)
    settings = [load_model(n).settings for n in names]
    parts, todo = {}, []
    for n, start in enumerate(range(0, len(ids), chunk_size)):
        cids, cstructs = ids[start : start + chunk_size], structures[start : start + chunk_size]
        hashes = [hash_structure(s, settings) if s is not None else "none" for s in cstructs]
        path = CACHE.path(CACHE.key([str(i) for i in cids], hashes, list(names)), ".parquet")
        if cache and path.exists():
            parts[n] = pd.read_parquet(path)
        else:
            todo.append((n, path, (cids, [_arrays_or_reason(s) for s in cstructs], names)))
    outs = parallel_map(
        _chunk_job,
        [t[2] for t in todo],
        keys=[t[0] for t in todo],
        n_jobs=n_jobs,
        progress=progress,
        desc="MEGNet properties",
    )
    for (n, path, _), o in zip(todo, outs):
        if not o.ok:
            raise RuntimeError(f"MEGNet property chunk {n} failed: {o.error}")
        parts[n] = o.value
        if cache:
            atomic_write_parquet(path, o.value)
    frame = pd.concat([parts[n] for n in sorted(parts)]) if parts else pd.DataFrame(columns=["reason"])
    bad = frame["reason"].notna()
    failures = pd.DataFrame({"id": list(frame.index[bad]), "reason": list(frame["reason"][bad])})
    values = frame.drop(columns=["reason"]).astype(float)
    return values[values.notna().any(axis=1)], failures


def moduli_gpa(pred: pd.DataFrame) -> pd.DataFrame:
    """K and G in GPa (10**log10) from :func:`pool_properties`' columns."""
    return pd.DataFrame(
        {
            "K_VRH_GPa": np.power(10.0, pred[TARGETS["log10K"]]),
            "G_VRH_GPa": np.power(10.0, pred[TARGETS["log10G"]]),
        },
        index=pred.index,
    )
