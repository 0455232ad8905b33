"""Fused numba kernels of the AtomSets Set2Set read-out (segment dot products, weighted sums) with their torch autograd wrappers."""

from __future__ import annotations

import numpy as np
import torch

_NUMBA = None


def _numba_kernels():
    global _NUMBA
    if _NUMBA is None:
        try:
            import numba  # lazy: optional accelerator; its import and kernel compilation cost seconds

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
    return all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in ts) and bool(
        _numba_kernels()
    )


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
        rg = (rh * grh).sum(-1)  # (E, G)
        if _fused_ok(h, qt, grh):
            gh = torch.empty_like(h)
            gqt = torch.zeros_like(qt)
            ge = torch.empty_like(alpha)
            _numba_kernels()[3](
                _np(h), _np(qt), _np(alpha), _np(grh), _np(rg), _np(idx), gh.numpy(), gqt.numpy(), ge.numpy()
            )
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


def segment_sum(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Sum ``values`` (E, A, ...) over sites into (E, n, ...) by ``index`` (A,)."""
    out = values.new_zeros((values.shape[0], n) + tuple(values.shape[2:]))
    return out.index_add_(1, index, values)


def segment_max(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Max of ``values`` (E, A) per segment -> (E, n)."""
    out = values.new_full((values.shape[0], n), -torch.inf)
    idx = index.unsqueeze(0).expand_as(values)
    return out.scatter_reduce(1, idx, values, reduce="amax", include_self=True)
