"""Geometric interdependences: the patches of a channel-major h x w x d grid (RPN-CNN's xi).

The input holds C channels of an h x w x d grid, channel-major: feature ``c*h*w*d + i*w*d + j*d + k``
is channel c at cell (i, j, k), so m = C h w d (``x.flatten(1)`` of a PyTorch ``(b, C, h, w)`` batch).
A patch is a cuboid, cylinder or sphere of integer offsets (lexicographic in (di, dj, dk); ps of
them); patch centres sit on a stride (cd_h, cd_w, cd_d) from the origin ("same" placement: P =
ceil(h/cd_h) ceil(w/cd_w) ceil(d/cd_d) centres, lexicographic). The placement is the patch expansions'
(:mod:`rpnkit.kappa.patches`, :mod:`rpnkit.functional.geometric`). Two modes, both attribute kind
``xi(x) = x @ A``:

* ``padding``: A in {0, 1}^{m x P C ps} gathers every patch with zero padding at the borders (im2col);
  the output is laid out per patch: column ``p*C*ps + c*ps + k`` is channel c at offset k of patch p,
  so m' = P C ps. Applied as one index gather (a zero column appended for the padding), never built.
* ``aggregation``: every centre receives the sum of its patch, per channel: A = I_C (x) A_cell with
  A_cell in {0, 1}^{hwd x P}, ``A_cell[cell, p] = 1`` for every real cell of patch p (the centre
  included); the output is channel-major, column ``c*P + p``, so m' = C P (= m with unit strides:
  the grid keeps its shape and the next geometric layer reads it as is). Applied as a sparse CSR
  product (cached transpose, :func:`rpnkit.functional.topology.csr_mix`), never a dense matrix.

``matrix(x)`` materialises A (m, m') for inspection and tests only.

Corrected reference defects: the reference's cylinder and sphere interdependences (all six classes)
crash at construction (they pass ``r=`` to patch constructors that require ``p_r``) and its cylinder
ignores p_d; here all three shapes work and p_d is honoured. The reference built A by Python loops as a
sparse COO matrix with explicit zeros, required unit strides for the aggregation mode and laid the
aggregation output out cell-major ((p, c)); here strides apply to both modes and the aggregation
output stays channel-major. Its instance kind (broken for C > 1) is not offered.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..base import Interdependence
from ..errors import ConfigError
from ..functional import geometric as G
from ..functional import topology as ft
from ..kappa.patches import (
    PatchGeometry,
    centre_distances,
    check_cuboid,
    check_cylinder,
    check_sphere,
)
from ..registry import register
from ..validation import check_choice, check_int, child_path
from ._common import check_kind

__all__ = [
    "GeometricInterdependence",
    "CuboidPatchInterdependence",
    "CuboidPatchPaddingInterdependence",
    "CuboidPatchAggregationInterdependence",
    "CylinderPatchInterdependence",
    "CylinderPatchPaddingInterdependence",
    "CylinderPatchAggregationInterdependence",
    "SpherePatchInterdependence",
    "SpherePatchPaddingInterdependence",
    "SpherePatchAggregationInterdependence",
]

#: Patch shapes of the geometric interdependences.
PATCH_SHAPES = ("cuboid", "cylinder", "sphere")
#: ``padding`` (gather every patch) or ``aggregation`` (sum every patch into its centre).
MODES = ("padding", "aggregation")
_AXES = ("h", "w", "d")
_CACHE_SIZE = 4


#: the argument behind a patch's extent along (h, w, d), named when the patch is too large for the grid
EXTENT_KEYS = {"cuboid": ("p_h", "p_w", "p_d"), "cylinder": ("p_r", "p_r", "p_d"), "sphere": ("p_r",) * 3}
#: every extent argument of the patch shapes
_EXTENT_ARGS = ("p_h", "p_w", "p_d", "p_h_prime", "p_w_prime", "p_d_prime", "p_r")


def patch_offsets(
    patch: str, p: dict[str, Any]
) -> tuple[Tensor, tuple[int, int, int], dict[str, int], tuple[str, str, str]]:
    """(offsets (ps, 3), the radii the packings use, the resolved extents, the extent formula per axis)
    of one patch shape, its extents read from ``p`` (the keys the shape uses; the grid heads share it)."""
    if patch == "cuboid":
        ext = check_cuboid(p["p_h"], p["p_w"], p["p_d"], p["p_h_prime"], p["p_w_prime"], p["p_d_prime"])
        names = ("p_h + p_h_prime + 1", "p_w + p_w_prime + 1", "p_d + p_d_prime + 1")
        keys = ("p_h", "p_w", "p_d", "p_h_prime", "p_w_prime", "p_d_prime")
        return G.cuboid_offsets(*ext), ext[:3], dict(zip(keys, ext)), names
    if patch == "cylinder":
        r, lo, hi = check_cylinder(p["p_r"], p["p_d"], p["p_d_prime"])
        names = ("2 p_r + 1", "2 p_r + 1", "p_d + p_d_prime + 1")
        return G.cylinder_offsets(r, lo, hi), (r, r, lo), {"p_r": r, "p_d": lo, "p_d_prime": hi}, names
    r = check_sphere(p["p_r"])
    return G.sphere_offsets(r), (r, r, r), {"p_r": r}, ("2 p_r + 1",) * 3  # type: ignore[return-value]


class _Geometric(PatchGeometry, Interdependence):
    """The shared machinery: place the patches, check the geometry, gather or aggregate.

    A registered class fixes its patch shape and maybe its mode as class keywords
    (``class X(_Geometric, patch="cuboid", mode="padding")``, kept as ``PATCH`` and ``MODE``; None: chosen
    by the ``patch`` / ``mode`` argument); its constructor takes the arguments of that shape and hands
    them over as they are (:meth:`_from_args`).
    """

    PATCH: ClassVar[str | None] = None
    MODE: ClassVar[str | None] = None

    def __init_subclass__(cls, patch: str | None = None, mode: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.PATCH, cls.MODE = patch, mode

    def _from_args(self, args: dict[str, Any]) -> None:
        """Set up from a constructor's arguments (its ``locals()``); extents the shape lacks are absent."""
        patch = check_choice(args["patch"], "patch", list(PATCH_SHAPES)) if self.PATCH is None else self.PATCH
        mode = args["mode"] if self.MODE is None else self.MODE
        extents = {key: args[key] for key in _EXTENT_ARGS if key in args}
        grid = (args["h"], args["w"], args["d"], args["channels"], args["packing"])
        self._setup(args["m"], args["kind"], patch, mode, extents, *grid, args["cd_h"], args["cd_w"], args["cd_d"])

    def _setup(
        self,
        m: Any,
        kind: Any,
        patch: str,
        mode: Any,
        extents: dict[str, Any],
        h: Any,
        w: Any,
        d: Any,
        channels: Any,
        packing: Any,
        cd_h: Any,
        cd_w: Any,
        cd_d: Any,
    ) -> None:
        if kind == "instance":
            raise ConfigError(
                "a geometric interdependence is of the attribute kind only (the grid is the features of one "
                "sample; the reference's instance kind is broken for channels > 1)",
                child_path("kind"),
            )
        kind = check_kind(kind, ("attribute",))
        self.patch = patch
        self.mode = check_choice(mode, "mode", list(MODES))
        offsets, radii, _, names = patch_offsets(patch, extents)
        packing = check_choice(packing, "packing", list(G.PACKINGS[patch]))
        extent = G.patch_extent(offsets)
        strides = centre_distances(cd_h, cd_w, cd_d, default=G.packing_distances(patch, packing, radii, extent))
        m = check_int(m, "m")
        cells, _ = self.place_patches(m, h, w, d, check_int(channels, "channels"), offsets, strides)
        for a, (n_a, k_a) in enumerate(zip(self.grid, extent)):
            # the depth of a 2D grid (d = 1) is exempt: only the patch's middle slice meets it
            if k_a > n_a and not (a == 2 and self.d == 1):
                raise ConfigError(
                    f"the {patch} patch is {k_a} cells along {_AXES[a]} ({names[a]} = {k_a}), larger than the "
                    f"grid: it must be at most {_AXES[a]} = {n_a}",
                    child_path(EXTENT_KEYS[patch][a]),
                )
        C, P, ps, cells_n = self.channels, self.num_patches, self.patch_size, self.h * self.w * self.d
        self.m_out = P * C * ps if self.mode == "padding" else C * P
        super().__init__(m, kind=kind)
        self.packing = packing
        self._ops: dict[tuple, tuple[Tensor, Tensor]] = {}
        if self.mode == "padding":
            # (c, k, p) order of the expansions' gather index -> per patch (p, c, k)
            index = G.gather_index(cells, C, cells_n).view(C, ps, P).permute(2, 0, 1).reshape(-1)
            self.register_buffer("index", index.contiguous(), persistent=False)
        else:
            inside = cells < cells_n  # (P, ps)
            centre = torch.arange(P).unsqueeze(1).expand(P, ps)
            # A_cell^T (P, hwd) as COO indices, row-major (so the CSR build needs no sort)
            self.register_buffer("rows", centre[inside].contiguous(), persistent=False)
            self.register_buffer("cols", cells[inside].contiguous(), persistent=False)
            self.register_buffer("index", G.gather_index(cells, 1, cells_n), persistent=False)

    # --- the matrix ---------------------------------------------------------------------------------

    def cell_operator(self, device: Any = None, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
        """Aggregation mode: (A_cell^T (P, hwd), A_cell (hwd, P)) as CSR, cached per (device, dtype)."""
        if self.mode != "aggregation":
            raise ConfigError(f"cell_operator applies to the aggregation mode, this module's mode is {self.mode!r}")
        device = torch.device("cpu") if device is None else torch.device(device)
        dtype = torch.get_default_dtype() if dtype is None else dtype
        key = (str(device), dtype)
        op = self._ops.get(key)
        if op is None:
            with torch.inference_mode(False), torch.no_grad():
                cells_n = self.h * self.w * self.d
                index = torch.stack([self.rows, self.cols]).to(device)
                values = torch.ones(index.shape[1], dtype=dtype, device=device)
                AT = torch.sparse_coo_tensor(
                    index, values, (self.num_patches, cells_n), check_invariants=False
                ).coalesce()
                with warnings.catch_warnings():  # torch marks CSR as beta on every conversion
                    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                    op = (AT.to_sparse_csr(), ft.transpose_csr(AT))
            if len(self._ops) >= _CACHE_SIZE:
                self._ops.pop(next(iter(self._ops)))
            self._ops[key] = op
        return op

    def matrix(self, x: Tensor) -> Tensor:
        """A (m, m') dense, for inspection and tests (``mix`` never builds it)."""
        A = torch.zeros(self.m + 1, self.m_out, dtype=x.dtype, device=x.device)
        if self.mode == "padding":
            A[self.index, torch.arange(self.m_out, device=x.device)] = 1.0
            return A[: self.m]
        cells_n, P = self.h * self.w * self.d, self.num_patches
        A_cell = torch.zeros(cells_n, P, dtype=x.dtype, device=x.device)
        A_cell[self.cols, self.rows] = 1.0
        return torch.kron(torch.eye(self.channels, dtype=x.dtype, device=x.device), A_cell)

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        if self.mode == "padding":
            return G.gather_patches(data, self.index)
        lead = data.shape[:-1]
        cells_n, P = self.h * self.w * self.d, self.num_patches
        if data.device.type == "meta":  # shapes only: sum the gathered patches
            grid = data.reshape(*lead, self.channels, cells_n)
            sums = G.gather_patches(grid, self.index).reshape(*lead, self.channels, self.patch_size, P).sum(-2)
            return sums.reshape(*lead, self.m_out)
        AT, A = self.cell_operator(data.device, data.dtype)
        Z = data.reshape(-1, cells_n).T  # (hwd, rows * C)
        out = ft.csr_mix(AT, A, Z)  # (P, rows * C)
        return out.T.reshape(*lead, self.m_out)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_ops"] = {}
        return state

    def extra_repr(self) -> str:
        h, w, d = self.grid
        return super().extra_repr() + (
            f", patch={self.patch!r}, mode={self.mode!r}, grid={h}x{w}x{d}, channels={self.channels}, "
            f"patch_size={self.patch_size}, patches={self.num_patches}, strides={self.strides}"
        )


@register("interdependence", "geometric", aliases=["geometric_interdependence"])
class GeometricInterdependence(_Geometric):
    """Patch interdependence of a channel-major grid, the patch shape chosen by ``patch``.

    See the module docstring for the layout and both modes. The shape's extents are read from the
    arguments it uses (cuboid: ``p_h, p_w, p_d`` and the primed ones; cylinder: ``p_r, p_d,
    p_d_prime``; sphere: ``p_r``); the others are ignored.

    Args:
        kind: ``attribute`` (the only kind).
        patch: ``cuboid``, ``cylinder`` or ``sphere``.
        mode: ``padding`` (gather every patch, m' = P C ps) or ``aggregation`` (sum every patch into its
            centre, m' = C P).
        h, w, d: grid size (h and w are inferred from m when omitted; a square grid if both are).
        channels: C (m must be C h w d).
        p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime: cuboid extents (>= 0; p_w defaults to p_h, a
            primed extent to the unprimed one).
        p_r: cylinder or sphere radius (>= 0).
        packing: the centre distances' rule (``densest_packing``: stride 1; see
            :data:`rpnkit.functional.geometric.PACKINGS`); cd_h, cd_w, cd_d override it per axis.
        cd_h, cd_w, cd_d: strides between patch centres (>= 1).

    Shape:
        (..., b, C h w d) -> (..., b, m')

    Example:
        >>> import torch
        >>> xi = GeometricInterdependence(2 * 4 * 4, channels=2, patch="cuboid", mode="aggregation")
        >>> xi(torch.randn(3, 32)).shape
        torch.Size([3, 32])
    """

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        patch: str = "cuboid",
        mode: str = "padding",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
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
    ) -> None:
        self._from_args(locals())


