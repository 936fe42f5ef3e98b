"""RPN 2 grid heads: the RPN equation over the patches of a channel-major grid (convolution, pooling).

The input of width m is C channel-major grids of h x w x d cells, flattened: feature
``c*h*w*d + i*w*d + j*d + k`` is channel c at cell (i, j, k), i.e. an image tensor (C, h, w[, d])
flattened in C order (``x.flatten(1)`` of a PyTorch ``(b, C, h, w)`` batch). Patches (a cuboid, a
cylinder or a sphere of integer offsets, as in :mod:`rpnkit.kappa.patches`) sit on centres a stride
(cd_h, cd_w, cd_d) apart.

* :class:`GridHead` (``grid``): g(x) = <xi_geometric(x), psi(w)> + b + pi(x) with one kernel
  K in R^{C_out x (C_in ps)} shared by all P patches (psi = :class:`~rpnkit.reconciliation.SharedKernel`),
  i.e. a convolution. It is computed as one ``F.conv2d``/``F.conv3d`` call, never materialising the
  patches: a cuboid is the convolution's box kernel, and a cylinder or sphere is the box kernel with
  the cells outside the shape fixed to 0 (K is scattered into the box at every forward).
* :class:`GridCompressionHead` (``grid_compression``): kappa = geometric pooling (max, min, mean) of the
  same patches; no psi. Cuboids run as ``max_pool``/``avg_pool``; a cylinder or sphere is a union of
  boxes for max/min (one pool per box, combined with ``maximum``) and a masked depthwise convolution
  for the mean. Memory stays O(output) per box, never O(b P ps).

Patch placement (``padding``):

* ``"same"`` (default; the reference's geometry, shared with the patch expansions and the geometric
  compressions): centres at 0, cd, 2 cd, ... < h, so P_h = ceil(h / cd_h); patch cells outside the grid
  read 0 in the convolution and take no part in the pooling.
* an int q (or a list [q_h, q_w] / [q_h, q_w, q_d]): ``F.conv2d(padding=q)`` semantics: the grid is
  padded by q cells on each side and patches are placed wherever they fit entirely, stride cd apart:
  P_h = floor((h + 2 q - k_h) / cd_h) + 1 with k_h the patch's extent. An int pads h and w (and d when
  d > 1). Padded cells read 0 in the convolution and take no part in the pooling (as
  ``F.max_pool2d`` and ``F.avg_pool2d(count_include_pad=False)``).

Output: (C_out, P_h, P_w, P_d) channel-major, flattened; n = C_out * P. Use
:meth:`GridHead.geometry` / :meth:`GridCompressionHead.geometry` to get m, n and the output grid
without building a head (the next layer's ``h``, ``w``, ``d`` and channels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Remainder, Transformation
from ..component import check_last_dim
from ..errors import ConfigError
from ..functional import geometric as G
from ..interdependence.geometric import EXTENT_KEYS, patch_offsets
from ..kappa import KAPPA_KINDS
from ..kappa.patches import centre_distances, resolve_grid
from ..processing import build_processing
from ..reconciliation.blockwise import SharedKernel
from ..registry import register
from ..validation import check_bool, check_choice, check_int, check_real, child_path, config_path
from ._build import child
from ._rpn2 import RPN2Head, checked_n

__all__ = ["GridShape", "GridHead", "GridCompressionHead", "PATCH_SHAPES", "POOL_METRICS"]

#: Patch shapes of the grid heads.
PATCH_SHAPES = ("cuboid", "cylinder", "sphere")
#: Pooling metrics of the grid compression head.
POOL_METRICS = ("max", "mean", "min")
_AXES = ("h", "w", "d")
#: (max pool, average pool, convolution) per number of spatial axes (looked up in forward: picklable).
_OPS = {2: (F.max_pool2d, F.avg_pool2d, F.conv2d), 3: (F.max_pool3d, F.avg_pool3d, F.conv3d)}


class GridShape(NamedTuple):
    """The dimensions of a grid head: input width m, output width n, and the grids they hold.

    ``in_grid`` is (C_in, h, w, d) and ``out_grid`` (C_out, P_h, P_w, P_d): the next grid layer takes
    ``in_channels=out_grid[0], h=out_grid[1], w=out_grid[2], d=out_grid[3]``.
    """

    m: int
    n: int
    in_grid: tuple[int, int, int, int]
    out_grid: tuple[int, int, int, int]


def _padding(padding: Any, d: int) -> tuple[int, int, int] | None:
    """None for ``"same"``, else the per-axis padding (q_h, q_w, q_d)."""
    if padding == "same":
        return None
    if isinstance(padding, (list, tuple)):
        if len(padding) not in (2, 3):
            raise ConfigError(
                f"padding must be 'same', an int or a list [q_h, q_w] or [q_h, q_w, q_d], got {padding!r}",
                child_path("padding"),
            )
        values = [
            check_int(q, f"padding[{i}]", 0, path=child_path("padding") + f"[{i}]") for i, q in enumerate(padding)
        ]
        return (values[0], values[1], values[2] if len(values) == 3 else 0)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ConfigError(
            f"padding must be 'same', an int >= 0 or a list of them, got {padding!r}", child_path("padding")
        )
    return (padding, padding, padding if d > 1 else 0)


class _Plan:
    """The grid, the patch, the centres, and how one conv/pool call realises them (built at init)."""

    def __init__(
        self,
        m: int | None,
        channels: Any,
        h: Any,
        w: Any,
        d: Any,
        patch: Any,
        extents: dict[str, Any],
        packing: Any,
        cd: tuple[Any, Any, Any],
        padding: Any,
        channels_name: str,
    ) -> None:
        self.patch = check_choice(patch, "patch", PATCH_SHAPES)
        offsets, radii, self.extents, names = patch_offsets(self.patch, extents)
        channels = check_int(channels, channels_name)
        d = check_int(d, "d")
        if m is None:
            h, w = check_int(h, "h"), check_int(w, "w")
            m = channels * h * w * d
        if h is not None and w is not None:
            h, w = check_int(h, "h"), check_int(w, "w")
            if channels * h * w * d != m:
                raise ConfigError(
                    f"m must be {channels_name} * h * w * d = {channels} * {h} * {w} * {d} = {channels * h * w * d} "
                    f"for this grid, got m={m}",
                    config_path(),
                )
        try:
            self.h, self.w, self.d, self.channels = resolve_grid(m, h, w, d, channels)
        except ConfigError as err:
            raise ConfigError(err.detail.replace("channels", channels_name), err.path or config_path()) from None
        self.m = m
        self.grid = (self.h, self.w, self.d)
        packing = check_choice(packing, "packing", list(G.PACKINGS[self.patch]))
        lo = [int(v) for v in offsets.min(0).values]
        hi = [int(v) for v in offsets.max(0).values]
        extent = tuple(b - a + 1 for a, b in zip(lo, hi))
        self.strides = centre_distances(*cd, default=G.packing_distances(self.patch, packing, radii, extent))
        self.pad = _padding(padding, self.d)
        # the patch may not be larger than the (padded) grid; the depth of a 2D grid (d = 1) is exempt:
        # only the patch's middle slice meets it (e.g. a sphere on an image is a disk)
        for a, (n_a, k_a) in enumerate(zip(self.grid, extent)):
            room = n_a + (0 if self.pad is None else 2 * self.pad[a])
            if k_a > room and not (a == 2 and self.d == 1 and (self.pad is None or self.pad[2] == 0)):
                where = f" + 2 * padding = {room}" if self.pad is not None and self.pad[a] else f" = {n_a}"
                raise ConfigError(
                    f"the {self.patch} patch is {k_a} cells along {_AXES[a]} ({names[a]} = {k_a}), larger than "
                    f"the grid: it must be at most {_AXES[a]}{where}",
                    child_path(EXTENT_KEYS[self.patch][a]),
                )
        # centres per axis: start + o * stride, o = 0 .. P_a - 1
        starts, counts = [], []
        for a in range(3):
            n_a, s = self.grid[a], self.strides[a]
            if self.pad is None:
                starts.append(0)
                counts.append(-(-n_a // s))
            else:
                q = self.pad[a]
                starts.append(-q - lo[a])
                counts.append((n_a + 2 * q - extent[a]) // s + 1)
        self.centres = tuple(counts)
        self.num_patches = math.prod(counts)
        self.patch_size = int(offsets.shape[0])
        # offsets that reach the grid from at least one centre (the rest only ever meet padding)
        self.reach_lo = [max(lo[a], -(starts[a] + (counts[a] - 1) * self.strides[a])) for a in range(3)]
        self.reach_hi = [min(hi[a], self.grid[a] - 1 - starts[a]) for a in range(3)]
        self.lo, self.hi = lo, hi
        self.spatial = 2 if self.d == 1 and self.reach_lo[2] == self.reach_hi[2] == 0 else 3
        # pads (before, after) of the input so that window o of the reached box starts at o * stride
        self.before, self.after = [], []
        for a in range(3):
            before = -(starts[a] + self.reach_lo[a])
            size = (counts[a] - 1) * self.strides[a] + self.reach_hi[a] - self.reach_lo[a] + 1
            self.before.append(before)
            self.after.append(size - self.grid[a] - before)
        # the patch's cells in its bounding box (row-major (di, dj, dk)), for the masked kernel
        box = torch.zeros(extent, dtype=torch.bool)
        rel = offsets - torch.tensor(lo)
        box[rel[:, 0], rel[:, 1], rel[:, 2]] = True
        self.box_extent = extent
        self.box_index = (rel[:, 0] * extent[1] + rel[:, 1]) * extent[2] + rel[:, 2]
        self.is_box = bool(box.all())
        self.box = box

    # ---------------------------------------------------------------------------------- helpers

    def shape(self, out_channels: int) -> GridShape:
        return GridShape(
            self.m, out_channels * self.num_patches, (self.channels, *self.grid), (out_channels, *self.centres)
        )

    def reach_slices(self) -> tuple[slice, ...]:
        """The slices of the bounding box that the reached offsets occupy (h, w, d)."""
        return tuple(slice(self.reach_lo[a] - self.lo[a], self.reach_hi[a] - self.lo[a] + 1) for a in range(3))

    def prepare(self, x: Tensor, fill: float) -> tuple[Tensor, list[int], bool]:
        """x (B, C, h, w[, d]) cropped/padded so that the ops need only symmetric ``padding``.

        Returns (x, the ops' padding, whether x was padded here with ``fill``).
        """
        axes = self.spatial
        crops = [max(-b, 0) for b in self.before[:axes]]
        ends = [max(-a, 0) for a in self.after[:axes]]
        if any(crops) or any(ends):
            index = [slice(None), slice(None)] + [
                slice(c, self.grid[a] - e) for a, (c, e) in enumerate(zip(crops, ends))
            ]
            x = x[tuple(index)]
        before = [max(b, 0) for b in self.before[:axes]]
        after = [max(a, 0) for a in self.after[:axes]]
        if all(a <= b for a, b in zip(after, before)):
            return x, before, False  # symmetric padding; the ops' extra trailing windows are cropped
        pads: list[int] = []
        for b, a in zip(reversed(before), reversed(after)):
            pads += [b, a]
        return F.pad(x, pads, value=fill), [0] * axes, True

    def crop(self, y: Tensor) -> Tensor:
        """Keep the first P_a outputs along every spatial axis."""
        axes = self.spatial
        if all(y.shape[2 + a] == self.centres[a] for a in range(axes)):
            return y
        return y[(slice(None), slice(None), *[slice(0, self.centres[a]) for a in range(axes)])]

    def view_input(self, x: Tensor, channels: int) -> Tensor:
        """(B, C*h*w*d) -> (B, C, h, w) or (B, C, h, w, d)."""
        if self.spatial == 2:
            return x.reshape(x.shape[0], channels, self.h, self.w)
        return x.reshape(x.shape[0], channels, self.h, self.w, self.d)


def _grid_args(
    patch: Any,
    p_h: Any,
    p_w: Any,
    p_d: Any,
    p_h_prime: Any,
    p_w_prime: Any,
    p_d_prime: Any,
    p_r: Any,
) -> dict[str, Any]:
    return {
        "p_h": p_h,
        "p_w": p_w,
        "p_d": p_d,
        "p_h_prime": p_h_prime,
        "p_w_prime": p_w_prime,
        "p_d_prime": p_d_prime,
        "p_r": p_r,
    }


def _check_n(n: Any, shape: GridShape, what: str) -> int:
    c_out, *centres = shape.out_grid
    grid = f" for this grid (output grid {c_out} x {' x '.join(map(str, centres))})"
    return checked_n(n, shape.n, f"{what} * patches = {c_out} * {math.prod(centres)}", grid)


def _per_value_expansion(spec: Any) -> Transformation | None:
    """The per-value kappa of a grid head: built with m = 1 (None for the identity)."""
    module = child(KAPPA_KINDS, spec, "expansion", Transformation, "an Expansion or Compression", m=1)
    plain = getattr(module, "preprocess", None) is None and getattr(module, "postprocess", None) is None
    if module.registry_name == "identity" and plain:
        return None
    return module


class _GridBase(RPN2Head):
    """What the grid heads share: the plan of the grid and its patches (``_plan``, set by the subclass),
    the grid properties and the output processing."""

    processing_keys = ("output_processing",)

    @property
    def in_grid(self) -> tuple[int, int, int, int]:
        return (self._plan.channels, *self._plan.grid)

    @property
    def output_grid(self) -> tuple[int, int, int, int]:
        return (self.n // self._plan.num_patches, *self._plan.centres)

    @property
    def patch_size(self) -> int:
        return self._plan.patch_size

    @property
    def num_patches(self) -> int:
        return self._plan.num_patches


@register("head", "grid", aliases=["grid_interdependence_head", "convolution"])
class GridHead(_GridBase):
    """A convolution as an RPN head: one kernel shared by the patches of a channel-major grid.

    For every patch p (centre on the stride, cells at the patch's offsets, see the module docstring)::

        g(x)_{o, p} = sum_{c, k} K[o, c ps + k] kappa(x)_c[centre_p + offset_k] + b_o  (+ pi(x))

    i.e. <xi_geometric(kappa(x)), psi(w)> with xi the patch gather (the ``cuboid_patch``,
    ``cylinder_patch`` and ``sphere_patch`` expansions) and psi = :class:`SharedKernel` (W = K (x) I_P).
    It runs as one ``F.conv2d`` (``F.conv3d`` when d > 1 or the patch has depth on a 3D grid) with
    stride (cd_h, cd_w, cd_d); a cylinder or sphere is a box kernel with the cells outside the shape
    fixed at 0. Patches are never materialised.

    Supported kappas: ``expansion`` is built with m = 1 and applied to every value of the grid (per
    channel and cell), so the convolution sees C_in * D_kappa channels (channel c * D_kappa + j is
    feature j of input channel c). Identity (default), ``taylor`` (degree d: x, x^2, ..., x^d per
    value), ``bspline``, ``chebyshev``, the RBF and trigonometric expansions all act per value this
    way; a kappa that mixes the values of a patch (e.g. taylor's cross products over a patch) is not
    a convolution and is not offered.

    Args:
        m: input width, C_in * h * w * d (the flattened channel-major image).
        n: output width, out_channels * P; computed when None, and checked when given (use
            :meth:`geometry`).
        in_channels: C_in.
        out_channels: C_out.
        h, w, d: the grid (h and w may be omitted for a square grid: inferred from m).
        patch: ``"cuboid"``, ``"cylinder"`` or ``"sphere"``.
        p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime: cuboid extents before / after the centre
            (as :class:`~rpnkit.expansion.CuboidPatch`: p_w defaults to p_h, a primed extent to the
            unprimed one). The default is a 3 x 3 patch.
        p_r: radius of the cylinder's disk (with depth [-p_d, p_d_prime]) or of the sphere.
        packing: a packing strategy of the shape (:data:`rpnkit.functional.geometric.PACKINGS`) giving
            the strides; default ``"densest_packing"`` (stride 1).
        cd_h, cd_w, cd_d: strides between patch centres (each overrides the packing on its axis).
        padding: ``"same"`` (default) or an int / list (``F.conv2d``'s padding); see the module docstring.
        expansion: the per-value kappa (see above); default ``"identity"``.
        bias: add a learnable bias per output channel.
        gain: scale of the initial kernel (std gain / sqrt(C_in D_kappa ps)).
        remainder: pi spec built with (m, n); ``"zero"`` (default) or e.g. ``"identity"`` when m == n
            (a residual). Note that ``"linear"`` is a dense n x m matrix (the reference's residual).
        output_processing: processing spec on the output (width n): ``"relu"``, ``["batch_norm", "relu"]``.

    Attributes:
        in_grid (C_in, h, w, d), output_grid (C_out, P_h, P_w, P_d), patch_size, num_patches,
        reconciliation (the :class:`SharedKernel` holding K), kernel() (the conv kernel), l.

    Shape:
        (..., C_in h w d) -> (..., C_out P)

    Example:
        >>> import torch, rpnkit as rk
        >>> shape = GridHead.geometry(in_channels=3, out_channels=16, h=32, w=32, cd_h=2, cd_w=2)
        >>> shape.m, shape.n, shape.out_grid
        (3072, 4096, (16, 16, 16, 1))
        >>> head = GridHead(shape.m, in_channels=3, out_channels=16, h=32, w=32, cd_h=2, cd_w=2)
        >>> head(torch.randn(5, 3 * 32 * 32)).shape
        torch.Size([5, 4096])
    """

    child_keys = ("remainder",)

    def __init__(
        self,
        m: int,
        n: int | None = None,
        in_channels: int = 1,
        out_channels: int = 1,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        patch: str = "cuboid",
        p_h: int = 1,
        p_w: int | None = None,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
        p_r: int = 1,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        padding: str | int | Sequence[int] = "same",
        expansion: Any = "identity",
        bias: bool = True,
        gain: float = 1.0,
        remainder: Any = "zero",
        output_processing: Any = None,
    ) -> None:
        super().__init__()
        self.m = check_int(m, "m")
        self.out_channels = check_int(out_channels, "out_channels")
        args = _grid_args(patch, p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime, p_r)
        plan = _Plan(self.m, in_channels, h, w, d, patch, args, packing, (cd_h, cd_w, cd_d), padding, "in_channels")
        self._plan = plan
        self.in_channels = plan.channels
        self.n = _check_n(n, plan.shape(self.out_channels), "out_channels")
        self.expansion = _per_value_expansion(expansion)
        self.features = 1 if self.expansion is None else self.expansion.D
        conv_in = self.in_channels * self.features
        P = plan.num_patches
        self.reconciliation = SharedKernel(
            self.n, conv_in * plan.patch_size * P, positions=P, gain=check_real(gain, "gain", gt=0)
        )
        if check_bool(bias, "bias"):
            self.bias = nn.Parameter(torch.zeros(self.out_channels))
        else:
            self.register_parameter("bias", None)
        self.remainder = child("remainder", remainder, "remainder", Remainder, "a Remainder", m=self.m, n=self.n)
        self.output_processing = build_processing(output_processing, self.n, "output_processing")
        if not plan.is_box:
            self.register_buffer("box_index", plan.box_index, persistent=False)
        else:
            self.box_index = None

    # ----------------------------------------------------------------------------- geometry API

    @classmethod
    def geometry(
        cls,
        h: int,
        w: int,
        d: int = 1,
        in_channels: int = 1,
        out_channels: int = 1,
        patch: str = "cuboid",
        p_h: int = 1,
        p_w: int | None = None,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
        p_r: int = 1,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        padding: str | int | Sequence[int] = "same",
    ) -> GridShape:
        """m, n, the input grid and the output grid of a grid head with these arguments (nothing built)."""
        args = _grid_args(patch, p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime, p_r)
        plan = _Plan(None, in_channels, h, w, d, patch, args, packing, (cd_h, cd_w, cd_d), padding, "in_channels")
        return plan.shape(check_int(out_channels, "out_channels"))

    @property
    def D(self) -> int:
        """Width of the (never built) patch features kappa_xi(x): C_in D_kappa ps P."""
        return self.reconciliation.D

    @property
    def l(self) -> int:  # noqa: E743
        return self.reconciliation.l

    # ------------------------------------------------------------------------------------ forward

    def kernel(self) -> Tensor:
        """The convolution kernel (C_out, C_in D_kappa, k_h, k_w[, k_d]) over the reached box of the patch."""
        plan = self._plan
        K = self.reconciliation.K
        c_out, c_in = self.out_channels, K.shape[1] // plan.patch_size
        if self.box_index is None:
            box = K.view(c_out, c_in, *plan.box_extent)
        else:
            cells = math.prod(plan.box_extent)
            flat = K.new_zeros(c_out, c_in, cells).index_copy(-1, self.box_index, K.view(c_out, c_in, -1))
            box = flat.view(c_out, c_in, *plan.box_extent)
        box = box[(slice(None), slice(None), *plan.reach_slices())]
        return box.squeeze(-1) if plan.spatial == 2 else box

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "grid head")
        plan = self._plan
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.m)
        if self.expansion is not None:
            z = self.expansion(flat.reshape(flat.shape[0], self.in_channels, -1, 1))  # (B, C, cells, k)
            flat = z.transpose(-1, -2).reshape(flat.shape[0], -1)
        grid, padding, _ = plan.prepare(plan.view_input(flat, self.in_channels * self.features), 0.0)
        y = _OPS[plan.spatial][2](grid, self.kernel(), self.bias, stride=plan.strides[: plan.spatial], padding=padding)
        return self._finish(plan.crop(y).reshape(*lead, self.n), x)

    def extra_repr(self) -> str:
        return (
            f"m={self.m}, n={self.n}, in_grid={self.in_grid}, output_grid={self.output_grid}, "
            f"patch={self._plan.patch!r}, patch_size={self.patch_size}, strides={self._plan.strides}, l={self.l}"
        )


@register("head", "grid_compression", aliases=["grid_compression_head", "pooling"])
class GridCompressionHead(_GridBase):
    """Patch pooling as an RPN head: kappa = max, min or mean over the patches of every channel; no psi.

    g(x)_{c, p} = phi({x_c[centre_p + o] : o in the patch, inside the grid}), phi in {max, min, mean};
    cells outside the grid (borders, padding) take no part (the mean divides by the real cells), so a
    cuboid equals ``F.max_pool2d`` / ``F.avg_pool2d(count_include_pad=False)`` (min is -max(-x)).
    Cylinders and spheres: max/min over a union of boxes (one pool per box), mean by a masked depthwise
    convolution; never a (b, P, ps) gather. Output (C, P_h, P_w, P_d) channel-major; n = C P.

    Args:
        m: input width C h w d.
        n: output width C P (computed when None, checked when given; see :meth:`geometry`).
        channels: C.
        h, w, d: the grid (h, w inferred for a square grid when omitted).
        metric: ``"max"`` (default), ``"mean"`` or ``"min"``.
        patch, p_h, ..., p_r, cd_h, cd_w, cd_d, padding: as for :class:`GridHead`.
        packing: default ``"non_overlapping"`` (stride = the patch's extent, classic pooling).
        output_processing: processing spec on the output (width n), e.g. ``"dropout"``.

    Shape:
        (..., C h w d) -> (..., C P)

    Example:
        >>> import torch
        >>> pool = GridCompressionHead(16, h=4, w=4, p_h=0, p_w=0, p_h_prime=1, p_w_prime=1)
        >>> pool(torch.arange(16.0)).tolist()
        [5.0, 7.0, 13.0, 15.0]
    """

    def __init__(
        self,
        m: int,
        n: int | None = None,
        channels: int = 1,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        metric: str = "max",
        patch: str = "cuboid",
        p_h: int = 1,
        p_w: int | None = None,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
        p_r: int = 1,
        packing: str = "non_overlapping",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        padding: str | int | Sequence[int] = "same",
        output_processing: Any = None,
    ) -> None:
        super().__init__()
        self.m = check_int(m, "m")
        self.metric = check_choice(metric, "metric", POOL_METRICS)
        args = _grid_args(patch, p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime, p_r)
        plan = _Plan(self.m, channels, h, w, d, patch, args, packing, (cd_h, cd_w, cd_d), padding, "channels")
        self._plan = plan
        self.channels = plan.channels
        self.n = _check_n(n, plan.shape(self.channels), "channels")
        self.output_processing = build_processing(output_processing, self.n, "output_processing")
        axes = plan.spatial
        reach = plan.box[plan.reach_slices()]
        if axes == 2:
            reach = reach[..., 0]
        self._boxes = _boxes(reach) if self.metric != "mean" else [tuple((0, k - 1) for k in reach.shape)]
        self._masked_mean = self.metric == "mean" and not bool(reach.all())
        if self.metric == "mean":
            # the number of real cells of every patch, from the same op on a grid of ones
            ones = torch.ones(1, 1, *plan.grid[:axes], dtype=torch.float64)
            mask = reach.to(torch.float64).view(1, 1, *reach.shape)
            grid, pad, _ = plan.prepare(ones, 0.0)
            count = plan.crop(_OPS[axes][2](grid, mask, stride=plan.strides[:axes], padding=pad))
            self.register_buffer("inv_count", (1.0 / count[0]).to(torch.get_default_dtype()), persistent=False)
            self.register_buffer("mask", mask.to(torch.get_default_dtype()), persistent=False)
            self._cells = int(reach.sum())

    @classmethod
    def geometry(
        cls,
        h: int,
        w: int,
        d: int = 1,
        channels: int = 1,
        patch: str = "cuboid",
        p_h: int = 1,
        p_w: int | None = None,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
        p_r: int = 1,
        packing: str = "non_overlapping",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        padding: str | int | Sequence[int] = "same",
    ) -> GridShape:
        """m, n, the input grid and the output grid of a pooling head with these arguments (nothing built)."""
        args = _grid_args(patch, p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime, p_r)
        plan = _Plan(None, channels, h, w, d, patch, args, packing, (cd_h, cd_w, cd_d), padding, "channels")
        return plan.shape(plan.channels)

    @property
    def D(self) -> int:
        return self.n

    @property
    def l(self) -> int:  # noqa: E743
        return 0

    def _max_pool(self, grid: Tensor) -> Tensor:
        plan = self._plan
        stride = plan.strides[: plan.spatial]
        max_pool = _OPS[plan.spatial][0]
        if len(self._boxes) == 1:
            ranges = self._boxes[0]
            kernel = tuple(b - a + 1 for a, b in ranges)
            ready, pad, _ = plan.prepare(grid, -math.inf)
            if all(p <= k // 2 for p, k in zip(pad, kernel)):
                return plan.crop(max_pool(ready, kernel, stride, pad))
        ready, pad, _ = plan.prepare(grid, -math.inf)
        if any(pad):
            pads: list[int] = []
            for p in reversed(pad):
                pads += [p, p]
            ready = F.pad(ready, pads, value=-math.inf)
        out = None
        for ranges in self._boxes:
            view = ready[(slice(None), slice(None), *[slice(a, None) for a, _ in ranges])]
            kernel = tuple(b - a + 1 for a, b in ranges)
            y = plan.crop(max_pool(view, kernel, stride))
            out = y if out is None else torch.maximum(out, y)
        return out

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "grid compression head")
        plan = self._plan
        lead = x.shape[:-1]
        grid = plan.view_input(x.reshape(-1, self.m), self.channels)
        if self.metric == "max":
            y = self._max_pool(grid)
        elif self.metric == "min":
            y = self._max_pool(-grid).neg()
        else:
            axes, stride = plan.spatial, plan.strides[: plan.spatial]
            ready, pad, explicit = plan.prepare(grid, 0.0)
            if self._masked_mean:
                B = ready.shape[0]
                flat = ready.reshape(B * self.channels, 1, *ready.shape[2:])
                y = _OPS[axes][2](flat, self.mask.to(ready.dtype), stride=stride, padding=pad)
                y = y.reshape(B, self.channels, *y.shape[2:])
                y = plan.crop(y) * self.inv_count.to(y.dtype)
            else:
                kernel = tuple(self.mask.shape[2:])
                if not explicit and all(p <= k // 2 for p, k in zip(pad, kernel)):
                    y = plan.crop(_OPS[axes][1](ready, kernel, stride, pad, count_include_pad=False))
                else:  # zero padding counted by the pool, then rescaled to the real cells
                    pads: list[int] = []
                    for p in reversed(pad):
                        pads += [p, p]
                    ready = F.pad(ready, pads) if any(pads) else ready
                    y = plan.crop(_OPS[axes][1](ready, kernel, stride)) * (self._cells * self.inv_count.to(ready.dtype))
        return self._output(y.reshape(*lead, self.n))

    def extra_repr(self) -> str:
        return (
            f"m={self.m}, n={self.n}, metric={self.metric!r}, in_grid={self.in_grid}, "
            f"output_grid={self.output_grid}, patch={self._plan.patch!r}, strides={self._plan.strides}"
        )


def _boxes(cells: Tensor) -> list[tuple[tuple[int, int], ...]]:
    """Boxes (per axis (first, last) index) whose union is the True cells of a box-shaped bool tensor.

    Valid for the shapes here (cuboid, disk x depth range, ball, and their slices): every True cell's
    box spanned with the shape's centre cell is True. Dominated boxes are dropped.
    """
    if bool(cells.all()):
        return [tuple((0, k - 1) for k in cells.shape)]
    centre = [int(v) for v in cells.nonzero().float().mean(0).round()]
    boxes = set()
    for point in cells.nonzero().tolist():
        box = tuple((min(c, p), max(c, p)) for c, p in zip(centre, point))
        boxes.add(box)

    # grow every box along the axes where the shape allows (the cylinder's depth range)
    def inside(b):
        return bool(cells[tuple(slice(lo, hi + 1) for lo, hi in b)].all())

    grown = set()
    for box in boxes:
        box = list(box)
        for a in range(len(box)):
            while box[a][0] > 0 and inside(box[:a] + [(box[a][0] - 1, box[a][1])] + box[a + 1 :]):
                box[a] = (box[a][0] - 1, box[a][1])
            while box[a][1] < cells.shape[a] - 1 and inside(box[:a] + [(box[a][0], box[a][1] + 1)] + box[a + 1 :]):
                box[a] = (box[a][0], box[a][1] + 1)
        grown.add(tuple(box))

    def contains(a, b):
        return all(x0 <= y0 and y1 <= x1 for (x0, x1), (y0, y1) in zip(a, b))

    kept = [b for b in grown if not any(o != b and contains(o, b) for o in grown)]
    covered = torch.zeros_like(cells)
    for b in kept:
        covered[tuple(slice(lo, hi + 1) for lo, hi in b)] = True
    if not torch.equal(covered, cells):  # pragma: no cover - a shape outside the documented ones
        raise ConfigError("grid compression: this patch shape is not a union of boxes")
    return sorted(kept)
