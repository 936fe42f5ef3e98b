"""Patch placement on a channel-major grid, shared by the patch expansions and the geometric compressions.

Both catalogues read an input of width m = C*h*w*d as C channel-major grids, place patches of a
cuboid, cylinder or sphere shape on centres a stride apart, and look the patches' cells up in a
table built once (:func:`rpnkit.functional.geometric.patch_cells`). This module checks their shared
hyperparameters (the grid, the patch extents, the centre distances) with one set of messages and
gives both the same attributes (:class:`PatchGeometry`). The expansions gather the cells
(D = C*ps*P), the compressions pool them (D = C*P).
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from ..errors import ConfigError
from ..functional import geometric as G
from ..validation import check_int

__all__ = ["resolve_grid", "check_cuboid", "check_cylinder", "check_sphere", "centre_distances", "PatchGeometry"]


def resolve_grid(
    m: int, h: int | None, w: int | None, d: int, channels: int | None = None
) -> tuple[int, int, int, int]:
    """(h, w, d, C) for an input of width m = C*h*w*d.

    With ``channels`` given (the patch expansions), C is fixed; without (the geometric compressions) it
    is m / (h*w*d) when h and w are both given, else 1. Missing h and w are inferred: a square grid when
    both are missing, m / (C * given * d) for the other when one is.

    Example:
        >>> resolve_grid(2 * 3 * 4, 3, 4, 1), resolve_grid(16, None, None, 1), resolve_grid(18, 3, None, 1, 2)
        ((3, 4, 1, 2), (4, 4, 1, 1), (3, 3, 1, 2))
    """
    d = check_int(d, "d")
    channels = check_int(channels, "channels", allow_none=True)
    h = check_int(h, "h", allow_none=True)
    w = check_int(w, "w", allow_none=True)
    if h is not None and w is not None:
        cells = h * w * d
        if channels is None:
            if m % cells:
                raise ConfigError(f"m={m} must be channels*h*w*d, but h*w*d = {h}*{w}*{d} = {cells} does not divide it")
            return h, w, d, m // cells
        if channels * cells != m:
            raise ConfigError(f"m = {m} must equal channels * h * w * d = {channels} * {h} * {w} * {d}")
        return h, w, d, channels
    c = 1 if channels is None else channels
    if h is None and w is None:
        side = math.isqrt(m // (c * d))
        if c * side * side * d != m:
            raise ConfigError(
                f"cannot infer a square grid: m={m} is not channels*side*side*d with channels={c} and d={d}; "
                "give h and w"
            )
        return side, side, d, c
    given, axis = (h, "h") if h is not None else (w, "w")
    if m % (c * given * d):
        raise ConfigError(f"m={m} is not a multiple of channels*{axis}*d = {c}*{given}*{d} = {c * given * d}")
    other = m // (c * given * d)
    return (given, other, d, c) if h is not None else (other, given, d, c)


def _extent(value: Any, name: str) -> int:
    return check_int(value, name, 0)


def check_cuboid(
    p_h: Any, p_w: Any, p_d: Any, p_h_prime: Any, p_w_prime: Any, p_d_prime: Any
) -> tuple[int, int, int, int, int, int]:
    """(p_h, p_w, p_d, p_h', p_w', p_d'), ints >= 0: p_w defaults to p_h, a primed extent to the unprimed one."""
    p_h = _extent(p_h, "p_h")
    p_w = p_h if p_w is None else _extent(p_w, "p_w")
    p_d = _extent(p_d, "p_d")
    p_h_prime = p_h if p_h_prime is None else _extent(p_h_prime, "p_h_prime")
    p_w_prime = p_w if p_w_prime is None else _extent(p_w_prime, "p_w_prime")
    p_d_prime = p_d if p_d_prime is None else _extent(p_d_prime, "p_d_prime")
    return p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime


def check_cylinder(p_r: Any, p_d: Any, p_d_prime: Any) -> tuple[int, int, int]:
    """(p_r, p_d, p_d'), ints >= 0: p_d' defaults to p_d."""
    p_r = _extent(p_r, "p_r")
    p_d = _extent(p_d, "p_d")
    return p_r, p_d, p_d if p_d_prime is None else _extent(p_d_prime, "p_d_prime")


def check_sphere(p_r: Any) -> int:
    """p_r, an int >= 0."""
    return _extent(p_r, "p_r")


def centre_distances(
    cd_h: Any, cd_w: Any, cd_d: Any, default: tuple[int, int, int] | None = None
) -> tuple[int, int, int]:
    """(cd_h, cd_w, cd_d), ints >= 1; with a ``default`` (a packing's distances), None takes it on its axis."""
    values = (("cd_h", cd_h), ("cd_w", cd_w), ("cd_d", cd_d))
    if default is None:
        return tuple(check_int(value, name) for name, value in values)  # type: ignore[return-value]
    return tuple(
        fallback if value is None else check_int(value, name) for (name, value), fallback in zip(values, default)
    )  # type: ignore[return-value]


class PatchGeometry:
    """Mixin of the patch expansions and the geometric compressions: the grid and the patches' cells.

    :meth:`place_patches` sets ``h, w, d, grid = (h, w, d), channels, strides, patch_size,
    num_patches`` and ``centres`` (P_h, P_w, P_d) and returns the cell table of
    :func:`rpnkit.functional.geometric.patch_cells`; call it before ``Transformation.__init__`` (it
    sets no tensors).
    """

    h: int
    w: int
    d: int
    grid: tuple[int, int, int]
    channels: int
    strides: tuple[int, int, int]
    patch_size: int
    num_patches: int
    centres: tuple[int, int, int]

    def place_patches(
        self,
        m: int,
        h: int | None,
        w: int | None,
        d: int,
        channels: int | None,
        offsets: Tensor,
        strides: tuple[int, int, int],
    ) -> tuple[Tensor, Tensor]:
        """Resolve the grid and place the patches; returns (cells (P, ps), real cells per patch (P,))."""
        self.h, self.w, self.d, self.channels = resolve_grid(check_int(m, "m"), h, w, d, channels)
        self.grid = (self.h, self.w, self.d)
        self.strides = strides
        cells, counts, self.centres = G.patch_cells(self.grid, offsets, strides)
        self.patch_size, self.num_patches = int(offsets.shape[0]), int(cells.shape[0])
        return cells, counts
