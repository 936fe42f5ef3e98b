"""Trigonometric and hyperbolic expansions (and their inverses, D = 3m) and Fourier features, block-major.

Their maths is :mod:`rpnkit.functional.trigonometric`.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..base import Expansion
from ..functional import trigonometric as T
from ..registry import register
from ..validation import check_int, check_real

__all__ = ["Fourier", "Trigonometric", "Hyperbolic", "ArcTrigonometric", "ArcHyperbolic"]


@register("expansion", "fourier", aliases=["fourier_expansion"])
class Fourier(Expansion):
    """Truncated Fourier series features: for k = 1..N the blocks cos(2 pi k x / P) and sin(2 pi k x / P).

    P is ``period`` and N is ``harmonics`` (the reference's ``P`` and ``N`` are accepted as aliases;
    ``.P`` and ``.N`` remain as attributes).

    Block-major (m columns per block), harmonic by harmonic: column (2(k-1)) m + j holds
    cos(2 pi k x_j / P) and column (2(k-1) + 1) m + j holds sin(2 pi k x_j / P). D = 2 m N.

    Args:
        period: P (> 0; alias ``P``).
        harmonics: N, the number of harmonics (>= 1; alias ``N``).

    Shape:
        (..., m) -> (..., 2 m N)

    Example:
        >>> import torch
        >>> Fourier(1, period=8.0, harmonics=1)(torch.tensor([1.0]))  # [cos(pi/4), sin(pi/4)]
        tensor([0.7071, 0.7071])
    """

    param_aliases = {"P": "period", "N": "harmonics"}

    def __init__(
        self, m: int, period: float = 10.0, harmonics: int = 5, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        self.P = self.period = check_real(period, "period", gt=0.0)
        self.N = self.harmonics = check_int(harmonics, "harmonics")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def output_dim(self, m: int) -> int:
        return 2 * m * self.N

    def transform(self, x: Tensor) -> Tensor:
        return T.fourier(x, self.N, self.P)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", period={self.P}, harmonics={self.N}"


class _ThreeBlocks(Expansion):
    """Base of the elementwise expansions with three blocks of m columns."""

    def output_dim(self, m: int) -> int:
        return 3 * m


@register("expansion", "trigonometric", aliases=["trigonometric_expansion"])
class Trigonometric(_ThreeBlocks):
    """kappa(x) = [sin x, cos x, clamp(tan x, -B, B)], block-major; D = 3m.

    tan has poles at pi/2 + k pi. With ``tan_bound`` B (default 1e6, the same ceiling as the
    reciprocal expansion) the tan block is clamped to [-B, B], so it is finite with a finite
    gradient (zero where clamped) for every finite input; on |x| < pi/2 - 1/B it is the
    reference's tan (computed as sin / cos, within a few units in the last place).
    ``tan_bound=None`` gives the raw tan (finite in floating point, but up to ~1e16 in float64 next
    to a pole).

    Args:
        tan_bound: clamp of the tan block (> 0), or None for none.

    Shape:
        (..., m) -> (..., 3m)
    """

    def __init__(self, m: int, tan_bound: float | None = 1e6, preprocess: Any = None, postprocess: Any = None) -> None:
        self.tan_bound = None if tan_bound is None else check_real(tan_bound, "tan_bound", gt=0.0)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def transform(self, x: Tensor) -> Tensor:
        return T.trigonometric(x, self.tan_bound)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tan_bound={self.tan_bound}"


@register("expansion", "hyperbolic", aliases=["hyperbolic_expansion"])
class Hyperbolic(_ThreeBlocks):
    """kappa(x) = [sinh x_B, cosh x_B, tanh x] with x_B = clamp(x, -B, B), block-major; D = 3m.

    sinh and cosh overflow (to inf) past |x| ~ 89 in float32 and ~710 in float64. With
    ``input_bound`` B (default 20, so |sinh|, cosh <= 2.5e8) their input is clamped, which keeps
    the output and the gradient finite for every finite x and equal to the reference's on
    [-B, B] (the gradient of the sinh/cosh blocks is zero beyond). tanh needs no guard.
    ``input_bound=None`` gives the raw functions.

    Args:
        input_bound: clamp of the sinh/cosh input (> 0), or None for none.

    Shape:
        (..., m) -> (..., 3m)
    """

    def __init__(
        self, m: int, input_bound: float | None = 20.0, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        self.input_bound = None if input_bound is None else check_real(input_bound, "input_bound", gt=0.0)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def transform(self, x: Tensor) -> Tensor:
        return T.hyperbolic(x, self.input_bound)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", input_bound={self.input_bound}"


@register("expansion", "arc_trigonometric", aliases=["arc_trigonometric_expansion"])
class ArcTrigonometric(_ThreeBlocks):
    """kappa(x) = [asin(0.99 s), acos(0.99 s), atan s] with s = sigmoid(x), block-major; D = 3m.

    The sigmoid squash (the reference's, fixed) maps R into (0, 1), so asin/acos stay inside their
    domain and away from the infinite slope at 1: finite with finite gradients for every finite x.

    Shape:
        (..., m) -> (..., 3m)
    """

    def __init__(self, m: int, preprocess: Any = None, postprocess: Any = None) -> None:
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def transform(self, x: Tensor) -> Tensor:
        return T.arc_trigonometric(x)


@register("expansion", "arc_hyperbolic", aliases=["arc_hyperbolic_expansion"])
class ArcHyperbolic(_ThreeBlocks):
    """kappa(x) = [asinh s, acosh(s + 1.01), atanh(0.99 s)] with s = sigmoid(x), block-major; D = 3m.

    The sigmoid squash (the reference's, fixed) keeps acosh's argument >= 1.01 and atanh's below
    0.99: finite with finite gradients for every finite x.

    Shape:
        (..., m) -> (..., 3m)
    """

    def __init__(self, m: int, preprocess: Any = None, postprocess: Any = None) -> None:
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def transform(self, x: Tensor) -> Tensor:
        return T.arc_hyperbolic(x)
