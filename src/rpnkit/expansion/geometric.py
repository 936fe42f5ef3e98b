"""Patch-based geometric expansions of a channel-major h x w x d grid (the im2col of RPN-CNNs).

The input holds C channels of an h x w x d grid, channel-major: feature c*h*w*d + i*w*d + j*d + k
is channel c at cell (i, j, k), so m = C h w d. Patch centres sit on a stride (cd_h, cd_w, cd_d)
from the origin, P = ceil(h/cd_h) ceil(w/cd_w) ceil(d/cd_d) of them, ordered lexicographically by
(i, j, k). Each patch reads the cells at its ps offsets (lexicographic in (di, dj, dk)); cells
outside the grid read 0 (zero padding). Output column (c*ps + k)*P + p holds channel c at offset
k of patch p, so D = C ps P.

The whole expansion is one gather through an index buffer built in ``__init__`` (non-persistent:
it follows from the config), with a sentinel index pointing at a zero column appended to x.
"""

from __future__ import annotations

import math
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from ..base import Expansion, positive_int
from ..errors import ConfigError
from ..functional import geometric as G
from ..registry import register

__all__ = ["CuboidPatch", "CylinderPatch", "SpherePatch"]


def _grid(m: int, h: int | None, w: int | None, d: int, channels: int) -> tuple[int, int, int]:
    """Resolve (h, w, d) from m = channels*h*w*d; missing h/w are inferred (a square grid if both)."""
    d = positive_int(d, "d")
    channels = positive_int(channels, "channels")
    h = None if h is None else positive_int(h, "h")
    w = None if w is None else positive_int(w, "w")
    cells, rest = divmod(m, channels * d)
    if rest:
        raise ConfigError(f"m = {m} is not divisible by channels * d = {channels} * {d}")
    if h is None and w is None:
        side = math.isqrt(cells)
        if side * side != cells:
            raise ConfigError(
                f"give h and w: m / (channels * d) = {cells} is not a square, so h = w cannot be inferred"
            )
        h = w = side
    elif h is None:
        h = cells // w
    elif w is None:
        w = cells // h
    if channels * h * w * d != m:
        raise ConfigError(f"m = {m} must equal channels * h * w * d = {channels} * {h} * {w} * {d}")
    return h, w, d


def _nonneg(value: Any, name: str) -> int:
    return positive_int(value, name, minimum=0)


class _PatchExpansion(Expansion):
    """Base: gathers zero-padded patches given by ``self.offsets`` (a (ps, 3) int tensor)."""

    def _setup(
        self,
        m: int,
        h: int | None,
        w: int | None,
        d: int,
        channels: int,
        offsets: Tensor,
        cd_h: int,
        cd_w: int,
        cd_d: int,
        preprocess: Any,
        postprocess: Any,
    ) -> None:
        self.grid = _grid(m, h, w, d, channels)
        self.channels = channels
        self.strides = (positive_int(cd_h, "cd_h"), positive_int(cd_w, "cd_w"), positive_int(cd_d, "cd_d"))
        self.patch_size = int(offsets.shape[0])
        self.num_patches = G.patch_count(self.grid, self.strides)
        self.D = channels * self.patch_size * self.num_patches
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        index = G.patch_index(self.grid, channels, offsets, self.strides)
        self.register_buffer("index", index, persistent=False)

    def transform(self, x: Tensor) -> Tensor:
        return F.pad(x, (0, 1)).index_select(-1, self.index)

    def extra_repr(self) -> str:
        h, w, d = self.grid
        return super().extra_repr() + (
            f", grid={h}x{w}x{d}, channels={self.channels}, patch_size={self.patch_size}, "
            f"patches={self.num_patches}, strides={self.strides}"
        )


