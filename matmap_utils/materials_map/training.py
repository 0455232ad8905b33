"""Training the materials maps: the stacked sweep over the loss weight W, the paper's grid search and the cached sweep (Yamaguchi et al. 2023, Sec. 2.3)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from matmap_utils.core.cache import (
    CacheKind,
    atomic_write_json,
    atomic_write_npz,
    atomic_write_parquet,
    cached_frame,
    load_npz,
)
from matmap_utils.core.runtime import torch_device, torch_threads
from matmap_utils.materials_map.autoencoder import (
    _PARTS,
    PAPER_WS,
    MapConfig,
    MaterialsMap,
    _check_inputs,
    _deterministic,
    _flat,
    _init_params,
    _layer_dims,
    _losses,
    _member,
    evaluate,
    load_map,
    make_split,
    save_map,
)

#: Trained map sweeps, one folder each (maps, history, metrics).
SWEEP_CACHE = CacheKind("mapnet_sweep", folder="mapnet", version=3, salt="mapnet")
#: Grid-search tables (one parquet per grid).  Version 3: the key now covers every input (until
#: version 2 a notebook comment swallowed Xs, y, the seed and the grid lists).
GRID_CACHE = CacheKind("mapnet_grid", folder="mapnet", version=3, salt="grid")


class _StackedAdam:
    """Adam with coupled L2 (the algorithm of ``torch.optim.Adam``: the gradient of each member's
    loss plus ``wd * theta``) for K stacked members, each with its own learning rate and L2 factor.
    When all members share them, torch's fused Adam kernel does the same update (~2x faster on CPU).
    """

    b1, b2, eps = 0.9, 0.999, 1e-8

    def __init__(self, flat: list, lrs: Sequence[float], wds: Sequence[float], device, dtype=torch.float32):
        K = len(lrs)
        shape = lambda v: torch.tensor(v, dtype=dtype, device=device).reshape(K, 1, 1)  # noqa: E731
        self.flat = flat
        self.lr_t, wd = shape(lrs), shape(wds)
        self.wds = [wd] * len(flat)
        self.m1 = [torch.zeros_like(t) for t in flat]
        self.m2 = [torch.zeros_like(t) for t in flat]
        self.n_steps = 0
        self.fused = None
        if len(set(lrs)) == 1 and len(set(wds)) == 1:
            try:
                self.fused = torch.optim.Adam(
                    flat,
                    lr=float(lrs[0]),
                    betas=(self.b1, self.b2),
                    eps=self.eps,
                    weight_decay=float(wds[0]),
                    fused=True,
                )
            except (RuntimeError, TypeError, ValueError):
                self.fused = None

    def step(self, total: torch.Tensor) -> None:
        """One update of every member from the summed loss ``total`` of the minibatch."""
        if self.fused is not None:  # one fused Adam kernel per tensor (same lr/L2 for all members)
            self.fused.zero_grad(set_to_none=True)
            total.backward()
            self.fused.step()
            return
        b1, b2, flat = self.b1, self.b2, self.flat
        grads = torch.autograd.grad(total, flat)
        self.n_steps += 1
        c1, c2 = 1 - b1**self.n_steps, 1 - b2**self.n_steps
        with torch.no_grad():
            grads = torch._foreach_add(grads, torch._foreach_mul(flat, self.wds))
            torch._foreach_lerp_(self.m1, grads, 1 - b1)
            torch._foreach_mul_(self.m2, b2)
            torch._foreach_addcmul_(self.m2, grads, grads, value=1 - b2)
            denom = torch._foreach_sqrt(self.m2)
            torch._foreach_div_(denom, math.sqrt(c2))
            torch._foreach_add_(denom, self.eps)
            upd = torch._foreach_div(self.m1, denom)
            torch._foreach_mul_(upd, [self.lr_t / c1] * len(upd))
            torch._foreach_sub_(flat, upd)


class _EarlyStopping:
    """Per-member early stopping on the validation ``Loss_all`` (Eq. 4): keeps each member's
    weights of its best epoch, stops a member after ``patience`` epochs without improvement (and not
    before ``min_epochs``), and records the validation losses of every epoch."""

    def __init__(self, flat: list, K: int, patience: int, min_epochs: int):
        self.best = [t.detach().clone() for t in flat]
        self.best_val = np.full(K, np.inf)
        self.best_epoch = np.zeros(K, dtype=int)
        self.stopped = np.zeros(K, dtype=bool)  # patience exhausted: the member's best is final
        self.stop_epoch = np.zeros(K, dtype=int)
        self.patience, self.min_epochs = patience, min_epochs
        self.history: list[np.ndarray] = []

    def update(self, epoch: int, flat: list, vc, vs, vm, Wt) -> bool:
        """Record epoch ``epoch``'s validation losses (K,) each; True when every member has stopped."""
        with torch.no_grad():
            vall = (vc + vs + Wt * vm).double().cpu().numpy()
            improved = (vall < self.best_val) & ~self.stopped
            if improved.any():
                mask = torch.from_numpy(improved).to(flat[0].device)
                for bt, p in zip(self.best, flat):
                    bt.copy_(torch.where(mask.reshape(len(improved), *([1] * (p.dim() - 1))), p, bt))
                self.best_val = np.where(improved, vall, self.best_val)
                self.best_epoch = np.where(improved, epoch, self.best_epoch)
        parts = [vc.double().cpu().numpy(), vs.double().cpu().numpy(), vm.double().cpu().numpy(), vall]
        self.history.append(np.stack(parts, axis=1))
        newly = ~self.stopped & (epoch - self.best_epoch >= self.patience) & (epoch >= self.min_epochs)
        self.stop_epoch[newly] = epoch
        self.stopped |= newly
        return bool(self.stopped.all())


