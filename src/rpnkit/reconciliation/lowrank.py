"""Low-rank reconciliation W = A @ B.T."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..base import Reconciliation, check_rank
from ..functional.init import lowrank_pair_
from ..implicit import Block, transposed_product
from ..registry import register

__all__ = ["LowRank"]


@register("reconciliation", "lowrank", aliases=["lorr", "lorr_reconciliation", "low_rank_reconciliation"])
class LowRank(Reconciliation):
    """W = A @ B.T with A in R^{n x r}, B in R^{D x r}; l = r (n + D).

    Applied as ``(z @ B) @ A.T``: O(r (n + D)) per row instead of O(n D).

    Initialisation: A and B (semi-)orthogonal, A rescaled so that the entries of W have mean square
    gain**2 / D exactly (:func:`rpnkit.functional.init.lowrank_pair_`). In deep stacks a small r
    still shrinks the typical output scale: an r-dimensional bottleneck keeps about r/D of a random
    input's energy, with fluctuations that compound over layers.

    Args:
        rank: r.

    Example:
        >>> psi = LowRank(4, 10, rank=2)
        >>> psi.l
        28
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(self, n: int, D: int, rank: int = 2, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.rank = check_rank(rank, {"n": self.n, "D": self.D})
        self.A = nn.Parameter(torch.empty(self.n, self.rank))
        self.B = nn.Parameter(torch.empty(self.D, self.rank))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        lowrank_pair_(self.A, self.B, self._std())

    def weight(self) -> Tensor:
        return self.A @ self.B.T

    def product(self, z: Tensor) -> Tensor:
        return (z @ self.B) @ self.A.T

    def supports_layout(self, layout: list[Block]) -> bool:
        return True

    def contract(self, layout: list[Block], bases: list[Tensor]) -> Tensor:
        return transposed_product(self.B, layout, bases) @ self.A.T

    def extra_repr(self) -> str:
        return super().extra_repr() + f", rank={self.rank}"
