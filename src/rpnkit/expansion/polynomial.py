"""Polynomial expansions: Taylor (ordered tensor powers) and Chebyshev."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from ..base import Expansion, positive_int
from ..functional.polynomial import feature_major, recurrence, taylor, taylor_dim
from ..registry import register

__all__ = ["Taylor", "Chebyshev"]


@register("expansion", "taylor", aliases=["taylor_expansion"])
class Taylor(Expansion):
    """kappa(x) = [x, x (x) x, ..., x^{(x) d}]: the ordered tensor powers of orders 1..d.

    The layout is the reference system's: order blocks one after another, and within order i the
    column ``sum_k j_k m^{i-k}`` holds ``x_{j_1} ... x_{j_i}`` (duplicates kept). D = m + ... + m^d.

    Args:
        degree: d (>= 1).

    Example:
        >>> import torch
        >>> Taylor(2, degree=2)(torch.tensor([1.0, 2.0]))
        tensor([1., 2., 1., 2., 2., 4.])
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = positive_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        if self.D > 10**7:
            warnings.warn(f"taylor: D = {self.D:,} features per sample; consider a lower degree", stacklevel=2)

    def output_dim(self, m: int) -> int:
        return taylor_dim(m, self.degree)

    def transform(self, x: Tensor) -> Tensor:
        return taylor(x, self.degree)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.degree}"


@register("expansion", "chebyshev", aliases=["chebyshev_expansion"])
class Chebyshev(Expansion):
    """Chebyshev polynomials of the first kind T_1..T_d of each feature, feature-major; D = m*d.

    T_0 = 1, T_1 = x, T_k = 2x T_{k-1} - T_{k-2} (T_0 is dropped).

    Example:
        >>> import torch
        >>> Chebyshev(1, degree=3)(torch.tensor([0.5]))
        tensor([ 0.5000, -0.5000, -1.0000])
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = positive_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def output_dim(self, m: int) -> int:
        return m * self.degree

    def transform(self, x: Tensor) -> Tensor:
        basis = recurrence(x, self.degree, torch.ones_like(x), x, lambda k, p1, p2: 2 * x * p1 - p2)
        return feature_major(basis)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.degree}"