def _train_epoch(params, adam: _StackedAdam, train: tuple, Wt, perm, batch_size: int) -> None:
    """One pass over the training rows in the minibatches of ``perm``: Eq. 4 summed over members."""
    xc, xs, yt = train
    for s in range(0, len(perm), batch_size):
        idx = perm[s : s + batch_size]
        lc, ls, lm = _losses(params, xc[idx], xs[idx], yt[idx])
        adam.step((lc + ls + Wt * lm).sum())


def _train_stacked(
    Xc_tr, Xs_tr, y_tr, Xc_va, Xs_va, y_va, *, Ws, lrs, wds, cfg: MapConfig, seed: int, verbose: bool = False
):
    """Train K members together (member k: weight ``Ws[k]``, learning rate ``lrs[k]``, L2 ``wds[k]``),
    all from the same seeded initial weights and on the same minibatches; returns (each member's
    best-validation parameters on the CPU, info dict with epochs, best epochs, validation history)."""
    device = torch_device(cfg.device)
    with torch_threads(cfg.threads, device):
        K, dtype = len(Ws), torch.float32
        torch.manual_seed(seed)
        dims = _layer_dims(Xc_tr.shape[1], Xs_tr.shape[1], cfg)
        params = _init_params(dims, K, seed, dtype, device, Xc_tr.mean(0), Xs_tr.mean(0))
        flat = _flat(params)
        for t in flat:
            t.requires_grad_(True)
        adam = _StackedAdam(flat, lrs, wds, device, dtype)
        stopping = _EarlyStopping(flat, K, cfg.patience, cfg.min_epochs)
        Wt = torch.tensor(Ws, dtype=dtype, device=device)
        to = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
        train = (to(Xc_tr), to(Xs_tr), to(y_tr.astype(np.float32)))
        val = (to(Xc_va), to(Xs_va), to(y_va.astype(np.float32)))
        rng = np.random.default_rng(seed + 1)
        t0 = time.perf_counter()
        epoch = 0
        for epoch in range(1, cfg.max_epochs + 1):
            _train_epoch(params, adam, train, Wt, to(rng.permutation(len(Xc_tr))), int(cfg.batch_size))
            with torch.no_grad():
                done = stopping.update(epoch, flat, *_losses(params, *val), Wt)
            if verbose and epoch % 20 == 0:
                print(
                    f"epoch {epoch}: val Loss_all {np.round(stopping.history[-1][:, 3], 3)} best epochs {stopping.best_epoch}"
                )
            if done:
                break
        it = iter(stopping.best)
        out = {part: [[next(it).cpu(), next(it).cpu()] for _ in params[part]] for part in _PARTS}
        stopping.stop_epoch[~stopping.stopped] = epoch
        info = {
            "epochs_run": epoch,
            "best_epoch": stopping.best_epoch.tolist(),
            "stop_epoch": stopping.stop_epoch.tolist(),
            "best_val_loss_all": stopping.best_val.tolist(),
            "train_seconds": time.perf_counter() - t0,
            "history": np.stack(stopping.history, axis=0),
            "device": str(device),
        }
    return out, info


