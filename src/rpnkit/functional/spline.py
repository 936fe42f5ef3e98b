"""B-spline bases by the Cox-de Boor recursion on a uniform extended grid."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["uniform_knots", "bspline_basis"]


def uniform_knots(low: float, high: float, intervals: int, degree: int) -> Tensor:
    """Knots t_i = low + i*h for i = -degree..intervals+degree, h = (high - low)/intervals (float64)."""
    h = (high - low) / intervals
    return low + h * torch.arange(-degree, intervals + degree + 1, dtype=torch.float64)


def bspline_basis(x: Tensor, knots: Tensor, degree: int) -> Tensor:
    """B-spline basis functions of order ``degree`` on ``knots`` evaluated at x.

    Degree 0 is the indicator of [t_i, t_{i+1}); each of the ``degree`` recursion steps drops one
    basis function, leaving ``len(knots) - 1 - degree`` of them. Inputs outside
    [knots[degree], knots[-degree-1]) see fewer than the full partition of unity, and beyond the
    extended grid all bases are zero.

    Shape:
        x (..., m) -> (..., m, len(knots) - 1 - degree)
    """
    t = knots.to(dtype=x.dtype, device=x.device)
    xe = x.unsqueeze(-1)
    basis = ((xe >= t[:-1]) & (xe < t[1:])).to(x.dtype)
    for k in range(1, degree + 1):
        left = (xe - t[: -(k + 1)]) / (t[k:-1] - t[: -(k + 1)])
        right = (t[k + 1 :] - xe) / (t[k + 1 :] - t[1:-k])
        basis = left * basis[..., :-1] + right * basis[..., 1:]
    return basis