# ----------------------------------------------------------------------------------------- cuboids


@register("interdependence", "cuboid_patch", aliases=["cuboid_patch_based_geometric_interdependence"])
class CuboidPatchInterdependence(_Geometric, patch="cuboid"):
    """Cuboid patches [-p_h, p_h'] x [-p_w, p_w'] x [-p_d, p_d'] (see :class:`GeometricInterdependence`).

    ps = (p_h + p_h' + 1)(p_w + p_w' + 1)(p_d + p_d' + 1). With the defaults (a 3 x 3 x 1 patch, stride
    1) the padding mode is the im2col of a 3 x 3 "same" convolution, laid out per patch.

    Shape:
        (..., b, C h w d) -> (..., b, P C ps) (padding) or (..., b, C P) (aggregation)
    """

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        mode: str = "padding",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
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
    ) -> None:
        self._from_args(locals())


@register("interdependence", "cuboid_patch_padding", aliases=["cuboid_patch_padding_based_geometric_interdependence"])
class CuboidPatchPaddingInterdependence(_Geometric, patch="cuboid", mode="padding"):
    """:class:`CuboidPatchInterdependence` in the padding mode (every patch gathered, m' = P C ps)."""

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
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
    ) -> None:
        self._from_args(locals())


@register(
    "interdependence",
    "cuboid_patch_aggregation",
    aliases=["cuboid_patch_aggregation_based_geometric_interdependence"],
)
class CuboidPatchAggregationInterdependence(_Geometric, patch="cuboid", mode="aggregation"):
    """:class:`CuboidPatchInterdependence` in the aggregation mode (every patch summed into its centre, m' = C P)."""

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
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
    ) -> None:
        self._from_args(locals())