@register("expansion", "cuboid_patch", aliases=["cuboid_patch_based_geometric_expansion"])
class CuboidPatch(_PatchExpansion):
    """Cuboid patches [-p_h, p_h'] x [-p_w, p_w'] x [-p_d, p_d'] of a channel-major grid; D = C ps P.

    ps = (p_h + p_h' + 1)(p_w + p_w' + 1)(p_d + p_d' + 1); the primed sizes default to the
    unprimed ones. With the defaults (a 3 x 3 x 1 patch, stride 1) this is the im2col of a 3 x 3
    "same" convolution.

    Args:
        h, w, d: grid size (h and w are inferred from m when omitted; a square grid if both are).
        channels: C.
        p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime: patch extents (>= 0).
        cd_h, cd_w, cd_d: strides between patch centres (>= 1).

    Shape:
        (..., C h w d) -> (..., C ps P)
    """

    def __init__(
        self,
        m: int,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_h: int = 1,
        p_w: int = 1,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
        cd_h: int = 1,
        cd_w: int = 1,
        cd_d: int = 1,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        sizes = [_nonneg(v, n) for v, n in ((p_h, "p_h"), (p_w, "p_w"), (p_d, "p_d"))]
        primes = [
            s if v is None else _nonneg(v, n)
            for s, v, n in zip(sizes, (p_h_prime, p_w_prime, p_d_prime), ("p_h_prime", "p_w_prime", "p_d_prime"))
        ]
        offsets = G.cuboid_offsets(*sizes, *primes)
        self._setup(m, h, w, d, channels, offsets, cd_h, cd_w, cd_d, preprocess, postprocess)


@register("expansion", "cylinder_patch", aliases=["cylinder_patch_based_geometric_expansion"])
class CylinderPatch(_PatchExpansion):
    """Cylinder patches: the lattice disk di^2 + dj^2 <= p_r^2 times the depth range [-p_d, p_d'].

    ps = (number of disk points) (p_d + p_d' + 1), p_d' defaulting to p_d. The reference's cylinder
    uses the depth range [-p_d', p_d'] and so ignores p_d when they differ; here p_d is honoured.

    Args:
        h, w, d: grid size (h and w are inferred from m when omitted; a square grid if both are).
        channels: C.
        p_r: disk radius (>= 0).
        p_d, p_d_prime: depth extents (>= 0).
        cd_h, cd_w, cd_d: strides between patch centres (>= 1).

    Shape:
        (..., C h w d) -> (..., C ps P)
    """

    def __init__(
        self,
        m: int,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_r: int = 1,
        p_d: int = 0,
        p_d_prime: int | None = None,
        cd_h: int = 1,
        cd_w: int = 1,
        cd_d: int = 1,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        radius = _nonneg(p_r, "p_r")
        depth = _nonneg(p_d, "p_d")
        depth_prime = depth if p_d_prime is None else _nonneg(p_d_prime, "p_d_prime")
        offsets = G.cylinder_offsets(radius, depth, depth_prime)
        self._setup(m, h, w, d, channels, offsets, cd_h, cd_w, cd_d, preprocess, postprocess)


@register("expansion", "sphere_patch", aliases=["sphere_patch_based_geometric_expansion"])
class SpherePatch(_PatchExpansion):
    """Sphere patches: the lattice ball di^2 + dj^2 + dk^2 <= p_r^2; ps = number of ball points.

    Args:
        h, w, d: grid size (h and w are inferred from m when omitted; a square grid if both are).
        channels: C.
        p_r: ball radius (>= 0).
        cd_h, cd_w, cd_d: strides between patch centres (>= 1).

    Shape:
        (..., C h w d) -> (..., C ps P)
    """

    def __init__(
        self,
        m: int,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_r: int = 1,
        cd_h: int = 1,
        cd_w: int = 1,
        cd_d: int = 1,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        offsets = G.sphere_offsets(_nonneg(p_r, "p_r"))
        self._setup(m, h, w, d, channels, offsets, cd_h, cd_w, cd_d, preprocess, postprocess)