def _fit_stacked(data, parts, *, Ws, lrs, wds, cfg: MapConfig, seed: int, verbose: bool = False):
    """:func:`_train_stacked` on the training rows ``parts[0]`` with early stopping on the
    validation rows ``parts[1]`` (boolean masks) of ``data`` = (Xc, Xs, standardized ME), in
    torch's deterministic mode on ``cfg.device``; the one training step of :func:`train_maps` and
    :func:`grid_rows`.  Returns what :func:`_train_stacked` returns."""
    (Xc, Xs, ys), (tr, va) = data, parts
    with _deterministic(torch_device(cfg.device)):
        return _train_stacked(
            Xc[tr], Xs[tr], ys[tr], Xc[va], Xs[va], ys[va], Ws=Ws, lrs=lrs, wds=wds, cfg=cfg, seed=seed, verbose=verbose
        )


@dataclass
class SweepResult:
    """What :func:`train_maps` returns: one map per W, the split, learning curves, test metrics."""

    maps: dict[float, MaterialsMap]
    split: np.ndarray
    metrics: pd.DataFrame
    history: np.ndarray  # (epochs, K, 4): validation Loss_comp, Loss_str, Loss_ME, Loss_all
    info: dict = field(default_factory=dict)

    def __getitem__(self, W: float) -> MaterialsMap:
        for k, m in self.maps.items():
            if np.isclose(k, W):
                return m
        raise KeyError(f"no map trained with W={W} (have {sorted(self.maps)})")


def train_maps(
    Xc,
    Xs,
    y,
    Ws: Iterable[float] = PAPER_WS,
    seed: int = 0,
    config: MapConfig | None = None,
    split: Sequence[str] | None = None,
    comp_columns: Sequence[str] | None = None,
    struct_columns: Sequence[str] | None = None,
    meta: dict | None = None,
    verbose: bool = False,
    **overrides,
) -> SweepResult:
    """Train one map per W, all together as one batched model.

    ``Xc`` (n, d_comp) and ``Xs`` (n, d_struct): descriptors scaled to [0, 1] (DataFrames keep
    their column names); ``y`` (n,) ME in eV.  ``split``: labels train/val/test (default: a
    random 80/20 split from ``seed`` with ``val_frac`` of the training part for early stopping).
    Keyword ``overrides`` replace :class:`MapConfig` fields (e.g. ``max_epochs=5``).
    """

    cfg = replace(config or MapConfig(), **overrides)
    if comp_columns is None:
        comp_columns = list(Xc.columns) if isinstance(Xc, pd.DataFrame) else [f"c{i}" for i in range(np.shape(Xc)[1])]
    if struct_columns is None:
        struct_columns = list(Xs.columns) if isinstance(Xs, pd.DataFrame) else [f"s{i}" for i in range(np.shape(Xs)[1])]
    columns = (list(comp_columns), list(struct_columns))
    Xc, Xs, y = _check_inputs(Xc, Xs, y)
    Ws = [float(w) for w in Ws]
    if not Ws or any(w < 0 or not np.isfinite(w) for w in Ws):
        raise ValueError(f"W values must be finite and >= 0, got {Ws}")
    split = make_split(len(y), seed, cfg.test_frac, cfg.val_frac) if split is None else np.asarray(split, dtype=object)
    if len(split) != len(y):
        raise ValueError(f"split has {len(split)} labels for {len(y)} samples")
    tr, va, te = (split == "train"), (split == "val"), (split == "test")
    if tr.sum() < 2 or va.sum() < 1:
        raise ValueError(f"need >= 2 training and >= 1 validation samples (have {tr.sum()}, {va.sum()})")
    fit = tr | va
    y_mean, y_std = float(y[fit].mean()), float(y[fit].std())
    y_std = y_std if y_std > 0 else 1.0
    ys = (y - y_mean) / y_std
    t0 = time.perf_counter()
    params, info = _fit_stacked(
        (Xc, Xs, ys),
        (tr, va),
        Ws=Ws,
        lrs=[cfg.lr] * len(Ws),
        wds=[cfg.weight_decay] * len(Ws),
        cfg=cfg,
        seed=seed,
        verbose=verbose,
    )
    wall = time.perf_counter() - t0
    # the maps' axes and metrics on the training's CPU threads too: a reduction's float order
    # depends on the thread count, and a worker process of one thread must reproduce this call
    with torch_threads(cfg.threads, torch_device(cfg.device)):
        maps, rows = _sweep_maps(params, info, Ws, cfg, (Xc, Xs, y), (tr, te), (y_mean, y_std), meta, seed, columns)
    history = info.pop("history")
    info["wall_time_s"] = wall
    return SweepResult(maps=maps, split=split, metrics=pd.DataFrame(rows).set_index("W"), history=history, info=info)


