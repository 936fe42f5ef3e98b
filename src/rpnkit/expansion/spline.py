"""B-spline expansion (the KAN basis)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
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
    features. ``grid_range`` is one pair for every input, or one pair per input (an (m, 2) list or
    array: input j gets its own uniform grid over [low_j, high_j], its own spacing, and the knots
    buffer is (m, t + 2d + 1)); :func:`rpnkit.explain.refine` sets per-input ranges from the data.
    The reference's ``t`` and ``d`` (rpnkit's spelling before 0.2) are accepted as aliases
    of ``grid_size`` and ``degree``; ``.t`` and ``.d`` remain as read-only attributes.

    Args:
        grid_range: (low, high), or m pairs (one range per input).
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
        self.grid_range = _check_ranges(grid_range, m)
        self.grid_size = check_int(grid_size, "grid_size")
        self.degree = check_int(degree, "degree", minimum=0)
        if recompute is not None and not isinstance(recompute, bool):
            raise ConfigError(f"recompute must be true, false or null, got {recompute!r}", child_path("recompute"))
        self.recompute = recompute
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self._set_grid()

    def _set_grid(self) -> None:
        """Knots buffer, spacing and first knot from ``grid_range``, ``t`` and ``d``."""
        self._grids: dict[tuple[torch.dtype, torch.device], tuple[Tensor, Tensor]] = {}
        if not self.per_input:
            knots = uniform_knots(*self.grid_range, self.t, self.d).float()
            # the grid is uniform by construction: evaluate locally (see functional.spline.uniform_bspline)
            self.spacing = (self.grid_range[1] - self.grid_range[0]) / self.t
            self.first_knot = self.grid_range[0] - self.d * self.spacing
        else:
            knots = torch.stack([uniform_knots(low, high, self.t, self.d) for low, high in self.grid_range]).float()
            # one uniform grid per input: (m,) float64 first knots and spacings (cast per dtype in grid_on)
            self.spacing = torch.tensor([(high - low) / self.t for low, high in self.grid_range], dtype=torch.float64)
            self.first_knot = torch.tensor([low for low, _ in self.grid_range], dtype=torch.float64)
            self.first_knot -= self.d * self.spacing
        old = self._buffers.get("knots")
        if old is not None:
            knots = knots.to(device=old.device, dtype=old.dtype)
        self.register_buffer("knots", knots)

    def set_grid_range(self, grid_range: Any) -> None:
        """Move the grid (in place) to ``grid_range``: one pair, or one pair per input.

        Only the grid changes: the reconciliation's coefficients are not transferred
        (:func:`rpnkit.explain.update_grid` does both).
        """
        self.grid_range = _check_ranges(grid_range, self.m)
        hparams = dict(getattr(self, "_hparams", {}))
        hparams["grid_range"] = [list(p) for p in self.grid_range] if self.per_input else list(self.grid_range)
        object.__setattr__(self, "_hparams", hparams)
        self._set_grid()

    @property
    def per_input(self) -> bool:
        """Whether every input has its own grid range (``grid_range`` holds m pairs)."""
        return isinstance(self.grid_range[0], tuple)

    @property
    def ranges(self) -> list[tuple[float, float]]:
        """(low, high) of every input's grid (m pairs, shared or not)."""
        if self.per_input:
            return list(self.grid_range)
        return [self.grid_range] * self.m

    @property
    def t(self) -> int:
        """The number of grid intervals (the reference's name of ``grid_size``)."""
        return self.grid_size

    @property
    def d(self) -> int:
        """The spline degree (the reference's name of ``degree``)."""
        return self.degree

    @property
    def grid(self) -> tuple[float | Tensor, float | Tensor, int]:
        """(first knot, spacing, number of knots) of the uniform grid (per input: (m,) float64 tensors)."""
        return self.first_knot, self.spacing, self.t + 2 * self.d + 1

    def grid_on(self, x: Tensor) -> tuple[float | Tensor, float | Tensor, int]:
        """:attr:`grid` for evaluating input x: per-input first knots and spacings in x's dtype and device."""
        if not self.per_input:
            return self.grid
        key = (x.dtype, x.device)
        cached = self._grids.get(key)
        if cached is None:
            cached = (
                self.first_knot.to(dtype=x.dtype, device=x.device),
                self.spacing.to(dtype=x.dtype, device=x.device),
            )
            self._grids[key] = cached
        return cached[0], cached[1], self.t + 2 * self.d + 1

    def recomputes(self, x: Tensor) -> bool:
        """Whether the implicit path recomputes the basis of input x in backward."""
        if self.recompute is not None:
            return self.recompute
        return x.numel() * (self.t + self.d) > self.RECOMPUTE_ABOVE

    def output_dim(self, m: int) -> int:
        return m * (self.t + self.d)

    def transform(self, x: Tensor) -> Tensor:
        return uniform_bspline(x, *self.grid_on(x), self.d).flatten(-2)

    def implicit_layout(self) -> list[Block] | None:
        """One B-spline block of all D columns (its grid and degree are read from this module)."""
        return [Block(self.D, "bspline", 0, 0, self.m, self)]

    def implicit_bases(self, x: Tensor) -> list[Tensor]:
        return [x]

    def extra_repr(self) -> str:
        extra = ", per-input grid ranges" if self.per_input else ""
        return super().extra_repr() + f", grid_size={self.grid_size}, degree={self.degree}{extra}"


def _check_ranges(value: Any, m: int) -> tuple[float, float] | tuple[tuple[float, float], ...]:
    """A (low, high) pair, or m of them (one per input) from a nested list, array or tensor."""
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ConfigError(f"grid_range must be a pair [low, high] or one pair per input, got {value!r}", "grid_range")
    if not isinstance(value[0], Sequence) or isinstance(value[0], (str, bytes)):
        return _check_range(value, "grid_range")
    if len(value) != m:
        raise ConfigError(
            f"grid_range has {len(value)} pairs for {m} inputs (give one pair, or one per input)", "grid_range"
        )
    return tuple(_check_range(pair, f"grid_range[{j}]") for j, pair in enumerate(value))
