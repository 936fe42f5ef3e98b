"""Statistical dependence between the columns of a data matrix, from covariance-type products.

Convention (numpy's ``rowvar=False``, scikit-learn's rows-are-samples): ``X`` is (b, m) with b
observations of m variables, and every function returns an (m, m) matrix over the *columns*. RPN 2's
attribute interdependence passes the batch ``x`` (b, m); the instance interdependence passes
``x.T`` to get a (b, b) matrix over rows.

Everything is vectorised from one centred product ``Xc.T @ Xc`` (or ``P.T @ log P``): no Python
loop over pairs of columns (the reference toolkit's RV and mutual-information classes looped over
all m^2 pairs with a ``torch.cov``/``det`` each and built their result on the CPU).

Example:
    >>> import torch
    >>> X = torch.tensor([[1.0, 2.0, 5.0], [2.0, 4.0, 5.0], [3.0, 7.0, 5.0]])
    >>> pearson_correlation(X)
    tensor([[1.0000, 0.9934, 0.0000],
            [0.9934, 1.0000, 0.0000],
            [0.0000, 0.0000, 1.0000]])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..errors import ShapeError

__all__ = [
    "KL_NORMALIZATIONS",
    "centred",
    "pearson_correlation",
    "kl_divergence",
    "rv_coefficient",
    "gaussian_mutual_information",
]

#: How :func:`kl_divergence` turns columns into distributions.
KL_NORMALIZATIONS = ("softmax", "sum")


def _matrix(X: Tensor, who: str) -> Tensor:
    if X.dim() != 2:
        raise ShapeError(f"{who}: X must be a matrix (b, m), got shape {tuple(X.shape)}")
    return X


def centred(X: Tensor) -> Tensor:
    """The columns of X minus their means, *exactly* zero for a constant column.

    Shifting by the first row before subtracting the mean makes a constant column exactly 0
    (the plain ``X - X.mean(0)`` leaves rounding noise of order eps * |x| that a correlation would
    then normalise to spurious values of order 1); the result is mathematically the same.

    Shape:
        (b, m) -> (b, m).
    """
    S = X - X[:1]
    return S - S.mean(dim=0, keepdim=True)


def _set_diagonal(A: Tensor, value: float) -> Tensor:
    """A with its diagonal replaced by ``value`` (out of place; the diagonal gets no gradient)."""
    eye = torch.eye(A.shape[0], dtype=A.dtype, device=A.device)
    return A - torch.diag_embed(A.diagonal()) + eye * value


def _inv_sqrt(v: Tensor) -> Tensor:
    """1 / sqrt(v) where v > 0, else 0, with finite gradients everywhere."""
    positive = v > 0
    return torch.where(positive, torch.where(positive, v, torch.ones_like(v)).rsqrt(), torch.zeros_like(v))


def pearson_correlation(X: Tensor) -> Tensor:
    """Pearson correlation matrix of the columns of X, finite for constant columns.

    ``rho_ij = C_ij / sqrt(C_ii C_jj)`` with ``C = Xc^T Xc`` (any ddof cancels). A constant column
    (zero variance) has correlation 0 with every other column and 1 with itself, so the matrix is
    always finite, symmetric, with a unit diagonal; the reference toolkit (like ``numpy.corrcoef``)
    returned NaN there. Values are clipped to [-1, 1] as numpy does. Columns are constant when their
    centred values (:func:`centred`) are exactly 0.

    Shape:
        X (b, m) -> (m, m).
    """
    Xc = centred(_matrix(X, "pearson_correlation"))
    C = Xc.T @ Xc
    s = _inv_sqrt(C.diagonal())
    R = (C * s[:, None] * s[None, :]).clamp(-1.0, 1.0)
    return _set_diagonal(R, 1.0)


def kl_divergence(X: Tensor, normalization: str = "softmax", eps: float = 1e-12) -> Tensor:
    """Kullback-Leibler divergences between the columns of X taken as distributions over the rows.

    ``A_ij = KL(p_i || p_j) = sum_k p_ki (log p_ki - log p_kj)`` for the column distributions
    ``p_i`` (each sums to 1 over the b rows), computed as ``h - P^T log P`` with
    ``h_i = sum_k p_ki log p_ki``: one (m, b) x (b, m) product, no (b, m, m) tensor (the reference
    toolkit's broadcast used O(b m^2) memory). The matrix is not symmetric; its diagonal is exactly 0
    and rounding below 0 is clamped.

    Args:
        normalization: ``softmax`` (the reference toolkit's choice: ``p_i = softmax(x_i)`` over the
            rows, computed as ``log_softmax`` so no probability is 0 and ``eps`` is unused) or ``sum``
            for non-negative data: ``p_ki = (x_ki + eps) / sum_k (x_ki + eps)``, additive smoothing so
            that zero entries give finite logarithms (negative entries are not allowed; not checked).
        eps: the smoothing of ``sum``.

    Shape:
        X (b, m) -> (m, m).
    """
    X = _matrix(X, "kl_divergence")
    if normalization == "softmax":
        logP = torch.log_softmax(X, dim=0)
        P = logP.exp()
    elif normalization == "sum":
        S = X + eps
        P = S / S.sum(dim=0, keepdim=True)
        logP = P.log()
    else:
        raise ValueError(
            f"kl_divergence: normalization must be one of {list(KL_NORMALIZATIONS)}, got {normalization!r}"
        )
    h = (P * logP).sum(dim=0)
    A = h[:, None] - P.T @ logP
    return _set_diagonal(A, 0.0).clamp_min(0.0)


def _group_matrix(groups: Sequence[int], m: int, like: Tensor) -> Tensor:
    """The (m, g) indicator matrix of consecutive column blocks of the given sizes."""
    sizes = list(groups)
    if not sizes or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes) or sum(sizes) != m:
        raise ValueError(f"rv_coefficient: groups must be positive block sizes summing to m={m}, got {groups!r}")
    labels = torch.repeat_interleave(
        torch.arange(len(sizes), device=like.device), torch.tensor(sizes, device=like.device)
    )
    return torch.nn.functional.one_hot(labels, len(sizes)).to(like.dtype)


def rv_coefficient(X: Tensor, groups: Sequence[int] | None = None) -> Tensor:
    """RV coefficients between blocks of columns of X (by default each column is its own block).

    For centred blocks ``X_I`` (b, p) and ``X_J`` (b, q),
    ``RV_IJ = ||X_I^T X_J||_F^2 / (||X_I^T X_I||_F ||X_J^T X_J||_F)``
    = ``tr(S_I S_J) / sqrt(tr(S_I^2) tr(S_J^2))`` with ``S_I = X_I X_I^T``; it lies in [0, 1] and
    ``RV_II = 1``. All blocks at once: ``F = G^T (C o C) G`` with ``C = Xc^T Xc`` and ``G`` the
    (m, g) block indicator, then ``RV = F_IJ / sqrt(F_II F_JJ)``. For single columns RV is the
    *squared* Pearson correlation ``rho_ij^2``.

    The reference toolkit returned ``clamp(rho_ij, 0, 1)`` (not rho^2, and negative correlations
    mapped to 0 although RV is sign-blind) with a diagonal of 0, whereas every block has RV 1 with
    itself; here the diagonal is exactly 1. A block of constant columns has RV 0 with the others.

    Args:
        groups: sizes of consecutive column blocks, summing to m; None for single columns.

    Shape:
        X (b, m) -> (g, g), g = len(groups) (m when None).
    """
    Xc = centred(_matrix(X, "rv_coefficient"))
    C = Xc.T @ Xc
    if groups is None:
        F = C.square()
    else:
        G = _group_matrix(groups, X.shape[1], X)
        F = G.T @ C.square() @ G
    s = _inv_sqrt(F.diagonal())
    R = (F * s[:, None] * s[None, :]).clamp(0.0, 1.0)
    return _set_diagonal(R, 1.0)


def gaussian_mutual_information(X: Tensor, eps: float = 1e-6) -> Tensor:
    """Mutual information of column pairs under a Gaussian model: ``I_ij = -1/2 log(1 - rho_ij^2)``.

    ``rho`` is :func:`pearson_correlation` (so constant columns give 0). ``1 - rho^2`` is floored at
    ``eps``, which caps every entry at ``-1/2 log(eps)`` (6.91 nats for the default 1e-6); the
    diagonal (rho = 1, where the exact value is infinite) sits exactly at that cap, as does any
    perfectly correlated pair. The reference toolkit set the diagonal to 0, below every other
    entry, and computed a 2x2 determinant per pair in a Python loop.

    Shape:
        X (b, m) -> (m, m).
    """
    if not 0 < eps < 1:
        raise ValueError(f"gaussian_mutual_information: eps must be in (0, 1), got {eps!r}")
    R = pearson_correlation(X)
    I = (1.0 - R.square()).clamp_min(eps).log() * -0.5
    return _set_diagonal(I, -0.5 * math.log(eps))
