"""Patches of a channel-major h x w x d grid: shapes, centres, packings, the gather and the pooling.

The tensor maths of the patch expansions and of the geometric (patch pooling) compressions, which
place their patches alike (their hyperparameters are checked in :mod:`rpnkit.kappa.patches`).

A grid with C channels is stored channel-major: feature ``c*h*w*d + i*w*d + j*d + k`` is channel c
at cell (i, j, k). A patch is a list of integer offsets (di, dj, dk), lexicographic; patch centres sit
on a stride (cd_h, cd_w, cd_d) from the origin, so there are P = ceil(h/cd_h) ceil(w/cd_w) ceil(d/cd_d)
of them, ordered lexicographically by their centre (i, j, k). Offsets that fall outside the grid are
*padding*: :func:`patch_cells` points them at a sentinel cell (index h*w*d). The patch expansions read
zero there (:func:`gather_patches`, zero padding); the pooling fills it with the metric's identity
(-inf for max, +inf for min, 0 for the mean, which divides by the number of real cells), so padding
never takes part (:func:`pool_patches`). Every patch contains its centre, so no patch is all padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "cuboid_offsets",
    "cylinder_offsets",
    "sphere_offsets",
    "patch_extent",
    "PACKINGS",
    "packing_distances",
    "patch_count",
    "patch_cells",
    "gather_index",
    "patch_index",
    "gather_patches",
    "POOL_METRICS",
    "pool_patches",
]

# ------------------------------------------------------------------------------------ patch shapes


def _lattice(h_range: tuple[int, int], w_range: tuple[int, int], d_range: tuple[int, int]) -> Tensor:
    """All integer points of a box, (n, 3), lexicographic in (di, dj, dk)."""
    axes = [torch.arange(lo, hi + 1) for lo, hi in (h_range, w_range, d_range)]
    return torch.cartesian_prod(*axes).reshape(-1, 3)


def cuboid_offsets(p_h: int, p_w: int, p_d: int, p_h_prime: int, p_w_prime: int, p_d_prime: int) -> Tensor:
    """Offsets of the cuboid [-p_h, p_h'] x [-p_w, p_w'] x [-p_d, p_d'], (ps, 3), lexicographic.

    Example:
        >>> cuboid_offsets(0, 0, 0, 1, 1, 0).tolist()
        [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]]
    """
    return _lattice((-p_h, p_h_prime), (-p_w, p_w_prime), (-p_d, p_d_prime))


def cylinder_offsets(p_r: int, p_d: int, p_d_prime: int) -> Tensor:
    """Offsets of the lattice disk di^2 + dj^2 <= p_r^2 times the depth range [-p_d, p_d'], lexicographic.

    The reference system's cylinder used [-p_d', p_d'] and ignored p_d; here p_d is honoured.
    """
    box = _lattice((-p_r, p_r), (-p_r, p_r), (-p_d, p_d_prime))
    return box[box[:, 0].square() + box[:, 1].square() <= p_r * p_r]


def sphere_offsets(p_r: int) -> Tensor:
    """Offsets of the lattice ball di^2 + dj^2 + dk^2 <= p_r^2, lexicographic."""
    box = _lattice((-p_r, p_r), (-p_r, p_r), (-p_r, p_r))
    return box[box.square().sum(-1) <= p_r * p_r]


def patch_extent(offsets: Tensor) -> tuple[int, int, int]:
    """The size of the patch's bounding box along (h, w, d).

    Example:
        >>> patch_extent(cuboid_offsets(1, 1, 0, 1, 1, 0))
        (3, 3, 1)
    """
    return tuple(int(offsets[:, a].max() - offsets[:, a].min() + 1) for a in range(3))  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ packings

_R2, _R3, _R6 = math.sqrt(2.0), math.sqrt(3.0), math.sqrt(6.0)

#: Centre distances per patch shape and packing strategy (the reference system's geometric
#: compressions), as functions of the patch radii (a, b, c) = (p_h, p_w, p_d) for cuboids,
#: (p_r, p_r, p_d) for cylinders and (p_r, p_r, p_r) for spheres. The values are truncated to ints and
#: clamped to >= 1. ``non_overlapping`` (an rpnkit addition) uses the patch's bounding-box extent
#: instead, i.e. tiles the grid.
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


# ------------------------------------------------------------------------------------ patch cells


def patch_count(shape: tuple[int, int, int], strides: tuple[int, int, int]) -> int:
    """P = ceil(h/cd_h) * ceil(w/cd_w) * ceil(d/cd_d)."""
    return math.prod(-(-n // s) for n, s in zip(shape, strides))


def patch_cells(
    shape: tuple[int, int, int], offsets: Tensor, strides: tuple[int, int, int]
) -> tuple[Tensor, Tensor, tuple[int, int, int]]:
    """The cells of every patch of one channel: patches on a stride, cells outside the grid marked.

    Args:
        shape: (h, w, d).
        offsets: (ps, 3) integer offsets of one patch.
        strides: centre distances (cd_h, cd_w, cd_d).

    Returns:
        ``index`` (P, ps) long: the cell (i*w*d + j*d + k) of each patch position, or h*w*d where it
        lies outside the grid; ``counts`` (P,): the number of real cells per patch; the centre grid
        (P_h, P_w, P_d). Patches are ordered lexicographically by their centre (i, j, k).

    Example:
        >>> index, counts, centres = patch_cells((2, 2, 1), cuboid_offsets(0, 0, 0, 1, 1, 0), (1, 1, 1))
        >>> index.tolist(), counts.tolist(), centres
        ([[0, 1, 2, 3], [1, 4, 3, 4], [2, 3, 4, 4], [3, 4, 4, 4]], [4, 2, 2, 1], (2, 2, 1))
    """
    h, w, d = shape
    grid = tuple(-(-n // s) for n, s in zip(shape, strides))
    centres = _lattice(*[(0, g - 1) for g in grid]) * torch.tensor(strides)  # (P, 3)
    cells = centres.unsqueeze(1) + offsets.unsqueeze(0)  # (P, ps, 3)
    inside = ((cells >= 0) & (cells < torch.tensor(shape))).all(-1)  # (P, ps)
    flat = (cells[..., 0] * w + cells[..., 1]) * d + cells[..., 2]
    index = torch.where(inside, flat, torch.full_like(flat, h * w * d))
    return index, inside.sum(-1), grid  # type: ignore[return-value]


# ---------------------------------------------------------------------- the patch expansions' gather


def gather_index(cells: Tensor, channels: int, cell_count: int) -> Tensor:
    """The gather index of the patch expansion from :func:`patch_cells`' ``index``: (C * ps * P,) int64.

    Entry ``(c*ps + k)*P + p`` holds the feature index of channel c at patch p's centre plus offset k,
    or ``C*cell_count`` (a sentinel meant to point at an appended zero column) where that cell lies
    outside the grid.
    """
    flat = cells.T  # (ps, P)
    inside = flat < cell_count
    per_channel = torch.arange(channels).view(-1, 1, 1) * cell_count + flat  # (C, ps, P)
    sentinel = torch.full_like(per_channel, channels * cell_count)
    return torch.where(inside, per_channel, sentinel).reshape(-1)


def patch_index(shape: tuple[int, int, int], channels: int, offsets: Tensor, strides: tuple[int, int, int]) -> Tensor:
    """The gather index of the patch expansion for a grid, a patch shape and strides (see :func:`gather_index`)."""
    cells, _, _ = patch_cells(shape, offsets, strides)
    return gather_index(cells, channels, math.prod(shape))


def gather_patches(x: Tensor, index: Tensor) -> Tensor:
    """(..., C*h*w*d) -> (..., C*ps*P): the zero-padded patches through a :func:`gather_index`."""
    return F.pad(x, (0, 1)).index_select(-1, index)


# ------------------------------------------------------------------- the geometric compressions' pooling

#: Metrics a patch can be pooled with.
POOL_METRICS = ("max", "min", "mean")


def pool_patches(x: Tensor, index: Tensor, inv_count: Tensor, channels: int, metric: str, padded: bool) -> Tensor:
    """Reduce every patch of every channel: (..., C*h*w*d) -> (..., C*P), output index c*P + p.

    Args:
        x: channel-major grid values.
        index: (P, ps) from :func:`patch_cells`.
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
