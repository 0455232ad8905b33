"""AtomSets configurations of McHaffie et al. (Digital Discovery 4, 1518 (2025), Sec. 2.3-2.4):
which features (simplification × MEGNet level) and which architecture.

A *feature configuration* is a simplification (:data:`matmap_utils.screening.simplify.MODES`) and a
MEGNet feature level (0 = the 16-long elemental embedding V0, 1-3 = the 32-long site outputs of
the k-th graph convolution), written ``"CAMNS:1"`` in parameters and ``AS-CAMNS-V1`` in tables.

* :func:`parse_config` / :func:`parse_configs` — ``"CAMNS:1"`` → ``("CAMNS", 1)``;
* :func:`all_configs` — every (mode, level) pair of given modes and levels;
* :func:`needed_features` — the modes (in :data:`MODES` order) and levels a run must featurize;
* :func:`feature_dim` — 16 for V0, 32 for V1-V3;
* :func:`paper_config` — the k-fold architecture (maml's AtomSets defaults: two 64-neuron layers
  before and after a set2set readout, no dropout, LAMB + Lookahead) for a feature level;
* :func:`config_name` — ``AS-<mode>-V<level>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from matmap_utils.screening.atomsets.model import AtomSetsConfig
from matmap_utils.screening.simplify import MODES

#: MEGNet site-feature width of each level: V0 is the formation-energy model's 16-long elemental
#: embedding, V1-V3 the 32-long node outputs of its first three MEGNet blocks.
FEATURE_DIMS = {0: 16, 1: 32, 2: 32, 3: 32}


def parse_config(text: str) -> tuple[str, int]:
    """``"MODE:LEVEL"`` (e.g. ``"CAMNS:1"``) → ``("CAMNS", 1)``; unknown modes or levels are refused."""
    mode, sep, level = str(text).partition(":")
    if not sep or mode not in MODES or not level.strip().isdigit() or int(level) not in FEATURE_DIMS:
        raise ValueError(f"feature configuration {text!r}: expected MODE:LEVEL with MODE in {MODES} and LEVEL 0..3")
    return mode, int(level)


def parse_configs(configs: Iterable[str]) -> list[tuple[str, int]]:
    """:func:`parse_config` of each entry, in order (an empty list for none)."""
    return [parse_config(c) for c in configs or ()]


def all_configs(modes: Sequence[str], levels: Sequence[int]) -> list[tuple[str, int]]:
    """Every (mode, level) pair, modes outer, levels inner (the order of the paper's Fig. 3)."""
    return [(m, int(level)) for m in modes for level in levels]


def needed_features(configs: Iterable[tuple[str, int]], final: tuple[str, int]) -> tuple[list[str], list[int]]:
    """The simplifications (in :data:`MODES` order) and MEGNet levels (sorted) that ``configs`` and
    the ``final`` configuration read."""
    used = [*configs, final]
    modes = {m for m, _ in used}
    return [m for m in MODES if m in modes], sorted({int(level) for _, level in used})


def feature_dim(level: int) -> int:
    """Width of the MEGNet site features of ``level`` (16 for V0, 32 for V1-V3)."""
    if int(level) not in FEATURE_DIMS:
        raise ValueError(f"MEGNet feature level {level} does not exist (0..3)")
    return FEATURE_DIMS[int(level)]


def paper_config(
    level: int,
    *,
    set2set_hidden: int = 64,
    init_lr: float = 0.01,
    epochs: int = 300,
    batch_size: int = 64,
    **kw,
) -> AtomSetsConfig:
    """The k-fold AtomSets configuration for features of ``level``: maml's defaults (two 64-neuron
    layers before and after a set2set readout, no dropout, LAMB + Lookahead) with the given set2set
    hidden size, constant learning rate, epochs and batch size; ``kw`` overrides any field."""
    base = dict(
        input_dim=feature_dim(level),
        n_neurons=(64, 64),
        n_neurons_final=(64, 64),
        readout="set2set",
        set2set_hidden=set2set_hidden,
        optimizer="lamb_lookahead",
        init_lr=init_lr,
        epochs=epochs,
        batch_size=batch_size,
    )
    base.update(kw)
    return AtomSetsConfig(**base)


def config_name(mode: str, level: int) -> str:
    """Table label of a configuration: ``AS-<mode>-V<level>``."""
    return f"AS-{mode}-V{int(level)}"