# --------------------------------------------------------------------------------------- cylinders


@register("interdependence", "cylinder_patch", aliases=["cylinder_patch_based_geometric_interdependence"])
class CylinderPatchInterdependence(_Geometric, patch="cylinder"):
    """Cylinder patches: the lattice disk di^2 + dj^2 <= p_r^2 times the depth range [-p_d, p_d'].

    p_d' defaults to p_d (the reference's cylinder used [-p_d', p_d'], ignoring p_d, and its cylinder
    interdependences did not construct at all). See :class:`GeometricInterdependence`.

    Shape:
        (..., b, C h w d) -> (..., b, P C ps) (padding) or (..., b, C P) (aggregation)
    """

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        mode: str = "padding",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_r: int = 1,
        p_d: int = 0,
        p_d_prime: int | None = None,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
    ) -> None:
        self._from_args(locals())


@register(
    "interdependence", "cylinder_patch_padding", aliases=["cylinder_patch_padding_based_geometric_interdependence"]
)
class CylinderPatchPaddingInterdependence(_Geometric, patch="cylinder", mode="padding"):
    """:class:`CylinderPatchInterdependence` in the padding mode."""

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_r: int = 1,
        p_d: int = 0,
        p_d_prime: int | None = None,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
    ) -> None:
        self._from_args(locals())