def _sweep_maps(params, info, Ws, cfg, data, parts, scale, meta, seed, columns):
    """The :class:`MaterialsMap` of each member of a trained sweep (axes fitted on the training
    rows) and its metrics row (test and training R², best epoch)."""
    (Xc, Xs, y), (tr, te), (y_mean, y_std), (comp_columns, struct_columns) = data, parts, scale, columns
    maps, rows = {}, []
    for k, W in enumerate(Ws):
        m = MaterialsMap(
            _member(params, k),
            config=cfg,
            W=W,
            y_mean=y_mean,
            y_std=y_std,
            comp_columns=comp_columns,
            struct_columns=struct_columns,
            meta={
                **(meta or {}),
                "seed": seed,
                "best_epoch": info["best_epoch"][k],
                "epochs_run": info["epochs_run"],
                "torch": torch.__version__,
            },
        )
        m.fit_axes(Xc[tr], Xs[tr])
        maps[W] = m
        row = {"W": W, "best_epoch": info["best_epoch"][k]}
        if te.any():
            row.update({f"test_{k2}": v for k2, v in evaluate(m, Xc[te], Xs[te], y[te]).items()})
        row.update(
            {
                f"train_{k2}": v
                for k2, v in evaluate(m, Xc[tr], Xs[tr], y[tr]).items()
                if k2 in ("r2_comp", "r2_struct", "r2_me")
            }
        )
        rows.append(row)
    return maps, rows


def grid_search(
    Xc,
    Xs,
    y,
    *,
    W: float = 0.1,
    batch_sizes: Sequence[int] = (16, 32),
    lrs: Sequence[float] = (1e-3, 3e-4),
    weight_decays: Sequence[float] = (1e-6, 1e-4),
    seed: int = 0,
    config: MapConfig | None = None,
    split: Sequence[str] | None = None,
    **overrides,
) -> pd.DataFrame:
    """The paper's hyperparameter grid search (batch size × learning rate × L2) at one W.

    Selection criterion: the best validation ``Loss_all`` (the test set is not used).  For each
    batch size the learning-rate × L2 combinations are trained together as one batched model
    (members differ only in their Adam step size and L2 penalty; :func:`grid_rows`).  Returns one
    row per combination with ``val_loss_all``, ``best_epoch`` and ``rank`` (1 = selected).
    """
    cfg = replace(config or MapConfig(), **overrides)
    kw = dict(W=W, lrs=lrs, weight_decays=weight_decays, seed=seed, config=cfg, split=split)
    return grid_table([r for bs in batch_sizes for r in grid_rows(Xc, Xs, y, batch_size=bs, **kw)])


