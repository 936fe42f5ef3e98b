"""Zero, constant, identity and linear remainders."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Remainder
from ..errors import ConfigError
from ..registry import register

__all__ = ["ZeroRemainder", "ConstantRemainder", "IdentityRemainder", "LinearRemainder"]


@register("remainder", "zero", aliases=["zero_remainder"])
class ZeroRemainder(Remainder):
    """pi(x) = 0 (the head skips it)."""

    is_zero = True

    def __init__(self, m: int, n: int) -> None:
        super().__init__(m, n)

    def compute(self, x: Tensor) -> Tensor:
        return x.new_zeros(*x.shape[:-1], self.n)


@register("remainder", "constant", aliases=["constant_remainder"])
class ConstantRemainder(Remainder):
    """pi(x) = activation(c * 1_n), broadcast over the batch (x is ignored)."""

    def __init__(self, m: int, n: int, c: float = 1.0, activation: Any = None) -> None:
        super().__init__(m, n, activation=activation)
        self.c = float(c)

    def compute(self, x: Tensor) -> Tensor:
        return torch.full((*x.shape[:-1], self.n), self.c, dtype=x.dtype, device=x.device)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", c={self.c}"


@register("remainder", "identity", aliases=["identity_remainder"])
class IdentityRemainder(Remainder):
    """pi(x) = activation(x); needs m == n."""

    def __init__(self, m: int, n: int, activation: Any = None) -> None:
        if m != n:
            raise ConfigError(
                f"the identity remainder needs m == n, got m={m}, n={n}; use 'linear' (or 'skip') instead"
            )
        super().__init__(m, n, activation=activation)

    def compute(self, x: Tensor) -> Tensor:
        return x


@register("remainder", "linear", aliases=["linear_remainder"])
class LinearRemainder(Remainder):
    """pi(x) = activation(x W.T + b) with W in R^{n x m} (b when ``bias``).

    W is initialised with variance 1/m (variance preserving), b with zeros.
    """

    def __init__(self, m: int, n: int, bias: bool = False, activation: Any = None) -> None:
        super().__init__(m, n, activation=activation)
        self.W = nn.Parameter(torch.empty(self.n, self.m))
        self.bias = nn.Parameter(torch.empty(self.n)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.W, std=self.m**-0.5)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def compute(self, x: Tensor) -> Tensor:
        return F.linear(x, self.W, self.bias)
