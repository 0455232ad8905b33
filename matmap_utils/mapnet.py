"""The autoencoder materials map of Yamaguchi et al. (Sci. Rep. 13, 16799, 2023), in torch.

Two autoencoders compress the compositional descriptors (``d_comp`` ≈ 1,782) and the structural
descriptors (``d_struct`` ≈ 858) to one number each, ``x_comp`` and ``x_struct``; a small network
maps ``(x_comp, x_struct)`` to the migration energy (ME).  The loss is the paper's Eq. 4::

    Loss_all = Loss_comp + Loss_str + W * Loss_ME

with ``Loss_comp``/``Loss_str`` the squared error *summed over descriptor dimensions* and
averaged over samples (Eqs. 1–2) and ``Loss_ME`` the mean squared error of the standardized ME
(Eq. 3).

Design choices (the paper's Fig. 1 gives no layer sizes):

* encoders ``d → 64 → 16 → 1`` (ELU between layers, linear code), decoders mirrored
  ``1 → 16 → 64 → d`` with a **sigmoid output**: the descriptors are scaled to [0, 1], so a
  sigmoid keeps every reconstruction inside the valid range.  The output bias starts at the logit
  of each feature's training mean, so training starts from the "mean descriptor" reconstruction.
* ME head ``2 → 16 → 16 → 1`` (ELU).  Gradients of ``W·Loss_ME`` flow into both encoders, so W
  shapes the map; at ``W = 0`` the head receives no gradient (Eq. 4 taken literally) and its
  predictions are meaningless — the notebook measures how much ME the W = 0 map still carries
  with a k-NN regressor on its coordinates instead.
* ME is standardized (mean/std of the training rows; the scaler is saved with the model), where
  the paper divided by the maximum.  Standardizing makes ``Loss_ME`` ≈ 1 for a constant
  predictor, so W is on a different absolute scale than in the paper; the trade-off is the same.
* Early stopping: ``Loss_all`` on a **validation split carved from the training set**
  (``val_frac`` of it, default 10 %) is checked after each epoch; training stops when it has not
  improved for ``patience`` (80) epochs and the weights of the best epoch are restored.  In a
  batched sweep a member whose patience is exhausted is frozen (its best epoch is final even though
  the batch trains on for the others), so its result does not depend on the other members.  The test
  set (20 %, random from the seed) is never seen during training or model selection.
* Optimizer: Adam with coupled L2 penalty (``weight_decay``, as ``torch.optim.Adam``), batch 16,
  learning rate 1e-3, L2 1e-6 (the paper's tuned values).  When all members share the learning
  rate and L2 (the W sweep) torch's fused Adam is used; the grid search, whose members differ in
  them, uses the same update written with ``torch._foreach_*`` ops and per-member step sizes.
* Map axes: the plotted coordinates are ``x = asinh((z - median) / MAD)`` of each raw code ``z``
  (median and median absolute deviation over the training rows, stored with the map).  Raw codes
  have no scale of their own and are heavy-tailed (on the Li–O set the 1st–99th percentile range
  is about -40…+110 with half of the materials within ±3), which squeezes the crowd of the map into
  a dot; the transform is monotone and exactly inverted by ``decode``/``predict_me_from_codes``,
  so nothing but the drawing changes.  ``raw_codes`` gives the encoders' outputs.
* CPU threads: ``MapConfig.threads`` (the notebook uses 1).  Batch-16 matmuls are too small to
  gain from threads, and on a contended machine two OpenMP threads were measured 15–35× slower
  than one.

**Batched training.**  All variants of a sweep (the four W values, or the learning-rate × L2 grid)
are trained *together*: every weight matrix carries a leading member axis ``K`` and layers are
batched matmuls.  Members share the initial weights (seeded) and the minibatch order, and Adam is
element-wise, so member ``k`` follows exactly the trajectory it would follow alone (up to float
rounding of the batched matmul); early stopping is tracked per member and each member gets back
its own best epoch.  One pass over the data thus trains four models for little more than the
cost of one on a CPU with few cores (see ``benchmarks/bench_mapnet.py``).
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

#: Default W values of the paper's sweep (Fig. 2).
PAPER_WS = (0.0, 0.01, 0.1, 1.0)

_PARTS = ("comp_enc", "comp_dec", "struct_enc", "struct_dec", "head")


@dataclass(frozen=True)
class MapConfig:
    """Architecture and training settings of a materials map (all JSON-serializable)."""

    comp_hidden: tuple[int, ...] = (64, 16)
    struct_hidden: tuple[int, ...] = (64, 16)
    head_hidden: tuple[int, ...] = (16, 16)
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-6
    patience: int = 80
    max_epochs: int = 2000
    min_epochs: int = 1
    val_frac: float = 0.1
    test_frac: float = 0.2
    device: str = "auto"
    #: CPU threads for training (0: torch's default).  With batch 16 the matmuls are tiny; on a
    #: shared 2-core machine 1 thread measured 15-35x faster than 2 (OpenMP threads spin-wait
    #: for each other when the cores are contended).
    threads: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("comp_hidden", "struct_hidden", "head_hidden"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MapConfig":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("comp_hidden", "struct_hidden", "head_hidden"):
            if k in kw:
                kw[k] = tuple(int(v) for v in kw[k])
        return cls(**kw)


# --------------------------------------------------------------------------------------------
# input checks and the split
# --------------------------------------------------------------------------------------------

def _as_matrix(X, name: str, d: int | None = None) -> np.ndarray:
    arr = np.asarray(X.values if isinstance(X, pd.DataFrame) else X, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (samples × descriptors), got shape {arr.shape}")
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name}: expected {d} descriptor columns, got {arr.shape[1]}")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(f"{name}: {bad.sum()} non-finite values (NaN/inf) in {len(rows)} rows, "
                         f"first row index {int(rows[0])}; drop or impute them first")
    return arr


def _check_inputs(Xc, Xs, y=None):
    Xc = _as_matrix(Xc, "compositional descriptors")
    Xs = _as_matrix(Xs, "structural descriptors")
    if len(Xc) != len(Xs):
        raise ValueError(f"compositional ({len(Xc)} rows) and structural ({len(Xs)} rows) "
                         "descriptors differ in their number of samples")
    if y is None:
        return Xc, Xs, None
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(y) != len(Xc):
        raise ValueError(f"ME has {len(y)} values but the descriptors have {len(Xc)} rows")
    if not np.isfinite(y).all():
        raise ValueError(f"ME: {int((~np.isfinite(y)).sum())} non-finite values; drop those rows first")
    return Xc, Xs, y


def make_split(n: int, seed: int = 0, test_frac: float = 0.2, val_frac: float = 0.1) -> np.ndarray:
    """Random split labels ``"train"``/``"val"``/``"test"`` from ``seed``.

    ``test_frac`` of all rows is the test set (the paper's 80/20 split); ``val_frac`` of the
    remaining 80 % is held out for early stopping.
    """
    if n < 3:
        raise ValueError(f"need at least 3 samples to split, got {n}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_test = max(1, int(round(test_frac * n)))
    n_val = max(1, int(round(val_frac * (n - n_test)))) if val_frac > 0 else 0
    labels = np.array(["train"] * n, dtype=object)
    labels[perm[:n_test]] = "test"
    labels[perm[n_test:n_test + n_val]] = "val"
    return labels


# --------------------------------------------------------------------------------------------
# the stacked (member-batched) network
# --------------------------------------------------------------------------------------------

def _layer_dims(d_comp: int, d_struct: int, cfg: MapConfig) -> dict[str, list[int]]:
    return {
        "comp_enc": [d_comp, *cfg.comp_hidden, 1],
        "comp_dec": [1, *reversed(cfg.comp_hidden), d_comp],
        "struct_enc": [d_struct, *cfg.struct_hidden, 1],
        "struct_dec": [1, *reversed(cfg.struct_hidden), d_struct],
        "head": [2, *cfg.head_hidden, 1],
    }


def _init_params(dims: dict[str, list[int]], K: int, seed: int, dtype, device,
                 comp_mean: np.ndarray | None = None, struct_mean: np.ndarray | None = None):
    """Stacked parameters ``{part: [(W (K,din,dout), b (K,1,dout)), ...]}``.

    Every member gets the *same* initial weights (drawn once from ``seed``), like ``nn.Linear``'s
    default uniform(±1/sqrt(fan_in)) initialisation.
    """
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    params: dict[str, list[list]] = {}
    for part in _PARTS:
        layers = []
        d = dims[part]
        for i in range(len(d) - 1):
            bound = 1.0 / math.sqrt(d[i])
            w = (torch.rand(d[i], d[i + 1], generator=gen, dtype=torch.float64) * 2 - 1) * bound
            b = (torch.rand(1, d[i + 1], generator=gen, dtype=torch.float64) * 2 - 1) * bound
            layers.append([w, b])
        params[part] = layers
    # decoder output bias = logit of the per-feature training mean (start from the mean descriptor)
    for part, mean in (("comp_dec", comp_mean), ("struct_dec", struct_mean)):
        if mean is not None:
            p = np.clip(np.asarray(mean, dtype=np.float64), 1e-4, 1 - 1e-4)
            params[part][-1][1] = torch.from_numpy(np.log(p / (1 - p))).reshape(1, -1)
    out = {}
    for part, layers in params.items():
        out[part] = [[w.to(dtype).unsqueeze(0).repeat(K, 1, 1).to(device).contiguous(),
                      b.to(dtype).unsqueeze(0).repeat(K, 1, 1).to(device).contiguous()]
                     for w, b in layers]
    return out


def _flat(params) -> list:
    return [t for part in _PARTS for layer in params[part] for t in layer]


def _mlp(x, layers, out_act: str | None):
    """Apply stacked layers; ``x`` is (B, d) shared by all members or (K, B, d)."""
    import torch
    import torch.nn.functional as F

    n = len(layers)
    for i, (w, b) in enumerate(layers):
        if x.dim() == 2:  # shared input: broadcast (a view) instead of copying the weights
            x = x.unsqueeze(0).expand(w.shape[0], *x.shape)
        x = torch.baddbmm(b, x, w)
        if i < n - 1:
            x = F.elu(x)
    if out_act == "sigmoid":
        x = torch.sigmoid(x)
    return x


def _forward(params, xc, xs):
    """Returns codes (K,B,2), comp/struct reconstructions (K,B,d), ME prediction (K,B)."""
    import torch

    zc = _mlp(xc, params["comp_enc"], None)
    zs = _mlp(xs, params["struct_enc"], None)
    rc = _mlp(zc, params["comp_dec"], "sigmoid")
    rs = _mlp(zs, params["struct_dec"], "sigmoid")
    z = torch.cat([zc, zs], dim=-1)
    me = _mlp(z, params["head"], None)[..., 0]
    return z, rc, rs, me


def _losses(params, xc, xs, y):
    """Per-member losses (K,) each: Eqs. 1–3 (sum over dims, mean over samples)."""
    z, rc, rs, me = _forward(params, xc, xs)
    lc = ((rc - xc) ** 2).sum(-1).mean(-1)
    ls = ((rs - xs) ** 2).sum(-1).mean(-1)
    lm = ((me - y) ** 2).mean(-1)
    return lc, ls, lm


@contextmanager
def _deterministic(device):
    """Deterministic kernels on accelerators.  On the CPU the kernels used here are deterministic
    for a fixed thread count already, and ``use_deterministic_algorithms`` would only add the
    cost of filling every new tensor (measured: ~3× slower steps), so it is left off there."""
    import torch

    if device.type == "cpu":
        yield
        return
    import os

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    prev = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev, warn_only=prev_warn)
        torch.utils.deterministic.fill_uninitialized_memory = prev_fill


def _resolve_device(pref: str):
    from .device import torch_device

    return torch_device(pref)


def _train_stacked(Xc_tr, Xs_tr, y_tr, Xc_va, Xs_va, y_va, *, Ws, lrs, wds, cfg: MapConfig,
                   seed: int, verbose: bool = False):
    """Train K members together; returns (best params on CPU, info dict)."""
    import torch

    K = len(Ws)
    device = _resolve_device(cfg.device)
    if device.type == "cpu" and cfg.threads and cfg.threads != torch.get_num_threads():
        prev = torch.get_num_threads()
        torch.set_num_threads(int(cfg.threads))
        try:
            return _train_stacked(Xc_tr, Xs_tr, y_tr, Xc_va, Xs_va, y_va, Ws=Ws, lrs=lrs, wds=wds,
                                  cfg=cfg, seed=seed, verbose=verbose)
        finally:
            torch.set_num_threads(prev)
    dtype = torch.float32
    torch.manual_seed(seed)
    dims = _layer_dims(Xc_tr.shape[1], Xs_tr.shape[1], cfg)
    params = _init_params(dims, K, seed, dtype, device, Xc_tr.mean(0), Xs_tr.mean(0))
    flat = _flat(params)
    for t in flat:
        t.requires_grad_(True)
    m1 = [torch.zeros_like(t) for t in flat]
    m2 = [torch.zeros_like(t) for t in flat]
    best = [t.detach().clone() for t in flat]
    shape = lambda v: torch.tensor(v, dtype=dtype, device=device).reshape(K, 1, 1)  # noqa: E731
    lr_t, wd = shape(lrs), shape(wds)
    wds_l = [wd] * len(flat)
    Wt = torch.tensor(Ws, dtype=dtype, device=device)
    b1, b2, eps = 0.9, 0.999, 1e-8
    fused = None
    if len(set(lrs)) == 1 and len(set(wds)) == 1:
        try:  # torch.optim.Adam is the same algorithm (coupled L2); fused is ~2x faster on CPU
            fused = torch.optim.Adam(flat, lr=float(lrs[0]), betas=(b1, b2), eps=eps,
                                     weight_decay=float(wds[0]), fused=True)
        except (RuntimeError, TypeError, ValueError):
            fused = None

    xc_tr = torch.from_numpy(Xc_tr).to(device)
    xs_tr = torch.from_numpy(Xs_tr).to(device)
    yt_tr = torch.from_numpy(y_tr.astype(np.float32)).to(device)
    xc_va = torch.from_numpy(Xc_va).to(device)
    xs_va = torch.from_numpy(Xs_va).to(device)
    yt_va = torch.from_numpy(y_va.astype(np.float32)).to(device)

    rng = np.random.default_rng(seed + 1)
    n = len(Xc_tr)
    bs = int(cfg.batch_size)
    best_val = np.full(K, np.inf)
    best_epoch = np.zeros(K, dtype=int)
    stopped = np.zeros(K, dtype=bool)  # patience exhausted: the member's best is final
    stop_epoch = np.zeros(K, dtype=int)
    history = []
    step = 0
    t0 = time.perf_counter()
    epoch = 0
    for epoch in range(1, cfg.max_epochs + 1):
        perm = torch.from_numpy(rng.permutation(n)).to(device)
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            lc, ls, lm = _losses(params, xc_tr[idx], xs_tr[idx], yt_tr[idx])
            total = (lc + ls + Wt * lm).sum()
            if fused is not None:  # one fused Adam kernel per tensor (same lr/L2 for all members)
                fused.zero_grad(set_to_none=True)
                total.backward()
                fused.step()
                continue
            grads = torch.autograd.grad(total, flat)
            step += 1
            c1, c2 = 1 - b1 ** step, 1 - b2 ** step
            with torch.no_grad():  # Adam with coupled L2 (as torch.optim.Adam), per-member lr/L2
                grads = torch._foreach_add(grads, torch._foreach_mul(flat, wds_l))
                torch._foreach_lerp_(m1, grads, 1 - b1)
                torch._foreach_mul_(m2, b2)
                torch._foreach_addcmul_(m2, grads, grads, value=1 - b2)
                denom = torch._foreach_sqrt(m2)
                torch._foreach_div_(denom, math.sqrt(c2))
                torch._foreach_add_(denom, eps)
                upd = torch._foreach_div(m1, denom)
                torch._foreach_mul_(upd, [lr_t / c1] * len(upd))
                torch._foreach_sub_(flat, upd)
        with torch.no_grad():
            vc, vs, vm = _losses(params, xc_va, xs_va, yt_va)
            vall = (vc + vs + Wt * vm).double().cpu().numpy()
            improved = (vall < best_val) & ~stopped
            if improved.any():
                mask = torch.from_numpy(improved).to(device)
                for bt, p in zip(best, flat):
                    bt.copy_(torch.where(mask.reshape(K, *([1] * (p.dim() - 1))), p, bt))
                best_val = np.where(improved, vall, best_val)
                best_epoch = np.where(improved, epoch, best_epoch)
        history.append(np.stack([vc.double().cpu().numpy(), vs.double().cpu().numpy(),
                                 vm.double().cpu().numpy(), vall], axis=1))
        if verbose and epoch % 20 == 0:
            print(f"epoch {epoch}: val Loss_all {np.round(vall, 3)} best epochs {best_epoch}")
        newly = ~stopped & (epoch - best_epoch >= cfg.patience) & (epoch >= cfg.min_epochs)
        stop_epoch[newly] = epoch
        stopped |= newly
        if stopped.all():
            break
    it = iter(best)
    out = {part: [[next(it).cpu(), next(it).cpu()] for _ in params[part]] for part in _PARTS}
    stop_epoch[~stopped] = epoch
    info = {"epochs_run": epoch, "best_epoch": best_epoch.tolist(), "stop_epoch": stop_epoch.tolist(),
            "best_val_loss_all": best_val.tolist(),
            "train_seconds": time.perf_counter() - t0, "history": np.stack(history, axis=0),
            "device": str(device)}
    return out, info


# --------------------------------------------------------------------------------------------
# a trained map
# --------------------------------------------------------------------------------------------

class MaterialsMap:
    """One trained map (a single member): encode, decode, predict ME; saved with its scalers."""

    def __init__(self, params, *, config: MapConfig, W: float, y_mean: float, y_std: float,
                 comp_columns: Sequence[str], struct_columns: Sequence[str],
                 meta: dict | None = None, axis: dict | None = None):
        self.params = params  # {part: [[W (1,din,dout), b (1,1,dout)], ...]} on CPU, float32
        #: map axes: ``x = asinh((z - center) / scale)`` of the raw code ``z`` (see :meth:`fit_axes`);
        #: ``None`` = the raw codes are the coordinates
        self.axis = None if axis is None else {"center": [float(v) for v in axis["center"]],
                                               "scale": [float(v) for v in axis["scale"]]}
        self.config = config
        self.W = float(W)
        self.y_mean = float(y_mean)
        self.y_std = float(y_std)
        self.comp_columns = [str(c) for c in comp_columns]
        self.struct_columns = [str(c) for c in struct_columns]
        self.meta = dict(meta or {})

    @property
    def d_comp(self) -> int:
        return len(self.comp_columns)

    @property
    def d_struct(self) -> int:
        return len(self.struct_columns)

    def _align(self, X, columns, name):
        if isinstance(X, pd.DataFrame):
            missing = [c for c in columns if c not in X.columns]
            if missing:
                raise ValueError(f"{name}: {len(missing)} descriptor columns of the map are missing "
                                 f"(first: {missing[:3]})")
            X = X[columns]
        return _as_matrix(X, name, len(columns))

    def _run(self, fn, *arrays):
        import torch

        with torch.no_grad():
            ts = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in arrays]
            return fn(*ts)

    # -- map axes ----------------------------------------------------------------------------
    def fit_axes(self, Xc, Xs) -> dict:
        """Set the map axes from reference materials (the training rows).

        A 1-number code has no unit and no natural scale (the decoder absorbs any rescaling), and
        trained codes are heavy-tailed: most materials sit within a few units of the centre while
        the materials with the most unusual descriptors lie tens of units out, so a plot of raw
        codes squeezes the crowd into a dot.  The map axes are therefore the monotone, invertible
        ``x = asinh((z - median) / MAD)`` per code (MAD: median absolute deviation of the
        reference codes): linear near the crowd, logarithmic in the tails.  Order, neighbours
        along each axis, the ME head and decoding are unchanged — :meth:`decode` and
        :meth:`predict_me_from_codes` take map coordinates and undo the transform exactly.
        """
        z = self.raw_codes(Xc, Xs)
        med = np.median(z, axis=0)
        mad = np.median(np.abs(z - med), axis=0)
        scale = np.where(mad > 0, mad, np.maximum(np.abs(z - med).max(axis=0), 1.0))
        self.axis = {"center": [float(v) for v in med], "scale": [float(v) for v in scale]}
        return self.axis

    def to_map(self, z: np.ndarray) -> np.ndarray:
        """Raw codes (n, 2) → map coordinates."""
        z = np.asarray(z, dtype=np.float64)
        if self.axis is None:
            return z
        return np.arcsinh((z - np.asarray(self.axis["center"])) / np.asarray(self.axis["scale"]))

    def from_map(self, x: np.ndarray) -> np.ndarray:
        """Map coordinates (n, 2) → raw codes."""
        x = np.asarray(x, dtype=np.float64)
        if self.axis is None:
            return x
        return np.sinh(x) * np.asarray(self.axis["scale"]) + np.asarray(self.axis["center"])

    def raw_codes(self, Xc, Xs) -> np.ndarray:
        """(n, 2) array of the encoders' raw outputs (before the map-axis transform)."""
        Xc = self._align(Xc, self.comp_columns, "compositional descriptors")
        Xs = self._align(Xs, self.struct_columns, "structural descriptors")
        if len(Xc) != len(Xs):
            raise ValueError("compositional and structural descriptors differ in their number of rows")

        def f(xc, xs):
            import torch
            zc = _mlp(xc, self.params["comp_enc"], None)
            zs = _mlp(xs, self.params["struct_enc"], None)
            return torch.cat([zc, zs], -1)[0].numpy().astype(np.float64)

        return self._run(f, Xc, Xs)

    def encode(self, Xc, Xs) -> np.ndarray:
        """(n, 2) array of map coordinates ``(x_comp, x_struct)`` (see :meth:`fit_axes`)."""
        return self.to_map(self.raw_codes(Xc, Xs))

    def decode(self, x_comp, x_struct) -> tuple[np.ndarray, np.ndarray]:
        """Descriptors restored from map coordinates: ``(comp (n, d_comp), struct (n, d_struct))``."""
        xc = np.atleast_1d(np.asarray(x_comp, dtype=np.float32)).reshape(-1, 1)
        xs = np.atleast_1d(np.asarray(x_struct, dtype=np.float32)).reshape(-1, 1)
        if xc.shape != xs.shape:
            raise ValueError(f"x_comp ({len(xc)}) and x_struct ({len(xs)}) differ in length")
        if not (np.isfinite(xc).all() and np.isfinite(xs).all()):
            raise ValueError("map coordinates must be finite")
        z = self.from_map(np.concatenate([xc, xs], axis=1)).astype(np.float32)
        xc, xs = z[:, :1], z[:, 1:]

        def f(a, b):
            return (_mlp(a, self.params["comp_dec"], "sigmoid")[0].numpy().astype(np.float64),
                    _mlp(b, self.params["struct_dec"], "sigmoid")[0].numpy().astype(np.float64))

        return self._run(f, xc, xs)

    def reconstruct(self, Xc, Xs) -> tuple[np.ndarray, np.ndarray]:
        """Decoded descriptors of the encoded inputs (straight through the raw codes)."""
        z = self.raw_codes(Xc, Xs).astype(np.float32)

        def f(a, b):
            return (_mlp(a, self.params["comp_dec"], "sigmoid")[0].numpy().astype(np.float64),
                    _mlp(b, self.params["struct_dec"], "sigmoid")[0].numpy().astype(np.float64))

        return self._run(f, z[:, :1], z[:, 1:])

    def predict_me_from_codes(self, x_comp, x_struct) -> np.ndarray:
        """ME (eV) predicted by the head at arbitrary map coordinates (Fig. 7)."""
        z = np.stack([np.asarray(x_comp, dtype=np.float32).reshape(-1),
                      np.asarray(x_struct, dtype=np.float32).reshape(-1)], axis=1)
        if not np.isfinite(z).all():
            raise ValueError("map coordinates must be finite")
        z = self.from_map(z).astype(np.float32)
        out = self._run(lambda t: _mlp(t, self.params["head"], None)[0, :, 0].numpy(), z)
        return out.astype(np.float64) * self.y_std + self.y_mean

    def predict_me(self, Xc, Xs) -> np.ndarray:
        """ME (eV) predicted from descriptors (encode, then the head)."""
        z = self.raw_codes(Xc, Xs).astype(np.float32)
        out = self._run(lambda t: _mlp(t, self.params["head"], None)[0, :, 0].numpy(), z)
        return out.astype(np.float64) * self.y_std + self.y_mean

    # -- persistence -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        sd = {}
        for part in _PARTS:
            for i, (w, b) in enumerate(self.params[part]):
                sd[f"{part}.{i}.weight"] = w[0].clone()
                sd[f"{part}.{i}.bias"] = b[0, 0].clone()
        return sd

    def config_dict(self) -> dict:
        return {"format": "matmap-mapnet/1", "config": self.config.to_dict(), "W": self.W,
                "y_mean": self.y_mean, "y_std": self.y_std, "comp_columns": self.comp_columns,
                "struct_columns": self.struct_columns, "meta": self.meta, "axis": self.axis}


def _member(params, k: int):
    return {part: [[w[k:k + 1].clone(), b[k:k + 1].clone()] for w, b in layers]
            for part, layers in params.items()}


def save_map(model: MaterialsMap, path: str | Path) -> Path:
    """Write ``path`` (``.pt``: state dict of tensors) and ``path.with_suffix('.json')`` (config,
    scalers, descriptor column names).  Both are written atomically."""
    import io

    import torch

    from .cache import atomic_write_bytes, atomic_write_json

    path = Path(path)
    if path.suffix != ".pt":
        path = path.with_name(path.name + ".pt")
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    atomic_write_bytes(path, buf.getvalue())
    atomic_write_json(path.with_suffix(".json"), model.config_dict())
    return path


def load_map(path: str | Path) -> MaterialsMap:
    """Load a map written by :func:`save_map` (``torch.load(weights_only=True)``, no pickle)."""
    import torch

    path = Path(path)
    if path.suffix == ".json":
        path = path.with_suffix(".pt")
    if not path.exists() and path.with_name(path.name + ".pt").exists():
        path = path.with_name(path.name + ".pt")
    js = path.with_suffix(".json")
    for p in (path, js):
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file (a map is a .pt weights file plus its .json)")
    try:
        meta = json.loads(js.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{js}: not valid JSON ({exc})") from None
    if meta.get("format") != "matmap-mapnet/1":
        raise ValueError(f"{js}: not a matmap map configuration (format={meta.get('format')!r})")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{path}: cannot read the map weights ({type(exc).__name__}: {exc})") from None
    cfg = MapConfig.from_dict(meta["config"])
    dims = _layer_dims(len(meta["comp_columns"]), len(meta["struct_columns"]), cfg)
    params = {}
    for part in _PARTS:
        layers = []
        for i in range(len(dims[part]) - 1):
            try:
                w, b = sd[f"{part}.{i}.weight"], sd[f"{part}.{i}.bias"]
            except KeyError:
                raise ValueError(f"{path}: weights of {part} layer {i} are missing") from None
            if tuple(w.shape) != (dims[part][i], dims[part][i + 1]):
                raise ValueError(f"{path}: {part} layer {i} has shape {tuple(w.shape)}, the "
                                 f"configuration says {(dims[part][i], dims[part][i + 1])}")
            layers.append([w.float().unsqueeze(0), b.float().reshape(1, 1, -1)])
        params[part] = layers
    return MaterialsMap(params, config=cfg, W=meta["W"], y_mean=meta["y_mean"], y_std=meta["y_std"],
                        comp_columns=meta["comp_columns"], struct_columns=meta["struct_columns"],
                        meta=meta.get("meta", {}), axis=meta.get("axis"))


# --------------------------------------------------------------------------------------------
# training a sweep, evaluation, grid search
# --------------------------------------------------------------------------------------------

def r2_flat(true: np.ndarray, pred: np.ndarray) -> float:
    """R² of flattened arrays (the paper's Fig. 3a,b: all descriptor values of all test samples)."""
    t = np.asarray(true, dtype=np.float64).ravel()
    p = np.asarray(pred, dtype=np.float64).ravel()
    ss_res = ((t - p) ** 2).sum()
    ss_tot = ((t - t.mean()) ** 2).sum()
    return float(1 - ss_res / ss_tot) if ss_tot > 0 else float("nan")


def evaluate(model: MaterialsMap, Xc, Xs, y) -> dict:
    """Test losses (Eqs. 1–3; ``loss_me`` in standardized units as trained, ``mse_me_ev2`` in eV²)
    and R² of the flattened compositional/structural reconstructions and of ME."""
    Xc, Xs, y = _check_inputs(Xc, Xs, y)
    rc, rs = model.reconstruct(Xc, Xs)
    me = model.predict_me(Xc, Xs)
    zt = (y - model.y_mean) / model.y_std
    zp = (me - model.y_mean) / model.y_std
    lc = float(((rc - Xc) ** 2).sum(1).mean())
    ls = float(((rs - Xs) ** 2).sum(1).mean())
    lm = float(((zp - zt) ** 2).mean())
    return {"loss_comp": lc, "loss_str": ls, "loss_me": lm, "loss_all": lc + ls + model.W * lm,
            "mse_me_ev2": float(((me - y) ** 2).mean()), "r2_comp": r2_flat(Xc, rc),
            "r2_struct": r2_flat(Xs, rs), "r2_me": r2_flat(y, me), "n": int(len(y))}


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


def train_maps(Xc, Xs, y, Ws: Iterable[float] = PAPER_WS, seed: int = 0,
               config: MapConfig | None = None, split: Sequence[str] | None = None,
               comp_columns: Sequence[str] | None = None, struct_columns: Sequence[str] | None = None,
               meta: dict | None = None, verbose: bool = False, **overrides) -> SweepResult:
    """Train one map per W, all together as one batched model.

    ``Xc`` (n, d_comp) and ``Xs`` (n, d_struct): descriptors scaled to [0, 1] (DataFrames keep
    their column names); ``y`` (n,) ME in eV.  ``split``: labels train/val/test (default: a
    random 80/20 split from ``seed`` with ``val_frac`` of the training part for early stopping).
    Keyword ``overrides`` replace :class:`MapConfig` fields (e.g. ``max_epochs=5``).
    """
    import torch

    cfg = replace(config or MapConfig(), **overrides)
    if comp_columns is None:
        comp_columns = list(Xc.columns) if isinstance(Xc, pd.DataFrame) else [f"c{i}" for i in range(np.shape(Xc)[1])]
    if struct_columns is None:
        struct_columns = list(Xs.columns) if isinstance(Xs, pd.DataFrame) else [f"s{i}" for i in range(np.shape(Xs)[1])]
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
    with _deterministic(_resolve_device(cfg.device)):
        params, info = _train_stacked(Xc[tr], Xs[tr], ys[tr], Xc[va], Xs[va], ys[va], Ws=Ws,
                                      lrs=[cfg.lr] * len(Ws), wds=[cfg.weight_decay] * len(Ws),
                                      cfg=cfg, seed=seed, verbose=verbose)
    wall = time.perf_counter() - t0
    maps, rows = {}, []
    for k, W in enumerate(Ws):
        m = MaterialsMap(_member(params, k), config=cfg, W=W, y_mean=y_mean, y_std=y_std,
                         comp_columns=comp_columns, struct_columns=struct_columns,
                         meta={**(meta or {}), "seed": seed, "best_epoch": info["best_epoch"][k],
                               "epochs_run": info["epochs_run"], "torch": torch.__version__})
        m.fit_axes(Xc[tr], Xs[tr])
        maps[W] = m
        row = {"W": W, "best_epoch": info["best_epoch"][k]}
        if te.any():
            row.update({f"test_{k2}": v for k2, v in evaluate(m, Xc[te], Xs[te], y[te]).items()})
        row.update({f"train_{k2}": v for k2, v in evaluate(m, Xc[tr], Xs[tr], y[tr]).items()
                    if k2 in ("r2_comp", "r2_struct", "r2_me")})
        rows.append(row)
    history = info.pop("history")
    info["wall_time_s"] = wall
    return SweepResult(maps=maps, split=split, metrics=pd.DataFrame(rows).set_index("W"),
                       history=history, info=info)


def grid_search(Xc, Xs, y, *, W: float = 0.1, batch_sizes: Sequence[int] = (16, 32),
                lrs: Sequence[float] = (1e-3, 3e-4), weight_decays: Sequence[float] = (1e-6, 1e-4),
                seed: int = 0, config: MapConfig | None = None, split: Sequence[str] | None = None,
                **overrides) -> pd.DataFrame:
    """The paper's hyperparameter grid search (batch size × learning rate × L2) at one W.

    Selection criterion: the best validation ``Loss_all`` (the test set is not used).  For each
    batch size the learning-rate × L2 combinations are trained together as one batched model
    (members differ only in their Adam step size and L2 penalty).  Returns one row per
    combination with ``val_loss_all``, ``best_epoch`` and ``rank`` (1 = selected).
    """
    cfg = replace(config or MapConfig(), **overrides)
    Xc, Xs, y = _check_inputs(Xc, Xs, y)
    split = make_split(len(y), seed, cfg.test_frac, cfg.val_frac) if split is None else np.asarray(split, dtype=object)
    tr, va = (split == "train"), (split == "val")
    fit = tr | va
    y_mean, y_std = float(y[fit].mean()), float(y[fit].std()) or 1.0
    ys = (y - y_mean) / y_std
    combos = [(lr, wd) for lr in lrs for wd in weight_decays]
    rows = []
    for bs in batch_sizes:
        c = replace(cfg, batch_size=int(bs))
        t0 = time.perf_counter()
        with _deterministic(_resolve_device(c.device)):
            _, info = _train_stacked(Xc[tr], Xs[tr], ys[tr], Xc[va], Xs[va], ys[va],
                                     Ws=[float(W)] * len(combos), lrs=[lr for lr, _ in combos],
                                     wds=[wd for _, wd in combos], cfg=c, seed=seed)
        dt = time.perf_counter() - t0
        for k, (lr, wd) in enumerate(combos):
            rows.append({"batch_size": int(bs), "lr": float(lr), "weight_decay": float(wd), "W": float(W),
                         "val_loss_all": float(info["best_val_loss_all"][k]),
                         "best_epoch": int(info["best_epoch"][k]), "epochs_run": int(info["epochs_run"]),
                         "seconds_batch_size_run": dt})
    df = pd.DataFrame(rows)
    df["rank"] = df["val_loss_all"].rank(method="first").astype(int)
    return df.sort_values("rank").reset_index(drop=True)


def synthetic_descriptors(n: int = 200, d_comp: int = 60, d_struct: int = 40, seed: int = 0):
    """Synthetic [0, 1] descriptors with a 2-D latent structure and an ME depending on it (tests,
    benchmarks).  Returns ``(Xc, Xs, y)`` as DataFrames/Series indexed ``syn-<i>``."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    ids = [f"syn-{i}" for i in range(n)]

    def block(t, d, name):
        centers = np.linspace(-1, 1, d)
        width = rng.uniform(0.2, 0.6, d)
        amp = rng.uniform(0.2, 1.0, d)
        X = amp * np.exp(-((t[:, None] - centers[None, :]) / width) ** 2)
        X = np.clip(X + rng.normal(0, 0.02, X.shape), 0, None)
        X = X / X.max(0, keepdims=True)
        return pd.DataFrame(X.astype(np.float32), index=ids, columns=[f"{name}{j}" for j in range(d)])

    Xc, Xs = block(a, d_comp, "comp_"), block(b, d_struct, "struct_")
    y = pd.Series(0.8 + 0.3 * b - 0.2 * a ** 2 + rng.normal(0, 0.1, n), index=ids, name="ME")
    return Xc, Xs, y


def place_structures(structures: Sequence, model_path: str | Path | MaterialsMap, *,
                     names: Sequence[str] | None = None, n_jobs: int | None = None,
                     progress: bool = False) -> pd.DataFrame:
    """Put a user's structures on a trained map.

    The structures are featurized with :func:`matmap_utils.descriptors.describe` (the descriptor
    settings saved with the map), scaled with the descriptor scalers saved with the map (the
    maxima of the map's reference set, so values may exceed 1 for structures outside it), encoded
    and passed through the ME head.  Returns one row per structure: ``x_comp``, ``x_struct``,
    ``ME_pred`` (eV), ``max_scaled`` (largest scaled descriptor value; > 1 means outside the
    reference range) and ``error`` (empty when it worked; a failed structure keeps its row).
    """
    from . import descriptors as desc

    model = model_path if isinstance(model_path, MaterialsMap) else load_map(model_path)
    structures = list(structures)
    names = [str(i) for i in range(len(structures))] if names is None else [str(n) for n in names]
    if len(names) != len(structures):
        raise ValueError(f"{len(names)} names for {len(structures)} structures")
    sc, ss = model.meta.get("scaler_comp"), model.meta.get("scaler_struct")
    if sc is None or ss is None:
        raise ValueError("this map was saved without descriptor scalers (meta.scaler_comp/"
                         "scaler_struct), so new structures cannot be scaled like its training data")
    settings = model.meta.get("descriptor_settings")
    res = desc.describe(structures, names, settings=settings, n_jobs=n_jobs, progress=progress)
    out = pd.DataFrame(index=pd.Index(names, name="name"),
                       columns=["x_comp", "x_struct", "ME_pred", "max_scaled", "error"], dtype=object)
    out["error"] = ""
    for _, row in res.failures.iterrows():
        out.loc[str(row["id"]), "error"] = f"{row['kind']}: {row['reason']}"
    if len(res.comp):
        Xc = desc.transform(res.comp, sc, desc.comp_spec())
        Xs = desc.transform(res.struct, ss, desc.struct_spec(settings))
        if Xc.shape[1] != model.d_comp or Xs.shape[1] != model.d_struct:
            raise ValueError(f"the descriptors have {Xc.shape[1]} + {Xs.shape[1]} columns, the map "
                             f"expects {model.d_comp} + {model.d_struct}")
        Xc.columns, Xs.columns = model.comp_columns, model.struct_columns
        z = model.encode(Xc, Xs)
        me = model.predict_me_from_codes(z[:, 0], z[:, 1])
        mx = np.maximum(Xc.values.max(1), Xs.values.max(1))
        ids = [str(i) for i in res.comp.index]
        out.loc[ids, "x_comp"] = z[:, 0]
        out.loc[ids, "x_struct"] = z[:, 1]
        out.loc[ids, "ME_pred"] = me
        out.loc[ids, "max_scaled"] = mx
    for c in ("x_comp", "x_struct", "ME_pred", "max_scaled"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    return out


# --------------------------------------------------------------------------------------------
# notebook helpers: cached sweeps, families, alternatives (PCA/UMAP), k-NN, nearest materials
# --------------------------------------------------------------------------------------------

def _map_files(folder: Path, W: float) -> Path:
    return folder / f"map_W{W:g}.pt"


def cached_sweep(Xc: pd.DataFrame, Xs: pd.DataFrame, y, Ws=PAPER_WS, seed: int = 0,
                 config: MapConfig | None = None, split=None, meta: dict | None = None,
                 cache: bool = True, verbose: bool = False, **overrides) -> SweepResult:
    """:func:`train_maps`, cached under ``compute_cache_dir("mapnet")/<key>/`` where the key hashes
    the descriptors, ME, split, W values, configuration, seed and torch version.  The maps are
    stored with :func:`save_map`; metrics/history as parquet/npz; nothing is pickled."""
    import torch

    from .cache import atomic_write_json, atomic_write_npz, atomic_write_parquet, hash_key, load_npz
    from .paths import compute_cache_dir

    cfg = replace(config or MapConfig(), **overrides)
    Ws = [float(w) for w in Ws]
    yv = np.asarray(y, dtype=np.float64)
    key = hash_key("mapnet", 3, np.ascontiguousarray(np.asarray(Xc, dtype=np.float32)),
                   np.ascontiguousarray(np.asarray(Xs, dtype=np.float32)), yv,
                   None if split is None else [str(s) for s in split], Ws, cfg.to_dict(), int(seed),
                   torch.__version__, list(map(str, getattr(Xc, "index", []))))
    folder = compute_cache_dir("mapnet") / key
    done = folder / "info.json"
    if cache and done.exists():
        try:
            info = json.loads(done.read_text())
            maps = {W: load_map(_map_files(folder, W)) for W in Ws}
            for m in maps.values():
                m.meta.update(meta or {})
            metrics = pd.read_parquet(folder / "metrics.parquet")
            hist = load_npz(folder / "history.npz")
            return SweepResult(maps=maps, split=hist["split"].astype(object), metrics=metrics,
                               history=hist["history"], info={**info, "cached": True})
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


def history_frame(res: SweepResult) -> pd.DataFrame:
    """Validation learning curves as a long table: epoch, W, loss (comp/str/me/all), value."""
    h = res.history
    Ws = list(res.maps)
    rows = []
    for k, W in enumerate(Ws):
        for j, name in enumerate(("Loss_comp", "Loss_str", "Loss_ME", "Loss_all")):
            rows.append(pd.DataFrame({"epoch": np.arange(1, len(h) + 1), "W": W, "loss": name,
                                      "value": h[:, k, j]}))
    return pd.concat(rows, ignore_index=True)


def per_sample_loss(model: MaterialsMap, Xc, Xs, y) -> pd.DataFrame:
    """Per-sample squared errors (comp, struct summed over dims; ME standardized) and Loss_all."""
    Xc_, Xs_, y_ = _check_inputs(Xc, Xs, y)
    rc, rs = model.reconstruct(Xc, Xs)
    me = model.predict_me(Xc, Xs)
    lc = ((rc - Xc_) ** 2).sum(1)
    ls = ((rs - Xs_) ** 2).sum(1)
    lm = ((me - y_) / model.y_std) ** 2
    idx = Xc.index if isinstance(Xc, pd.DataFrame) else None
    return pd.DataFrame({"loss_comp": lc, "loss_str": ls, "loss_me": lm,
                         "loss_all": lc + ls + model.W * lm, "ME": y_, "ME_pred": me}, index=idx)


def molar_fractions(structures: pd.Series, elements: Sequence[str] = ("Li", "O")) -> pd.DataFrame:
    """Atomic (molar) fractions of ``elements`` in each structure's composition."""
    rows = {}
    for mid, s in structures.items():
        comp = s.composition
        rows[mid] = {f"x_{el}": float(comp.get_atomic_fraction(el)) for el in elements}
    return pd.DataFrame.from_dict(rows, orient="index")


#: The 16 materials of the paper's Table 1: (formula, structure type, ME/eV, x_comp, x_struct).
PAPER_TABLE1 = pd.DataFrame(
    [("mp-761986", "Li5La3Nb2O12", "Garnet", 0.983, 0.207, -0.536),
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
     ("mp-768320", "LiLa5Ti8O24", "Perovskite", 0.760, 0.297, -0.221)],
    columns=["material_id", "formula_paper", "structure_type", "ME_paper", "x_comp_paper",
             "x_struct_paper"]).set_index("material_id")


def _framework(structure, remove: str = "Li"):
    """The structure without ``remove`` sites (the host framework), or None if nothing is left."""
    s = structure.copy()
    if not s.is_ordered:
        return None
    s.remove_species([remove])
    return s if len(s) else None


def family_members(structures: pd.Series, prototypes: dict[str, str], *, ltol: float = 0.3,
                   stol: float = 0.5, angle_tol: float = 10.0) -> pd.DataFrame:
    """Assign structure families (garnet, NASICON, perovskite, ...) by framework matching.

    Rule: a material belongs to family F when its **Li-free framework** matches, with pymatgen's
    ``StructureMatcher.fit_anonymous`` (any one-to-one mapping of elements; lattice scaled;
    tolerances ``ltol``, ``stol``, ``angle_tol``), the Li-free framework of one of the prototypes
    of F (``prototypes``: material_id → family; the prototypes themselves are members).
    Removing Li makes Li-stuffed and Li-poor variants (Li5 vs Li7 garnets) comparable and
    anonymous matching makes La3Nb2O12 ≅ La3Zr2O12.  Candidates are pre-filtered by the
    anonymized reduced formula of their framework (a match is impossible otherwise).
    Returns ``family`` ("" if none) and ``matched_prototype`` for every material.
    """
    from pymatgen.analysis.structure_matcher import StructureMatcher

    sm = StructureMatcher(ltol=ltol, stol=stol, angle_tol=angle_tol, primitive_cell=True, scale=True,
                          attempt_supercell=False)
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
    for mid, s in structures.items():
        if out.loc[mid, "family"]:
            continue
        f = _framework(s)
        if f is None:
            continue
        anon = f.composition.reduced_composition.anonymized_formula
        for pid, (fam, pf, panon) in proto_frames.items():
            if anon != panon:
                continue
            try:
                ok = sm.fit_anonymous(f, pf)
            except Exception:  # noqa: BLE001 - a matcher failure is "no match"
                ok = False
            if ok:
                out.loc[mid, ["family", "matched_prototype"]] = [fam, pid]
                break
    return out


def knn_r2(train_coords, y_train, test_coords, y_test, k: int = 10) -> float:
    """R² on the test split of a k-nearest-neighbour regressor of ME on 2-D map coordinates
    (coordinates standardized with the training rows, so both axes count equally)."""
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(train_coords)
    k = max(1, min(int(k), len(train_coords)))
    reg = KNeighborsRegressor(n_neighbors=k).fit(sc.transform(train_coords), y_train)
    return r2_flat(y_test, reg.predict(sc.transform(test_coords)))


def alternative_maps(Xc: pd.DataFrame, Xs: pd.DataFrame, split, *, seed: int = 0, use_umap: bool = True,
                     n_neighbors: int = 15) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """PCA and UMAP 2-D maps of the same descriptors, fitted on the training rows (train+val).

    * ``PCA (comp, struct)``: one principal component of each block — axes analogous to
      ``(x_comp, x_struct)``; decodes with ``inverse_transform`` (linear, approximate).
    * ``PCA 2-D (joint)``: two components of the concatenated descriptors.
    * ``UMAP 2-D (joint)``: UMAP of the concatenated descriptors (``random_state=seed``);
      ``inverse_transform`` exists (interpolation in the training embedding) but is approximate.
    Returns the coordinates of all rows per method and a table of test-set reconstruction R²
    (flattened, per block) per method.
    """
    from sklearn.decomposition import PCA

    split = np.asarray(split, dtype=object)
    fit = split != "test"
    te = split == "test"
    Xc_, Xs_ = np.asarray(Xc, dtype=np.float64), np.asarray(Xs, dtype=np.float64)
    X = np.hstack([Xc_, Xs_])
    dc = Xc_.shape[1]
    coords, rows = {}, []
    pc, ps = PCA(1, random_state=seed).fit(Xc_[fit]), PCA(1, random_state=seed).fit(Xs_[fit])
    coords["PCA (comp, struct)"] = np.hstack([pc.transform(Xc_), ps.transform(Xs_)])
    rows.append({"method": "PCA (comp, struct)", "can_decode": "yes (linear inverse_transform)",
                 "test_r2_comp": r2_flat(Xc_[te], pc.inverse_transform(pc.transform(Xc_[te]))),
                 "test_r2_struct": r2_flat(Xs_[te], ps.inverse_transform(ps.transform(Xs_[te])))})
    pj = PCA(2, random_state=seed).fit(X[fit])
    coords["PCA 2-D (joint)"] = pj.transform(X)
    rec = pj.inverse_transform(pj.transform(X[te]))
    rows.append({"method": "PCA 2-D (joint)", "can_decode": "yes (linear inverse_transform)",
                 "test_r2_comp": r2_flat(Xc_[te], rec[:, :dc]), "test_r2_struct": r2_flat(Xs_[te], rec[:, dc:])})
    if use_umap:
        import warnings

        import umap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            um = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, int(fit.sum()) - 1),
                           random_state=seed, n_jobs=1).fit(X[fit])
            emb = np.zeros((len(X), 2))
            emb[fit] = um.embedding_
            emb[te] = um.transform(X[te])
            coords["UMAP 2-D (joint)"] = emb
            try:
                rec = um.inverse_transform(emb[te])
                r2c, r2s, how = r2_flat(Xc_[te], rec[:, :dc]), r2_flat(Xs_[te], rec[:, dc:]), \
                    "approximately (inverse_transform interpolates training points)"
            except Exception as exc:  # noqa: BLE001
                r2c = r2s = float("nan")
                how = f"no ({type(exc).__name__}: {exc})"
        rows.append({"method": "UMAP 2-D (joint)", "can_decode": how, "test_r2_comp": r2c,
                     "test_r2_struct": r2s})
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


def sparse_low_me_window(model: MaterialsMap, coords: np.ndarray, *, frac: float = 0.2,
                         n_grid: int = 25, min_points: int = 3, max_points: int = 25):
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
            inside = ((coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1))
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
