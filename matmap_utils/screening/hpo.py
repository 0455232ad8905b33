"""Hyperparameter search of AtomSets with Ray Tune + HyperOpt (local, or the cluster at MATMAP_RAY_ADDRESS)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from matmap_utils.core.backends import ray_session
from matmap_utils.screening.atomsets.model import AtomSetsConfig, PackedSets, pack_sets
from matmap_utils.screening.atomsets.training import train_ensemble
from matmap_utils.screening.metrics import classification_metrics

#: McHaffie et al.'s search space (``scripts/hpo_classification.py`` of their code archive).
HPO_SPACE = {
    "init_lr": [2e-5, 4e-5, 6e-5, 8e-5, 1e-4],
    "max_lr": [1e-4, 1e-3, 3e-3, 5e-3, 7e-3],
    "batch_size": [32, 64, 128],
    "dropout_prob_init": [0.1, 0.15, 0.2, 0.25, 0.3],
    "dropout_prob_final": [0.1, 0.15, 0.2, 0.25, 0.3],
    "kernel_reg_value_init": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
    "kernel_reg_value_final": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
    "n_layers": [2, 3, 4],
    "n_neurons": [32, 64, 128, 256],
}


def config_from_trial(trial: dict, input_dim: int, epochs: int = 500, **kw):
    """An :class:`~matmap_utils.screening.atomsets.model.AtomSetsConfig` from one point of :data:`HPO_SPACE`
    (LAMB + Lookahead, triangular-2 cyclical learning rate with a 10-epoch half cycle, as the paper)."""

    layers = tuple([int(trial["n_neurons"])] * int(trial["n_layers"]))
    return AtomSetsConfig(
        input_dim=input_dim,
        n_neurons=layers,
        n_neurons_final=layers,
        dropout_init=float(trial["dropout_prob_init"]),
        dropout_final=float(trial["dropout_prob_final"]),
        l2_init=float(trial["kernel_reg_value_init"]),
        l2_final=float(trial["kernel_reg_value_final"]),
        optimizer="lamb_lookahead",
        init_lr=float(trial["init_lr"]),
        max_lr=float(trial["max_lr"]),
        cycle_epochs=10,
        epochs=epochs,
        batch_size=int(trial["batch_size"]),
        **kw,
    )


def _hpo_trainable(trial: dict, data: dict) -> None:
    """One Ray Tune trial: train one AtomSets model with ``trial``'s hyperparameters and report the
    validation metrics after every evaluation (ASHA stops poor trials early)."""
    from ray import tune  # lazy: optional `hpo` extra, runs inside a Ray worker

    torch.set_num_threads(1)
    ptr = PackedSets(torch.from_numpy(data["xtr"]), torch.from_numpy(data["wtr"]), data["otr"])
    pva = PackedSets(torch.from_numpy(data["xva"]), torch.from_numpy(data["wva"]), data["ova"])
    yva = data["yva"]
    cfg = config_from_trial(trial, data["input_dim"], epochs=data["epochs"])

    def cb(epoch, proba):
        m = classification_metrics(yva, proba[0])
        tune.report({"val_pr_auc": m["auc_pr"], "val_mcc": m["mcc"], "val_roc_auc": m["roc_auc"], "epoch": epoch})

    train_ensemble(
        cfg,
        ptr,
        data["ytr"],
        seeds=[data["seed"]],
        data_seed=data["seed"],
        val=pva,
        eval_every=data["eval_every"],
        device="cpu",
        callback=cb,
    )


def _search_data(matrices, y, train_idx, val_idx, *, input_dim: int, epochs: int, seed: int, eval_every: int) -> dict:
    """The arrays every trial of one fold trains on (packed training and validation sets, labels and
    settings; plain numpy so that Ray ships them once); a one-class validation set is refused."""
    y = np.asarray(y).astype(int)
    train_idx, val_idx = np.asarray(train_idx), np.asarray(val_idx)
    yva = y[val_idx]
    if yva.min() == yva.max():
        raise ValueError(f"hpo_search: the validation set ({len(yva)} entries) has only one class; AUC-PR is undefined")
    ptr = pack_sets([matrices[i] for i in train_idx], dedup=True)
    pva = pack_sets([matrices[i] for i in val_idx], dedup=True)
    return {
        "xtr": ptr.x.numpy(),
        "wtr": ptr.w.numpy(),
        "otr": ptr.offsets,
        "ytr": y[train_idx].astype(np.float32),
        "xva": pva.x.numpy(),
        "wva": pva.w.numpy(),
        "ova": pva.offsets,
        "yva": yva,
        "input_dim": int(input_dim),
        "epochs": int(epochs),
        "seed": int(seed),
        "eval_every": int(eval_every),
    }


def _tune_trials(
    data: dict, space: dict, *, num_samples, grace_period, max_concurrent, seed, address, num_cpus, reuse_actors=True
):  # fmt: skip
    """Run the Ray Tune search (HyperOpt TPE seeded with ``seed``, ASHA on the validation AUC-PR,
    one CPU per trial); one :func:`trial_row` per trial, in the order of the results grid.

    ``reuse_actors``: a finished trial's worker process runs the next trial (Ray's default starts a
    fresh process per trial, and importing torch and this package in it cost more than a trial's
    training: 54 -> 24 s for 12 trials on one LOCO cluster, ``benchmarks/bench_hpo.py``).  A trial
    keeps no state between runs (:func:`_hpo_trainable` builds everything from its arguments), so
    the trials are the same either way (tested with ``max_concurrent=1``)."""
    try:  # lazy: Ray Tune and HyperOpt are the optional `hpo` extra, slow to import
        from ray import tune
        from ray.tune.schedulers import AsyncHyperBandScheduler
        from ray.tune.search import ConcurrencyLimiter
        from ray.tune.search.hyperopt import HyperOptSearch
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise ImportError(
            "hyperparameter search needs Ray Tune and HyperOpt: pip install 'ray[tune]' hyperopt "
            f"(the project's `hpo` extra); {exc}"
        ) from None
    epochs = data["epochs"]
    param_space = {k: tune.choice(list(v)) for k, v in space.items()}
    with ray_session(address, num_cpus):
        import ray  # lazy: optional `hpo` extra

        n_conc = max_concurrent or max(1, int(ray.cluster_resources().get("CPU", 1)))
        search = ConcurrencyLimiter(HyperOptSearch(random_state_seed=int(seed)), max_concurrent=n_conc)
        sched = AsyncHyperBandScheduler(time_attr="epoch", grace_period=int(grace_period), max_t=int(epochs))
        storage = tempfile.mkdtemp(prefix="matmap_tune_")
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(_hpo_trainable, data=data), {"cpu": 1}),
            param_space=param_space,
            tune_config=tune.TuneConfig(
                metric="val_pr_auc",
                mode="max",
                search_alg=search,
                scheduler=sched,
                num_samples=int(num_samples),
                reuse_actors=bool(reuse_actors),
            ),
            run_config=tune.RunConfig(
                name="atomsets_hpo", storage_path=storage, verbose=0, failure_config=tune.FailureConfig(max_failures=0)
            ),
        )
        try:
            return [trial_row(r.config, r.metrics_dataframe, r.error, space) for r in tuner.fit()]
        finally:
            shutil.rmtree(storage, ignore_errors=True)


def trial_row(config: dict, history: pd.DataFrame | None, error, space: dict) -> dict:
    """One row of the trials table: the trial's point of ``space`` and, from its reported
    ``history`` (val_pr_auc, val_mcc, epoch per evaluation), its best validation AUC-PR, the MCC and
    epoch there and the epochs run; NaN and the error for a trial without results."""
    point = {k: config.get(k) for k in space}
    if error is not None or history is None or "val_pr_auc" not in history:
        return {
            **point,
            "val_pr_auc": np.nan,
            "val_mcc": np.nan,
            "best_epoch": np.nan,
            "epochs_run": 0,
            "error": str(error)[:200] if error else "no result",
        }
    b = history.loc[history["val_pr_auc"].idxmax()]
    return {
        **point,
        "val_pr_auc": float(b["val_pr_auc"]),
        "val_mcc": float(b["val_mcc"]),
        "best_epoch": int(b["epoch"]),
        "epochs_run": int(history["epoch"].max()),
        "error": None,
    }


def best_of_trials(trials: pd.DataFrame, space: dict) -> dict:
    """The best trial of a trials table (highest validation AUC-PR): its configuration (plain
    Python values), AUC-PR, MCC and epoch; raises when every trial failed."""
    ok = trials.dropna(subset=["val_pr_auc"])
    if not len(ok):
        raise RuntimeError(f"hpo_search: all {len(trials)} trials failed; first error: {trials['error'].iloc[0]}")
    best = ok.iloc[0]
    return {
        "best_config": {k: (best[k].item() if hasattr(best[k], "item") else best[k]) for k in space},
        "best_val_auc_pr": float(best["val_pr_auc"]),
        "best_val_mcc": float(best["val_mcc"]),
        "best_epoch": int(best["best_epoch"]),
    }


def hpo_search(
    matrices: Sequence[np.ndarray],
    y: Sequence,
    train_idx,
    val_idx,
    *,
    input_dim: int,
    num_samples: int = 250,
    epochs: int = 500,
    grace_period: int = 40,
    max_concurrent: int | None = None,
    reuse_actors: bool = True,
    seed: int = 42,
    eval_every: int = 1,
    address: str | None = None,
    num_cpus: int | None = None,
    space: dict | None = None,
) -> dict:
    """Ray Tune search for one validation fold/cluster, as McHaffie et al.'s ``hpo_classification.py``:
    HyperOpt (TPE, seeded) proposes points of :data:`HPO_SPACE`, the ASHA scheduler stops trials
    whose validation AUC-PR lags after ``grace_period`` epochs (``max_t`` = ``epochs``), at most
    ``max_concurrent`` trials run at once (default: the CPUs of the Ray instance), one CPU each.

    Every trial trains from the same seed (as the paper fixed its seed).  Each trial's score is its
    best validation AUC-PR over the evaluated epochs (the paper's early stopping restores the best
    weights).  With more than one concurrent trial the order in which results arrive — and so the
    points HyperOpt proposes next — can vary between runs; ``max_concurrent=1`` is reproducible.

    Returns ``{"best_config", "best_val_auc_pr", "best_val_mcc", "best_epoch", "trials" (DataFrame, one
    row per trial), "wall_s", "n_trials"}``.  Ray (see :class:`ray_session`) is started if needed.
    """
    data = _search_data(
        matrices, y, train_idx, val_idx, input_dim=input_dim, epochs=epochs, seed=seed, eval_every=eval_every
    )
    space = space or HPO_SPACE
    t0 = time.perf_counter()
    rows = _tune_trials(
        data,
        space,
        num_samples=num_samples,
        grace_period=grace_period,
        max_concurrent=max_concurrent,
        reuse_actors=reuse_actors,
        seed=seed,
        address=address,
        num_cpus=num_cpus,
    )
    wall = time.perf_counter() - t0
    trials = pd.DataFrame(rows).sort_values("val_pr_auc", ascending=False, na_position="last").reset_index(drop=True)
    return {**best_of_trials(trials, space), "trials": trials, "wall_s": wall, "n_trials": int(len(trials))}


def hpo_per_fold(
    matrices: Sequence[np.ndarray],
    y: Sequence,
    folds,
    *,
    fold_ids: Sequence[int] | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    **kw,
) -> pd.DataFrame:
    """:func:`hpo_search` on each fold (e.g. each LOCO cluster) in one Ray session; one row per fold
    with the best configuration, its validation AUC-PR / MCC / epoch, trials and wall time.  Folds
    whose validation set has one class only get a row with the reason."""
    fold_ids = list(range(len(folds))) if fold_ids is None else list(fold_ids)
    rows = []
    with ray_session(address, num_cpus):
        for k in fold_ids:
            tr, va = folds[k]
            try:
                r = hpo_search(matrices, y, tr, va, address=address, num_cpus=num_cpus, **kw)
            except ValueError as exc:
                rows.append({"fold": k, "n_val": len(va), "skipped": str(exc)})
                continue
            rows.append(
                {
                    "fold": k,
                    "n_val": len(va),
                    **r["best_config"],
                    "val_pr_auc": r["best_val_auc_pr"],
                    "val_mcc": r["best_val_mcc"],
                    "best_epoch": r["best_epoch"],
                    "n_trials": r["n_trials"],
                    "wall_s": r["wall_s"],
                    "skipped": None,
                }
            )
    return pd.DataFrame(rows)
