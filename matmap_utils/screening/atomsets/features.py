"""AtomSets inputs: simplified structures to MEGNet V0-V3 site-feature matrices (McHaffie et al. 2025, Sec. 2.3)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from matmap_utils.core.parallel import parallel_map
from matmap_utils.screening.megnet import model, pool
from matmap_utils.screening.megnet.graph import MEGNetGraphError
from matmap_utils.screening.simplify import simplify


def _simplify_job(item):

    structure, mode, oxidation = item
    return simplify(structure, mode, oxidation=oxidation)


def v0_embedding() -> np.ndarray:
    """The (95, 16) elemental embedding table of the MEGNet formation-energy model (row = Z)."""

    m = model.load_model("formation_energy", device="cpu")
    return m._w[m.embedding_layer]["embeddings"].detach().cpu().numpy().astype(np.float64)


def v0_matrix(structure, table: np.ndarray | None = None) -> np.ndarray:
    """V0 of one structure without building a graph: per site, sum_i x_i * W[Z_i] (the convention of
    :mod:`matmap_utils.screening.megnet`; equal to its layer-0 output, tested)."""

    table = v0_embedding() if table is None else table
    out = np.zeros((len(structure), table.shape[1]))
    for i, site in enumerate(structure):
        for sp, x in site.species.items():
            z = int(getattr(sp, "Z", 0) or 0)
            if not 1 <= z <= 94:
                raise MEGNetGraphError(f"site {i}: species {sp} has no MEGNet embedding (Z must be 1..94)")
            out[i] += float(x) * table[z]
    return out.astype(np.float32)


def _v0_job(item):

    structure, mode, table, oxidation = item
    return v0_matrix(simplify(structure, mode, oxidation=oxidation), table)


def featurize(
    structures,
    modes: Sequence[str] = ("CAMN",),
    layers: Sequence[int] = (0, 1, 2, 3),
    *,
    n_jobs: int | None = None,
    cache: bool = True,
    progress: bool = False,
    oxidation: str = "paper",
):
    """MEGNet site features of simplified structures.

    ``structures``: a Series (index = ids) of pymatgen structures.  Returns ``(features, failures)``:
    ``features[(mode, layer)]`` is a dict id -> (n_sites, d) float32 matrix; ``failures`` a frame
    (id, mode, reason) of structures that could not be simplified or featurized (left out; e.g.
    no valid oxidation states under CAMNS/CANS).  ``oxidation``: the sign assignment of
    :func:`matmap_utils.screening.simplify.ion_signs` (``"paper"`` or the earlier ``"rule"``).
    MEGNet results are cached by :func:`matmap_utils.screening.megnet.pool.pool_compute` (content hash).
    """

    ids = list(structures.index)
    feats: dict = {}
    fails = []
    if list(layers) == [0]:  # V0 only: no graph needed (seconds for the whole MP pool)
        table = v0_embedding()
        for mode in modes:
            outs = parallel_map(
                _v0_job,
                [(s, mode, table, oxidation) for s in structures.values],
                keys=[str(i) for i in ids],
                n_jobs=n_jobs,
                progress=progress,
            )
            feats[(mode, 0)] = {i: o.value for i, o in zip(ids, outs) if o.ok}
            fails += [{"id": i, "mode": mode, "reason": str(o.error)} for i, o in zip(ids, outs) if not o.ok]
        return feats, pd.DataFrame(fails, columns=["id", "mode", "reason"])
    for mode in modes:
        items = [(s, mode, oxidation) for s in structures.values]
        outs = parallel_map(_simplify_job, items, keys=[f"{i}" for i in ids], n_jobs=n_jobs, progress=False)
        ok_ids = [i for i, o in zip(ids, outs) if o.ok]
        fails += [{"id": i, "mode": mode, "reason": str(o.error)} for i, o in zip(ids, outs) if not o.ok]
        series = pd.Series([o.value for o in outs if o.ok], index=ok_ids, dtype=object)
        _, sf, f2 = pool.pool_compute(
            series, layers=tuple(layers), predictions=False, cache=cache, n_jobs=n_jobs, progress=progress
        )
        fails += [{"id": r["id"], "mode": mode, "reason": r["reason"]} for _, r in f2.iterrows()]
        for layer in layers:
            feats[(mode, int(layer))] = {k: sf.matrix(k, int(layer)) for k in sf.ids}
    return feats, pd.DataFrame(fails, columns=["id", "mode", "reason"])


def set_vectors(matrices: Sequence[np.ndarray]) -> np.ndarray:
    """One vector per structure: the mean of its site features (the space of the training distance)."""
    return np.stack([np.asarray(m, dtype=np.float64).mean(0) for m in matrices])
