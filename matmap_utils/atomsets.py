"""AtomSets classifier (Chen & Ong 2021; McHaffie et al. 2025) as a *vectorized ensemble* in torch.

A structure is a set of per-site feature vectors (MEGNet V0..V3 rows).  The model is

    per-site dense layers  ->  permutation-invariant readout (set2set, or weighted mean)
    ->  dense layers  ->  one logit  ->  sigmoid = P(superionic)

with dropout after every hidden dense layer and L2 penalties on the kernels (the regularization
McHaffie et al. added to maml's AtomSets).  Sets of different sizes are packed into one long
matrix with an ``index`` tensor (site -> structure) and reduced with segment operations
(``index_add_``, ``scatter_reduce``), never padded.

Ensemble: all ``E`` members live in one model whose weights are stacked along a leading axis
(``W: (E, in, out)``) and are evaluated with batched matrix products.  Member ``i`` is initialised
from its own seed; with the same seed and data order a member is the same model a single
(``E = 1``) training would give (tested).  Members share the minibatch order; they differ by
initialisation and dropout masks.  Loss = sum over members of each member's mean BCE + its L2
terms, so gradients do not mix between members, and the optimizers (Adam; LAMB + Lookahead, the
paper's) act per member (LAMB's trust ratio is computed per member and per layer).

Site weights: every site has a weight (default 1).  Identical feature rows of one structure can be
merged into one row whose weight is the multiplicity (``pack_sets(..., dedup=True)``); both
readouts are weighted (softmax attention ``exp(e) * w``; weighted mean), so merged sets give the
same outputs as the full sets when dropout is off — this is what makes the paper's V0 features
(a handful of distinct rows per structure) cheap.

Save/load: ``save(path)`` writes ``path/weights.pt`` (a plain tensor dict, read back with
``torch.load(weights_only=True)``) and ``path/config.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .cache import atomic_write_json

# --------------------------------------------------------------------------- configuration


@dataclass
class AtomSetsConfig:
    """Architecture and training settings (defaults: maml's AtomSets; see the notebook for paper values)."""

    input_dim: int
    n_neurons: tuple[int, ...] = (64, 64)         # per-site layers (phi)
    n_neurons_final: tuple[int, ...] = (64, 64)   # after the readout (rho)
    readout: str = "set2set"                      # "set2set" | "mean"
    set2set_steps: int = 3                        # maml: T = 3
    set2set_hidden: int = 64                      # maml default 512 (see notebook: cost)
    dropout_init: float = 0.0
    dropout_final: float = 0.0
    l2_init: float = 0.0                          # keras L2: l * sum(W**2) added to the loss
    l2_final: float = 0.0
    optimizer: str = "lamb_lookahead"             # "lamb_lookahead" (paper) | "adam"
    init_lr: float = 1e-3
    max_lr: float | None = None                   # None: constant lr; else triangular2 cycles
    cycle_epochs: int = 10                        # half-cycle length in epochs (paper: 10)
    epochs: int = 200
    batch_size: int = 64

    def to_json(self) -> dict:
        d = asdict(self)
        d["n_neurons"] = list(self.n_neurons)
        d["n_neurons_final"] = list(self.n_neurons_final)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "AtomSetsConfig":
        d = dict(d)
        d["n_neurons"] = tuple(d["n_neurons"])
        d["n_neurons_final"] = tuple(d["n_neurons_final"])
        return cls(**d)


# --------------------------------------------------------------------------- packed sets


@dataclass
class SetBatch:
    """Packed variable-size sets: ``x`` (n_sites, F), ``w`` (n_sites,), ``index`` (n_sites,) -> set id."""

    x: torch.Tensor
    w: torch.Tensor
    index: torch.Tensor
    n_sets: int

    def to(self, device) -> "SetBatch":
        return SetBatch(self.x.to(device), self.w.to(device), self.index.to(device), self.n_sets)


@dataclass
class PackedSets:
    """All sets of a data set, packed once; ``subset(ids)`` gathers a minibatch without copying loops."""

    x: torch.Tensor
    w: torch.Tensor
    offsets: np.ndarray   # (n_sets + 1,)
    n_rows_original: int = 0

    @property
    def n_sets(self) -> int:
        return len(self.offsets) - 1

    def subset(self, ids: Sequence[int] | np.ndarray) -> SetBatch:
        ids = np.asarray(ids, dtype=np.int64)
        starts = self.offsets[ids]
        lens = self.offsets[ids + 1] - starts
        rows = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(lens.sum())
        rows_t = torch.from_numpy(rows).to(self.x.device)
        index = torch.from_numpy(np.repeat(np.arange(len(ids)), lens)).to(self.x.device)
        return SetBatch(self.x[rows_t], self.w[rows_t], index, len(ids))

    def all(self) -> SetBatch:
        return self.subset(np.arange(self.n_sets))

    def to(self, device) -> "PackedSets":
        return PackedSets(self.x.to(device), self.w.to(device), self.offsets, self.n_rows_original)


def _dedup_rows(m: np.ndarray, decimals: int = 6) -> tuple[np.ndarray, np.ndarray]:
    key = np.round(m, decimals)
    uniq, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    # keep the first occurrence's exact values (not the rounded key)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(m))[::-1]
    return m[first], counts.astype(np.float32)


def pack_sets(matrices: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None = None, *,
              dedup: bool = False, dtype=torch.float32) -> PackedSets:
    """Pack a list of (n_i, F) matrices; ``dedup`` merges identical rows of a set into weighted rows."""
    if len(matrices) == 0:
        raise ValueError("pack_sets: no sets given")
    xs, ws, lens = [], [], []
    n_orig = 0
    nf = None
    for i, m in enumerate(matrices):
        m = np.asarray(m, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] == 0:
            raise ValueError(f"pack_sets: set {i} has shape {m.shape}; need (n_sites >= 1, n_features)")
        if nf is None:
            nf = m.shape[1]
        elif m.shape[1] != nf:
            raise ValueError(f"pack_sets: set {i} has {m.shape[1]} features, expected {nf}")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"pack_sets: set {i} has non-finite features")
        n_orig += len(m)
        w = np.ones(len(m), np.float32) if weights is None else np.asarray(weights[i], np.float32)
        if dedup:
            if weights is not None:
                raise ValueError("pack_sets: dedup with explicit weights is not supported")
            m, w = _dedup_rows(m)
        xs.append(m)
        ws.append(w)
        lens.append(len(m))
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    return PackedSets(torch.as_tensor(np.concatenate(xs), dtype=dtype),
                      torch.as_tensor(np.concatenate(ws), dtype=dtype), offsets, n_orig)


