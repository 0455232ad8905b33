"""Reading a trained map (Yamaguchi et al., Sci. Rep. 13, 16799, 2023, Sec. 3; chapter 02).

Placing new structures, map coordinates, per-sample losses (Fig. 3d–f), a mean-descriptor R²
baseline, Li/O molar fractions (Fig. 5), structure families (Fig. 6), the predicted-ME landscape
(Fig. 7), the sparse low-ME window (Fig. 8), decoded compositions, k-NN R² and the PCA/UMAP
alternative maps.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Element
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import StandardScaler

from matmap_utils.core.parallel import parallel_map
from matmap_utils.materials_map import descriptors as desc
from matmap_utils.materials_map.autoencoder import MaterialsMap, _check_inputs, load_map, r2_flat


def scaled_inputs(
    structures: Sequence,
    model: MaterialsMap,
    names: Sequence[str],
    *,
    n_jobs: int | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The map's inputs for new structures: ``(Xc, Xs, failures)``.

    The structures are featurized with :func:`matmap_utils.materials_map.descriptors.describe` (the
    descriptor settings saved with the map) and scaled with the descriptor scalers saved with the map
    (the maxima of the map's reference set, so values may exceed 1 outside it); ``Xc``/``Xs`` carry
    the map's column names and are indexed by name; ``failures`` has ``id``, ``kind``, ``reason``.
    """
    sc, ss = model.meta.get("scaler_comp"), model.meta.get("scaler_struct")
    if sc is None or ss is None:
        raise ValueError(
            "this map was saved without descriptor scalers (meta.scaler_comp/"
            "scaler_struct), so new structures cannot be scaled like its training data"
        )
    settings = model.meta.get("descriptor_settings")
    res = desc.describe(list(structures), list(names), settings=settings, n_jobs=n_jobs, progress=progress)
    if not len(res.comp):
        empty = pd.DataFrame(columns=model.comp_columns), pd.DataFrame(columns=model.struct_columns)
        return *empty, res.failures
    Xc = desc.transform(res.comp, sc, desc.comp_spec())
    Xs = desc.transform(res.struct, ss, desc.struct_spec(settings))
    if Xc.shape[1] != model.d_comp or Xs.shape[1] != model.d_struct:
        raise ValueError(
            f"the descriptors have {Xc.shape[1]} + {Xs.shape[1]} columns, the map expects {model.d_comp} + {model.d_struct}"
        )
    Xc.columns, Xs.columns = model.comp_columns, model.struct_columns
    Xc.index = Xs.index = [str(i) for i in res.comp.index]
    return Xc, Xs, res.failures


