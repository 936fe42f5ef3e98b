"""Dense, masked and padded reconciliations."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Reconciliation
from ..errors import ConfigError
from ..functional.factors import describe_divisors
from ..registry import register

__all__ = ["IdentityReconciliation", "Masking", "DuplicatedPadding", "check_factor"]


def check_factor(value: int, name: str, total: int, total_name: str) -> int:
    """Validate that ``value`` is a positive int that divides ``total``; the error lists valid choices."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or total % value:
        raise ConfigError(
            f"{name}={value!r} must be a positive divisor of {total_name}={total}; "
            f"valid choices: {describe_divisors(total, value if isinstance(value, int) else None)}"
        )
    return value


@register("reconciliation", "identity", aliases=["identity_reconciliation"])
class IdentityReconciliation(Reconciliation):
    """W = reshape(w, (n, D)): a dense weight, l = n*D (the plain linear layer).

    Example:
        >>> import torch
        >>> psi = IdentityReconciliation(3, 5)
        >>> psi.l, psi(torch.ones(2, 5)).shape
        (15, torch.Size([2, 3]))
    """

    def __init__(self, n: int, D: int, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.W = nn.Parameter(torch.empty(self.n, self.D))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.normal_(self.W, std=self._std())

    def weight(self) -> Tensor:
        return self.W

    def product(self, z: Tensor) -> Tensor:
        return F.linear(z, self.W)


@register("reconciliation", "masking", aliases=["masking_reconciliation"])
class Masking(Reconciliation):
    """W = M * reshape(w, (n, D)) with a fixed binary mask M (a seeded buffer); l = n*D.

    Args:
        p: probability that an entry of W is *kept* (the reference system's meaning of p).
        fixed_mask: keep one mask for ever (True) or draw a fresh one at every training step.
        seed: seed of the mask generator (the mask is saved with the model).
    """

    def __init__(
        self, n: int, D: int, p: float = 0.5, fixed_mask: bool = True, seed: int = 0, bias: bool = False,
        gain: float = 1.0,
    ) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        if not 0.0 < p <= 1.0:
            raise ConfigError(f"p (keep probability) must be in (0, 1], got {p!r}")
        self.p = float(p)
        self.fixed_mask = bool(fixed_mask)
        self.seed = int(seed)
        generator = torch.Generator().manual_seed(self.seed)
        self.register_buffer("mask", (torch.rand(self.n, self.D, generator=generator) < self.p).float())
        self.W = nn.Parameter(torch.empty(self.n, self.D))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.normal_(self.W, std=self._std() / self.p**0.5)

    def _mask(self) -> Tensor:
        if self.fixed_mask or not self.training:
            return self.mask.to(self.W.dtype)
        return (torch.rand_like(self.W) < self.p).to(self.W.dtype)

    def weight(self) -> Tensor:
        return self.W * self.mask.to(self.W.dtype)

    def product(self, z: Tensor) -> Tensor:
        return F.linear(z, self.W * self._mask())


@register("reconciliation", "duplicated_padding", aliases=["duplicated_padding_reconciliation"])
class DuplicatedPadding(Reconciliation):
    """W = 1_{p x q} (x) B with B in R^{s x t}, s = n/p, t = D/q: B tiled p x q times; l = s*t.

    Applied as: sum the q column blocks of z, multiply by B, repeat the result p times. (The reference
    system's einsum does not tile B; this is the documented intent, and equals ``torch.kron``.)

    Args:
        p: row repetitions (divides n).
        q: column repetitions (divides D); defaults to p.
    """

    def __init__(self, n: int, D: int, p: int = 2, q: int | None = None, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.p = check_factor(p, "p", self.n, "n")
        self.q = check_factor(p if q is None else q, "q", self.D, "D")
        self.s, self.t = self.n // self.p, self.D // self.q
        self.B = nn.Parameter(torch.empty(self.s, self.t))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.normal_(self.B, std=self._std())

    def weight(self) -> Tensor:
        ones = torch.ones(self.p, self.q, dtype=self.B.dtype, device=self.B.device)
        return torch.kron(ones, self.B)

    def product(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        summed = z.reshape(*lead, self.q, self.t).sum(-2)
        y = F.linear(summed, self.B)
        return y.unsqueeze(-2).expand(*lead, self.p, self.s).reshape(*lead, self.n)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}, q={self.q}"