# --------------------------------------------------------------------------- segment ops


def segment_sum(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Sum ``values`` (E, A, ...) over sites into (E, n, ...) by ``index`` (A,)."""
    out = values.new_zeros((values.shape[0], n) + tuple(values.shape[2:]))
    return out.index_add_(1, index, values)


def segment_max(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Max of ``values`` (E, A) per segment -> (E, n)."""
    out = values.new_full((values.shape[0], n), -torch.inf)
    idx = index.unsqueeze(0).expand_as(values)
    return out.scatter_reduce(1, idx, values, reduce="amax", include_self=True)


# --------------------------------------------------------------------------- fused set2set kernels
#
# The set2set attention touches every (member, site, feature) element a few times per step; as a
# chain of torch ops (gather, multiply, reduce, scatter) each of those is a full pass over memory,
# which made the readout ~60 % of the training time on a CPU.  Two fused primitives do each in one
# pass (numba on CPU tensors; the same formulas in torch ops elsewhere, e.g. on a GPU):
#
#   segdot(h, q, idx)[e, a]      = sum_k h[e, a, k] * q[e, idx[a], k]
#   segwsum(h, c, idx, G)[e, g]  = sum_{a: idx[a] = g} c[e, a] * h[e, a, :]
#
# and their gradients are each other plus ``rowscale(c, q, idx)[e, a] = c[e, a] * q[e, idx[a]]``.

_NUMBA = None


def _numba_kernels():
    global _NUMBA
    if _NUMBA is None:
        try:
            import numba

            opts = dict(cache=True, nogil=True, fastmath={"contract", "reassoc"})

            @numba.njit(**opts)
            def segdot(h, q, idx, out):
                E, A, H = h.shape
                for e in range(E):
                    for a in range(A):
                        g = idx[a]
                        acc = 0.0
                        for k in range(H):
                            acc += h[e, a, k] * q[e, g, k]
                        out[e, a] = acc

            @numba.njit(**opts)
            def segwsum(h, c, idx, out):
                E, A, H = h.shape
                for e in range(E):
                    for a in range(A):
                        g = idx[a]
                        ca = c[e, a]
                        for k in range(H):
                            out[e, g, k] += ca * h[e, a, k]

            @numba.njit(**opts)
            def rowscale(c, q, idx, out):
                E, A, H = out.shape
                for e in range(E):
                    for a in range(A):
                        g = idx[a]
                        ca = c[e, a]
                        for k in range(H):
                            out[e, a, k] = ca * q[e, g, k]

            @numba.njit(**opts)
            def attn_bwd(h, qt, alpha, grh, rg, idx, gh, gqt, ge):
                E, A, H = h.shape
                for e in range(E):
                    for a in range(A):
                        g = idx[a]
                        d = 0.0
                        for k in range(H):
                            d += h[e, a, k] * grh[e, g, k]
                        al = alpha[e, a]
                        c = al * (d - rg[e, g])
                        ge[e, a] = c
                        for k in range(H):
                            gh[e, a, k] = al * grh[e, g, k] + c * qt[e, g, k]
                            gqt[e, g, k] += c * h[e, a, k]

            _NUMBA = (segdot, segwsum, rowscale, attn_bwd)
        except Exception:  # noqa: BLE001 - numba missing or broken: torch ops
            _NUMBA = False
    return _NUMBA


def _fused_ok(*ts) -> bool:
    return (all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in ts)
            and bool(_numba_kernels()))


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _segdot_raw(h, q, idx):
    if _fused_ok(h, q):
        out = torch.empty(h.shape[:2], dtype=h.dtype)
        _numba_kernels()[0](_np(h), _np(q), _np(idx), out.numpy())
        return out
    return (h * q.index_select(1, idx)).sum(-1)


def _segwsum_raw(h, c, idx, G):
    if _fused_ok(h, c):
        out = torch.zeros((h.shape[0], G, h.shape[2]), dtype=h.dtype)
        _numba_kernels()[1](_np(h), _np(c), _np(idx), out.numpy())
        return out
    return segment_sum(h * c.unsqueeze(-1), idx, G)


def _rowscale_raw(c, q, idx):
    if _fused_ok(c, q):
        out = torch.empty((c.shape[0], c.shape[1], q.shape[2]), dtype=q.dtype)
        _numba_kernels()[2](_np(c), _np(q), _np(idx), out.numpy())
        return out
    return c.unsqueeze(-1) * q.index_select(1, idx)


class _SegDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, q, idx):
        ctx.save_for_backward(h, q, idx)
        return _segdot_raw(h, q, idx)

    @staticmethod
    def backward(ctx, ge):
        h, q, idx = ctx.saved_tensors
        gh = _rowscale_raw(ge, q, idx) if ctx.needs_input_grad[0] else None
        gq = _segwsum_raw(h, ge, idx, q.shape[1]) if ctx.needs_input_grad[1] else None
        return gh, gq, None


class _SegWSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, c, idx, G):
        ctx.save_for_backward(h, c, idx)
        return _segwsum_raw(h, c, idx, G)

    @staticmethod
    def backward(ctx, gr):
        h, c, idx = ctx.saved_tensors
        gh = _rowscale_raw(c, gr, idx) if ctx.needs_input_grad[0] else None
        gc = _segdot_raw(h, gr, idx) if ctx.needs_input_grad[1] else None
        return gh, gc, None, None


