"""Screening a pool with a trained ensemble: PCA distance to the training set, novelty against labelled compositions, the saved screening model (chapter 06, Table 2)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pymatgen.core import Composition
from sklearn.decomposition import PCA

from matmap_utils.core.cache import atomic_write_npz, load_npz
from matmap_utils.core.paths import compute_cache_dir
from matmap_utils.screening.atomsets.features import set_vectors
from matmap_utils.screening.atomsets.model import AtomSetsEnsemble, pack_sets


def _whitened(train_vecs: np.ndarray, var_floor: float):
    """PCA (whitened) fit on the training vectors and the mask of components kept."""
    pca = PCA(whiten=True)
    t = pca.fit_transform(train_vecs)
    keep = pca.explained_variance_ > var_floor * pca.explained_variance_.max()
    return pca, keep, t[:, keep]


def _nearest(q: np.ndarray, t: np.ndarray, exclude_self: bool = False, offset: int = 0) -> np.ndarray:
    d2 = (q**2).sum(1)[:, None] + (t**2).sum(1)[None, :] - 2 * q @ t.T
    if exclude_self:
        d2[np.arange(len(q)), offset + np.arange(len(q))] = np.inf
    return np.sqrt(np.clip(d2.min(1), 0, None))


def pca_distance(
    train_vecs: np.ndarray, query_vecs: np.ndarray, *, var_floor: float = 1e-8, chunk: int = 4096
) -> np.ndarray:
    """Distance of each query to its nearest training vector in PCA-whitened coordinates.

    PCA is fit on the training vectors; each component is divided by its standard deviation, so
    the distance is normalized by the training data variance (McHaffie et al., after Jha et al.).
    """
    pca, keep, t = _whitened(train_vecs, var_floor)
    out = np.empty(len(query_vecs))
    for s in range(0, len(query_vecs), chunk):
        out[s : s + chunk] = _nearest(pca.transform(query_vecs[s : s + chunk])[:, keep], t)
    return out


def pca_distances_to_all(train_vecs: np.ndarray, query_vecs: np.ndarray, *, var_floor: float = 1e-8) -> np.ndarray:
    """Distance (n_query, n_train) of each query to *every* training vector, in the PCA-whitened
    space of :func:`pca_distance` (whose row minima these are): the nearest labelled compounds."""
    pca, keep, t = _whitened(train_vecs, var_floor)
    q = pca.transform(np.atleast_2d(query_vecs))[:, keep]
    d2 = (q**2).sum(1)[:, None] + (t**2).sum(1)[None, :] - 2 * q @ t.T
    return np.sqrt(np.clip(d2, 0, None))


def training_nn_distances(train_vecs: np.ndarray, *, var_floor: float = 1e-8, chunk: int = 4096) -> np.ndarray:
    """Each training vector's distance to its nearest *other* training vector, in the same
    PCA-whitened space as :func:`pca_distance` (the reference distribution of the domain flag)."""
    _, _, t = _whitened(train_vecs, var_floor)
    out = np.empty(len(t))
    for s in range(0, len(t), chunk):
        out[s : s + chunk] = _nearest(t[s : s + chunk], t, exclude_self=True, offset=s)
    return out


def domain_threshold(train_vecs: np.ndarray, percentile: float = 95.0) -> float:
    """d_training above which a compound is *out of domain*: the ``percentile`` of the training
    set's own nearest-neighbour distances (:func:`training_nn_distances`)."""
    return float(np.percentile(training_nn_distances(train_vecs), percentile))