def grid_rows(
    Xc, Xs, y, *, W: float, batch_size: int, lrs, weight_decays, seed: int, config: MapConfig, split=None
) -> list[dict]:
    """The rows of :func:`grid_search` for one batch size: its learning-rate × L2 combinations
    trained together as one batched model (``seconds_batch_size_run``: wall time of that run, s)."""
    Xc, Xs, y = _check_inputs(Xc, Xs, y)
    split = (
        make_split(len(y), seed, config.test_frac, config.val_frac)
        if split is None
        else np.asarray(split, dtype=object)
    )
    tr, va = (split == "train"), (split == "val")
    fit = tr | va
    y_mean, y_std = float(y[fit].mean()), float(y[fit].std()) or 1.0
    ys = (y - y_mean) / y_std
    combos = [(lr, wd) for lr in lrs for wd in weight_decays]
    c = replace(config, batch_size=int(batch_size))
    t0 = time.perf_counter()
    _, info = _fit_stacked(
        (Xc, Xs, ys),
        (tr, va),
        Ws=[float(W)] * len(combos),
        lrs=[lr for lr, _ in combos],
        wds=[wd for _, wd in combos],
        cfg=c,
        seed=seed,
    )
    dt = time.perf_counter() - t0
    return [
        {
            "batch_size": int(batch_size),
            "lr": float(lr),
            "weight_decay": float(wd),
            "W": float(W),
            "val_loss_all": float(info["best_val_loss_all"][k]),
            "best_epoch": int(info["best_epoch"][k]),
            "epochs_run": int(info["epochs_run"]),
            "seconds_batch_size_run": dt,
        }
        for k, (lr, wd) in enumerate(combos)
    ]


def grid_table(rows: list[dict]) -> pd.DataFrame:
    """The grid-search table of :func:`grid_rows`' rows (batch sizes in order): ranked by the
    validation ``Loss_all`` (``rank`` 1 = selected), best first."""
    df = pd.DataFrame(rows)
    df["rank"] = df["val_loss_all"].rank(method="first").astype(int)
    return df.sort_values("rank").reset_index(drop=True)


def grid_key(Xc, Xs, y, *, W: float, batch_sizes, lrs, weight_decays, seed: int, config: MapConfig, split) -> str:
    """Cache key of :func:`grid_search`: every input that changes its table."""
    return GRID_CACHE.key(
        np.ascontiguousarray(np.asarray(Xc, dtype=np.float32)),
        np.ascontiguousarray(np.asarray(Xs, dtype=np.float32)),
        np.asarray(y, dtype=np.float64),
        None if split is None else [str(s) for s in split],
        int(seed),
        [int(b) for b in batch_sizes],
        [float(v) for v in lrs],
        [float(v) for v in weight_decays],
        config.to_dict(),
        float(W),
    )


def cached_grid_search(
    Xc, Xs, y, *, W: float, batch_sizes, lrs, weight_decays, seed: int, config: MapConfig, split=None
) -> pd.DataFrame:
    """:func:`grid_search`, its table cached (parquet) under :data:`GRID_CACHE` by :func:`grid_key`."""
    kw = dict(W=W, batch_sizes=batch_sizes, lrs=lrs, weight_decays=weight_decays, seed=seed, config=config, split=split)
    return cached_frame(grid_path(Xc, Xs, y, **kw), lambda: grid_search(Xc, Xs, y, **kw))


def grid_path(Xc, Xs, y, **kw) -> Path:
    """Cache file (parquet) of :func:`cached_grid_search` with the keywords of :func:`grid_key`."""
    return GRID_CACHE.path(grid_key(Xc, Xs, y, **kw), ".parquet", prefix="grid-")


def _map_files(folder: Path, W: float) -> Path:
    return folder / f"map_W{W:g}.pt"