def place_structures(
    structures: Sequence,
    model_path: str | Path | MaterialsMap,
    *,
    names: Sequence[str] | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Put a user's structures on a trained map.

    Featurized and scaled like the map's training data (:func:`scaled_inputs`), encoded and passed
    through the ME head.  Returns one row per structure: ``x_comp``, ``x_struct``, ``ME_pred`` (eV),
    ``max_scaled`` (largest scaled descriptor value; > 1 means outside the reference range) and
    ``error`` (empty when it worked; a failed structure keeps its row).
    """

    model = model_path if isinstance(model_path, MaterialsMap) else load_map(model_path)
    structures = list(structures)
    names = [str(i) for i in range(len(structures))] if names is None else [str(n) for n in names]
    if len(names) != len(structures):
        raise ValueError(f"{len(names)} names for {len(structures)} structures")
    Xc, Xs, failures = scaled_inputs(structures, model, names, n_jobs=n_jobs, progress=progress)
    out = pd.DataFrame(
        index=pd.Index(names, name="name"),
        columns=["x_comp", "x_struct", "ME_pred", "max_scaled", "error"],
        dtype=object,
    )
    out["error"] = ""
    for _, row in failures.iterrows():
        out.loc[str(row["id"]), "error"] = f"{row['kind']}: {row['reason']}"
    if len(Xc):
        z = model.encode(Xc, Xs)
        ids = list(Xc.index)
        out.loc[ids, "x_comp"] = z[:, 0]
        out.loc[ids, "x_struct"] = z[:, 1]
        out.loc[ids, "ME_pred"] = model.predict_me_from_codes(z[:, 0], z[:, 1])
        out.loc[ids, "max_scaled"] = np.maximum(Xc.values.max(1), Xs.values.max(1))
    for c in ("x_comp", "x_struct", "ME_pred", "max_scaled"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    return out


def map_inputs(Xc: pd.DataFrame, Xs: pd.DataFrame, alt_coords: dict) -> pd.DataFrame:
    """The map's scaled inputs per material (``c:<descriptor>``, ``s:<descriptor>``) with its UMAP
    coordinates (``umap_x``, ``umap_y``; NaN when UMAP was not run, from :func:`alternative_maps`):
    what is needed to put a new structure on the UMAP map through its nearest inputs
    (:func:`umap_placement`), saved by chapter 02 and read by the candidate report (chapter 07)."""
    out = pd.concat([Xc.add_prefix("c:"), Xs.add_prefix("s:")], axis=1).astype(float)
    emb = alt_coords.get("UMAP 2-D (joint)")
    out["umap_x"] = emb[:, 0] if emb is not None else np.nan
    out["umap_y"] = emb[:, 1] if emb is not None else np.nan
    return out


def umap_placement(reference_X: np.ndarray, reference_xy: np.ndarray, X: np.ndarray, k: int = 10):
    """Place new points on a fitted 2-D UMAP map without the fitted object (never pickled).

    UMAP's own ``transform`` starts each new point at the membership-weighted mean of the
    embeddings of its ``n_neighbors`` nearest training points in input space and then refines it;
    this is that starting point, with weights ``1 / (d + eps)`` of the Euclidean input distance.
    Returns ``(xy, neighbour_index, neighbour_distance)``: ``xy`` (n, 2) and, per point, the indices
    and distances of its ``k`` nearest reference rows (closest first).
    """
    ref = np.asarray(reference_X, dtype=float)
    q = np.atleast_2d(np.asarray(X, dtype=float))
    d = np.sqrt(((q[:, None, :] - ref[None, :, :]) ** 2).sum(-1))
    k = min(int(k), len(ref))
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    dist = np.take_along_axis(d, idx, axis=1)
    w = 1.0 / (dist + 1e-9)
    xy = (np.asarray(reference_xy, dtype=float)[idx] * w[:, :, None]).sum(1) / w.sum(1, keepdims=True)
    return xy, idx, dist


def per_sample_loss(model: MaterialsMap, Xc, Xs, y) -> pd.DataFrame:
    """Per-sample squared errors (comp, struct summed over dims; ME standardized) and Loss_all."""
    Xc_, Xs_, y_ = _check_inputs(Xc, Xs, y)
    rc, rs = model.reconstruct(Xc, Xs)
    me = model.predict_me(Xc, Xs)
    lc = ((rc - Xc_) ** 2).sum(1)
    ls = ((rs - Xs_) ** 2).sum(1)
    lm = ((me - y_) / model.y_std) ** 2
    idx = Xc.index if isinstance(Xc, pd.DataFrame) else None
    return pd.DataFrame(
        {"loss_comp": lc, "loss_str": ls, "loss_me": lm, "loss_all": lc + ls + model.W * lm, "ME": y_, "ME_pred": me},
        index=idx,
    )


def molar_fractions(structures: pd.Series, elements: Sequence[str] = ("Li", "O")) -> pd.DataFrame:
    """Atomic (molar) fractions of ``elements`` in each structure's composition."""
    rows = {}
    for mid, s in structures.items():
        comp = s.composition
        rows[mid] = {f"x_{el}": float(comp.get_atomic_fraction(el)) for el in elements}
    return pd.DataFrame.from_dict(rows, orient="index")


#: The 16 materials of the paper's Table 1: (formula, structure type, ME/eV, x_comp, x_struct).
PAPER_TABLE1 = pd.DataFrame(
    [
        ("mp-761986", "Li5La3Nb2O12", "Garnet", 0.983, 0.207, -0.536),
        ("mp-775628", "Li5La3(SbO6)2", "Garnet", 0.827, 0.434, -0.517),
        ("mp-1200057", "Li7La3(SnO6)2", "Garnet", 0.923, 0.322, 3.272),
        ("mp-554747", "Li5La3Nb2O12", "Garnet", 0.543, 0.207, 1.342),
        ("mp-774721", "Li5La3Nb2O12", "Garnet", 1.018, 0.207, -0.269),
        ("mp-559776", "Li5La3Ta2O12", "Garnet", 0.529, 0.334, 1.300),
        ("mp-774437", "Li5La3Nb2O12", "Garnet", 0.842, 0.207, -0.657),
        ("mp-942733", "Li7La3Zr2O12", "Garnet", 0.861, 0.178, 3.172),
        ("mp-779434", "Li5La3Nb2O12", "Garnet", 0.837, 0.207, -0.530),
        ("mp-10499", "LiZr2(PO4)3", "NASICON", 0.850, 0.890, 0.501),
        ("mp-759280", "LiZr2(PO4)3", "NASICON", 1.016, 0.890, 0.982),
        ("mp-773074", "LiZr2(PO4)3", "NASICON", 1.261, 0.890, -0.160),
        ("mp-681439", "LiZr2(PO4)3", "NASICON", 0.385, 0.890, 0.876),
        ("mp-541661", "LiZr2(PO4)3", "NASICON", 0.865, 0.890, 0.918),
        ("mp-1222522", "LiLa3Ti4O12", "Perovskite", 2.964, 0.320, -5.177),
        ("mp-768320", "LiLa5Ti8O24", "Perovskite", 0.760, 0.297, -0.221),
    ],
    columns=["material_id", "formula_paper", "structure_type", "ME_paper", "x_comp_paper", "x_struct_paper"],
).set_index("material_id")


def _framework(structure, remove: str = "Li"):
    """The structure without ``remove`` sites (the host framework), or None if nothing is left."""
    s = structure.copy()
    if not s.is_ordered:
        return None
    s.remove_species([remove])
    return s if len(s) else None


def family_members(
    structures: pd.Series,
    prototypes: dict[str, str],
    *,
    ltol: float = 0.3,
    stol: float = 0.5,
    angle_tol: float = 10.0,
    n_jobs: int | None = 1,
) -> pd.DataFrame:
    """Assign structure families (garnet, NASICON, perovskite, ...) by framework matching.

    Rule: a material belongs to family F when its **Li-free framework** matches, with pymatgen's
    ``StructureMatcher.fit_anonymous`` (any one-to-one mapping of elements; lattice scaled;
    tolerances ``ltol``, ``stol``, ``angle_tol``), the Li-free framework of one of the prototypes
    of F (``prototypes``: material_id → family; the prototypes themselves are members).
    Removing Li makes Li-stuffed and Li-poor variants (Li5 vs Li7 garnets) comparable and
    anonymous matching makes La3Nb2O12 ≅ La3Zr2O12.  Candidates are pre-filtered by the
    anonymized reduced formula of their framework (a match is impossible otherwise); the first
    matching prototype, in the order of ``prototypes``, wins.  The matching runs in ``n_jobs``
    processes (:func:`~matmap_utils.core.parallel.parallel_map`; None/0: all cores) with the same
    result as one.  Returns ``family`` ("" if none) and ``matched_prototype`` for every material.
    """

    proto_frames = {}
    for pid, fam in prototypes.items():
        if pid not in structures.index:
            continue
        f = _framework(structures[pid])
        if f is not None:
            proto_frames[pid] = (fam, f, f.composition.reduced_composition.anonymized_formula)
    out = pd.DataFrame({"family": "", "matched_prototype": ""}, index=structures.index)
    for pid, (fam, _, _) in proto_frames.items():
        out.loc[pid, ["family", "matched_prototype"]] = [fam, pid]
    tolerances = {"ltol": ltol, "stol": stol, "angle_tol": angle_tol}
    keys, items = [], []
    for mid, s in structures.items():
        if out.loc[mid, "family"]:
            continue
        f = _framework(s)
        if f is None:
            continue
        anon = f.composition.reduced_composition.anonymized_formula
        cands = [(pid, fam, pf) for pid, (fam, pf, panon) in proto_frames.items() if panon == anon]
        if cands:
            keys.append(mid)
            items.append((f, cands, tolerances))
    for o in parallel_map(_first_match, items, keys=keys, n_jobs=n_jobs, desc="family matching"):
        if o.ok and o.value is not None:  # a worker failure is "no match", as a matcher failure is
            out.loc[o.key, ["family", "matched_prototype"]] = list(o.value)
    return out


def _first_match(item) -> tuple[str, str] | None:
    """Worker of :func:`family_members`: ``(family, prototype id)`` of the first candidate
    prototype whose framework matches the framework ``f``, else None."""
    f, candidates, tolerances = item
    sm = StructureMatcher(**tolerances, primitive_cell=True, scale=True, attempt_supercell=False)
    for pid, fam, pf in candidates:
        try:
            ok = sm.fit_anonymous(f, pf)
        except Exception:  # noqa: BLE001 - a matcher failure is "no match"
            ok = False
        if ok:
            return fam, pid
    return None


def knn_r2(train_coords, y_train, test_coords, y_test, k: int = 10) -> float:
    """R² on the test split of a k-nearest-neighbour regressor of ME on 2-D map coordinates
    (coordinates standardized with the training rows, so both axes count equally)."""

    sc = StandardScaler().fit(train_coords)
    k = max(1, min(int(k), len(train_coords)))
    reg = KNeighborsRegressor(n_neighbors=k).fit(sc.transform(train_coords), y_train)
    return r2_flat(y_test, reg.predict(sc.transform(test_coords)))


def alternative_maps(
    Xc: pd.DataFrame, Xs: pd.DataFrame, split, *, seed: int = 0, use_umap: bool = True, n_neighbors: int = 15
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """PCA and UMAP 2-D maps of the same descriptors, fitted on the training rows (train+val).

    * ``PCA (comp, struct)``: one principal component of each block — axes analogous to
      ``(x_comp, x_struct)``; decodes with ``inverse_transform`` (linear, approximate).
    * ``PCA 2-D (joint)``: two components of the concatenated descriptors.
    * ``UMAP 2-D (joint)``: UMAP of the concatenated descriptors (``random_state=seed``);
      ``inverse_transform`` exists (interpolation in the training embedding) but is approximate.

    Returns the coordinates of all rows per method and a table of test-set reconstruction R²
    (flattened, per block) per method.
    """

    split = np.asarray(split, dtype=object)
    fit = split != "test"
    te = split == "test"
    Xc_, Xs_ = np.asarray(Xc, dtype=np.float64), np.asarray(Xs, dtype=np.float64)
    X = np.hstack([Xc_, Xs_])
    dc = Xc_.shape[1]
    coords, rows = {}, []
    pc, ps = PCA(1, random_state=seed).fit(Xc_[fit]), PCA(1, random_state=seed).fit(Xs_[fit])
    coords["PCA (comp, struct)"] = np.hstack([pc.transform(Xc_), ps.transform(Xs_)])
    rows.append(
        {
            "method": "PCA (comp, struct)",
            "can_decode": "yes (linear inverse_transform)",
            "test_r2_comp": r2_flat(Xc_[te], pc.inverse_transform(pc.transform(Xc_[te]))),
            "test_r2_struct": r2_flat(Xs_[te], ps.inverse_transform(ps.transform(Xs_[te]))),
        }
    )
    pj = PCA(2, random_state=seed).fit(X[fit])
    coords["PCA 2-D (joint)"] = pj.transform(X)
    rec = pj.inverse_transform(pj.transform(X[te]))
    rows.append(
        {
            "method": "PCA 2-D (joint)",
            "can_decode": "yes (linear inverse_transform)",
            "test_r2_comp": r2_flat(Xc_[te], rec[:, :dc]),
            "test_r2_struct": r2_flat(Xs_[te], rec[:, dc:]),
        }
    )
    if use_umap:
        import umap  # lazy: umap (with numba) is an optional heavy dependency

        with warnings.catch_warnings():
            # UMAP's notices on small training sets (disconnected k-NN graph, spectral initialisation)
            # are expected for the CI subsets and do not change the embedding.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"umap\.")
            um = umap.UMAP(
                n_components=2, n_neighbors=min(n_neighbors, int(fit.sum()) - 1), random_state=seed, n_jobs=1
            ).fit(X[fit])
            emb = np.zeros((len(X), 2))
            emb[fit] = um.embedding_
            emb[te] = um.transform(X[te])
            coords["UMAP 2-D (joint)"] = emb
            try:
                rec = um.inverse_transform(emb[te])
                r2c, r2s, how = (
                    r2_flat(Xc_[te], rec[:, :dc]),
                    r2_flat(Xs_[te], rec[:, dc:]),
                    "approximately (inverse_transform interpolates training points)",
                )
            except Exception as exc:  # noqa: BLE001
                r2c = r2s = float("nan")
                how = f"no ({type(exc).__name__}: {exc})"
        rows.append({"method": "UMAP 2-D (joint)", "can_decode": how, "test_r2_comp": r2c, "test_r2_struct": r2s})
    return coords, pd.DataFrame(rows).set_index("method")


def nearest_materials(coords: pd.DataFrame, point: Sequence[float], k: int = 5) -> pd.DataFrame:
    """The ``k`` materials nearest to ``point`` on the map (Euclidean in coordinates standardized
    by their standard deviation), with their distance."""
    c = coords[["x_comp", "x_struct"]].to_numpy(float)
    s = c.std(0)
    s[s == 0] = 1
    d = np.sqrt((((c - np.asarray(point, dtype=float)) / s) ** 2).sum(1))
    order = np.argsort(d, kind="stable")[:k]
    out = coords.iloc[order].copy()
    out["distance"] = d[order]
    return out


def sparse_low_me_window(
    model: MaterialsMap,
    coords: np.ndarray,
    *,
    frac: float = 0.2,
    n_grid: int = 25,
    min_points: int = 3,
    max_points: int = 25,
):
    """Fig. 8's region: the window (``frac`` of each axis range) whose mean predicted ME is lowest
    among windows holding between ``min_points`` and ``max_points`` known materials (sparse, but
    not empty).  Returns ``(x0, x1, y0, y1)``."""
    lo, hi = coords.min(0), coords.max(0)
    span = hi - lo
    w = frac * span
    best, box = np.inf, None
    for cx in np.linspace(lo[0] + w[0] / 2, hi[0] - w[0] / 2, n_grid):
        for cy in np.linspace(lo[1] + w[1] / 2, hi[1] - w[1] / 2, n_grid):
            x0, x1, y0, y1 = cx - w[0] / 2, cx + w[0] / 2, cy - w[1] / 2, cy + w[1] / 2
            inside = (coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)
            n = int(inside.sum())
            if not (min_points <= n <= max_points):
                continue
            gx, gy = np.meshgrid(np.linspace(x0, x1, 5), np.linspace(y0, y1, 5))
            score = float(model.predict_me_from_codes(gx.ravel(), gy.ravel()).mean())
            if score < best:
                best, box = score, (x0, x1, y0, y1)
    if box is None:  # fall back to the lowest predicted point's neighbourhood
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid))
        p = model.predict_me_from_codes(gx.ravel(), gy.ravel())
        i = int(np.argmin(p))
        cx, cy = gx.ravel()[i], gy.ravel()[i]
        box = (cx - w[0] / 2, cx + w[0] / 2, cy - w[1] / 2, cy + w[1] / 2)
    return box


