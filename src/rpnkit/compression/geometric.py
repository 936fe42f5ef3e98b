"""Geometric (patch pooling) compressions on an h x w x d grid with C channels.

kappa(x) = [phi(x[p_1]), ..., phi(x[p_P])] per channel, with patches p of a cuboid, cylinder or
sphere shape centred on a stride, and phi one of max, min, mean. Output index c*P + p; D = C*P.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from ..functional.geometric import (
    PACKINGS,
    POOL_METRICS,
    cuboid_offsets,
    cylinder_offsets,
    packing_distances,
    patch_extent,
    pool_patches,
    sphere_offsets,
)
from ..kappa.patches import PatchGeometry, centre_distances, check_cuboid, check_cylinder, check_sphere
from ..registry import register
from ..validation import check_choice
from ._base import CompressionBase

__all__ = [
    "GeometricCompression",
    "CuboidCompression",
    "CylinderCompression",
    "SphereCompression",
    "CuboidMaxCompression",
    "CuboidMinCompression",
    "CuboidMeanCompression",
    "CylinderMaxCompression",
    "CylinderMinCompression",
    "CylinderMeanCompression",
    "SphereMaxCompression",
    "SphereMinCompression",
    "SphereMeanCompression",
]


class GeometricCompression(PatchGeometry, CompressionBase):
    """Base of the patch pooling compressions (not registered; see the cuboid, cylinder and sphere classes).

    The input is C channel-major grids of h x w x d cells (feature ``c*h*w*d + i*w*d + j*d + k``). Patch
    centres lie on the strides (cd_h, cd_w, cd_d) from cell (0, 0, 0), giving
    P = ceil(h/cd_h) * ceil(w/cd_w) * ceil(d/cd_d) patches ordered row-major; output ``c*P + p`` is
    phi over the cells of patch p in channel c. D = C*P.

    Unlike the reference system, which zero-padded patches at the borders (so the mean divided by the
    full patch size and the max of a negative patch was 0), cells outside the grid take no part: max and
    min ignore them and the mean divides by the number of real cells. The gather table is a buffer built
    once; ``forward`` is one index_select and one reduction.

    Packing: the reference system's strategies are offered under their names (per shape: see
    :data:`rpnkit.functional.geometric.PACKINGS`) and its default ``densest_packing`` is kept
    (stride 1: one patch per cell, D = m, a same-size smoothing). ``non_overlapping`` (an rpnkit
    addition) strides by the patch's bounding box, i.e. classic pooling. Each of cd_h, cd_w, cd_d that is
    given overrides the packing along its axis (the reference needed all three).
    """

    SHAPE: ClassVar[str]

    def __init__(
        self,
        m: int,
        metric: str,
        h: int | None,
        w: int | None,
        d: int,
        offsets: Tensor,
        radii: tuple[int, int, int],
        packing: str,
        cd_h: int | None,
        cd_w: int | None,
        cd_d: int | None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.metric = check_choice(metric, "metric", POOL_METRICS)
        self.packing = check_choice(packing, "packing", list(PACKINGS[self.SHAPE]))
        packed = packing_distances(self.SHAPE, self.packing, radii, patch_extent(offsets))
        strides = centre_distances(cd_h, cd_w, cd_d, default=packed)
        index, counts = self.place_patches(m, h, w, d, None, offsets, strides)
        self.D = self.channels * self.num_patches
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self._padded = bool((counts < self.patch_size).any())
        self.register_buffer("index", index, persistent=False)
        self.register_buffer("inv_count", 1.0 / counts.to(torch.get_default_dtype()), persistent=False)

    def transform(self, x: Tensor) -> Tensor:
        return pool_patches(x, self.index, self.inv_count, self.channels, self.metric, self._padded)

    @property
    def output_grid(self) -> tuple[int, int, int, int]:
        """(C, P_h, P_w, P_d): the output viewed as C grids of patch centres."""
        return (self.channels, *self.centres)

    def extra_repr(self) -> str:
        return (
            super().extra_repr()
            + f", grid=({self.channels}, {self.h}, {self.w}, {self.d}), metric={self.metric!r}"
            + f", patch_size={self.patch_size}, strides={self.strides}"
        )


@register("compression", "cuboid", aliases=["cuboid_patch_based_geometric_compression"])
class CuboidCompression(GeometricCompression):
    """Patch pooling over cuboids [-p_h, p_h'] x [-p_w, p_w'] x [-p_d, p_d'] around each centre.

    kappa(x)_{c*P + p} = phi({x_c[centre_p + o] : o in the cuboid, inside the grid}); D = C*P with
    P = ceil(h/cd_h) ceil(w/cd_w) ceil(d/cd_d). See :class:`GeometricCompression` for the layout, the
    border handling and the packings (``densest_packing``, ``dense_square`` = p, ``complete_square`` = 2p,
    ``sparse_square`` = 3p, ``non_overlapping``).

    Args:
        metric: ``max``, ``min`` or ``mean``.
        h, w, d: the grid (C = m / (h*w*d) channels); h, w may be omitted for a single square grid.
        p_h, p_w, p_d: extent before the centre (p_w defaults to p_h).
        p_h_prime, p_w_prime, p_d_prime: extent after the centre (default: the unprimed value).
        packing: packing strategy giving the centre distances.
        cd_h, cd_w, cd_d: explicit centre distances (each overrides the packing on its axis).

    Shape:
        (..., C*h*w*d) -> (..., C*P)

    Example:
        2x2 max pooling with stride 2 (``F.max_pool2d(x, 2)``) of one 4x4 image:

        >>> import torch
        >>> pool = CuboidCompression(16, h=4, w=4, p_h=0, p_h_prime=1, p_w=0, p_w_prime=1, cd_h=2, cd_w=2)
        >>> pool(torch.arange(16.0)).tolist()
        [5.0, 7.0, 13.0, 15.0]
    """

    SHAPE = "cuboid"

    def __init__(
        self,
        m: int,
        metric: str = "max",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        p_h: int = 1,
        p_w: int | None = None,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.p = check_cuboid(p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime)
        offsets = cuboid_offsets(*self.p)
        super().__init__(m, metric, h, w, d, offsets, self.p[:3], packing, cd_h, cd_w, cd_d, preprocess, postprocess)


@register("compression", "cylinder", aliases=["cylinder_patch_based_geometric_compression"])
class CylinderCompression(GeometricCompression):
    """Patch pooling over cylinders: the lattice disk i^2 + j^2 <= p_r^2 times the depths [-p_d, p_d'].

    The reference's cylinder used the depths [-p_d', p_d'] and ignored p_d; here both are honoured.
    See :class:`GeometricCompression` for the layout, border handling and packings (``densest_packing``,
    ``sparse_square``, ``complete_square``, ``sparse_hexagonal``, ``complete_hexagonal``,
    ``dense_hexagonal``, ``denser_hexagonal``, ``non_overlapping``).

    Args:
        metric: ``max``, ``min`` or ``mean``.
        h, w, d: the grid (C = m / (h*w*d) channels).
        p_r: disk radius.
        p_d, p_d_prime: depth extent before / after the centre (p_d_prime defaults to p_d).
        packing, cd_h, cd_w, cd_d: centre distances as for :class:`CuboidCompression`.

    Shape:
        (..., C*h*w*d) -> (..., C*P)
    """

    SHAPE = "cylinder"

    def __init__(
        self,
        m: int,
        metric: str = "max",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        p_r: int = 1,
        p_d: int = 0,
        p_d_prime: int | None = None,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.p_r, self.p_d, self.p_d_prime = check_cylinder(p_r, p_d, p_d_prime)
        offsets = cylinder_offsets(self.p_r, self.p_d, self.p_d_prime)
        radii = (self.p_r, self.p_r, self.p_d)
        super().__init__(m, metric, h, w, d, offsets, radii, packing, cd_h, cd_w, cd_d, preprocess, postprocess)


@register("compression", "sphere", aliases=["sphere_patch_based_geometric_compression"])
class SphereCompression(GeometricCompression):
    """Patch pooling over lattice balls i^2 + j^2 + k^2 <= p_r^2.

    On a grid with d = 1 only the ball's middle slice is inside the grid (the rest is border, excluded).
    See :class:`GeometricCompression` for the layout, border handling and packings (``densest_packing``,
    ``sparse|complete|dense_simple_cubic``, ``sparse|complete|dense_face_centered_cubic``,
    ``sparse|complete|dense_hexagonal``, ``non_overlapping``; the reference's rounded constants
    0.6667 and 1.3333 are taken as 2/3 and 4/3).

    Args:
        metric: ``max``, ``min`` or ``mean``.
        h, w, d: the grid (C = m / (h*w*d) channels).
        p_r: ball radius.
        packing, cd_h, cd_w, cd_d: centre distances as for :class:`CuboidCompression`.

    Shape:
        (..., C*h*w*d) -> (..., C*P)
    """

    SHAPE = "sphere"

    def __init__(
        self,
        m: int,
        metric: str = "max",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        p_r: int = 1,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.p_r = check_sphere(p_r)
        offsets = sphere_offsets(self.p_r)
        radii = (self.p_r,) * 3
        super().__init__(m, metric, h, w, d, offsets, radii, packing, cd_h, cd_w, cd_d, preprocess, postprocess)


# --- the nine fixed-metric classes -------------------------------------------------------------------


class _FixedCuboid(CuboidCompression):
    METRIC: ClassVar[str]

    def __init__(
        self,
        m: int,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        p_h: int = 1,
        p_w: int | None = None,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        super().__init__(
            m, self.METRIC, h, w, d, p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime,
            packing, cd_h, cd_w, cd_d, preprocess, postprocess,
        )  # fmt: skip


class _FixedCylinder(CylinderCompression):
    METRIC: ClassVar[str]

    def __init__(
        self,
        m: int,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        p_r: int = 1,
        p_d: int = 0,
        p_d_prime: int | None = None,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        super().__init__(
            m, self.METRIC, h, w, d, p_r, p_d, p_d_prime, packing, cd_h, cd_w, cd_d, preprocess, postprocess
        )


class _FixedSphere(SphereCompression):
    METRIC: ClassVar[str]

    def __init__(
        self,
        m: int,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        p_r: int = 1,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        super().__init__(m, self.METRIC, h, w, d, p_r, packing, cd_h, cd_w, cd_d, preprocess, postprocess)


@register("compression", "cuboid_max", aliases=["cuboid_max_based_geometric_compression"])
class CuboidMaxCompression(_FixedCuboid):
    """:class:`CuboidCompression` with metric ``max`` (max pooling; see there for the arguments)."""

    METRIC = "max"


@register("compression", "cuboid_min", aliases=["cuboid_min_based_geometric_compression"])
class CuboidMinCompression(_FixedCuboid):
    """:class:`CuboidCompression` with metric ``min`` (see there for the arguments)."""

    METRIC = "min"


@register("compression", "cuboid_mean", aliases=["cuboid_mean_based_geometric_compression"])
class CuboidMeanCompression(_FixedCuboid):
    """:class:`CuboidCompression` with metric ``mean`` (average pooling without padding; see there)."""

    METRIC = "mean"


@register("compression", "cylinder_max", aliases=["cylinder_max_based_geometric_compression"])
class CylinderMaxCompression(_FixedCylinder):
    """:class:`CylinderCompression` with metric ``max`` (see there for the arguments)."""

    METRIC = "max"


@register("compression", "cylinder_min", aliases=["cylinder_min_based_geometric_compression"])
class CylinderMinCompression(_FixedCylinder):
    """:class:`CylinderCompression` with metric ``min`` (see there for the arguments)."""

    METRIC = "min"


@register("compression", "cylinder_mean", aliases=["cylinder_mean_based_geometric_compression"])
class CylinderMeanCompression(_FixedCylinder):
    """:class:`CylinderCompression` with metric ``mean`` (see there for the arguments)."""

    METRIC = "mean"


@register("compression", "sphere_max", aliases=["sphere_max_based_geometric_compression"])
class SphereMaxCompression(_FixedSphere):
    """:class:`SphereCompression` with metric ``max`` (see there for the arguments)."""

    METRIC = "max"


@register("compression", "sphere_min", aliases=["sphere_min_based_geometric_compression"])
class SphereMinCompression(_FixedSphere):
    """:class:`SphereCompression` with metric ``min`` (see there for the arguments)."""

    METRIC = "min"


@register("compression", "sphere_mean", aliases=["sphere_mean_based_geometric_compression"])
class SphereMeanCompression(_FixedSphere):
    """:class:`SphereCompression` with metric ``mean`` (see there for the arguments)."""

    METRIC = "mean"