def cached_sweep(
    Xc: pd.DataFrame,
    Xs: pd.DataFrame,
    y,
    Ws=PAPER_WS,
    seed: int = 0,
    config: MapConfig | None = None,
    split=None,
    meta: dict | None = None,
    cache: bool = True,
    verbose: bool = False,
    **overrides,
) -> SweepResult:
    """:func:`train_maps`, cached under ``compute_cache_dir("mapnet")/<key>/`` where the key hashes
    the descriptors, ME, split, W values, configuration, seed and torch version.  The maps are
    stored with :func:`save_map`; metrics/history as parquet/npz; nothing is pickled."""

    cfg = replace(config or MapConfig(), **overrides)
    Ws = [float(w) for w in Ws]
    yv = np.asarray(y, dtype=np.float64)
    folder = sweep_folder(Xc, Xs, yv, Ws=Ws, seed=seed, config=cfg, split=split)
    done = folder / "info.json"
    if cache and done.exists():
        try:
            info = json.loads(done.read_text())
            maps = {W: load_map(_map_files(folder, W)) for W in Ws}
            for m in maps.values():
                m.meta.update(meta or {})
            metrics = pd.read_parquet(folder / "metrics.parquet")
            hist = load_npz(folder / "history.npz")
            return SweepResult(
                maps=maps,
                split=hist["split"].astype(object),
                metrics=metrics,
                history=hist["history"],
                info={**info, "cached": True},
            )
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
            pass
    res = train_maps(Xc, Xs, yv, Ws=Ws, seed=seed, config=cfg, split=split, meta=meta, verbose=verbose)
    if cache:
        for W, m in res.maps.items():
            save_map(m, _map_files(folder, W))
        atomic_write_parquet(folder / "metrics.parquet", res.metrics)
        atomic_write_npz(folder / "history.npz", history=res.history, split=res.split.astype(str))
        atomic_write_json(done, res.info)
    res.info["cached"] = False
    return res


def sweep_folder(Xc, Xs, y, *, Ws, seed: int, config: MapConfig, split=None) -> Path:
    """Cache folder of :func:`cached_sweep` (complete when it holds ``info.json``): its key hashes
    the descriptors, ME, split, W values, configuration, seed, torch version and row ids."""
    key = SWEEP_CACHE.key(
        np.ascontiguousarray(np.asarray(Xc, dtype=np.float32)),
        np.ascontiguousarray(np.asarray(Xs, dtype=np.float32)),
        np.asarray(y, dtype=np.float64),
        None if split is None else [str(s) for s in split],
        [float(w) for w in Ws],
        config.to_dict(),
        int(seed),
        torch.__version__,
        list(map(str, getattr(Xc, "index", []))),
    )
    return SWEEP_CACHE.path(key)


def history_frame(res: SweepResult) -> pd.DataFrame:
    """Validation learning curves as a long table: epoch, W, loss (comp/str/me/all), value."""
    h = res.history
    Ws = list(res.maps)
    rows = []
    for k, W in enumerate(Ws):
        for j, name in enumerate(("Loss_comp", "Loss_str", "Loss_ME", "Loss_all")):
            rows.append(pd.DataFrame({"epoch": np.arange(1, len(h) + 1), "W": W, "loss": name, "value": h[:, k, j]}))
    return pd.concat(rows, ignore_index=True)


# -- seeds and splits (issue 17: the headline over seeds and a split by chemical system) ------


def chemical_systems(elements: Iterable[Iterable[str]]) -> np.ndarray:
    """The chemical system of each material (its sorted element symbols joined by ``-``, e.g.
    ``Li-O-Zr``): the groups of :func:`grouped_split`."""
    return np.array(["-".join(sorted(set(els))) for els in elements], dtype=object)


def _take_groups(order: Sequence, sizes: dict, target: float) -> list:
    """Groups of ``order`` (first fit) until their rows reach ``target``: a group joins when it
    keeps the total within ``ceil(target)``; when none fits, the smallest group alone."""
    chosen, total, cap = [], 0, math.ceil(target)
    for g in order:
        if total >= target:
            break
        if total + sizes[g] <= cap:
            chosen.append(g)
            total += sizes[g]
    return chosen or [min(order, key=lambda g: sizes[g])]


