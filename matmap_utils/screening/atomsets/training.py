"""Training AtomSets ensembles: stacked members, the triangular2 learning-rate schedule, pre-training (McHaffie et al. 2025, Sec. 2.4)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from matmap_utils.core.parallel import parallel_map
from matmap_utils.core.runtime import torch_device, torch_threads
from matmap_utils.screening.atomsets.model import AtomSetsConfig, AtomSetsEnsemble, PackedSets, pack_sets
from matmap_utils.screening.metrics import classification_metrics


class StackedOptimizer:
    """Adam, or LAMB (trust ratio per member and layer) wrapped in Lookahead (k=6, alpha=0.5).

    All state is elementwise or reduced per member, so stacked members never interact.
    Defaults follow tensorflow-addons (LAMB eps 1e-6, weight decay 0; Lookahead sync 6, 0.5).
    """

    def __init__(
        self,
        params: Sequence[torch.nn.Parameter],
        kind: str = "lamb_lookahead",
        betas=(0.9, 0.999),
        eps: float | None = None,
        lookahead_k: int = 6,
        lookahead_alpha: float = 0.5,
    ):
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
        bc1 = 1 - self.b1**self.t
        bc2 = 1 - self.b2**self.t
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        ps = [self.params[i] for i in live]
        gs = [p.grad for p in ps]
        ms = [self.m[i] for i in live]
        vs = [self.v[i] for i in live]
        torch._foreach_lerp_(ms, gs, 1 - self.b1)  # m = b1 m + (1 - b1) g
        torch._foreach_mul_(vs, self.b2)
        torch._foreach_addcmul_(vs, gs, gs, value=1 - self.b2)  # v = b2 v + (1 - b2) g^2
        den = torch._foreach_sqrt(torch._foreach_div(vs, bc2))
        torch._foreach_add_(den, self.eps)
        u = torch._foreach_div(torch._foreach_div(ms, bc1), den)  # bias-corrected Adam direction
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


@dataclass
class TrainResult:
    model: AtomSetsEnsemble
    history: list[dict] = field(default_factory=list)  # per evaluated epoch: epoch, loss, (val probs)
    val_proba: list[np.ndarray] = field(default_factory=list)  # (E, n_val) per evaluated epoch


@dataclass
class TrainTask:
    """What every block of an ensemble is trained on: configuration, training sets and labels,
    minibatch-order seed, optional validation sets (probabilities every ``eval_every`` epochs)
    and optional initial weights (``init_state``, see :func:`train_ensemble`)."""

    cfg: AtomSetsConfig
    train: PackedSets
    y_train: np.ndarray
    data_seed: int = 0
    val: PackedSets | None = None
    eval_every: int = 10
    init_state: dict | None = None


def _member_generators(seeds: Sequence[int], data_seed: int) -> list[torch.Generator]:
    """One dropout generator per member, from (data_seed, member seed) only."""
    return [torch.Generator().manual_seed(int(data_seed) * 1_000_003 + 7919 + int(s)) for s in seeds]


def _packed_arrays(p: PackedSets | None) -> dict | None:
    if p is None:
        return None
    return {
        "x": p.x.detach().cpu().numpy(),
        "w": p.w.detach().cpu().numpy(),
        "offsets": p.offsets,
        "n_rows_original": int(p.n_rows_original),
    }


def _packed_from_arrays(d: dict | None) -> PackedSets | None:
    if d is None:
        return None
    return PackedSets(torch.from_numpy(d["x"]), torch.from_numpy(d["w"]), d["offsets"], d["n_rows_original"])


def member_blocks(seeds: Sequence[int], member_chunk: int | None, callback=None) -> list[list[int]]:
    """The seeds split into blocks of ``member_chunk`` stacked members (the last one shorter); one
    block of all seeds when ``member_chunk`` is unset or not smaller, or when a ``callback`` must
    see every member at each evaluation."""
    seeds = [int(s) for s in seeds]
    if member_chunk and len(seeds) > member_chunk and callback is None:
        return [seeds[i : i + member_chunk] for i in range(0, len(seeds), member_chunk)]
    return [seeds]


def _apply_init_state(model: AtomSetsEnsemble, init_state: dict) -> None:
    """Copy the layers of ``init_state`` that match in shape into ``model`` (not the output layer);
    (1, ...) tensors (one pre-trained member) are broadcast to every member."""
    with torch.no_grad():
        for k, v in init_state.items():
            if k not in model.params or k.startswith("out"):
                continue
            tgt = model.params[k]
            v = torch.as_tensor(v)
            if v.shape == tgt.shape:
                tgt.copy_(v)
            elif v.shape[1:] == tgt.shape[1:] and v.shape[0] == 1:  # one pre-trained member for all
                tgt.copy_(v.expand_as(tgt))


def train_block(task: TrainTask, seeds: Sequence[int], device, callback=None) -> TrainResult:
    """Train one stack of ``len(seeds)`` members together (minibatch BCE + L2, StackedOptimizer,
    triangular-2 learning rate; McHaffie et al. 2025, Sec. 2.4), on ``device`` with the current
    torch threads.  Per epoch ``history`` holds the mean training BCE; with ``task.val`` the
    validation probabilities (members × sets) are kept every ``eval_every`` epochs and at the last,
    and ``callback(epoch, val_proba)`` sees them."""
    cfg, train, seeds = task.cfg, task.train, [int(s) for s in seeds]
    y_train = np.asarray(task.y_train, dtype=np.float32)
    if len(y_train) != train.n_sets:
        raise ValueError(f"train_ensemble: {train.n_sets} sets but {len(y_train)} labels")
    model = AtomSetsEnsemble(cfg, seeds)
    if task.init_state:
        _apply_init_state(model, task.init_state)
    model.to(device)
    opt = StackedOptimizer(model.parameters(), cfg.optimizer)
    rng = np.random.default_rng(int(task.data_seed))
    gens = _member_generators(seeds, task.data_seed) if (cfg.dropout_init > 0 or cfg.dropout_final > 0) else None
    y_t = torch.as_tensor(y_train, device=device)
    n = train.n_sets
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    step_size = max(1, steps_per_epoch * cfg.cycle_epochs)
    res = TrainResult(model)
    train_dev = train.to(device)
    val_dev = task.val.to(device) if task.val is not None else None
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = rng.permutation(n)
        tot = torch.zeros((), device=device)
        for s in range(0, n, cfg.batch_size):
            ids = order[s : s + cfg.batch_size]
            logits = model(train_dev.subset(ids), gens)
            yb = y_t[torch.as_tensor(ids, device=device)].expand_as(logits)
            bce = F.binary_cross_entropy_with_logits(logits, yb, reduction="none").mean(1)
            loss = (bce + model.l2_penalty()).sum()
            opt.zero_grad()
            loss.backward()
            opt.step(triangular2_lr(step, cfg.init_lr, cfg.max_lr, step_size))
            step += 1
            tot += bce.detach().mean() * len(ids)
        rec = {"epoch": epoch, "train_loss": float(tot) / n}
        if val_dev is not None and (epoch % task.eval_every == 0 or epoch == cfg.epochs):
            res.val_proba.append(model.predict_proba(val_dev))
            rec["evaluated"] = True
            if callback is not None:
                callback(epoch, res.val_proba[-1])
        res.history.append(rec)
    model.eval()
    return res


def _block_part(res: TrainResult) -> tuple[dict, list[dict], list[np.ndarray]]:
    """(parameters on the CPU, history, validation probabilities) of a trained block."""
    return {k: v.detach().cpu() for k, v in res.model.params.items()}, res.history, res.val_proba


def train_blocks_serial(task: TrainTask, blocks: list[list[int]], device) -> list[tuple]:
    """Train the blocks one after another in this process (one torch thread each on a CPU)."""
    parts = []
    for b in blocks:
        with torch_threads(1, device):
            parts.append(_block_part(train_block(task, b, device)))
    return parts


def _task_arrays(task: TrainTask) -> dict:
    """``task`` as plain arrays and JSON (what a worker process receives)."""
    return {
        "cfg": task.cfg.to_json(),
        "train": _packed_arrays(task.train),
        "y": np.asarray(task.y_train, dtype=np.float32),
        "data_seed": int(task.data_seed),
        "val": _packed_arrays(task.val),
        "eval_every": task.eval_every,
        "init_state": {k: v.detach().cpu().numpy() for k, v in task.init_state.items()} if task.init_state else None,
    }


def _train_block_job(item: dict) -> dict:
    """Worker of :func:`train_blocks_parallel`: one block of members on one CPU thread."""
    torch.set_num_threads(1)
    task = TrainTask(
        AtomSetsConfig.from_json(item["cfg"]),
        _packed_from_arrays(item["train"]),
        item["y"],
        data_seed=item["data_seed"],
        val=_packed_from_arrays(item["val"]),
        eval_every=item["eval_every"],
        init_state={k: torch.from_numpy(v) for k, v in item["init_state"].items()} if item["init_state"] else None,
    )
    res = train_block(task, item["seeds"], torch.device("cpu"))
    return {
        "params": {k: v.detach().cpu().numpy() for k, v in res.model.params.items()},
        "history": res.history,
        "val_proba": res.val_proba,
    }


def train_blocks_parallel(task: TrainTask, blocks: list[list[int]], n_jobs: int | None) -> list[tuple]:
    """Train the blocks in ``n_jobs`` worker processes of one CPU thread each (None: all cores);
    the same (parameters, history, validation probabilities) per block as :func:`train_blocks_serial`."""
    return _run_block_jobs([(_task_arrays(task), b) for b in blocks], n_jobs)


def _run_block_jobs(jobs: list[tuple[dict, list[int]]], n_jobs: int | None) -> list[tuple]:
    """(task arrays, member seeds) per block -> (parameters, history, validation probabilities)
    per block, in order, from worker processes of one CPU thread each."""
    outs = parallel_map(
        _train_block_job, [{**arrays, "seeds": b} for arrays, b in jobs], n_jobs=n_jobs, chunksize=1, progress=False
    )
    bad = [o.error for o in outs if not o.ok]
    if bad:
        raise RuntimeError(f"train_ensemble: a block of members failed: {bad[0]}")
    return [(o.value["params"], o.value["history"], o.value["val_proba"]) for o in outs]


def merge_blocks(cfg: AtomSetsConfig, blocks: list[list[int]], parts: list[tuple], device) -> TrainResult:
    """One ensemble from trained blocks: the members' parameters concatenated in block order, the
    training loss of each epoch averaged over blocks weighted by their sizes, the validation
    probabilities concatenated over members."""
    seeds = [s for b in blocks for s in b]
    model = AtomSetsEnsemble(cfg, seeds)
    with torch.no_grad():
        for k in model.params:
            model.params[k].copy_(torch.cat([torch.as_tensor(p[k]) for p, _, _ in parts]))
    model.to(device)
    model.eval()
    if len(parts) == 1:  # one block: its history as it is (a size-weighted mean of one may round)
        return TrainResult(model, [dict(rec) for rec in parts[0][1]], [np.asarray(v) for v in parts[0][2]])
    sizes = np.array([len(b) for b in blocks], float)
    history = [
        dict(rec, train_loss=float(np.dot(sizes, [h[i]["train_loss"] for _, h, _ in parts]) / sizes.sum()))
        for i, rec in enumerate(parts[0][1])
    ]
    val_proba = [np.concatenate([vp[j] for _, _, vp in parts]) for j in range(len(parts[0][2]))]
    return TrainResult(model, history, val_proba)


def train_ensemble(
    cfg: AtomSetsConfig,
    train: PackedSets,
    y_train: np.ndarray,
    *,
    seeds: Sequence[int],
    data_seed: int = 0,
    val: PackedSets | None = None,
    eval_every: int = 10,
    device=None,
    init_state: dict | None = None,
    callback=None,
    member_chunk: int | None = None,
    n_jobs: int | None = 1,
    cpu_threads: int | None = 1,
) -> TrainResult:
    """Train ``len(seeds)`` members at once; optionally record validation probabilities every ``eval_every`` epochs.

    A member is a function of its own seed (initial weights, dropout masks) and ``data_seed``
    (minibatch order) only, so it comes out the same whether it is trained alone, stacked with
    others, or in a block (tested).  ``init_state`` (tensor dict from a saved model, e.g.
    pre-training; (E, ...) or (1, ...) tensors) replaces the seeded initialisation of the layers
    that match in shape, except the output layer.  ``callback(epoch, val_proba)`` is called at every
    evaluation (e.g. to report to Ray Tune, which may stop the trial).

    ``member_chunk``: train blocks of that many stacked members (:func:`member_blocks`), one after
    another (:func:`train_blocks_serial`) or, with ``n_jobs`` > 1 (None: all cores) on a CPU, in
    parallel worker processes of one thread each (:func:`train_blocks_parallel`), then merged
    (:func:`merge_blocks`).  Stacks of a few members keep the per-site activations in the CPU
    cache, which is the fastest layout on a CPU (``benchmarks/bench_atomsets.py``).

    ``cpu_threads``: torch threads while training on a CPU (default 1: the many small batched
    products scale poorly over threads and stall badly when another job holds a core; parallelism
    comes from ``n_jobs`` processes instead).  None leaves torch's setting alone.
    """
    dev = torch.device(device) if device is not None else torch_device()
    task = TrainTask(cfg, train, y_train, data_seed, val, eval_every, init_state)
    blocks = member_blocks(seeds, member_chunk, callback)
    with torch_threads(cpu_threads, dev):
        if len(blocks) == 1:
            return train_block(task, blocks[0], dev, callback)
        if n_jobs != 1 and dev.type == "cpu":
            parts = train_blocks_parallel(task, blocks, n_jobs)
        else:
            parts = train_blocks_serial(task, blocks, dev)
        return merge_blocks(cfg, blocks, parts, dev)


def pretrain(
    cfg: AtomSetsConfig,
    matrices: Sequence[np.ndarray],
    labels: Sequence,
    *,
    seeds: Sequence[int],
    data_seed: int = 0,
    epochs: int | None = None,
    val_fraction: float = 0.1,
    device=None,
    member_chunk: int | None = None,
    n_jobs: int | None = 1,
) -> tuple[dict[str, torch.Tensor], dict]:
    """Pre-train one member per seed on a substitute binary task (e.g. MP compounds labelled by a
    MEGNet band gap); returns ``(state, info)``: the stacked weights, to be passed to
    ``train_ensemble(init_state=state)`` with as many seeds (member ``i`` starts from pre-trained
    member ``i``), and ``info`` with the sizes, the positive fraction and the AUC-PR / MCC of the
    ensemble mean on a held-out ``val_fraction`` of the pre-training sets (seeded split)."""

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
    res = train_ensemble(
        c,
        pack_sets([matrices[i] for i in tr], dedup=True),
        labels[tr],
        seeds=seeds,
        data_seed=data_seed,
        device=device,
        member_chunk=member_chunk,
        n_jobs=n_jobs,
    )
    info = {
        "n_train": int(len(tr)),
        "n_val": int(len(va)),
        "positive_fraction": float(labels.mean()),
        "epochs": c.epochs,
        "final_train_loss": res.history[-1]["train_loss"],
    }
    if n_val and 0 < labels[va].sum() < n_val:
        p = res.model.predict_proba(pack_sets([matrices[i] for i in va], dedup=True)).mean(0)
        m = classification_metrics(labels[va], p)
        info.update({"val_auc_pr": m["auc_pr"], "val_mcc": m["mcc"], "val_positive_fraction": float(labels[va].mean())})
    state = {k: v.detach().cpu().clone() for k, v in res.model.params.items()}
    return state, info


def train_ensembles(
    tasks: Sequence[tuple[TrainTask, Sequence[int]]],
    *,
    member_chunk: int | None = None,
    n_jobs: int | None = 1,
    device=None,
) -> list[TrainResult]:
    """:func:`train_ensemble` of every ``(task, member seeds)`` (e.g. the folds of a
    cross-validation), in order.  With ``n_jobs`` > 1 (None: all cores) on a CPU, every block of
    every task (:func:`member_blocks`) goes to one pool of worker processes of one thread each, so
    both cores stay busy across tasks; a member depends only on its seed and the task, so the
    results equal those of one :func:`train_ensemble` call per task (tested)."""
    dev = torch.device(device) if device is not None else torch_device()
    if n_jobs == 1 or dev.type != "cpu":
        return [
            train_ensemble(
                t.cfg,
                t.train,
                t.y_train,
                seeds=s,
                data_seed=t.data_seed,
                val=t.val,
                eval_every=t.eval_every,
                device=dev,
                init_state=t.init_state,
                member_chunk=member_chunk,
            )  # fmt: skip
            for t, s in tasks
        ]
    blocks = [member_blocks([int(x) for x in s], member_chunk) for _, s in tasks]
    jobs = [(_task_arrays(t), b) for (t, _), bs in zip(tasks, blocks) for b in bs]
    parts = iter(_run_block_jobs(jobs, n_jobs))
    return [merge_blocks(t.cfg, bs, [next(parts) for _ in bs], dev) for (t, _), bs in zip(tasks, blocks)]