class _AttnRead(torch.autograd.Function):
    """One set2set read: ``alpha = softmax_set(h . qt[idx] + s)``, ``rh = sum_set alpha h``.

    The backward pass is one fused sweep over ``h`` (numba on CPU): with ``d_a = h_a . g_g`` and
    ``c_a = alpha_a (d_a - rh_g . g_g)`` (the softmax gradient), ``dh_a = alpha_a g_g + c_a qt_g``,
    ``dqt_g = sum_a c_a h_a`` and ``ds_a = c_a``."""

    @staticmethod
    def forward(ctx, h, qt, s, idx, G):
        with torch.no_grad():
            e = _segdot_raw(h, qt, idx) + s
            e = e - segment_max(e, idx, G).index_select(1, idx)
            a = torch.exp(e)
            alpha = a / segment_sum(a, idx, G).index_select(1, idx)
            rh = _segwsum_raw(h, alpha, idx, G)
        ctx.save_for_backward(h, qt, alpha, rh, idx)
        return rh

    @staticmethod
    def backward(ctx, grh):
        h, qt, alpha, rh, idx = ctx.saved_tensors
        grh = grh.contiguous()
        rg = (rh * grh).sum(-1)                                           # (E, G)
        if _fused_ok(h, qt, grh):
            gh = torch.empty_like(h)
            gqt = torch.zeros_like(qt)
            ge = torch.empty_like(alpha)
            _numba_kernels()[3](_np(h), _np(qt), _np(alpha), _np(grh), _np(rg), _np(idx), gh.numpy(),
                                gqt.numpy(), ge.numpy())
        else:
            ge = alpha * (_segdot_raw(h, grh, idx) - rg.index_select(1, idx))
            gh = _rowscale_raw(alpha, grh, idx) + _rowscale_raw(ge, qt, idx)
            gqt = _segwsum_raw(h, ge, idx, qt.shape[1])
        return gh, gqt, ge, None, None


def attn_read(h: torch.Tensor, qt: torch.Tensor, s: torch.Tensor, idx: torch.Tensor, G: int) -> torch.Tensor:
    """Attention read of set2set over packed sets (differentiable in ``h``, ``qt`` and ``s``):
    ``alpha[e, a] = softmax over the sites a of set idx[a] of (h[e, a] . qt[e, idx[a]] + s[e, a])``,
    returns ``rh[e, g] = sum_{a in g} alpha[e, a] h[e, a]`` (E, G, H)."""
    return _AttnRead.apply(h, qt, s, idx, int(G))


