"""MEGNet over a pool of structures: cached per chunk, predictions and V0-V3 site features (chapter 06)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matmap_utils.core.cache import CacheKind, atomic_write_npz, atomic_write_parquet, hash_structure, load_npz
from matmap_utils.core.parallel import default_n_jobs, parallel_map
from matmap_utils.core.progress import progress_bar
from matmap_utils.data.datasets import load_mp_band_gaps
from matmap_utils.data.registry import fetch, registered
from matmap_utils.data.structures import read_structure
from matmap_utils.screening.megnet.graph import MEGNetGraphError, build_graphs, structure_arrays
from matmap_utils.screening.megnet.model import MEGNetModel, default_threads, load_model


# --------------------------------------------------------------------------------------------
# Many structures: both predictions, site features, caching
# --------------------------------------------------------------------------------------------
@dataclass
class SiteFeatures:
    """Site features of many structures: ``arrays[layer]`` is (total sites, d) float32, the rows of
    structure ``ids[i]`` being ``offsets[i]:offsets[i+1]``; ids are strings (``str`` of the keys)."""

    ids: list
    offsets: np.ndarray
    arrays: dict
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["id", "reason"]))

    def __len__(self) -> int:
        return len(self.ids)

    @functools.cached_property
    def _pos(self) -> dict:
        return {k: i for i, k in enumerate(self.ids)}

    def __contains__(self, key) -> bool:
        return key in self._pos

    def __getitem__(self, key) -> dict:
        i = self._pos[key]
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return {k: v[a:b] for k, v in self.arrays.items()}

    def matrix(self, key, layer: int) -> np.ndarray:
        return self[key][layer]

    def to_npz_dict(self) -> dict:
        d = {
            "ids": np.asarray([str(i) for i in self.ids]),
            "offsets": np.asarray(self.offsets, dtype=np.int64),
            "fail_ids": np.asarray([str(i) for i in self.failures["id"]])
            if len(self.failures)
            else np.array([], dtype=str),
            "fail_reasons": np.asarray([str(r) for r in self.failures["reason"]])
            if len(self.failures)
            else np.array([], dtype=str),
        }
        for k, v in self.arrays.items():
            d[f"V{k}"] = v
        return d

    @classmethod
    def from_npz_dict(cls, d: dict) -> SiteFeatures:
        arrays = {int(k[1:]): v for k, v in d.items() if k.startswith("V")}
        fails = pd.DataFrame(
            {"id": [str(i) for i in d["fail_ids"]], "reason": [str(r) for r in d["fail_reasons"]]},
            columns=["id", "reason"],
        )
        return cls([str(i) for i in d["ids"]], d["offsets"], arrays, fails)

    def save(self, path) -> Path:

        return atomic_write_npz(path, **self.to_npz_dict())

    @classmethod
    def load(cls, path) -> SiteFeatures:

        return cls.from_npz_dict(load_npz(path))

    @classmethod
    def concat(cls, parts: Sequence[SiteFeatures]) -> SiteFeatures:
        parts = [p for p in parts if p is not None]
        ids = [i for p in parts for i in p.ids]
        layers = sorted({k for p in parts for k in p.arrays})
        sizes = np.concatenate([np.diff(p.offsets) for p in parts]) if parts else np.array([], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        arrays = {
            k: np.concatenate(
                [p.arrays[k] for p in parts if len(p.ids)] or [np.zeros((0, 16 if k == 0 else 32), np.float32)]
            )
            for k in layers
        }
        fails = [p.failures for p in parts if len(p.failures)]
        fails = pd.concat(fails, ignore_index=True) if fails else pd.DataFrame(columns=["id", "reason"])
        return cls(ids, offsets, arrays, fails)


#: MEGNet predictions and V0-V3 features per chunk of structures; the models' settings (weights'
#: sha, cutoff, Gaussian expansion) are part of every structure's hash.
CACHE = CacheKind("megnet_pool", folder="megnet", version=None)


def _structures_of(df_or_list, ids=None):
    if isinstance(df_or_list, pd.DataFrame):
        return list(df_or_list.index), list(df_or_list["structure"])
    if isinstance(df_or_list, pd.Series):
        return list(df_or_list.index), list(df_or_list.values)
    structures = list(df_or_list)
    return (list(range(len(structures))) if ids is None else list(ids)), structures


def pool_compute(
    df_structures,
    *,
    layers: Sequence[int] = (0, 1, 2, 3),
    predictions: bool = True,
    cache: bool = True,
    n_jobs: int | None = None,
    chunk_size: int = 512,
    batch_size: int | None = None,
    progress: bool = True,
):
    """Graphs (built once at the formation-energy cutoff and cut down for the band-gap model),
    both predictions and the formation-energy model's site features ``layers`` for every structure.

    ``df_structures``: a DataFrame with a ``structure`` column (index = ids, e.g. ``load_mp_li()``)
    or a Series of structures.  Returns ``(predictions, features, failures)``: predictions indexed
    by id with ``formation_energy_eV_atom``, ``band_gap_eV``, ``nsites``, ``n_isolated`` (None when
    ``predictions=False``); :class:`SiteFeatures` (None when ``layers`` is empty); failures (id,
    reason).  Results are cached per chunk of ``chunk_size`` structures, keyed by the structures'
    ``hash_structure`` and the models' sha.  ``n_jobs > 1`` (``None`` = all cores) runs chunks in
    worker processes, each with one torch thread (graphs are built inside the workers from plain
    arrays, so no pymatgen object is shipped); ``n_jobs=1`` runs in this process.
    """

    ids, structures = _structures_of(df_structures)
    fe, bg = load_model("formation_energy"), load_model("band_gap")
    layers = tuple(int(k) for k in layers)
    settings = [fe.settings, bg.settings]
    cdir = CACHE.directory()
    pred_parts, feat_parts = [], []
    todo, plan = [], []
    starts = list(range(0, len(ids), chunk_size))
    for start in progress_bar(starts, desc="MEGNet cache keys", enabled=progress and len(starts) >= 2, leave=False):
        cids, cstructs = ids[start : start + chunk_size], structures[start : start + chunk_size]
        hashes = [hash_structure(s, settings) if s is not None else "none" for s in cstructs]
        key = CACHE.key([str(i) for i in cids], hashes)
        pfile, ffile = cdir / f"pred-{key}.parquet", cdir / f"feat-{key}-{'-'.join(map(str, layers))}.npz"
        need_pred = predictions and not (cache and pfile.exists())
        need_feat = bool(layers) and not (cache and ffile.exists())
        plan.append((pfile, ffile, need_pred, need_feat))
        if need_pred or need_feat:
            arrays = []
            for st in cstructs:
                try:
                    arrays.append(structure_arrays(st) if st is not None else "no structure")
                except Exception as exc:  # noqa: BLE001 - reported per structure
                    arrays.append(f"{type(exc).__name__}: {exc}")
            todo.append((len(plan) - 1, (cids, arrays, layers if need_feat else (), batch_size, None)))
    # chunks run in worker processes (1 torch thread each) when n_jobs > 1

    if min(default_n_jobs() if n_jobs is None else max(1, int(n_jobs)), len(todo)) > 1:
        todo = [(k, it[:-1] + (1,)) for k, it in todo]
    outs = parallel_map(
        _chunk_job,
        [it for _, it in todo],
        keys=[k for k, _ in todo],
        n_jobs=n_jobs,
        progress=progress,
        desc="MEGNet chunks",
    )
    computed = {}
    for o in outs:
        if not o.ok:
            raise RuntimeError(f"MEGNet chunk {o.key} failed: {o.error}")
        computed[o.key] = o.value
    for n, (pfile, ffile, need_pred, need_feat) in enumerate(plan):
        pred_df, fdict = computed.get(n, (None, None))
        if cache and need_pred:
            atomic_write_parquet(pfile, pred_df)
        if cache and need_feat:
            atomic_write_npz(ffile, **fdict)
        if predictions:
            pred_parts.append(pred_df if need_pred else pd.read_parquet(pfile))
        if layers:
            feat_parts.append(SiteFeatures.from_npz_dict(fdict if need_feat else load_npz(ffile)))
    pred = None
    if predictions:
        allp = (
            pd.concat(pred_parts)
            if pred_parts
            else pd.DataFrame(columns=["formation_energy_eV_atom", "band_gap_eV", "nsites", "n_isolated", "reason"])
        )
        fails = allp[allp["reason"].notna()]
        fails = pd.DataFrame({"id": list(fails.index), "reason": list(fails["reason"])}, columns=["id", "reason"])
        # a structure with bonds within 5 Å but none within 4 Å keeps its formation energy
        # (band gap NaN) and is also listed among the failures with the band-gap model's reason
        pred = allp[allp["formation_energy_eV_atom"].notna()].drop(columns=["reason"])
        pred.index.name = "id"
    feats = SiteFeatures.concat(feat_parts) if layers else None
    if not predictions:
        fails = feats.failures if feats is not None else pd.DataFrame(columns=["id", "reason"])
    return pred, feats, fails


def _chunk_job(item):
    cids, arrays, layers, batch_size, threads = item
    fe, bg = load_model("formation_energy"), load_model("band_gap")
    fe.threads = bg.threads = threads if threads is not None else default_threads()
    pred_df, feats = _compute_chunk(cids, arrays, fe, bg, layers, n_jobs=1, batch_size=batch_size)
    return pred_df, (feats.to_npz_dict() if feats is not None else None)


def _compute_chunk(cids, cstructs, fe: MEGNetModel, bg: MEGNetModel, layers, *, n_jobs, batch_size):
    outs = build_graphs(cstructs, fe.cutoff, keys=cids, n_jobs=n_jobs)
    ok = [o for o in outs if o.ok]
    reasons = {o.key: o.error for o in outs if not o.ok}
    fe_graphs = [o.value for o in ok]
    bg_graphs, bg_ok = [], []
    for o, g in zip(ok, fe_graphs):
        try:
            bg_graphs.append(g.with_cutoff(bg.cutoff))
            bg_ok.append(o.key)
        except MEGNetGraphError as exc:
            bg_ok.append(None)
            reasons.setdefault(o.key, f"band gap model: {type(exc).__name__}: {exc}")
    fe_pred, fe_feats = fe.run_graphs(fe_graphs, layers, batch_size=batch_size) if fe_graphs else (np.array([]), [])
    bg_pred = bg.predict_graphs(bg_graphs, batch_size=batch_size) if bg_graphs else np.array([])
    bg_map = dict(zip([k for k in bg_ok if k is not None], bg_pred))
    fe_map = {o.key: (float(p), g) for o, p, g in zip(ok, fe_pred, fe_graphs)}
    rows = []
    for k in cids:
        if k in fe_map:
            p, g = fe_map[k]
            rows.append(
                {
                    "id": k,
                    "formation_energy_eV_atom": p,
                    "band_gap_eV": float(bg_map[k]) if k in bg_map else np.nan,
                    "nsites": g.n_sites,
                    "n_isolated": g.n_isolated,
                    "reason": None if k in bg_map else reasons.get(k),
                }
            )
        else:
            rows.append(
                {
                    "id": k,
                    "formation_energy_eV_atom": np.nan,
                    "band_gap_eV": np.nan,
                    "nsites": -1,
                    "n_isolated": -1,
                    "reason": reasons.get(k, "unknown failure"),
                }
            )
    pred_df = pd.DataFrame(
        rows, columns=["id", "formation_energy_eV_atom", "band_gap_eV", "nsites", "n_isolated", "reason"]
    ).set_index("id")
    pred_df["reason"] = pred_df["reason"].astype(object)
    feats = None
    if layers:
        sizes = [g.n_sites for g in fe_graphs]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        arrays = {
            k: (
                np.concatenate([f[k] for f in fe_feats]).astype(np.float32)
                if fe_feats
                else np.zeros((0, 16 if k == 0 else 32), np.float32)
            )
            for k in layers
        }
        ffails = pd.DataFrame(
            [{"id": str(k), "reason": r} for k, r in reasons.items() if k not in {o.key for o in ok}],
            columns=["id", "reason"],
        )
        feats = SiteFeatures([str(o.key) for o in ok], offsets, arrays, ffails)
    return pred_df, feats


def pool_predictions(df_structures, cache: bool = True, n_jobs: int | None = None, **kw):
    """Formation energy (eV/atom) and band gap (eV) of every structure → ``(predictions, failures)``."""
    pred, _, fails = pool_compute(df_structures, layers=(), predictions=True, cache=cache, n_jobs=n_jobs, **kw)
    return pred, fails


def pool_features(
    df_structures, layers: Sequence[int] = (0, 1, 2, 3), cache: bool = True, n_jobs: int | None = None, **kw
) -> SiteFeatures:
    """Site features V0..V3 (formation-energy model) of every structure (disordered ones included)."""
    _, feats, _ = pool_compute(df_structures, layers=layers, predictions=False, cache=cache, n_jobs=n_jobs, **kw)
    return feats


def predict_structures(structures, ids=None, *, n_jobs: int | None = 1, batch_size: int | None = None) -> pd.DataFrame:
    """Both predictions for a list of structures (no cache): DataFrame indexed by ``ids`` with
    ``formation_energy_eV_atom`` and ``band_gap_eV``; failures in ``attrs["failures"]``."""
    fe, bg = load_model("formation_energy"), load_model("band_gap")
    ids = list(range(len(structures))) if ids is None else list(ids)
    pred_df, _ = _compute_chunk(ids, list(structures), fe, bg, (), n_jobs=n_jobs, batch_size=batch_size)
    fails = pred_df[pred_df["reason"].notna()]
    out = pred_df[pred_df["reason"].isna()].drop(columns=["reason"])
    out.attrs["failures"] = pd.DataFrame(
        {"id": list(fails.index), "reason": list(fails["reason"])}, columns=["id", "reason"]
    )
    return out


def megnet_vs_mp_band_gaps(
    predictions: pd.DataFrame | None = None, df_structures=None, *, cache: bool = True, n_jobs: int | None = None
):
    """Join our MEGNet band gaps with the MP band gaps of ``ionnet/Li-MP-final.csv``.

    ``predictions``: a frame indexed by material id with ``band_gap_eV`` (e.g. from
    :func:`pool_predictions`).  Without it, ``df_structures`` (a frame with ``structure``) is
    predicted; without both, the mirror CIFs ``mp_li/<id>.cif`` of every compound in the CSV are
    read and predicted.  Returns ``(joined, metrics)``: ``joined`` indexed by material id with
    ``formula``, ``mp_band_gap_eV``, ``megnet_band_gap_eV``, ``error_eV`` (ours − MP);
    ``metrics`` = ``{"n": ..., "mae_eV": ..., "rmse_eV": ..., "r2": ..., "n_csv": ..., "n_missing": ...}``.
    """
    mp = load_mp_band_gaps()
    if predictions is None:
        if df_structures is None:
            df_structures = _mirror_structures(list(mp.index), n_jobs=n_jobs)
        predictions, _ = pool_predictions(df_structures, cache=cache, n_jobs=n_jobs)
    joined = mp[["formula", "mp_band_gap_eV"]].join(
        predictions[["band_gap_eV"]].rename(columns={"band_gap_eV": "megnet_band_gap_eV"}), how="inner"
    )
    joined = joined.dropna(subset=["megnet_band_gap_eV", "mp_band_gap_eV"])
    joined["error_eV"] = joined["megnet_band_gap_eV"] - joined["mp_band_gap_eV"]
    err = joined["error_eV"].to_numpy()
    y = joined["mp_band_gap_eV"].to_numpy()
    metrics = {
        "n": int(len(joined)),
        "n_csv": int(len(mp)),
        "n_missing": int(len(mp) - len(joined)),
        "mae_eV": float(np.mean(np.abs(err))) if len(err) else float("nan"),
        "rmse_eV": float(np.sqrt(np.mean(err**2))) if len(err) else float("nan"),
        "r2": float(1 - np.sum(err**2) / np.sum((y - y.mean()) ** 2)) if len(err) > 1 else float("nan"),
    }
    joined.index.name = "material_id"
    return joined, metrics


def _read_mirror_cif(mid: str):

    return read_structure(fetch(f"mp_li/{mid}.cif"))


def _mirror_structures(ids: Sequence[str], n_jobs: int | None = None) -> pd.DataFrame:
    """Structures of mirror ``mp_li`` ids (those present), read in parallel."""

    have = set(registered("mp_li/"))
    ids = [i for i in ids if f"mp_li/{i}.cif" in have]
    outs = parallel_map(_read_mirror_cif, ids, keys=ids, n_jobs=n_jobs, desc="reading CIFs")
    df = pd.DataFrame({"structure": [o.value for o in outs if o.ok]}, index=[o.key for o in outs if o.ok])
    df.index.name = "material_id"
    return df
