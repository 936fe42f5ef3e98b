"""B-spline expansion (the KAN basis)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from ..base import Expansion, positive_int
from ..functional.spline import uniform_bspline, uniform_knots
from ..registry import register
from .rbf import _check_range

__all__ = ["BSpline"]


@register("expansion", "bspline", aliases=["bspline_expansion"])
class BSpline(Expansion):
    """B-spline bases of degree d on a uniform grid of t intervals over grid_range; D = m (t + d).

    Knots t_i = low + i h, h = (high - low)/t, i = -d..t+d, stored as a buffer (saved with the model
    and moved by ``.to()``). Feature-major: column j (t + d) + k is basis k of feature j. Inputs
    outside [low - d h, high + d h) give all-zero features.

    Args:
        grid_range: (low, high).
        t: number of grid intervals.
        d: spline degree.
    """

    def __init__(
        self,
        m: int,
        grid_range: Sequence[float] = (-1.0, 1.0),
        t: int = 5,
        d: int = 3,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.grid_range = _check_range(grid_range, "grid_range")
        self.t = positive_int(t, "t")
        self.d = positive_int(d, "d", minimum=0)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("knots", uniform_knots(*self.grid_range, self.t, self.d).float())
        # the grid is uniform by construction: evaluate locally (see functional.spline.uniform_bspline)
        self.spacing = (self.grid_range[1] - self.grid_range[0]) / self.t
        self.first_knot = self.grid_range[0] - self.d * self.spacing

    def output_dim(self, m: int) -> int:
        return m * (self.t + self.d)

    def transform(self, x: Tensor) -> Tensor:
        return uniform_bspline(x, self.first_knot, self.spacing, self.t + 2 * self.d + 1, self.d).flatten(-2)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", t={self.t}, d={self.d}"
