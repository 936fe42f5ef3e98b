"""Maths of the fit-once compressions that is done in torch (no scikit-learn needed)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["least_squares_map", "top_variance_columns", "group_mean_matrix"]


def least_squares_map(X: Tensor, E: Tensor, ridge: float = 0.0) -> tuple[Tensor, Tensor, float]:
    """The affine map x -> W x + b that best reproduces E from X (in float64).

    Solves min_{W, b} ||X W^T + b - E||^2 + ridge ||W||^2 (the bias is not penalised): on the centred
    data, W^T = lstsq(Xc, Ec) (minimum-norm solution when ridge = 0 and Xc is rank deficient, so that
    N <= m + 1 points in general position are reproduced exactly), or the ridge normal equations.

    Args:
        X: (N, m) inputs.
        E: (N, k) targets.
        ridge: L2 penalty >= 0.

    Returns:
        W (k, m), b (k,) (float64, on the CPU) and the coefficient of determination R^2 = 1 - SS_res / SS_tot of the fit
        (1.0 when E is constant).

    Example:
        >>> import torch
        >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0]])
        >>> W, b, r2 = least_squares_map(X, X @ torch.tensor([[2.0], [-1.0]]) + 0.5)
        >>> W.round(decimals=6).tolist(), b.round(decimals=6).tolist(), round(r2, 6)
        ([[2.0, -1.0]], [0.5], 1.0)
    """
    X = X.detach().to("cpu", torch.float64)  # fit-time maths; the "gelsd" driver is CPU-only
    E = E.detach().to("cpu", torch.float64)
    x_mean, e_mean = X.mean(dim=0), E.mean(dim=0)
    Xc, Ec = X - x_mean, E - e_mean
    if ridge > 0:
        gram = Xc.T @ Xc + ridge * torch.eye(X.shape[1], dtype=X.dtype)
        Wt = torch.linalg.solve(gram, Xc.T @ Ec)
    else:
        Wt = torch.linalg.lstsq(Xc, Ec, driver="gelsd").solution
    W = Wt.T.contiguous()
    b = e_mean - x_mean @ Wt
    residual = (Xc @ Wt - Ec).pow(2).sum().item()
    total = Ec.pow(2).sum().item()
    r2 = 1.0 if total == 0 else 1.0 - residual / total
    return W, b, r2


def top_variance_columns(X: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The k columns of X with the largest (population) variance, in increasing column order.

    Ties are broken towards the lower column index.

    Returns:
        index (k,) long sorted ascending, and the variances (m,) in float64.

    Example:
        >>> import torch
        >>> top_variance_columns(torch.tensor([[0.0, 1.0, 5.0], [0.0, -1.0, 3.0]]), 2)[0].tolist()
        [1, 2]
    """
    variances = X.detach().to(torch.float64).var(dim=0, unbiased=False)
    order = torch.sort(variances, descending=True, stable=True).indices[:k]
    return torch.sort(order).values, variances


def group_mean_matrix(labels: Tensor, k: int) -> Tensor:
    """A (k, m) matrix whose row g averages the columns with label g (each group must be non-empty).

    Example:
        >>> import torch
        >>> group_mean_matrix(torch.tensor([0, 1, 0]), 2).tolist()
        [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]
    """
    one_hot = torch.nn.functional.one_hot(labels, k).T.to(torch.float64)
    return one_hot / one_hot.sum(dim=1, keepdim=True)