def map_coordinates(model: MaterialsMap, Xc: pd.DataFrame, Xs: pd.DataFrame) -> pd.DataFrame:
    """Each material on the map: ``x_comp``, ``x_struct`` (map coordinates, the asinh-scaled codes
    of :meth:`MaterialsMap.to_map`) and ``z_comp``, ``z_struct`` (the encoders' raw codes), indexed
    like ``Xc`` (Fig. 4)."""
    z = model.raw_codes(Xc, Xs)
    x = model.to_map(z)
    return pd.DataFrame(
        {"x_comp": x[:, 0], "x_struct": x[:, 1], "z_comp": z[:, 0], "z_struct": z[:, 1]}, index=Xc.index
    )


def mean_descriptor_r2(X_train, X_test) -> float:
    """Flattened R² of predicting every test descriptor by its training mean — the baseline that a
    reconstruction's flattened R² (Fig. 3a,b) is to be compared with."""
    X_test = np.asarray(X_test)
    return r2_flat(X_test, np.broadcast_to(np.asarray(X_train).mean(0), X_test.shape))


def me_landscape(model: MaterialsMap, coords: np.ndarray, *, pad: float = 0.05, n: int = 200):
    """The ME head (eV) on an ``n`` x ``n`` grid of map coordinates covering ``coords`` (n, 2)
    plus ``pad`` of each axis range on every side (Fig. 7).  Returns ``(gx, gy, gz)``, each (n, n)."""
    lo, hi = coords.min(0), coords.max(0)
    span = hi - lo
    gx, gy = np.meshgrid(
        np.linspace(lo[0] - pad * span[0], hi[0] + pad * span[0], n),
        np.linspace(lo[1] - pad * span[1], hi[1] + pad * span[1], n),
    )
    gz = model.predict_me_from_codes(gx.ravel(), gy.ravel()).reshape(gx.shape)
    return gx, gy, gz


