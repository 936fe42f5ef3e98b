"""Elementwise compressions (D = m): identity, reciprocal and linear scaling."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..registry import register
from ..validation import check_real
from ._base import CompressionBase

__all__ = ["IdentityCompression", "ReciprocalCompression", "LinearCompression"]


class _SameWidth(CompressionBase):
    """A compression that keeps the width: D = m."""

    def output_dim(self, m: int) -> int:
        return m


@register("compression", "identity", aliases=["identity_compression"])
class IdentityCompression(_SameWidth):
    """kappa(x) = x; D = m.

    Shape:
        (..., m) -> (..., m)

    Example:
        >>> import torch
        >>> IdentityCompression(2)(torch.tensor([1.0, -2.0]))
        tensor([ 1., -2.])
    """

    def __init__(self, m: int, preprocess: Any = None, postprocess: Any = None) -> None:
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def transform(self, x: Tensor) -> Tensor:
        return x


@register("compression", "reciprocal", aliases=["reciprocal_compression"])
class ReciprocalCompression(_SameWidth):
    """kappa(x) = 1 / (sign(x) max(|x|, eps)); D = m.

    |x| is clamped to at least ``eps`` keeping the sign, the sign of zero included: +0 gives 1/eps and
    -0 gives -1/eps (the reference sent both zeros to +1/eps). The reference clamped by writing into
    its input in place, which mutated the caller's tensor and could break autograd; here nothing is
    written in place. Outputs are bounded by 1/eps; the gradient is zero where the clamp is active.

    Args:
        eps: the smallest magnitude divided by (default 1e-6).

    Shape:
        (..., m) -> (..., m)

    Example:
        >>> import torch
        >>> ReciprocalCompression(3)(torch.tensor([2.0, -0.5, 0.0]))
        tensor([ 5.0000e-01, -2.0000e+00,  1.0000e+06])
    """

    def __init__(self, m: int, eps: float = 1e-6, preprocess: Any = None, postprocess: Any = None) -> None:
        self.eps = check_real(eps, "eps", gt=0.0)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def transform(self, x: Tensor) -> Tensor:
        return x.abs().clamp(min=self.eps).copysign(x).reciprocal()

    def extra_repr(self) -> str:
        return super().extra_repr() + f", eps={self.eps}"


@register("compression", "linear", aliases=["linear_compression"])
class LinearCompression(_SameWidth):
    """kappa(x) = c * x; D = m.

    The reference's optional fixed matrices (``pre_C`` of size b x b, ``post_C`` of size m x m) are not
    offered: they are data, not hyperparameters, and a learnable mixing belongs in an interdependence.

    Args:
        c: the scale.

    Shape:
        (..., m) -> (..., m)

    Example:
        >>> import torch
        >>> LinearCompression(2, c=3.0)(torch.tensor([1.0, -2.0]))
        tensor([ 3., -6.])
    """

    def __init__(self, m: int, c: float = 1.0, preprocess: Any = None, postprocess: Any = None) -> None:
        self.c = check_real(c, "c")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def transform(self, x: Tensor) -> Tensor:
        return self.c * x

    def extra_repr(self) -> str:
        return super().extra_repr() + f", c={self.c}"
