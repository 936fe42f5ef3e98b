"""Kronecker products applied through the vec-trick, never materialised.

For W = A (x) B with A in R^{p x q}, B in R^{s x t} (so W in R^{ps x qt}),
``W[i*s + j, k*t + l] = A[i, k] * B[j, l]`` (the definition ``torch.kron`` uses). For a row vector
z in R^{qt} viewed as Z in R^{q x t} (row-major), ``(z @ W.T)`` viewed as (p, s) equals
``A @ Z @ B.T``: cost O(q t s + p q s) instead of O(p s q t).

A factor may be given dense (a matrix) or low-rank (a pair (U, V) with factor = U @ V.T).
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["kron_matvec", "kron_weight", "factor_matrix"]

Factor = Tensor | tuple[Tensor, Tensor]


def factor_matrix(factor: Factor) -> Tensor:
    """Materialise a factor given dense or as a low-rank pair (U, V) -> U @ V.T."""
    if isinstance(factor, tuple):
        U, V = factor
        return U @ V.transpose(-1, -2)
    return factor


def _shape(factor: Factor) -> tuple[int, int]:
    if isinstance(factor, tuple):
        return factor[0].shape[0], factor[1].shape[0]
    return factor.shape[0], factor.shape[1]


def kron_matvec(z: Tensor, A: Factor, B: Factor) -> Tensor:
    """``z @ kron(A, B).T`` for z of shape (..., q*t); returns (..., p*s).

    Args:
        z: input of shape (..., q*t).
        A: (p, q) matrix, or low-rank pair (P (p, r), Q (q, r)) meaning P @ Q.T.
        B: (s, t) matrix, or low-rank pair (S (s, r), T (t, r)) meaning S @ T.T.
    """
    p, q = _shape(A)
    s, t = _shape(B)
    Z = z.reshape(*z.shape[:-1], q, t)
    # Right factor: Z @ B.T -> (..., q, s)
    if isinstance(B, tuple):
        S, T = B
        U = (Z @ T) @ S.transpose(-1, -2)
    else:
        U = Z @ B.transpose(-1, -2)
    # Left factor: A @ U -> (..., p, s)
    if isinstance(A, tuple):
        P, Q = A
        Y = P @ (Q.transpose(-1, -2) @ U)
    else:
        Y = A @ U
    return Y.reshape(*z.shape[:-1], p * s)


def kron_weight(A: Factor, B: Factor) -> Tensor:
    """The materialised Kronecker product kron(A, B) (for inspection and tests)."""
    import torch

    return torch.kron(factor_matrix(A), factor_matrix(B))
