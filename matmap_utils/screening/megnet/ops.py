"""Torch operations of the Keras layers of MEGNet (Chen et al., Chem. Mater. 31, 3564 (2019);
``megnet==1.3.2``): the activations by their Keras names (``softplus2(x) = softplus(x) - ln 2``,
Keras 2 ``hard_sigmoid``), segment sums over index tensors (``unsorted_segment_sum``) and row
gathers — used by :class:`matmap_utils.screening.megnet.model.MEGNetModel`."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)


def softplus2(x):
    """MEGNet's ``softplus2``: softplus(x) - ln 2 (0 at x = 0)."""
    return F.softplus(x) - LN2


def activation(name):
    """The torch function of a Keras/megnet activation name (``None`` → linear)."""
    name = name or "linear"
    table = {
        "softplus2": softplus2,
        "linear": lambda x: x,
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softplus": torch.nn.functional.softplus,
        "swish": lambda x: x * torch.sigmoid(x),
        # Keras 2 (TF <= 2.15) hard_sigmoid: clip(0.2 x + 0.5, 0, 1)
        "hard_sigmoid": lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
    }
    if name not in table:
        raise ValueError(f"activation {name!r} is not supported")
    return table[name]


def seg_sum(x, index, n: int):
    """Sum of the rows of ``x`` per segment ``index`` (n segments; empty ones are 0)."""
    if x.dim() == 1:
        return torch.zeros(n, dtype=x.dtype, device=x.device).scatter_add_(0, index, x)
    out = torch.zeros(n, x.shape[1], dtype=x.dtype, device=x.device)
    return out.scatter_add_(0, index[:, None].expand(-1, x.shape[1]), x)


def gather(x, index):
    """Rows ``x[index]`` (``torch.index_select`` along dimension 0)."""
    return torch.index_select(x, 0, index)
