"""Patch geometry on an h x w x d grid and masked patch pooling (the geometric compressions).

Cells are indexed ``i*w*d + j*d + k`` (height i, width j, depth k) and a C-channel input is
channel-major: feature ``c*h*w*d + cell``. A patch is a set of integer offsets around its centre;
centres sit on the strides (cd_h, cd_w, cd_d) starting at cell (0, 0, 0), so there are
P = ceil(h/cd_h) * ceil(w/cd_w) * ceil(d/cd_d) patches, ordered row-major over their centres.

Patch shapes and the cell table come from :mod:`rpnkit.functional.geometric` (shared with the patch
expansions). Offsets that fall outside the grid are *padding*: ``patch_cells`` points them at a
sentinel column (index h*w*d) and :func:`pool_patches` fills that column with the metric's identity
(-inf for max, +inf for min, 0 for the mean, which divides by the number of real cells), so padding
never takes part in the result. Every patch contains its centre, so no patch is all padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "POOL_METRICS",
    "PACKINGS",
    "packing_distances",
    "pool_patches",
]

#: Metrics a patch can be pooled with.
POOL_METRICS = ("max", "min", "mean")

_R2, _R3, _R6 = math.sqrt(2.0), math.sqrt(3.0), math.sqrt(6.0)

#: Centre distances per patch shape and packing strategy, as functions of the patch radii
#: (a, b, c) = (p_h, p_w, p_d) for cuboids, (p_r, p_r, p_d) for cylinders and (p_r, p_r, p_r) for
#: spheres. The values are truncated to ints and clamped to >= 1. ``non_overlapping`` (an rpnkit
#: addition) uses the patch's bounding-box extent instead, i.e. tiles the grid.
PACKINGS: dict[str, dict[str, Callable[[int, int, int], tuple[float, float, float]]]] = {
    "cuboid": {
        "densest_packing": lambda a, b, c: (1, 1, 1),
        "dense_square": lambda a, b, c: (a, b, c),
        "complete_square": lambda a, b, c: (2 * a, 2 * b, 2 * c),
        "sparse_square": lambda a, b, c: (3 * a, 3 * b, 3 * c),
    },
    "cylinder": {
        "densest_packing": lambda r, _, c: (1, 1, 1),
        "sparse_square": lambda r, _, c: (2 * r, 2 * r, 2 * c),
        "complete_square": lambda r, _, c: (_R2 * r, _R2 * r, 2 * c),
        "sparse_hexagonal": lambda r, _, c: (_R3 * r, 2 * r, 2 * c),
        "complete_hexagonal": lambda r, _, c: (1.5 * r, _R3 * r, 2 * c),
        "dense_hexagonal": lambda r, _, c: (_R6 / 2 * r, _R2 * r, c),
        "denser_hexagonal": lambda r, _, c: (_R3 / 2 * r, r, c),
    },
    "sphere": {
        "densest_packing": lambda r, _, __: (1, 1, 1),
        "sparse_simple_cubic": lambda r, _, __: (2 * r, 2 * r, 2 * r),
        "complete_simple_cubic": lambda r, _, __: (2 / 3 * _R3 * r,) * 3,
        "dense_simple_cubic": lambda r, _, __: (r, r, r),
        "sparse_face_centered_cubic": lambda r, _, __: (2 * r, _R3 * r, 2 / 3 * _R6 * r),
        "complete_face_centered_cubic": lambda r, _, __: (_R2 * r, 2 / 3 * _R6 * r, 4 / 3 * r),
        "dense_face_centered_cubic": lambda r, _, __: (r, r, r),
        "sparse_hexagonal": lambda r, _, __: (2 * r, 2 * r, _R6 * r),
        "complete_hexagonal": lambda r, _, __: (2 / 3 * _R3 * r, 2 / 3 * _R3 * r, r),
        "dense_hexagonal": lambda r, _, __: (r, r, r),
    },
}
for _table in PACKINGS.values():
    _table["non_overlapping"] = None  # type: ignore[assignment]  # resolved from the extent


def packing_distances(
    shape: str, packing: str, radii: tuple[int, int, int], extent: tuple[int, int, int]
) -> tuple[int, int, int]:
    """Centre distances (cd_h, cd_w, cd_d) of a packing strategy for one patch shape.

    Args:
        shape: ``"cuboid"``, ``"cylinder"`` or ``"sphere"``.
        packing: a key of ``PACKINGS[shape]``.
        radii: the radii the reference formulas use (see :data:`PACKINGS`).
        extent: the patch's bounding-box size along (h, w, d), used by ``non_overlapping``.

    Example:
        >>> packing_distances("cuboid", "complete_square", (1, 1, 0), (3, 3, 1))
        (2, 2, 1)
    """
    rule = PACKINGS[shape][packing]
    values = extent if rule is None else rule(*radii)
    return tuple(max(int(v), 1) for v in values)  # type: ignore[return-value]


def pool_patches(x: Tensor, index: Tensor, inv_count: Tensor, channels: int, metric: str, padded: bool) -> Tensor:
    """Reduce every patch of every channel: (..., C*h*w*d) -> (..., C*P), output index c*P + p.

    Args:
        x: channel-major grid values.
        index: (P, ps) from :func:`patch_index`.
        inv_count: (P,) 1 / number of real cells per patch (used by ``mean``).
        channels: C.
        metric: ``"max"``, ``"min"`` or ``"mean"``.
        padded: whether ``index`` refers to the padding sentinel at all (skips the sentinel column if not).
    """
    lead = x.shape[:-1]
    cells = x.shape[-1] // channels
    grid = x.reshape(*lead, channels, cells)
    if padded:
        fill = {"max": -math.inf, "min": math.inf, "mean": 0.0}[metric]
        grid = F.pad(grid, (0, 1), value=fill)
    P, ps = index.shape
    patches = grid.index_select(-1, index.reshape(-1)).reshape(*lead, channels, P, ps)
    if metric == "max":
        pooled = patches.amax(dim=-1)
    elif metric == "min":
        pooled = patches.amin(dim=-1)
    elif metric == "mean":
        pooled = patches.sum(dim=-1) * inv_count.to(x.dtype)
    else:
        raise ValueError(f"metric must be one of {list(POOL_METRICS)}, got {metric!r}")
    return pooled.reshape(*lead, channels * P)
