"""Bilinear interdependence scores and attention: ``A = Q W K^T``, masked softmax, scaled-dot attention.

RPN 2's parameterised bilinear interdependence is ``A = X W X^T`` over instances (attention scores
without a softmax); these functions give the scores, a softmax that is safe for fully masked rows, and
the full attention ``softmax(Q K^T / sqrt(d)) V``. Leading (batch, head) dimensions broadcast.

Example:
    >>> import torch
    >>> Q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> bilinear_scores(Q, Q, W=torch.tensor([[1.0, 1.0], [0.0, 1.0]]))
    tensor([[1., 2.],
            [0., 4.]])
    >>> masked_softmax(torch.zeros(2, 2), torch.tensor([[True, False], [False, False]]))
    tensor([[1., 0.],
            [0., 0.]])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ShapeError

__all__ = ["bilinear_scores", "masked_softmax", "scaled_dot_attention"]


def bilinear_scores(Q: Tensor, K: Tensor, W: Tensor | None = None, scale: bool | float | None = None) -> Tensor:
    """Bilinear scores ``S = s Q W K^T`` (``S = s Q K^T`` without W): ``S_ij = s q_i^T W k_j``.

    The product is associated as ``(Q W) K^T`` or ``Q (W K^T)``, whichever needs fewer
    multiplications, and the scale is applied to the smaller operand rather than to S.

    Args:
        Q: queries (..., n, d).
        K: keys (..., n', d') (d' = d without W).
        W: (d, d') bilinear form, or None for the identity.
        scale: None or False for s = 1 (the reference toolkit's raw ``X^T W X``), True for
            ``s = 1 / sqrt(d')`` (attention's scaling), or a number s.

    Shape:
        Q (..., n, d), K (..., n', d'), W (d, d') -> (..., n, n').
    """
    d, dk = Q.shape[-1], K.shape[-1]
    if W is None:
        if d != dk:
            raise ShapeError(f"bilinear_scores: Q and K need the same width without W, got {d} and {dk}")
    elif W.shape != (d, dk):
        raise ShapeError(f"bilinear_scores: W must have shape ({d}, {dk}), got {tuple(W.shape)}")
    if scale is None or scale is False:
        s = None
    elif scale is True:
        s = 1.0 / math.sqrt(dk)
    elif isinstance(scale, (int, float)):
        s = float(scale)
    else:
        raise ValueError(f"bilinear_scores: scale must be None, a bool or a number, got {scale!r}")
    n, nk = Q.shape[-2], K.shape[-2]
    if W is not None:
        # (Q W) K^T costs n d d' + n d' n'; Q (W K^T) costs n' d d' + n d n'
        if n * dk * (d + nk) <= nk * d * (dk + n):
            Q = Q @ W
        else:
            K = K @ W.T
    if s is not None:
        if Q.shape[-2] * Q.shape[-1] <= K.shape[-2] * K.shape[-1]:
            Q = Q * s
        else:
            K = K * s
    return Q @ K.transpose(-1, -2)


def masked_softmax(scores: Tensor, mask: Tensor | None = None, dim: int = -1) -> Tensor:
    """Softmax over ``dim`` restricted to the entries where ``mask`` is True; fully masked rows give 0.

    ``p_ij = mask_ij exp(s_ij) / sum_k mask_ik exp(s_ik)``, and ``p_i = 0`` (not NaN) when no entry
    of the row is kept; gradients are finite everywhere. The mask follows
    ``scaled_dot_product_attention``'s boolean convention (True = take part) and broadcasts to scores.

    Shape:
        scores (..., n, n'), mask broadcastable to it -> (..., n, n').
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    if mask.dtype != torch.bool:
        raise TypeError(f"masked_softmax: mask must be a bool tensor (True = keep), got {mask.dtype}")
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    # a fully masked row is uniform after the fill; multiplying by the mask zeroes it
    return torch.softmax(filled, dim=dim) * mask


def scaled_dot_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    dropout: float = 0.0,
    scale: float | None = None,
) -> Tensor:
    """Scaled dot-product attention ``softmax(q k^T * scale + mask) v``, as
    ``torch.nn.functional.scaled_dot_product_attention`` (which it calls when it can).

    A boolean ``mask`` (True = attend) goes through :func:`masked_softmax`, so a query whose keys are
    all masked gets a zero output on every backend (fused kernels may give NaN there); a float mask is
    added to the scores, as in torch. Dropout is applied to the attention weights whenever
    ``dropout > 0`` (pass 0 in evaluation, as with torch's function).

    Args:
        scale: the score scale, default ``1 / sqrt(d)``.

    Shape:
        q (..., n, d), k (..., n', d), v (..., n', d_v), mask broadcastable to (..., n, n') -> (..., n, d_v).
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"scaled_dot_attention: dropout must be in [0, 1), got {dropout!r}")
    if mask is None or mask.dtype != torch.bool:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, scale=scale)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    p = masked_softmax(bilinear_scores(q, k, scale=s), mask)
    if dropout > 0:
        p = F.dropout(p, dropout, training=True)
    return p @ v
