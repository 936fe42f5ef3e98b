"""Basic expansions: identity, reciprocal and linear."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..base import Expansion
from ..errors import ConfigError
from ..implicit import Block
from ..registry import register
from ..validation import check_real

__all__ = ["IdentityExpansion", "Reciprocal", "Linear"]


@register("expansion", "identity", aliases=["identity_expansion"])
class IdentityExpansion(Expansion):
    """kappa(x) = x; D = m.

    Shape:
        (..., m) -> (..., m)
    """

    def __init__(self, m: int, preprocess: Any = None, postprocess: Any = None) -> None:
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def output_dim(self, m: int) -> int:
        return m

    def transform(self, x: Tensor) -> Tensor:
        return x

    def implicit_layout(self) -> list[Block] | None:
        """One power block of degree 1: x itself."""
        return [Block(self.m, "power", 1, 0, self.m)]

    def implicit_bases(self, x: Tensor) -> list[Tensor]:
        return [x]


@register("expansion", "reciprocal", aliases=["reciprocal_expansion"])
class Reciprocal(Expansion):
    """kappa(x) = 1 / x_eps, with x_eps = x moved out of [-eps, eps]; D = m.

    x_eps = eps where 0 <= x <= eps and -eps where -eps <= x < 0 (as the reference system does,
    with eps = 1e-6), so |kappa(x)| <= 1/eps and kappa(0) = 1/eps. The input is never modified
    (the reference clamps x in place, which mutates the caller's tensor); the clamped region has a
    zero gradient.

    Args:
        eps: the smallest |x| used (> 0).

    Shape:
        (..., m) -> (..., m)

    Example:
        >>> import torch
        >>> Reciprocal(3)(torch.tensor([2.0, -0.5, 0.0]))
        tensor([ 5.0000e-01, -2.0000e+00,  1.0000e+06])
    """

    def __init__(self, m: int, eps: float = 1e-6, preprocess: Any = None, postprocess: Any = None) -> None:
        self.eps = check_real(eps, "eps", gt=0.0)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def output_dim(self, m: int) -> int:
        return m

    def transform(self, x: Tensor) -> Tensor:
        # 1/max(|x|, eps) with the sign of x; "x + 0.0" turns -0.0 into +0.0 so that both zeros map to
        # +1/eps as in the reference. (Vectorised kernels only: nested ``where`` is slow on the CPU.)
        return torch.copysign(x.abs().clamp_min(self.eps).reciprocal(), x + 0.0)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", eps={self.eps}"


@register("expansion", "linear", aliases=["linear_expansion"])
class Linear(Expansion):
    """kappa(x) = c x post_C: a fixed scaling and an optional fixed m x m matrix on the right; D = m.

    ``post_C`` is given in the config as a nested list (m rows of m numbers) and kept as a float64
    buffer outside the state dict (the config holds it); forward casts it to x's dtype.
    The reference applies only the first of c, pre_C, post_C that is set; here c and post_C
    compose, and the defaults (c = 1, no matrix) give the identity. The reference's ``pre_C``
    (a b x b matrix on the left, b = batch size) is not offered: it ties the component to one
    batch size and mixes instances, which is an instance interdependence's job in rpnkit.

    Args:
        c: scalar factor.
        post_C: optional m x m matrix (nested list); kappa(x) = c * x @ post_C.

    Shape:
        (..., m) -> (..., m)

    Example:
        >>> import torch
        >>> Linear(2, c=2.0, post_C=[[0.0, 1.0], [1.0, 0.0]])(torch.tensor([1.0, 3.0]))
        tensor([6., 2.])
    """

    def __init__(
        self,
        m: int,
        c: float = 1.0,
        post_C: Sequence[Sequence[float]] | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.c = check_real(c, "c")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        if post_C is None:
            self.register_buffer("post_C", None)
        else:
            try:
                matrix = torch.tensor(post_C, dtype=torch.float64)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"post_C must be a nested list of m x m = {m} x {m} numbers, got {post_C!r}"
                ) from None
            if matrix.shape != (self.m, self.m):
                raise ConfigError(f"post_C must be m x m = {self.m} x {self.m}, got shape {tuple(matrix.shape)}")
            self.register_buffer("post_C", matrix, persistent=False)

    def output_dim(self, m: int) -> int:
        return m

    def transform(self, x: Tensor) -> Tensor:
        if self.post_C is not None:
            x = x @ self.post_C.to(x.dtype)
        return x * self.c if self.c != 1.0 else x

    def extra_repr(self) -> str:
        return super().extra_repr() + f", c={self.c}, post_C={'set' if self.post_C is not None else None}"