def grouped_split(groups, seed: int = 0, test_frac: float = 0.2, val_frac: float = 0.1) -> np.ndarray:
    """Split labels ``train``/``val``/``test`` with every group (chemical system) wholly in one part.

    The groups are shuffled with ``seed``; whole groups fill the test set up to ``test_frac`` of
    the rows, then the validation set (early stopping) up to ``val_frac`` of the rest, first fit
    in the shuffled order (:func:`_take_groups`) — so no chemical system of the test set was seen
    in training, unlike the paper's random 80/20 split (:func:`make_split`).
    """
    groups = np.asarray(groups, dtype=object)
    labels_, counts = np.unique(groups, return_counts=True)
    if len(labels_) < 3:
        raise ValueError(f"a grouped split needs at least 3 groups (chemical systems), got {len(labels_)}")
    sizes = dict(zip(labels_, counts.tolist()))
    order = list(np.random.default_rng(seed).permutation(labels_))
    test = _take_groups(order, sizes, test_frac * len(groups))
    rest = [g for g in order if g not in set(test)]
    n_rest = sum(sizes[g] for g in rest)
    val = _take_groups(rest[:-1], sizes, val_frac * n_rest) if val_frac > 0 else []
    out = np.array(["train"] * len(groups), dtype=object)
    out[np.isin(groups, test)] = "test"
    out[np.isin(groups, val)] = "val"
    return out


#: Test-set columns of :func:`seed_study` summarised by :func:`seed_summary`.
SEED_COLUMNS = ("test_r2_comp", "test_r2_struct", "test_r2_me", "test_loss_comp", "test_loss_str", "test_loss_me")


def seed_study(
    Xc, Xs, y, groups, *, W: float, seeds: Sequence[int], config: MapConfig, kinds=("random", "grouped"), cache=True
) -> pd.DataFrame:
    """Train the map at one ``W`` once per seed and split kind and evaluate it on that split's test set.

    ``kinds``: ``"random"`` (the paper's protocol, :func:`make_split`) and/or ``"grouped"``
    (:func:`grouped_split` by ``groups``, the chemical systems).  Each seed draws its own split and
    its own initial weights and minibatches.  Returns one row per (kind, seed): the
    :data:`SEED_COLUMNS` (R² of the flattened reconstructions and of ME; losses of Eqs. 1–3), the
    best epoch, the test size and the number of test groups.  Runs are cached (:func:`cached_sweep`).
    """
    groups = np.asarray(groups, dtype=object)
    rows = []
    for kind, s, split in seed_splits(groups, seeds, config, kinds):
        res = cached_sweep(Xc, Xs, y, Ws=[float(W)], seed=s, config=config, split=split, cache=cache)
        m = res.metrics.iloc[0]
        rows.append(
            {"split": kind, "seed": s}
            | {c: float(m[c]) for c in SEED_COLUMNS}
            | {
                "best_epoch": int(m["best_epoch"]),
                "n_test": int((split == "test").sum()),
                "n_test_groups": int(len(set(groups[split == "test"]))),
                "wall_s": float(res.info["wall_time_s"]),
            }
        )
    return pd.DataFrame(rows)


def seed_splits(groups, seeds: Sequence[int], config: MapConfig, kinds=("random", "grouped")):
    """``(kind, seed, split labels)`` of every run of :func:`seed_study`, in its order."""
    groups = np.asarray(groups, dtype=object)
    out = []
    for kind in kinds:
        if kind not in ("random", "grouped"):
            raise ValueError(f"unknown split kind {kind!r} (random, grouped)")
        for s in seeds:
            split = (
                make_split(len(groups), int(s), config.test_frac, config.val_frac)
                if kind == "random"
                else grouped_split(groups, int(s), config.test_frac, config.val_frac)
            )
            out.append((kind, int(s), split))
    return out


def seed_summary(study: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation (ddof 1), minimum and maximum over seeds of each of the
    :data:`SEED_COLUMNS` per split kind; index (split, statistic)."""
    cols = [c for c in SEED_COLUMNS if c in study]
    agg = study.groupby("split")[cols].agg(["mean", "std", "min", "max"])
    out = agg.stack(level=1, future_stack=True)
    out.index = out.index.set_names(["split", "stat"])
    return out