def lowest_me_within(gx, gy, gz, coords: np.ndarray) -> tuple[float, float]:
    """The grid point of :func:`me_landscape` with the lowest predicted ME inside the range of the
    data ``coords`` (n, 2) (not in the padding): ``(x_comp, x_struct)``."""
    lo, hi = coords.min(0), coords.max(0)
    inrange = (gx >= lo[0]) & (gx <= hi[0]) & (gy >= lo[1]) & (gy <= hi[1])
    i = np.argmin(np.where(inrange, gz, np.inf))
    return gx.ravel()[i], gy.ravel()[i]


def decoded_composition(comp_vec: np.ndarray, scaler_comp: dict, top: int = 5, min_fraction: float = 0.01) -> str:
    """The composition read off a decoded compositional descriptor: its ``fraction`` block (atomic
    fractions of Z = 1..98) unscaled with ``scaler_comp`` (:func:`~matmap_utils.materials_map.descriptors.fit_scaler`),
    clipped at 0 and renormalised; the ``top`` elements above ``min_fraction``, e.g. ``"O 0.55, Li 0.30"``."""
    frac_block = next(b for b in desc.comp_spec().blocks if b.name.startswith("fraction"))
    scale = np.asarray(scaler_comp["blocks"][frac_block.name], dtype=float)
    f = np.clip(comp_vec[frac_block.slice] * scale, 0, None)
    f = f / f.sum() if f.sum() > 0 else f
    order = np.argsort(f)[::-1][:top]
    return ", ".join(f"{Element.from_Z(int(z) + 1).symbol} {f[z]:.2f}" for z in order if f[z] > min_fraction)
