"""Patches of a channel-major h x w x d grid: patch shapes, patch centres and the gather index.

A grid with C channels is stored channel-major: feature ``c*h*w*d + i*w*d + j*d + k`` is channel c
at cell (i, j, k). A patch is a list of integer offsets (di, dj, dk); patch centres sit on a stride
(cd_h, cd_w, cd_d) from the origin, so there are P = ceil(h/cd_h) ceil(w/cd_w) ceil(d/cd_d) of them.
Cells outside the grid read zero (zero padding).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["cuboid_offsets", "cylinder_offsets", "sphere_offsets", "patch_count", "patch_cells", "patch_index"]


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


def patch_index(shape: tuple[int, int, int], channels: int, offsets: Tensor, strides: tuple[int, int, int]) -> Tensor:
    """The gather index of the patch expansion: a (C * ps * P,) int64 tensor.

    Entry ``(c*ps + k)*P + p`` holds the feature index of channel c at patch p's centre plus
    offset k, or ``C*h*w*d`` (a sentinel meant to point at an appended zero column) where that cell
    lies outside the grid. Patches p are ordered lexicographically by their centre (i, j, k).
    """
    cells, _, _ = patch_cells(shape, offsets, strides)
    cell_count = math.prod(shape)
    flat = cells.T  # (ps, P)
    inside = flat < cell_count
    per_channel = torch.arange(channels).view(-1, 1, 1) * cell_count + flat  # (C, ps, P)
    sentinel = torch.full_like(per_channel, channels * cell_count)
    return torch.where(inside, per_channel, sentinel).reshape(-1)