@register(
    "interdependence",
    "cylinder_patch_aggregation",
    aliases=["cylinder_patch_aggregation_based_geometric_interdependence"],
)
class CylinderPatchAggregationInterdependence(_Geometric, patch="cylinder", mode="aggregation"):
    """:class:`CylinderPatchInterdependence` in the aggregation mode."""

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_r: int = 1,
        p_d: int = 0,
        p_d_prime: int | None = None,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
    ) -> None:
        self._from_args(locals())


# ----------------------------------------------------------------------------------------- spheres


@register("interdependence", "sphere_patch", aliases=["sphere_patch_based_geometric_interdependence"])
class SpherePatchInterdependence(_Geometric, patch="sphere"):
    """Sphere patches: the lattice ball di^2 + dj^2 + dk^2 <= p_r^2 (on a 2D grid, d = 1: the disk).

    The reference's sphere interdependences did not construct. See :class:`GeometricInterdependence`.

    Shape:
        (..., b, C h w d) -> (..., b, P C ps) (padding) or (..., b, C P) (aggregation)
    """

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        mode: str = "padding",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_r: int = 1,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
    ) -> None:
        self._from_args(locals())


@register("interdependence", "sphere_patch_padding", aliases=["sphere_patch_padding_based_geometric_interdependence"])
class SpherePatchPaddingInterdependence(_Geometric, patch="sphere", mode="padding"):
    """:class:`SpherePatchInterdependence` in the padding mode."""

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_r: int = 1,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
    ) -> None:
        self._from_args(locals())


@register(
    "interdependence",
    "sphere_patch_aggregation",
    aliases=["sphere_patch_aggregation_based_geometric_interdependence"],
)
class SpherePatchAggregationInterdependence(_Geometric, patch="sphere", mode="aggregation"):
    """:class:`SpherePatchInterdependence` in the aggregation mode."""

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channels: int = 1,
        p_r: int = 1,
        packing: str = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
    ) -> None:
        self._from_args(locals())
