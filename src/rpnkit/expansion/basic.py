"""Basic expansions."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..base import Expansion
from ..registry import register

__all__ = ["IdentityExpansion"]


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
