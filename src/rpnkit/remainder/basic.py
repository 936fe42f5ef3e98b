"""Zero, constant, one, identity, linear, nonlinear and skip remainders."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Remainder
from ..errors import ConfigError
from ..registry import register

__all__ = [
    "ZeroRemainder",
    "ConstantRemainder",
    "OneRemainder",
    "IdentityRemainder",
    "LinearRemainder",
    "NonlinearRemainder",
    "SkipRemainder",
]


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

    param_aliases = {"enable_bias": "bias", "activation_functions": "activation"}

    def __init__(self, m: int, n: int, c: float = 1.0, activation: Any = None) -> None:
        super().__init__(m, n, activation=activation)
        self.c = float(c)

    def compute(self, x: Tensor) -> Tensor:
        return torch.full((*x.shape[:-1], self.n), self.c, dtype=x.dtype, device=x.device)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", c={self.c}"


@register("remainder", "one", aliases=["one_remainder"])
class OneRemainder(ConstantRemainder):
    """pi(x) = activation(1_n), broadcast over the batch (x is ignored); the constant remainder with c = 1."""

    def __init__(self, m: int, n: int, activation: Any = None) -> None:
        super().__init__(m, n, c=1.0, activation=activation)


@register("remainder", "identity", aliases=["identity_remainder"])
class IdentityRemainder(Remainder):
    """pi(x) = activation(x); needs m == n."""

    param_aliases = {"enable_bias": "bias", "activation_functions": "activation"}

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

    param_aliases = {"enable_bias": "bias", "activation_functions": "activation"}

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


@register("remainder", "nonlinear", aliases=["nonlinear_remainder"])
class NonlinearRemainder(LinearRemainder):
    """pi(x) = activation(x W.T + b): a learned projection followed by a non-linearity (default SiLU).

    The reference system has no such class (its "nonlinear" remainder is the linear one with
    activation functions); this is that combination with a non-linear default. W is initialised
    with variance 1/m, b with zeros.

    Args:
        bias: add a learnable b in R^n.
        activation: processing spec applied after the projection (required: use ``linear`` for none).

    Example:
        >>> import torch
        >>> NonlinearRemainder(3, 2, activation="tanh")(torch.zeros(4, 3)).abs().max().item()
        0.0
    """

    def __init__(self, m: int, n: int, bias: bool = False, activation: Any = "silu") -> None:
        if activation is None or (isinstance(activation, (list, tuple)) and not activation):
            raise ConfigError("the nonlinear remainder needs an activation (e.g. 'silu'); use 'linear' for none")
        super().__init__(m, n, bias=bias, activation=activation)


@register("remainder", "skip", aliases=["skip_remainder"])
class SkipRemainder(Remainder):
    """A skip connection: pi(x) = activation(x) when m == n, activation(x W.T) (W learned, n x m) otherwise.

    The usual residual path of deep networks: free when the widths match, a learned linear
    projection (variance 1/m at initialisation) when they do not.

    Args:
        activation: optional processing spec applied to the result.

    Example:
        >>> import torch
        >>> SkipRemainder(3, 3).W is None, SkipRemainder(3, 2).W.shape
        (True, torch.Size([2, 3]))
    """

    param_aliases = {"enable_bias": "bias", "activation_functions": "activation"}

    def __init__(self, m: int, n: int, activation: Any = None) -> None:
        super().__init__(m, n, activation=activation)
        if self.m == self.n:
            self.register_parameter("W", None)
        else:
            self.W = nn.Parameter(torch.empty(self.n, self.m))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.W is not None:
            nn.init.normal_(self.W, std=self.m**-0.5)

    def compute(self, x: Tensor) -> Tensor:
        return x if self.W is None else F.linear(x, self.W)