def segdot(h: torch.Tensor, q: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``out[e, a] = h[e, a] . q[e, idx[a]]`` for (E, A, H) ``h`` and (E, G, H) ``q`` (differentiable)."""
    return _SegDot.apply(h, q, idx)


def segwsum(h: torch.Tensor, c: torch.Tensor, idx: torch.Tensor, G: int) -> torch.Tensor:
    """``out[e, g] = sum_{a in g} c[e, a] h[e, a]``: (E, G, H) (differentiable in ``h`` and ``c``)."""
    return _SegWSum.apply(h, c, idx, int(G))


# --------------------------------------------------------------------------- the model


def _glorot(gen: torch.Generator, fan_in: int, fan_out: int) -> torch.Tensor:
    lim = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(fan_in, fan_out, generator=gen, dtype=torch.float64) * 2 - 1) * lim


def _orthogonal(gen: torch.Generator, rows: int, cols: int) -> torch.Tensor:
    a = torch.randn(max(rows, cols), min(rows, cols), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return q if rows >= cols else q.T


def _member_params(cfg: AtomSetsConfig, seed: int) -> dict[str, torch.Tensor]:
    """One member's initial parameters, generated in a fixed order from its own seed."""
    gen = torch.Generator().manual_seed(int(seed))
    p: dict[str, torch.Tensor] = {}
    d = cfg.input_dim
    for j, h in enumerate(cfg.n_neurons):
        p[f"phi{j}.W"] = _glorot(gen, d, h)
        p[f"phi{j}.b"] = torch.zeros(h, dtype=torch.float64)
        d = h
    if cfg.readout == "set2set":
        nh = cfg.set2set_hidden
        p["s2s.Wm"] = _glorot(gen, d, nh)
        p["s2s.bm"] = torch.zeros(nh, dtype=torch.float64)
        p["s2s.Wr"] = _orthogonal(gen, 2 * nh, 4 * nh)
        b = torch.zeros(4 * nh, dtype=torch.float64)
        b[nh:2 * nh] = 1.0  # unit forget bias
        p["s2s.br"] = b
        d = 2 * nh
    elif cfg.readout != "mean":
        raise ValueError(f"unknown readout {cfg.readout!r} (use 'set2set' or 'mean')")
    for j, h in enumerate(cfg.n_neurons_final):
        p[f"rho{j}.W"] = _glorot(gen, d, h)
        p[f"rho{j}.b"] = torch.zeros(h, dtype=torch.float64)
        d = h
    p["out.W"] = _glorot(gen, d, 1)
    p["out.b"] = torch.zeros(1, dtype=torch.float64)
    return p


class AtomSetsEnsemble(torch.nn.Module):
    """``E`` AtomSets classifiers with stacked weights; ``forward`` returns logits (E, n_sets)."""

    def __init__(self, cfg: AtomSetsConfig, seeds: Sequence[int]):
        super().__init__()
        self.cfg = cfg
        self.seeds = [int(s) for s in seeds]
        members = [_member_params(cfg, s) for s in self.seeds]
        self.params = torch.nn.ParameterDict({
            k.replace(".", "__"): torch.nn.Parameter(torch.stack([m[k] for m in members]).float())
            for k in members[0]})

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def P(self, name: str) -> torch.Tensor:
        return self.params[name.replace(".", "__")]

    def _dropout(self, h: torch.Tensor, p: float, gens: Sequence[torch.Generator] | None) -> torch.Tensor:
        """Inverted dropout on (E, ...) activations; member ``i`` draws its mask from ``gens[i]``, so a
        member's masks do not depend on which other members are stacked with it."""
        if not self.training or p <= 0:
            return h
        shape = tuple(h.shape[1:])
        if gens is None:
            keep = torch.rand(h.shape) >= p
        else:
            keep = torch.stack([torch.rand(shape, generator=g) >= p for g in gens])
        return h * keep.to(h.device, h.dtype) * (1.0 / (1.0 - p))

    def forward(self, batch: SetBatch, gens: Sequence[torch.Generator] | None = None) -> torch.Tensor:
        """Logits (E, n_sets).  ``gens``: one dropout generator per member (training only)."""
        cfg = self.cfg
        E = self.n_members
        x = batch.x
        # phi: first layer from the shared (A, F) input as one GEMM over all members' kernels,
        # then batched (E, A, H) @ (E, H, H')
        h = None
        for j in range(len(cfg.n_neurons)):
            W, b = self.P(f"phi{j}.W"), self.P(f"phi{j}.b")
            if h is None:
                h = torch.einsum("af,efo->eao", x, W) + b[:, None, :]
            else:
                h = torch.baddbmm(b[:, None, :], h, W)
            h = self._dropout(torch.relu(h), cfg.dropout_init, gens)
        if h is None:
            h = x.unsqueeze(0).expand(E, -1, -1)
        w = batch.w
        idx, G = batch.index, batch.n_sets
        if cfg.readout == "mean":
            num = segment_sum(h * w[None, :, None], idx, G)
            den = x.new_zeros(G).index_add_(0, idx, w)
            r = num / den[None, :, None]
        else:
            r = self._set2set(h, w, idx, G)
        for j in range(len(cfg.n_neurons_final)):
            r = torch.baddbmm(self.P(f"rho{j}.b")[:, None, :], r, self.P(f"rho{j}.W"))
            r = self._dropout(torch.relu(r), cfg.dropout_final, gens)
        out = torch.baddbmm(self.P("out.b")[:, None, :], r, self.P("out.W"))
        return out[..., 0]

    def _set2set(self, h, w, idx, G):
        """set2set (Vinyals et al.) with memory m = h Wm + bm, evaluated without forming m:

        e_a = m_a . q_g = h_a . (Wm q_g) + bm . q_g   and   r_g = sum_a att_a m_a = (sum_a att_a h_a) Wm + bm

        (attention weights sum to 1 per set), which is the same function as the textbook form but
        needs no (E, n_sites, n_hidden) matmul, and all per-site work happens on ``h``."""
        nh = self.cfg.set2set_hidden
        E = h.shape[0]
        Wm, bm = self.P("s2s.Wm"), self.P("s2s.bm")                                 # (E, H, nh), (E, nh)
        WmT = Wm.transpose(1, 2)
        Wr, br = self.P("s2s.Wr"), self.P("s2s.br")
        q_star = h.new_zeros(E, G, 2 * nh)
        c = h.new_zeros(E, G, nh)
        logw = torch.log(w)[None, :]
        for _ in range(self.cfg.set2set_steps):
            z = torch.baddbmm(br[:, None, :], q_star, Wr)
            i, f, g, o = z.split(nh, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            q = torch.sigmoid(o) * torch.tanh(c)                                    # (E, G, nh)
            qt = torch.bmm(q, WmT)                                                   # (E, G, H)
            qb = (q * bm[:, None, :]).sum(-1)                                        # (E, G)
            rh = attn_read(h, qt, qb.index_select(1, idx) + logw, idx, G)            # (E, G, H)
            r = torch.baddbmm(bm[:, None, :], rh, Wm)                                # (E, G, nh)
            q_star = torch.cat([q, r], dim=-1)
        return q_star

    def l2_penalty(self) -> torch.Tensor:
        """Per-member L2 terms (E,): keras ``L2(l)`` = l * sum(W**2) on the dense kernels."""
        cfg = self.cfg
        tot = torch.zeros(self.n_members, device=self.P("out.W").device)
        if cfg.l2_init > 0:
            for j in range(len(cfg.n_neurons)):
                tot = tot + cfg.l2_init * self.P(f"phi{j}.W").pow(2).sum((1, 2))
        if cfg.l2_final > 0:
            for j in range(len(cfg.n_neurons_final)):
                tot = tot + cfg.l2_final * self.P(f"rho{j}.W").pow(2).sum((1, 2))
        return tot

    @torch.inference_mode()
    def predict_proba(self, packed: PackedSets, batch_size: int = 512, max_elements: int = 1 << 18) -> np.ndarray:
        """P(superionic) of every set for every member: (E, n_sets) numpy array.

        Batches hold at most ``batch_size`` sets and about ``max_elements`` (member x site-row) pairs,
        so that a large ensemble's activations stay in the CPU cache."""
        was = self.training
        self.eval()
        dev = self.P("out.W").device
        row_budget = max(1, int(max_elements) // max(1, self.n_members))
        starts = packed.offsets[:-1]
        outs = []
        s = 0
        while s < packed.n_sets:
            # the largest e <= s + batch_size whose sets fit the row budget (at least one set)
            hi = min(s + batch_size, packed.n_sets)
            e = int(np.searchsorted(packed.offsets, starts[s] + row_budget, side="right")) - 1
            e = max(s + 1, min(hi, e))
            outs.append(torch.sigmoid(self(packed.subset(np.arange(s, e)).to(dev))).cpu())
            s = e
        self.train(was)
        return torch.cat(outs, dim=1).numpy().astype(np.float64)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / "weights.pt.tmp"
        torch.save({k: v.detach().cpu() for k, v in self.params.items()}, tmp)
        tmp.replace(path / "weights.pt")
        atomic_write_json(path / "config.json", {"config": self.cfg.to_json(), "seeds": self.seeds,
                                                 "extra": extra or {}})
        return path

    @classmethod
    def load(cls, path: str | Path, device=None) -> "AtomSetsEnsemble":
        path = Path(path)
        cfg_file, w_file = path / "config.json", path / "weights.pt"
        if not cfg_file.exists() or not w_file.exists():
            raise FileNotFoundError(f"{path}: not a saved AtomSets ensemble (needs config.json and weights.pt)")
        meta = json.loads(cfg_file.read_text())
        model = cls(AtomSetsConfig.from_json(meta["config"]), meta["seeds"])
        state = torch.load(w_file, weights_only=True, map_location="cpu")
        with torch.no_grad():
            for k, v in state.items():
                model.params[k].copy_(v)
        model.extra = meta.get("extra", {})
        if device is not None:
            model.to(device)
        return model


# --------------------------------------------------------------------------- optimizers


class StackedOptimizer:
    """Adam, or LAMB (trust ratio per member and layer) wrapped in Lookahead (k=6, alpha=0.5).

    All state is elementwise or reduced per member, so stacked members never interact.
    Defaults follow tensorflow-addons (LAMB eps 1e-6, weight decay 0; Lookahead sync 6, 0.5).
    """

    def __init__(self, params: Sequence[torch.nn.Parameter], kind: str = "lamb_lookahead",
                 betas=(0.9, 0.999), eps: float | None = None, lookahead_k: int = 6,
                 lookahead_alpha: float = 0.5):
        if kind not in ("adam", "lamb", "lamb_lookahead"):
            raise ValueError(f"unknown optimizer {kind!r}")
        self.params = list(params)
        self.kind = kind
        self.b1, self.b2 = betas
        self.eps = eps if eps is not None else (1e-6 if kind.startswith("lamb") else 1e-8)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0
        self.lookahead = kind == "lamb_lookahead"
        self.k, self.alpha = lookahead_k, lookahead_alpha
        self.slow = [p.detach().clone() for p in self.params] if self.lookahead else None

    @torch.no_grad()
    def step(self, lr: float) -> None:
        """One update of all stacked parameters with multi-tensor (``torch._foreach_*``) kernels."""
        self.t += 1
        bc1 = 1 - self.b1 ** self.t
        bc2 = 1 - self.b2 ** self.t
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        ps = [self.params[i] for i in live]
        gs = [p.grad for p in ps]
        ms = [self.m[i] for i in live]
        vs = [self.v[i] for i in live]
        torch._foreach_lerp_(ms, gs, 1 - self.b1)                  # m = b1 m + (1 - b1) g
        torch._foreach_mul_(vs, self.b2)
        torch._foreach_addcmul_(vs, gs, gs, value=1 - self.b2)      # v = b2 v + (1 - b2) g^2
        den = torch._foreach_sqrt(torch._foreach_div(vs, bc2))
        torch._foreach_add_(den, self.eps)
        u = torch._foreach_div(torch._foreach_div(ms, bc1), den)    # bias-corrected Adam direction
        if self.kind == "adam":
            torch._foreach_add_(ps, u, alpha=-lr)
        else:
            # LAMB: trust ratio ||w|| / ||u|| per member and per layer
            scale = []
            for p, ui in zip(ps, u):
                shp = (p.shape[0],) + (1,) * (p.ndim - 1)
                wn = torch.linalg.vector_norm(p.reshape(p.shape[0], -1), dim=1).reshape(shp)
                un = torch.linalg.vector_norm(ui.reshape(ui.shape[0], -1), dim=1).reshape(shp)
                scale.append(torch.where((wn > 0) & (un > 0), wn / un, torch.ones_like(wn)) * -lr)
            torch._foreach_mul_(u, scale)
            torch._foreach_add_(ps, u)
        if self.lookahead and self.t % self.k == 0:
            torch._foreach_lerp_(self.slow, self.params, self.alpha)  # slow += alpha (fast - slow)
            torch._foreach_copy_(self.params, self.slow)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def triangular2_lr(step: int, init_lr: float, max_lr: float | None, step_size: int) -> float:
    """Triangular-2 cyclical learning rate (amplitude halves every cycle); constant if ``max_lr`` is None."""
    if max_lr is None:
        return init_lr
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    return init_lr + (max_lr - init_lr) * max(0.0, 1 - x) / (2 ** (cycle - 1))


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    model: AtomSetsEnsemble
    history: list[dict] = field(default_factory=list)   # per evaluated epoch: epoch, loss, (val probs)
    val_proba: list[np.ndarray] = field(default_factory=list)  # (E, n_val) per evaluated epoch


def _member_generators(seeds: Sequence[int], data_seed: int) -> list[torch.Generator]:
    """One dropout generator per member, from (data_seed, member seed) only."""
    return [torch.Generator().manual_seed(int(data_seed) * 1_000_003 + 7919 + int(s)) for s in seeds]


def _packed_arrays(p: PackedSets | None) -> dict | None:
    if p is None:
        return None
    return {"x": p.x.detach().cpu().numpy(), "w": p.w.detach().cpu().numpy(), "offsets": p.offsets,
            "n_rows_original": int(p.n_rows_original)}


def _packed_from_arrays(d: dict | None) -> PackedSets | None:
    if d is None:
        return None
    return PackedSets(torch.from_numpy(d["x"]), torch.from_numpy(d["w"]), d["offsets"], d["n_rows_original"])


def _train_block_job(item: dict) -> dict:
    """Worker of :func:`train_ensemble` with ``n_jobs > 1``: one block of members on one CPU thread."""
    torch.set_num_threads(1)
    res = train_ensemble(AtomSetsConfig.from_json(item["cfg"]), _packed_from_arrays(item["train"]), item["y"],
                         seeds=item["seeds"], data_seed=item["data_seed"], val=_packed_from_arrays(item["val"]),
                         eval_every=item["eval_every"], device="cpu",
                         init_state={k: torch.from_numpy(v) for k, v in item["init_state"].items()}
                         if item["init_state"] else None)
    return {"params": {k: v.detach().cpu().numpy() for k, v in res.model.params.items()},
            "history": res.history, "val_proba": res.val_proba}


class _torch_threads:
    """Context manager: ``torch.set_num_threads(n)`` inside, the previous value restored after."""

    def __init__(self, n: int | None):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        if self.n:
            torch.set_num_threads(int(self.n))

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


def train_ensemble(cfg: AtomSetsConfig, train: PackedSets, y_train: np.ndarray, *, seeds: Sequence[int],
                   data_seed: int = 0, val: PackedSets | None = None, eval_every: int = 10,
                   device=None, init_state: dict | None = None, callback=None,
                   member_chunk: int | None = None, n_jobs: int | None = 1,
                   cpu_threads: int | None = 1) -> TrainResult:
    """Train ``len(seeds)`` members at once; optionally record validation probabilities every ``eval_every`` epochs.

    A member is a function of its own seed (initial weights, dropout masks) and ``data_seed``
    (minibatch order) only, so it comes out the same whether it is trained alone, stacked with
    others, or in a block (tested).  ``init_state`` (tensor dict from a saved model, e.g.
    pre-training; (E, ...) or (1, ...) tensors) replaces the seeded initialisation of the layers
    that match in shape, except the output layer.  ``callback(epoch, val_proba)`` is called at every
    evaluation (e.g. to report to Ray Tune, which may stop the trial).

    ``member_chunk``: train blocks of that many stacked members, one after another or, with
    ``n_jobs`` > 1 (None: all cores) on a CPU, in parallel worker processes of one thread each.
    Stacks of a few members keep the per-site activations in the CPU cache, which is the fastest
    layout on a CPU (``benchmarks/bench_atomsets.py``).

    ``cpu_threads``: torch threads while training on a CPU (default 1: the many small batched
    products scale poorly over threads and stall badly when another job holds a core; parallelism
    comes from ``n_jobs`` processes instead).  None leaves torch's setting alone.
    """
    from .device import torch_device

    dev0 = torch.device(device) if device is not None else torch_device()
    if dev0.type == "cpu" and cpu_threads and torch.get_num_threads() != int(cpu_threads):
        with _torch_threads(cpu_threads):
            return train_ensemble(cfg, train, y_train, seeds=seeds, data_seed=data_seed, val=val,
                                  eval_every=eval_every, device=device, init_state=init_state, callback=callback,
                                  member_chunk=member_chunk, n_jobs=n_jobs, cpu_threads=cpu_threads)
    seeds = [int(x) for x in seeds]
    if member_chunk and len(seeds) > member_chunk and callback is None:
        blocks = [seeds[i:i + member_chunk] for i in range(0, len(seeds), member_chunk)]
        dev = torch.device(device) if device is not None else torch_device()
        if n_jobs != 1 and dev.type == "cpu":
            from .parallel import parallel_map

            y_np = np.asarray(y_train, dtype=np.float32)
            init_np = {k: v.detach().cpu().numpy() for k, v in init_state.items()} if init_state else None
            items = [{"cfg": cfg.to_json(), "train": _packed_arrays(train), "y": y_np, "seeds": b,
                      "data_seed": int(data_seed), "val": _packed_arrays(val), "eval_every": eval_every,
                      "init_state": init_np} for b in blocks]
            outs = parallel_map(_train_block_job, items, n_jobs=n_jobs, chunksize=1, progress=False)
            bad = [o.error for o in outs if not o.ok]
            if bad:
                raise RuntimeError(f"train_ensemble: a block of members failed: {bad[0]}")
            parts = [(o.value["params"], o.value["history"], o.value["val_proba"]) for o in outs]
        else:
            parts = []
            for b in blocks:
                r = train_ensemble(cfg, train, y_train, seeds=b, data_seed=data_seed, val=val,
                                   eval_every=eval_every, device=device, init_state=init_state)
                parts.append(({k: v.detach().cpu() for k, v in r.model.params.items()}, r.history, r.val_proba))
        model = AtomSetsEnsemble(cfg, seeds)
        with torch.no_grad():
            for k in model.params:
                model.params[k].copy_(torch.cat([torch.as_tensor(p[k]) for p, _, _ in parts]))
        model.to(dev)
        model.eval()
        sizes = np.array([len(b) for b in blocks], float)
        history = [dict(rec, train_loss=float(np.dot(sizes, [h[i]["train_loss"] for _, h, _ in parts]) / sizes.sum()))
                   for i, rec in enumerate(parts[0][1])]
        val_proba = [np.concatenate([vp[j] for _, _, vp in parts]) for j in range(len(parts[0][2]))]
        return TrainResult(model, history, val_proba)
    device = device or torch_device()
    y_train = np.asarray(y_train, dtype=np.float32)
    if len(y_train) != train.n_sets:
        raise ValueError(f"train_ensemble: {train.n_sets} sets but {len(y_train)} labels")
    model = AtomSetsEnsemble(cfg, seeds)
    if init_state:
        with torch.no_grad():
            for k, v in init_state.items():
                if k not in model.params or k.startswith("out"):
                    continue
                tgt = model.params[k]
                v = torch.as_tensor(v)
                if v.shape == tgt.shape:
                    tgt.copy_(v)
                elif v.shape[1:] == tgt.shape[1:] and v.shape[0] == 1:   # one pre-trained member for all
                    tgt.copy_(v.expand_as(tgt))
    model.to(device)
    opt = StackedOptimizer(model.parameters(), cfg.optimizer)
    rng = np.random.default_rng(int(data_seed))
    gens = _member_generators(seeds, data_seed) if (cfg.dropout_init > 0 or cfg.dropout_final > 0) else None
    y_t = torch.as_tensor(y_train, device=device)
    n = train.n_sets
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    step_size = max(1, steps_per_epoch * cfg.cycle_epochs)
    res = TrainResult(model)
    train_dev = train.to(device)
    val_dev = val.to(device) if val is not None else None
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = rng.permutation(n)
        tot = torch.zeros((), device=device)
        for s in range(0, n, cfg.batch_size):
            ids = order[s:s + cfg.batch_size]
            batch = train_dev.subset(ids)
            logits = model(batch, gens)
            yb = y_t[torch.as_tensor(ids, device=device)].expand_as(logits)
            bce = F.binary_cross_entropy_with_logits(logits, yb, reduction="none").mean(1)
            loss = (bce + model.l2_penalty()).sum()
            opt.zero_grad()
            loss.backward()
            opt.step(triangular2_lr(step, cfg.init_lr, cfg.max_lr, step_size))
            step += 1
            tot += bce.detach().mean() * len(ids)
        rec = {"epoch": epoch, "train_loss": float(tot) / n}
        if val_dev is not None and (epoch % eval_every == 0 or epoch == cfg.epochs):
            res.val_proba.append(model.predict_proba(val_dev))
            rec["evaluated"] = True
            if callback is not None:
                callback(epoch, res.val_proba[-1])
        res.history.append(rec)
    model.eval()
    return res


def pretrain(cfg: AtomSetsConfig, matrices: Sequence[np.ndarray], labels: Sequence, *, seeds: Sequence[int],
             data_seed: int = 0, epochs: int | None = None, val_fraction: float = 0.1, device=None,
             member_chunk: int | None = None, n_jobs: int | None = 1) -> tuple[dict[str, torch.Tensor], dict]:
    """Pre-train one member per seed on a substitute binary task (e.g. MP compounds labelled by a
    MEGNet band gap); returns ``(state, info)``: the stacked weights, to be passed to
    ``train_ensemble(init_state=state)`` with as many seeds (member ``i`` starts from pre-trained
    member ``i``), and ``info`` with the sizes, the positive fraction and the AUC-PR / MCC of the
    ensemble mean on a held-out ``val_fraction`` of the pre-training sets (seeded split)."""
    from dataclasses import replace

    from .validation import classification_metrics

    labels = np.asarray(labels).astype(np.float32)
    if len(labels) != len(matrices):
        raise ValueError(f"pretrain: {len(matrices)} sets but {len(labels)} labels")
    if labels.min() == labels.max():
        raise ValueError("pretrain: the labels have one class only")
    rng = np.random.default_rng(int(data_seed))
    perm = rng.permutation(len(matrices))
    n_val = int(round(val_fraction * len(matrices)))
    va, tr = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    c = replace(cfg, epochs=int(epochs or cfg.epochs))
    res = train_ensemble(c, pack_sets([matrices[i] for i in tr], dedup=True), labels[tr], seeds=seeds,
                         data_seed=data_seed, device=device, member_chunk=member_chunk, n_jobs=n_jobs)
    info = {"n_train": int(len(tr)), "n_val": int(len(va)), "positive_fraction": float(labels.mean()),
            "epochs": c.epochs, "final_train_loss": res.history[-1]["train_loss"]}
    if n_val and 0 < labels[va].sum() < n_val:
        p = res.model.predict_proba(pack_sets([matrices[i] for i in va], dedup=True)).mean(0)
        m = classification_metrics(labels[va], p)
        info.update({"val_auc_pr": m["auc_pr"], "val_mcc": m["mcc"], "val_positive_fraction": float(labels[va].mean())})
    state = {k: v.detach().cpu().clone() for k, v in res.model.params.items()}
    return state, info


# --------------------------------------------------------------------------- pipeline helpers


def _simplify_job(item):
    from .simplify import simplify

    structure, mode = item
    return simplify(structure, mode)


def v0_embedding() -> np.ndarray:
    """The (95, 16) elemental embedding table of the MEGNet formation-energy model (row = Z)."""
    from . import megnet

    m = megnet.load_model("formation_energy", device="cpu")
    return m._w[m.embedding_layer]["embeddings"].detach().cpu().numpy().astype(np.float64)


def v0_matrix(structure, table: np.ndarray | None = None) -> np.ndarray:
    """V0 of one structure without building a graph: per site, sum_i x_i * W[Z_i] (the convention of
    :mod:`matmap_utils.megnet`; equal to its layer-0 output, tested)."""
    from .megnet import MEGNetGraphError

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
    from .simplify import simplify

    structure, mode, table = item
    return v0_matrix(simplify(structure, mode), table)


def featurize(structures, modes: Sequence[str] = ("CAMN",), layers: Sequence[int] = (0, 1, 2, 3), *,
              n_jobs: int | None = None, cache: bool = True, progress: bool = False):
    """MEGNet site features of simplified structures.

    ``structures``: a Series (index = ids) of pymatgen structures.  Returns ``(features, failures)``:
    ``features[(mode, layer)]`` is a dict id -> (n_sites, d) float32 matrix; ``failures`` a frame
    (id, mode, reason) of structures that could not be simplified or featurized (left out).
    MEGNet results are cached by :func:`matmap_utils.megnet.pool_compute` (content hash).
    """
    import pandas as pd

    from . import megnet
    from .parallel import parallel_map

    ids = list(structures.index)
    feats: dict = {}
    fails = []
    if list(layers) == [0]:  # V0 only: no graph needed (seconds for the whole MP pool)
        table = v0_embedding()
        for mode in modes:
            outs = parallel_map(_v0_job, [(s, mode, table) for s in structures.values], keys=[str(i) for i in ids],
                                n_jobs=n_jobs, progress=progress)
            feats[(mode, 0)] = {i: o.value for i, o in zip(ids, outs) if o.ok}
            fails += [{"id": i, "mode": mode, "reason": str(o.error)} for i, o in zip(ids, outs) if not o.ok]
        return feats, pd.DataFrame(fails, columns=["id", "mode", "reason"])
    for mode in modes:
        items = [(s, mode) for s in structures.values]
        outs = parallel_map(_simplify_job, items, keys=[f"{i}" for i in ids], n_jobs=n_jobs, progress=False)
        ok_ids = [i for i, o in zip(ids, outs) if o.ok]
        fails += [{"id": i, "mode": mode, "reason": str(o.error)} for i, o in zip(ids, outs) if not o.ok]
        series = pd.Series([o.value for o in outs if o.ok], index=ok_ids, dtype=object)
        _, sf, f2 = megnet.pool_compute(series, layers=tuple(layers), predictions=False, cache=cache,
                                        n_jobs=n_jobs, progress=progress)
        fails += [{"id": r["id"], "mode": mode, "reason": r["reason"]} for _, r in f2.iterrows()]
        for layer in layers:
            feats[(mode, int(layer))] = {k: sf.matrix(k, int(layer)) for k in sf.ids}
    return feats, pd.DataFrame(fails, columns=["id", "mode", "reason"])


def set_vectors(matrices: Sequence[np.ndarray]) -> np.ndarray:
    """One vector per structure: the mean of its site features (the space of the training distance)."""
    return np.stack([np.asarray(m, dtype=np.float64).mean(0) for m in matrices])


def pca_distance(train_vecs: np.ndarray, query_vecs: np.ndarray, *, var_floor: float = 1e-8,
                 chunk: int = 4096) -> np.ndarray:
    """Distance of each query to its nearest training vector in PCA-whitened coordinates.

    PCA is fit on the training vectors; each component is divided by its standard deviation, so
    the distance is normalized by the training data variance (McHaffie et al., after Jha et al.).
    """
    from sklearn.decomposition import PCA

    pca = PCA(whiten=True)
    t = pca.fit_transform(train_vecs)
    keep = pca.explained_variance_ > var_floor * pca.explained_variance_.max()
    t = t[:, keep]
    out = np.empty(len(query_vecs))
    for s in range(0, len(query_vecs), chunk):
        q = pca.transform(query_vecs[s:s + chunk])[:, keep]
        d2 = (q ** 2).sum(1)[:, None] + (t ** 2).sum(1)[None, :] - 2 * q @ t.T
        out[s:s + chunk] = np.sqrt(np.clip(d2.min(1), 0, None))
    return out


def composition_matrix(formulas: Sequence, elements: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Atomic-fraction matrix (n, n_elements) of formulas / Compositions."""
    from pymatgen.core import Composition

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


def novelty_mask(train_formulas: Sequence, query_formulas: Sequence, tol: float = 0.05,
                 chunk: int = 2048) -> np.ndarray:
    """True where a query composition is *novel*: no training composition has every element's
    atomic fraction within ``tol`` (absolute) of the query's (elements absent count as 0)."""
    tr, els = composition_matrix(train_formulas)
    q, _ = composition_matrix(query_formulas, els)
    # a query with an element unknown to the training set is novel
    novel = np.isnan(q).any(1)
    qq = np.nan_to_num(q)
    close_any = np.zeros(len(q), dtype=bool)
    for s in range(0, len(q), chunk):
        d = np.abs(qq[s:s + chunk, None, :] - tr[None, :, :]).max(-1)
        close_any[s:s + chunk] = (d <= tol + 1e-12).any(1)
    return novel | ~close_any


# --------------------------------------------------------------------------- the screening model on disk


def default_model_dir() -> Path:
    """Where notebook 06 saves the final ensemble and ``matmap screen`` looks for it:
    ``$MATMAP_CACHE/compute/atomsets/screening_ensemble`` (weights, config, training vectors)."""
    from .paths import compute_cache_dir

    return compute_cache_dir("atomsets") / "screening_ensemble"


def save_screening_model(model: AtomSetsEnsemble, path: str | Path, *, mode: str, layer: int,
                         train_vectors: np.ndarray, train_formulas: Sequence[str], extra: dict | None = None) -> Path:
    """Save the ensemble plus what screening needs: simplification, feature layer, training vectors."""
    from .cache import atomic_write_npz

    path = Path(path)
    model.save(path, extra={"mode": mode, "layer": int(layer), **(extra or {})})
    atomic_write_npz(path / "train_vectors.npz", vectors=np.asarray(train_vectors, np.float64),
                     formulas=np.asarray([str(f) for f in train_formulas]))
    return path


def load_screening_model(path: str | Path | None = None):
    """``(model, mode, layer, train_vectors, train_formulas)`` saved by :func:`save_screening_model`."""
    from .cache import load_npz

    path = Path(path) if path is not None else default_model_dir()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: no saved screening ensemble; run notebook 06_atomsets_screening "
                                "(`matmap run notebooks/06_atomsets_screening.py`) or pass --model")
    model = AtomSetsEnsemble.load(path)
    tv = load_npz(path / "train_vectors.npz")
    return model, model.extra["mode"], int(model.extra["layer"]), tv["vectors"], [str(f) for f in tv["formulas"]]


def screen_sets(model: AtomSetsEnsemble, matrices: Sequence[np.ndarray], train_vectors: np.ndarray,
                batch_size: int = 1024) -> dict[str, np.ndarray]:
    """P_SI mean and std over the ensemble, and the PCA-normalized distance to the training data."""
    out_mean, out_std = [], []
    for s in range(0, len(matrices), batch_size * 8):
        chunk = matrices[s:s + batch_size * 8]
        p = model.predict_proba(pack_sets(chunk, dedup=True), batch_size=batch_size)
        out_mean.append(p.mean(0))
        out_std.append(p.std(0))
    dist = pca_distance(train_vectors, set_vectors(matrices))
    return {"p_si": np.concatenate(out_mean), "p_si_std": np.concatenate(out_std), "d_train": dist}
