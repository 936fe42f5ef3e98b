"""The Taylor expansion: ordered tensor powers (its maths: :mod:`rpnkit.functional.polynomial`).

Chebyshev and the other one-variable polynomial families are in :mod:`rpnkit.expansion.orthogonal`
(beside :mod:`rpnkit.functional.orthogonal`), Fourier in :mod:`rpnkit.expansion.trigonometric`.
"""

from __future__ import annotations

import warnings
from typing import Any

from torch import Tensor

from ..base import Expansion
from ..functional.polynomial import taylor, taylor_dim
from ..implicit import Block
from ..registry import register
from ..validation import check_int

__all__ = ["Taylor"]


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

    finite_domain = (
        "a polynomial of degree d: finite while |x|^d (times the family's coefficients) stays below "
        "the dtype's maximum (float32: about 3.4e38 ** (1/d))"
    )

    polynomial_growth = True
    param_aliases = {"d": "degree"}

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = check_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        if self.D > 10**7:
            warnings.warn(f"taylor: D = {self.D:,} features per sample; consider a lower degree", stacklevel=2)

    def output_dim(self, m: int) -> int:
        return taylor_dim(m, self.degree)

    def transform(self, x: Tensor) -> Tensor:
        return taylor(x, self.degree)

    def implicit_layout(self) -> list[Block] | None:
        """One power block per order: ``x^{(x) i}`` for i = 1..degree, all of base x."""
        return [Block(self.m**i, "power", i, 0, self.m) for i in range(1, self.degree + 1)]

    def implicit_bases(self, x: Tensor) -> list[Tensor]:
        return [x]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.degree}"
