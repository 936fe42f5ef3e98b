"""Products ``z @ W.T`` of structured reconciliations, computed without building W (n x D).

Each function takes z of shape (..., D) and returns (..., n); its docstring gives the W it applies.
The matching materialised W is built by the module's ``weight()`` (with ``torch.kron``, ``torch.eye``
...) for inspection and tests only.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "constant_matvec",
    "eye_matvec",
    "tiled_matvec",
    "block_diagonal_matvec",
    "scaled_lowrank_matvec",
]


def constant_matvec(z: Tensor, c: float, n: int) -> Tensor:
    """``z @ (c 1_{n x D}).T``: every output is c times the sum of the row of z.

    Example:
        >>> import torch
        >>> constant_matvec(torch.tensor([[1.0, 2.0, 3.0]]), 0.5, 2)
        tensor([[3., 3.]])
    """
    total = z.sum(-1, keepdim=True) * c
    return total.expand(*z.shape[:-1], n).contiguous()


def eye_matvec(z: Tensor, n: int) -> Tensor:
    """``z @ I_{n x D}.T`` for the rectangular identity (ones on the main diagonal only).

    The first min(n, D) features pass unchanged; when n > D the remaining outputs are zero.

    Example:
        >>> import torch
        >>> z = torch.tensor([[1.0, 2.0, 3.0]])
        >>> eye_matvec(z, 2), eye_matvec(z, 4)
        (tensor([[1., 2.]]), tensor([[1., 2., 3., 0.]]))
    """
    D = z.shape[-1]
    if n <= D:
        return z[..., :n]
    return F.pad(z, (0, n - D))


def tiled_matvec(z: Tensor, B: Tensor, p: int, q: int) -> Tensor:
    """``z @ kron(1_{p x q}, B).T`` with B of shape (s, t): B tiled p x q times.

    The q column blocks of z are summed, multiplied by B and the result is repeated p times:
    O(D + s t) per row instead of O(n D).
    """
    lead = z.shape[:-1]
    s, t = B.shape
    summed = z.reshape(*lead, q, t).sum(-2)
    y = F.linear(summed, B)
    return y.unsqueeze(-2).expand(*lead, p, s).reshape(*lead, p * s)


def block_diagonal_matvec(z: Tensor, B: Tensor, p: int, q: int) -> Tensor:
    """``z @ kron(I_{p x q}, B).T`` with B of shape (s, t) and I_{p x q} the rectangular identity.

    Block (i, i) of W is B for i < min(p, q) and every other block is zero, so output block i is
    ``B @ z_i`` (z_i the i-th column block of z) for i < min(p, q) and zero beyond.
    """
    lead = z.shape[:-1]
    s, t = B.shape
    r = min(p, q)
    blocks = z.reshape(*lead, q, t)[..., :r, :]
    y = F.linear(blocks, B)  # (..., r, s)
    if p > r:
        y = F.pad(y, (0, 0, 0, p - r))
    return y.reshape(*lead, p * s)


def scaled_lowrank_matvec(z: Tensor, A: Tensor, B: Tensor, row_scale: Tensor, rank_scale: Tensor) -> Tensor:
    """``z @ W.T`` for W = diag(row_scale) A diag(rank_scale) B.T with A (n, r), B (D, r).

    Computed as ``((z @ B) * rank_scale) @ A.T * row_scale``: O(r (n + D)) per row.
    """
    return F.linear((z @ B) * rank_scale, A) * row_scale
