"""B-spline expansion (the KAN basis)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from ..base import Expansion
from ..errors import ConfigError
from ..functional.spline import uniform_bspline, uniform_knots
from ..implicit import Block
from ..registry import register
from ..validation import check_int, child_path
from .rbf import _check_range

__all__ = ["BSpline"]


@register("expansion", "bspline", aliases=["bspline_expansion"])
class BSpline(Expansion):
    """B-spline bases of degree d on a uniform grid of t intervals over grid_range; D = m (t + d).

    With t = ``grid_size`` and d = ``degree``: knots t_i = low + i h, h = (high - low)/t,
    i = -d..t+d, stored as a buffer (saved with the model and moved by ``.to()``). Feature-major:
    column j (t + d) + k is basis k of feature j. Inputs outside [low - d h, high + d h) give all-zero
    features. The reference's ``t`` and ``d`` (rpnkit's spelling before 0.2) are accepted as aliases
    of ``grid_size`` and ``degree``; ``.t`` and ``.d`` remain as read-only attributes.

    Args:
        grid_range: (low, high).
        grid_size: t, the number of grid intervals (alias ``t``).
        degree: d, the spline degree (alias ``d``).
        recompute: in a head's implicit path (basis, then one matmul), recompute the basis in
            backward instead of storing it: True, False, or None (default) to recompute only when the
            basis of a batch holds more than ``RECOMPUTE_ABOVE`` numbers (recomputing costs one more
            basis evaluation; storing costs batch * m * (t + d) numbers per layer).
    """

    param_aliases = {"t": "grid_size", "d": "degree"}

    #: basis size (numbers) above which ``recompute=None`` recomputes in backward (16 MB of float32)
    RECOMPUTE_ABOVE = 1 << 22

    def __init__(
        self,
        m: int,
        grid_range: Sequence[float] = (-1.0, 1.0),
        grid_size: int = 5,
        degree: int = 3,
        recompute: bool | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.grid_range = _check_range(grid_range, "grid_range")
        self.grid_size = check_int(grid_size, "grid_size")
        self.degree = check_int(degree, "degree", minimum=0)
        if recompute is not None and not isinstance(recompute, bool):
            raise ConfigError(f"recompute must be true, false or null, got {recompute!r}", child_path("recompute"))
        self.recompute = recompute
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("knots", uniform_knots(*self.grid_range, self.t, self.d).float())
        # the grid is uniform by construction: evaluate locally (see functional.spline.uniform_bspline)
        self.spacing = (self.grid_range[1] - self.grid_range[0]) / self.t
        self.first_knot = self.grid_range[0] - self.d * self.spacing

    @property
    def t(self) -> int:
        """The number of grid intervals (the reference's name of ``grid_size``)."""
        return self.grid_size

    @property
    def d(self) -> int:
        """The spline degree (the reference's name of ``degree``)."""
        return self.degree

    @property
    def grid(self) -> tuple[float, float, int]:
        """(first knot, spacing, number of knots) of the uniform grid."""
        return self.first_knot, self.spacing, self.t + 2 * self.d + 1

    def recomputes(self, x: Tensor) -> bool:
        """Whether the implicit path recomputes the basis of input x in backward."""
        if self.recompute is not None:
            return self.recompute
        return x.numel() * (self.t + self.d) > self.RECOMPUTE_ABOVE

    def output_dim(self, m: int) -> int:
        return m * (self.t + self.d)

    def transform(self, x: Tensor) -> Tensor:
        return uniform_bspline(x, self.first_knot, self.spacing, self.t + 2 * self.d + 1, self.d).flatten(-2)

    def implicit_layout(self) -> list[Block] | None:
        """One B-spline block of all D columns (its grid and degree are read from this module)."""
        return [Block(self.D, "bspline", 0, 0, self.m, self)]

    def implicit_bases(self, x: Tensor) -> list[Tensor]:
        return [x]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", grid_size={self.grid_size}, degree={self.degree}"
