"""Patch geometry on an h x w x d grid and masked patch pooling (the geometric compressions).

Cells are indexed ``i*w*d + j*d + k`` (height i, width j, depth k) and a C-channel input is
channel-major: feature ``c*h*w*d + cell``. A patch is a set of integer offsets around its centre;
centres sit on the strides (cd_h, cd_w, cd_d) starting at cell (0, 0, 0), so there are
P = ceil(h/cd_h) * ceil(w/cd_w) * ceil(d/cd_d) patches, ordered row-major over their centres.

Offsets that fall outside the grid are *padding*. :func:`patch_index` points them at a sentinel
column (index h*w*d) and :func:`pool_patches` fills that column with the metric's identity
(-inf for max, +inf for min, 0 for the mean, which divides by the number of real cells), so padding
never takes part in the result. Every patch contains its centre, so no patch is all padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "POOL_METRICS",
    "PACKINGS",
    "cuboid_offsets",
    "cylinder_offsets",
    "sphere_offsets",
    "packing_distances",
    "patch_index",
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


def _box(lo: tuple[int, int, int], hi: tuple[int, int, int]) -> Tensor:
    axes = [torch.arange(a, b + 1) for a, b in zip(lo, hi)]
    grids = torch.meshgrid(*axes, indexing="ij")
    return torch.stack(grids, dim=-1).reshape(-1, 3)


def cuboid_offsets(p_h: int, p_w: int, p_d: int, p_h_prime: int, p_w_prime: int, p_d_prime: int) -> Tensor:
    """Offsets of the cuboid [-p_h, p_h'] x [-p_w, p_w'] x [-p_d, p_d'], row-major; (ps, 3) long.

    Example:
        >>> cuboid_offsets(0, 0, 0, 1, 1, 0).tolist()
        [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]]
    """
    return _box((-p_h, -p_w, -p_d), (p_h_prime, p_w_prime, p_d_prime))


def cylinder_offsets(p_r: int, p_d: int, p_d_prime: int) -> Tensor:
    """Offsets of the lattice disk i^2 + j^2 <= p_r^2 times the depth range [-p_d, p_d'].

    The reference system's cylinder used [-p_d', p_d'] and ignored p_d; here p_d is honoured.

    Example:
        >>> len(cylinder_offsets(1, 0, 0))
        5
    """
    box = _box((-p_r, -p_r, -p_d), (p_r, p_r, p_d_prime))
    return box[box[:, 0] ** 2 + box[:, 1] ** 2 <= p_r**2]


def sphere_offsets(p_r: int) -> Tensor:
    """Offsets of the lattice ball i^2 + j^2 + k^2 <= p_r^2.

    Example:
        >>> len(sphere_offsets(1))
        7
    """
    box = _box((-p_r,) * 3, (p_r,) * 3)
    return box[(box**2).sum(dim=1) <= p_r**2]


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


def patch_index(
    grid: tuple[int, int, int], offsets: Tensor, strides: tuple[int, int, int]
) -> tuple[Tensor, Tensor, tuple[int, int, int]]:
    """The gather table of all patches of a grid.

    Args:
        grid: (h, w, d).
        offsets: (ps, 3) integer offsets of one patch.
        strides: centre distances (cd_h, cd_w, cd_d).

    Returns:
        ``index`` (P, ps) long: the cell of each patch position, or h*w*d where it is padding;
        ``counts`` (P,) long: the number of real cells per patch; the centre grid (P_h, P_w, P_d).

    Example:
        >>> index, counts, centres = patch_index((2, 2, 1), cuboid_offsets(0, 0, 0, 1, 1, 0), (1, 1, 1))
        >>> index.tolist(), counts.tolist(), centres
        ([[0, 1, 2, 3], [1, 4, 3, 4], [2, 3, 4, 4], [3, 4, 4, 4]], [4, 2, 2, 1], (2, 2, 1))
    """
    h, w, d = grid
    centres = [torch.arange(0, size, step) for size, step in zip(grid, strides)]
    ci, cj, ck = torch.meshgrid(*centres, indexing="ij")
    centre = torch.stack([ci, cj, ck], dim=-1).reshape(-1, 1, 3)
    cells = centre + offsets.reshape(1, -1, 3)
    size = torch.tensor([h, w, d])
    valid = ((cells >= 0) & (cells < size)).all(dim=-1)
    flat = cells[..., 0] * (w * d) + cells[..., 1] * d + cells[..., 2]
    index = torch.where(valid, flat, torch.full_like(flat, h * w * d))
    shape = tuple(len(c) for c in centres)
    return index, valid.sum(dim=-1), shape  # type: ignore[return-value]


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
