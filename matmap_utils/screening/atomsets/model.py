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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from matmap_utils.core.cache import atomic_write_json
from matmap_utils.screening.atomsets.kernels import attn_read, segment_sum


@dataclass
class AtomSetsConfig:
    """Architecture and training settings (defaults: maml's AtomSets; see the notebook for paper values)."""

    input_dim: int
    n_neurons: tuple[int, ...] = (64, 64)  # per-site layers (phi)
    n_neurons_final: tuple[int, ...] = (64, 64)  # after the readout (rho)
    readout: str = "set2set"  # "set2set" | "mean"
    set2set_steps: int = 3  # maml: T = 3
    set2set_hidden: int = 64  # maml default 512 (see notebook: cost)
    dropout_init: float = 0.0
    dropout_final: float = 0.0
    l2_init: float = 0.0  # keras L2: l * sum(W**2) added to the loss
    l2_final: float = 0.0
    optimizer: str = "lamb_lookahead"  # "lamb_lookahead" (paper) | "adam"
    init_lr: float = 1e-3
    max_lr: float | None = None  # None: constant lr; else triangular2 cycles
    cycle_epochs: int = 10  # half-cycle length in epochs (paper: 10)
    epochs: int = 200
    batch_size: int = 64

    def to_json(self) -> dict:
        d = asdict(self)
        d["n_neurons"] = list(self.n_neurons)
        d["n_neurons_final"] = list(self.n_neurons_final)
        return d

    @classmethod
    def from_json(cls, d: dict) -> AtomSetsConfig:
        d = dict(d)
        d["n_neurons"] = tuple(d["n_neurons"])
        d["n_neurons_final"] = tuple(d["n_neurons_final"])
        return cls(**d)


@dataclass
class SetBatch:
    """Packed variable-size sets: ``x`` (n_sites, F), ``w`` (n_sites,), ``index`` (n_sites,) -> set id."""

    x: torch.Tensor
    w: torch.Tensor
    index: torch.Tensor
    n_sets: int

    def to(self, device) -> SetBatch:
        return SetBatch(self.x.to(device), self.w.to(device), self.index.to(device), self.n_sets)


@dataclass
class PackedSets:
    """All sets of a data set, packed once; ``subset(ids)`` gathers a minibatch without copying loops."""

    x: torch.Tensor
    w: torch.Tensor
    offsets: np.ndarray  # (n_sets + 1,)
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

    def to(self, device) -> PackedSets:
        return PackedSets(self.x.to(device), self.w.to(device), self.offsets, self.n_rows_original)


def _dedup_rows(m: np.ndarray, decimals: int = 6) -> tuple[np.ndarray, np.ndarray]:
    key = np.round(m, decimals)
    uniq, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    # keep the first occurrence's exact values (not the rounded key)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(m))[::-1]
    return m[first], counts.astype(np.float32)


def pack_sets(
    matrices: Sequence[np.ndarray],
    weights: Sequence[np.ndarray] | None = None,
    *,
    dedup: bool = False,
    dtype=torch.float32,
) -> PackedSets:
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
    return PackedSets(
        torch.as_tensor(np.concatenate(xs), dtype=dtype),
        torch.as_tensor(np.concatenate(ws), dtype=dtype),
        offsets,
        n_orig,
    )


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
        b[nh : 2 * nh] = 1.0  # unit forget bias
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
        self.params = torch.nn.ParameterDict(
            {k.replace(".", "__"): torch.nn.Parameter(torch.stack([m[k] for m in members]).float()) for k in members[0]}
        )

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
        Wm, bm = self.P("s2s.Wm"), self.P("s2s.bm")  # (E, H, nh), (E, nh)
        WmT = Wm.transpose(1, 2)
        Wr, br = self.P("s2s.Wr"), self.P("s2s.br")
        q_star = h.new_zeros(E, G, 2 * nh)
        c = h.new_zeros(E, G, nh)
        logw = torch.log(w)[None, :]
        for _ in range(self.cfg.set2set_steps):
            z = torch.baddbmm(br[:, None, :], q_star, Wr)
            i, f, g, o = z.split(nh, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            q = torch.sigmoid(o) * torch.tanh(c)  # (E, G, nh)
            qt = torch.bmm(q, WmT)  # (E, G, H)
            qb = (q * bm[:, None, :]).sum(-1)  # (E, G)
            rh = attn_read(h, qt, qb.index_select(1, idx) + logw, idx, G)  # (E, G, H)
            r = torch.baddbmm(bm[:, None, :], rh, Wm)  # (E, G, nh)
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
        atomic_write_json(
            path / "config.json", {"config": self.cfg.to_json(), "seeds": self.seeds, "extra": extra or {}}
        )
        return path

    @classmethod
    def load(cls, path: str | Path, device=None) -> AtomSetsEnsemble:
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
