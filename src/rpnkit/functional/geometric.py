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

__all__ = ["cuboid_offsets", "cylinder_offsets", "sphere_offsets", "patch_count", "patch_index"]


def _lattice(h_range: tuple[int, int], w_range: tuple[int, int], d_range: tuple[int, int]) -> Tensor:
    """All integer points of a box, (n, 3), lexicographic in (di, dj, dk)."""
    axes = [torch.arange(lo, hi + 1) for lo, hi in (h_range, w_range, d_range)]
    return torch.cartesian_prod(*axes).reshape(-1, 3)


def cuboid_offsets(p_h: int, p_w: int, p_d: int, p_h_prime: int, p_w_prime: int, p_d_prime: int) -> Tensor:
    """Offsets of the cuboid [-p_h, p_h'] x [-p_w, p_w'] x [-p_d, p_d'], (ps, 3), lexicographic."""
    return _lattice((-p_h, p_h_prime), (-p_w, p_w_prime), (-p_d, p_d_prime))


def cylinder_offsets(p_r: int, p_d: int, p_d_prime: int) -> Tensor:
    """Offsets of the lattice disk di^2 + dj^2 <= p_r^2 times the depth range [-p_d, p_d'], lexicographic."""
    box = _lattice((-p_r, p_r), (-p_r, p_r), (-p_d, p_d_prime))
    return box[box[:, 0].square() + box[:, 1].square() <= p_r * p_r]


def sphere_offsets(p_r: int) -> Tensor:
    """Offsets of the lattice ball di^2 + dj^2 + dk^2 <= p_r^2, lexicographic."""
    box = _lattice((-p_r, p_r), (-p_r, p_r), (-p_r, p_r))
    return box[box.square().sum(-1) <= p_r * p_r]


def patch_count(shape: tuple[int, int, int], strides: tuple[int, int, int]) -> int:
    """P = ceil(h/cd_h) * ceil(w/cd_w) * ceil(d/cd_d)."""
    return math.prod(-(-n // s) for n, s in zip(shape, strides))


def patch_index(shape: tuple[int, int, int], channels: int, offsets: Tensor, strides: tuple[int, int, int]) -> Tensor:
    """The gather index of the patch expansion: a (C * ps * P,) int64 tensor.

    Entry ``(c*ps + k)*P + p`` holds the feature index of channel c at patch p's centre plus
    offset k, or ``C*h*w*d`` (a sentinel meant to point at an appended zero column) where that cell
    lies outside the grid. Patches p are ordered lexicographically by their centre (i, j, k).
    """
    h, w, d = shape
    centres = _lattice(*[(0, -(-n // s) - 1) for n, s in zip(shape, strides)]) * torch.tensor(strides)  # (P, 3)
    cells = offsets.unsqueeze(1) + centres.unsqueeze(0)  # (ps, P, 3)
    limits = torch.tensor(shape)
    inside = ((cells >= 0) & (cells < limits)).all(-1)  # (ps, P)
    flat = (cells[..., 0] * w + cells[..., 1]) * d + cells[..., 2]  # (ps, P)
    cell_count = h * w * d
    sentinel = channels * cell_count
    per_channel = torch.arange(channels).view(-1, 1, 1) * cell_count + flat  # (C, ps, P)
    index = torch.where(inside, per_channel, torch.full_like(per_channel, sentinel))
    return index.reshape(-1)