def composition_matrix(formulas: Sequence, elements: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Atomic-fraction matrix (n, n_elements) of formulas / Compositions."""

    comps = [c if isinstance(c, Composition) else Composition(str(c)) for c in formulas]
    if elements is None:
        elements = sorted({str(e) for c in comps for e in c.elements})
    col = {e: j for j, e in enumerate(elements)}
    m = np.zeros((len(comps), len(elements)))
    for i, c in enumerate(comps):
        fr = c.fractional_composition
        for e, x in fr.items():
            j = col.get(str(getattr(e, "symbol", e)))
            if j is not None:
                m[i, j] = float(x)
            else:  # element absent from the reference set: never "within 5 %" of it
                m[i, :] = np.nan
                break
    return m, list(elements)


def novelty_mask(
    train_formulas: Sequence, query_formulas: Sequence, tol: float = 0.05, chunk: int = 2048
) -> np.ndarray:
    """True where a query composition is *novel*: no training composition has every element's
    atomic fraction within ``tol`` (absolute) of the query's (elements absent count as 0)."""
    tr, els = composition_matrix(train_formulas)
    q, _ = composition_matrix(query_formulas, els)
    # a query with an element unknown to the training set is novel
    novel = np.isnan(q).any(1)
    qq = np.nan_to_num(q)
    close_any = np.zeros(len(q), dtype=bool)
    for s in range(0, len(q), chunk):
        d = np.abs(qq[s : s + chunk, None, :] - tr[None, :, :]).max(-1)
        close_any[s : s + chunk] = (d <= tol + 1e-12).any(1)
    return novel | ~close_any


def default_model_dir() -> Path:
    """Where notebook 06 saves the final ensemble and ``matmap screen`` looks for it:
    ``$MATMAP_CACHE/compute/atomsets/screening_ensemble`` (weights, config, training vectors)."""

    return compute_cache_dir("atomsets") / "screening_ensemble"


def save_screening_model(
    model: AtomSetsEnsemble,
    path: str | Path,
    *,
    mode: str,
    layer: int,
    train_vectors: np.ndarray,
    train_formulas: Sequence[str],
    extra: dict | None = None,
    reference_formulas: Sequence[str] | None = None,
    out_of_domain_above: float | None = None,
) -> Path:
    """Save the ensemble plus what screening needs: simplification, feature layer, training vectors,
    the domain threshold (:func:`domain_threshold`) and the labelled formulas novelty is judged
    against (default: the training formulas)."""

    path = Path(path)
    thr = out_of_domain_above if out_of_domain_above is not None else domain_threshold(train_vectors)
    model.save(path, extra={"mode": mode, "layer": int(layer), "domain_threshold": float(thr), **(extra or {})})
    refs = train_formulas if reference_formulas is None else reference_formulas
    atomic_write_npz(
        path / "train_vectors.npz",
        vectors=np.asarray(train_vectors, np.float64),
        formulas=np.asarray([str(f) for f in train_formulas]),
        reference_formulas=np.asarray([str(f) for f in refs]),
    )
    return path


def load_screening_model(path: str | Path | None = None):
    """``(model, mode, layer, train_vectors, train_formulas)`` saved by :func:`save_screening_model`."""

    path = Path(path) if path is not None else default_model_dir()
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"{path}: no saved screening ensemble; run notebook 06_atomsets_screening "
            "(`matmap run notebooks/06_atomsets_screening.py`) or pass --model"
        )
    model = AtomSetsEnsemble.load(path)
    tv = load_npz(path / "train_vectors.npz")
    return model, model.extra["mode"], int(model.extra["layer"]), tv["vectors"], [str(f) for f in tv["formulas"]]


def load_screening_bundle(path: str | Path | None = None) -> dict:
    """Everything ``matmap screen`` needs: ``model``, ``mode``, ``layer``, ``train_vectors``,
    ``train_formulas``, ``reference_formulas`` (novelty) and ``domain_threshold`` (computed from the
    training vectors for an ensemble saved before these were stored)."""
    model, mode, layer, vecs, formulas = load_screening_model(path)
    tv = load_npz((Path(path) if path is not None else default_model_dir()) / "train_vectors.npz")
    refs = [str(f) for f in tv["reference_formulas"]] if "reference_formulas" in tv else formulas
    thr = model.extra.get("domain_threshold")
    return {
        "model": model,
        "mode": mode,
        "layer": layer,
        "train_vectors": vecs,
        "train_formulas": formulas,
        "reference_formulas": refs,
        "domain_threshold": float(thr) if thr is not None else domain_threshold(vecs),
    }


def screen_sets(
    model: AtomSetsEnsemble, matrices: Sequence[np.ndarray], train_vectors: np.ndarray, batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """P_SI mean and std over the ensemble, and the PCA-normalized distance to the training data."""
    out_mean, out_std = [], []
    for s in range(0, len(matrices), batch_size * 8):
        chunk = matrices[s : s + batch_size * 8]
        p = model.predict_proba(pack_sets(chunk, dedup=True), batch_size=batch_size)
        out_mean.append(p.mean(0))
        out_std.append(p.std(0))
    dist = pca_distance(train_vectors, set_vectors(matrices))
    return {"p_si": np.concatenate(out_mean), "p_si_std": np.concatenate(out_std), "d_train": dist}
