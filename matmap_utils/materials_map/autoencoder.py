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

import io
import json
import math
import os
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from matmap_utils.core.cache import atomic_write_bytes, atomic_write_json

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
    def from_dict(cls, d: dict) -> MapConfig:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("comp_hidden", "struct_hidden", "head_hidden"):
            if k in kw:
                kw[k] = tuple(int(v) for v in kw[k])
        return cls(**kw)


def _as_matrix(X, name: str, d: int | None = None) -> np.ndarray:
    arr = np.asarray(X.values if isinstance(X, pd.DataFrame) else X, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (samples × descriptors), got shape {arr.shape}")
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name}: expected {d} descriptor columns, got {arr.shape[1]}")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(
            f"{name}: {bad.sum()} non-finite values (NaN/inf) in {len(rows)} rows, "
            f"first row index {int(rows[0])}; drop or impute them first"
        )
    return arr


def _check_inputs(Xc, Xs, y=None):
    Xc = _as_matrix(Xc, "compositional descriptors")
    Xs = _as_matrix(Xs, "structural descriptors")
    if len(Xc) != len(Xs):
        raise ValueError(
            f"compositional ({len(Xc)} rows) and structural ({len(Xs)} rows) "
            "descriptors differ in their number of samples"
        )
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
    labels[perm[n_test : n_test + n_val]] = "val"
    return labels


def _layer_dims(d_comp: int, d_struct: int, cfg: MapConfig) -> dict[str, list[int]]:
    return {
        "comp_enc": [d_comp, *cfg.comp_hidden, 1],
        "comp_dec": [1, *reversed(cfg.comp_hidden), d_comp],
        "struct_enc": [d_struct, *cfg.struct_hidden, 1],
        "struct_dec": [1, *reversed(cfg.struct_hidden), d_struct],
        "head": [2, *cfg.head_hidden, 1],
    }


def _init_params(
    dims: dict[str, list[int]],
    K: int,
    seed: int,
    dtype,
    device,
    comp_mean: np.ndarray | None = None,
    struct_mean: np.ndarray | None = None,
):
    """Stacked parameters ``{part: [(W (K,din,dout), b (K,1,dout)), ...]}``.

    Every member gets the *same* initial weights (drawn once from ``seed``), like ``nn.Linear``'s
    default uniform(±1/sqrt(fan_in)) initialisation.
    """

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
        out[part] = [
            [
                w.to(dtype).unsqueeze(0).repeat(K, 1, 1).to(device).contiguous(),
                b.to(dtype).unsqueeze(0).repeat(K, 1, 1).to(device).contiguous(),
            ]
            for w, b in layers
        ]
    return out


def _flat(params) -> list:
    return [t for part in _PARTS for layer in params[part] for t in layer]


def _mlp(x, layers, out_act: str | None):
    """Apply stacked layers; ``x`` is (B, d) shared by all members or (K, B, d)."""

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

    if device.type == "cpu":
        yield
        return

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


class MaterialsMap:
    """One trained map (a single member): encode, decode, predict ME; saved with its scalers."""

    def __init__(
        self,
        params,
        *,
        config: MapConfig,
        W: float,
        y_mean: float,
        y_std: float,
        comp_columns: Sequence[str],
        struct_columns: Sequence[str],
        meta: dict | None = None,
        axis: dict | None = None,
    ):
        self.params = params  # {part: [[W (1,din,dout), b (1,1,dout)], ...]} on CPU, float32
        #: map axes: ``x = asinh((z - center) / scale)`` of the raw code ``z`` (see :meth:`fit_axes`);
        #: ``None`` = the raw codes are the coordinates
        self.axis = (
            None
            if axis is None
            else {"center": [float(v) for v in axis["center"]], "scale": [float(v) for v in axis["scale"]]}
        )
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
                raise ValueError(
                    f"{name}: {len(missing)} descriptor columns of the map are missing (first: {missing[:3]})"
                )
            X = X[columns]
        return _as_matrix(X, name, len(columns))

    def _run(self, fn, *arrays):

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
            return (
                _mlp(a, self.params["comp_dec"], "sigmoid")[0].numpy().astype(np.float64),
                _mlp(b, self.params["struct_dec"], "sigmoid")[0].numpy().astype(np.float64),
            )

        return self._run(f, xc, xs)

    def reconstruct(self, Xc, Xs) -> tuple[np.ndarray, np.ndarray]:
        """Decoded descriptors of the encoded inputs (straight through the raw codes)."""
        z = self.raw_codes(Xc, Xs).astype(np.float32)

        def f(a, b):
            return (
                _mlp(a, self.params["comp_dec"], "sigmoid")[0].numpy().astype(np.float64),
                _mlp(b, self.params["struct_dec"], "sigmoid")[0].numpy().astype(np.float64),
            )

        return self._run(f, z[:, :1], z[:, 1:])

    def predict_me_from_codes(self, x_comp, x_struct) -> np.ndarray:
        """ME (eV) predicted by the head at arbitrary map coordinates (Fig. 7)."""
        z = np.stack(
            [np.asarray(x_comp, dtype=np.float32).reshape(-1), np.asarray(x_struct, dtype=np.float32).reshape(-1)],
            axis=1,
        )
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
        return {
            "format": "matmap-mapnet/1",
            "config": self.config.to_dict(),
            "W": self.W,
            "y_mean": self.y_mean,
            "y_std": self.y_std,
            "comp_columns": self.comp_columns,
            "struct_columns": self.struct_columns,
            "meta": self.meta,
            "axis": self.axis,
        }


def _member(params, k: int):
    return {part: [[w[k : k + 1].clone(), b[k : k + 1].clone()] for w, b in layers] for part, layers in params.items()}


def save_map(model: MaterialsMap, path: str | Path) -> Path:
    """Write ``path`` (``.pt``: state dict of tensors) and ``path.with_suffix('.json')`` (config,
    scalers, descriptor column names).  Both are written atomically."""

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
                raise ValueError(
                    f"{path}: {part} layer {i} has shape {tuple(w.shape)}, the "
                    f"configuration says {(dims[part][i], dims[part][i + 1])}"
                )
            layers.append([w.float().unsqueeze(0), b.float().reshape(1, 1, -1)])
        params[part] = layers
    return MaterialsMap(
        params,
        config=cfg,
        W=meta["W"],
        y_mean=meta["y_mean"],
        y_std=meta["y_std"],
        comp_columns=meta["comp_columns"],
        struct_columns=meta["struct_columns"],
        meta=meta.get("meta", {}),
        axis=meta.get("axis"),
    )


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
    return {
        "loss_comp": lc,
        "loss_str": ls,
        "loss_me": lm,
        "loss_all": lc + ls + model.W * lm,
        "mse_me_ev2": float(((me - y) ** 2).mean()),
        "r2_comp": r2_flat(Xc, rc),
        "r2_struct": r2_flat(Xs, rs),
        "r2_me": r2_flat(y, me),
        "n": int(len(y)),
    }


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
        X = amp * np.exp(-(((t[:, None] - centers[None, :]) / width) ** 2))
        X = np.clip(X + rng.normal(0, 0.02, X.shape), 0, None)
        X = X / X.max(0, keepdims=True)
        return pd.DataFrame(X.astype(np.float32), index=ids, columns=[f"{name}{j}" for j in range(d)])

    Xc, Xs = block(a, d_comp, "comp_"), block(b, d_struct, "struct_")
    y = pd.Series(0.8 + 0.3 * b - 0.2 * a**2 + rng.normal(0, 0.1, n), index=ids, name="ME")
    return Xc, Xs, y
