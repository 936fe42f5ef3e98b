"""Patch-based geometric expansions of a channel-major h x w x d grid (the im2col of RPN-CNNs).

The input holds C channels of an h x w x d grid, channel-major: feature c*h*w*d + i*w*d + j*d + k
is channel c at cell (i, j, k), so m = C h w d. Patch centres sit on a stride (cd_h, cd_w, cd_d)
from the origin, P = ceil(h/cd_h) ceil(w/cd_w) ceil(d/cd_d) of them, ordered lexicographically by
(i, j, k). Each patch reads the cells at its ps offsets (lexicographic in (di, dj, dk)); cells
outside the grid read 0 (zero padding). Output column (c*ps + k)*P + p holds channel c at offset
k of patch p, so D = C ps P.

The whole expansion is one gather through an index buffer built in ``__init__`` (non-persistent:
it follows from the config), with a sentinel index pointing at a zero column appended to x. The
patch placement is shared with the geometric compressions (:mod:`rpnkit.kappa.patches`).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..base import Expansion
from ..functional import geometric as G
from ..kappa.patches import PatchGeometry, centre_distances, check_cuboid, check_cylinder, check_sphere
from ..registry import register

__all__ = ["CuboidPatch", "CylinderPatch", "SpherePatch"]


class _PatchExpansion(PatchGeometry, Expansion):
    """Base: gathers the zero-padded patches given by a (ps, 3) int tensor of offsets."""

    param_aliases = {"channel_num": "channels"}

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
        strides = centre_distances(cd_h, cd_w, cd_d)
        cells, _ = self.place_patches(m, h, w, d, channels, offsets, strides)
        self.D = self.channels * self.patch_size * self.num_patches
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        index = G.gather_index(cells, self.channels, self.h * self.w * self.d)
        self.register_buffer("index", index, persistent=False)

    def transform(self, x: Tensor) -> Tensor:
        return G.gather_patches(x, self.index)

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
        offsets = G.cuboid_offsets(*check_cuboid(p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime))
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
        offsets = G.cylinder_offsets(*check_cylinder(p_r, p_d, p_d_prime))
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
        offsets = G.sphere_offsets(check_sphere(p_r))
        self._setup(m, h, w, d, channels, offsets, cd_h, cd_w, cd_d, preprocess, postprocess)
