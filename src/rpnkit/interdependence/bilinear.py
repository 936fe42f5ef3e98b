"""Parameterised bilinear interdependence: attention-like scores A = softmax?(s X W X^T) with a learned W.

W is held by a reconciliation (``identity``, ``lowrank``, ``hm``, ``lphm``, ``dual_lphm``,
``random_matrix_adaption``, ...), so a structured W is applied through its structure and never built:
the scores are ``(X W^T) X^T`` with ``X W^T = psi.product(X)``. The instance kind (the default) scores
the rows (tokens) of each sample: data of shape (B, L, d) is mixed over its L rows within each
sample, never across samples; 2-D data (L, d) over its rows. Without softmax and mask the mix is
associated as ``Q (K^T V)``, so no (L, L) matrix is built; with softmax it goes through
``torch.nn.functional.scaled_dot_product_attention`` (fused kernels where the backend has them).

Orientation: output row j is ``sum_i A[i, j] v_i`` with ``A[i, j] = s x_i^T W x_j``; the softmax
normalises over the inputs i (every column of A sums to 1, every output is a convex combination) and
``causal`` keeps i <= j only.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..base import Interdependence
from ..errors import ConfigError, ShapeError
from ..registry import build, register
from ..validation import check_bool, check_int, check_real, child_path
from ._common import check_b, check_family, check_kind

__all__ = [
    "ParameterizedBilinearInterdependence",
    "LowrankParameterizedBilinearInterdependence",
    "HMParameterizedBilinearInterdependence",
    "LPHMParameterizedBilinearInterdependence",
    "DualLPHMParameterizedBilinearInterdependence",
    "RandomMatrixAdaptionParameterizedBilinearInterdependence",
]


def _check_scale(scale: Any) -> bool | float:
    if isinstance(scale, bool):
        return scale
    return check_real(scale, "scale", gt=0.0)


def _attend(q: Tensor, k: Tensor, v: Tensor, s: float, softmax: bool, causal: bool) -> Tensor:
    """``P @ v`` with ``P = softmax?(s q k^T)`` (rows j = outputs, columns i = inputs), causal: i <= j."""
    if softmax:
        if q.dim() == 2:
            return F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=causal, scale=s)[0]
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=s)
    if causal:
        return torch.tril(q @ k.transpose(-1, -2)) @ v * s
    n, d, c = q.shape[-2], q.shape[-1], v.shape[-1]
    if n * d * c * 2 <= n * n * d + n * n * c:  # q (k^T v) vs (q k^T) v
        return q @ (k.transpose(-1, -2) @ v) * s
    return (q @ k.transpose(-1, -2)) @ v * s


def _scores(q: Tensor, k: Tensor, s: float, softmax: bool, causal: bool) -> Tensor:
    """P = softmax?(s q k^T) (masked), rows j = outputs, columns i = inputs."""
    T = q @ k.transpose(-1, -2) * s
    if causal:
        keep = torch.ones(T.shape[-2:], dtype=torch.bool, device=T.device).tril()
        T = torch.softmax(T.masked_fill(~keep, -math.inf), dim=-1) if softmax else T * keep
    elif softmax:
        T = torch.softmax(T, dim=-1)
    return T


@register("interdependence", "parameterized_bilinear", aliases=["parameterized_bilinear_interdependence"])
class ParameterizedBilinearInterdependence(Interdependence):
    """Bilinear scores A = softmax?(s X W X^T) with W held by a reconciliation.

    * ``kind: instance`` (default): X is x (L, d) per sample, W is (d, d), A is (L, L) and the output
      is ``A^T @ data`` over the L rows of each sample (attention without value projection).
    * ``kind: attribute``: X is x^T (m, b), W is (b, b), A is (m, m) and the output is ``data @ A``.
      W is indexed by the batch rows, so this kind needs a fixed batch size b (its maths ties W to it,
      as in the reference); another batch size is a ``ShapeError``.

    Args:
        reconciliation: spec of the reconciliation holding W (``identity``, ``lowrank``, ``dual_lphm``...;
            no bias: the scores are bilinear).
        softmax: normalise the scores over the inputs (each output a convex combination).
        scale: False (s = 1, the reference's raw scores), True (s = 1 / sqrt(d), d the contracted
            width: the row width d for the instance kind, b for the attribute kind) or a number s > 0.
        causal: output j mixes inputs i <= j only.
        d: instance kind: the width of the x the scores come from (default m). Inside a Head the
            instance interdependence gets m = D (the expansion's width) while the scores use the head's
            input x: give the input width here when the expansion changes the width.
        b: the batch size: required by the attribute kind; checked when given for the instance kind.

    Shape:
        instance (..., L, D) -> (..., L, D); attribute (..., b, m) -> (..., b, m).
    """

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out"}

    family: str | None = None

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        reconciliation: Any = "identity",
        softmax: bool = False,
        scale: bool | float = False,
        causal: bool = False,
        d: int | None = None,
        b: int | None = None,
    ) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        self.softmax = check_bool(softmax, "softmax")
        self.causal = check_bool(causal, "causal")
        self.scale = _check_scale(scale)
        d = check_int(d, "d", allow_none=True)
        if kind == "attribute":
            if d is not None:
                raise ConfigError(
                    "d applies to the instance kind only (the attribute kind contracts over b)", child_path("d")
                )
            if b is None:
                raise ConfigError(
                    "the attribute kind of a bilinear interdependence needs b, the fixed batch size (W is (b, b))",
                    child_path("b"),
                )
            width = b
        else:
            width = m if d is None else d
        if self.family is not None:
            check_family(reconciliation, self.family, self.registry_name)
        self.d = width
        self.b_out = b
        super().__init__(m, kind=kind, b=b)
        self.reconciliation = build(
            "reconciliation", reconciliation, path=child_path("reconciliation"), n=width, D=width
        )
        if getattr(self.reconciliation, "bias", None) is not None:
            raise ConfigError(
                "the bilinear scores take no bias: remove bias from the reconciliation",
                child_path("reconciliation.bias"),
            )

    def _factor(self) -> float:
        if self.scale is True:
            return 1.0 / math.sqrt(self.d)
        if self.scale is False:
            return 1.0
        return float(self.scale)

    def _operands(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(q, k): the scores are q k^T, rows = outputs j, columns = inputs i."""
        who = f"interdependence {self.registry_name}"
        if x.dim() < 2:
            raise ShapeError(f"{who}: expected x of shape (..., rows, width), got {tuple(x.shape)}")
        if self.kind == "instance":
            if x.shape[-1] != self.d:
                raise ShapeError(f"{who}: the scores need x of width d={self.d}, got {tuple(x.shape)}")
            return self.reconciliation.product(x), x
        if x.shape[-2] != self.d:
            raise ShapeError(
                f"{who}: the attribute kind's W is ({self.d}, {self.d}), so the batch must have b={self.d} rows, "
                f"got {tuple(x.shape)}"
            )
        xt = x.transpose(-1, -2)
        return self.reconciliation.product(xt), xt

    def matrix(self, x: Tensor) -> Tensor:
        q, k = self._operands(x)
        return _scores(q, k, self._factor(), self.softmax, self.causal).transpose(-1, -2)

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        q, k = self._operands(x)
        s = self._factor()
        if self.kind == "instance":
            if data.dim() < 2 or data.shape[-2] != x.shape[-2]:
                raise ShapeError(
                    f"interdependence {self.registry_name}: data must have the {x.shape[-2]} rows of x, "
                    f"got {tuple(data.shape)}"
                )
            return _attend(q, k, data, s, self.softmax, self.causal)
        return _attend(q, k, data.transpose(-1, -2), s, self.softmax, self.causal).transpose(-1, -2)


@register(
    "interdependence", "lowrank_parameterized_bilinear", aliases=["lowrank_parameterized_bilinear_interdependence"]
)
class LowrankParameterizedBilinearInterdependence(ParameterizedBilinearInterdependence):
    """:class:`ParameterizedBilinearInterdependence` with a low-rank W = U V^T (``reconciliation: lowrank``)."""

    family = "lowrank"

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        reconciliation: Any = "lowrank",
        softmax: bool = False,
        scale: bool | float = False,
        causal: bool = False,
        d: int | None = None,
        b: int | None = None,
    ) -> None:
        super().__init__(m, kind, reconciliation, softmax, scale, causal, d, b)


@register("interdependence", "hm_parameterized_bilinear", aliases=["hm_parameterized_bilinear_interdependence"])
class HMParameterizedBilinearInterdependence(ParameterizedBilinearInterdependence):
    """:class:`ParameterizedBilinearInterdependence` with a Kronecker (hypercomplex) W (``reconciliation: hm``).

    The reference's einsum defect (not a Kronecker product) is not reproduced.
    """

    family = "hm"

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        reconciliation: Any = "hm",
        softmax: bool = False,
        scale: bool | float = False,
        causal: bool = False,
        d: int | None = None,
        b: int | None = None,
    ) -> None:
        super().__init__(m, kind, reconciliation, softmax, scale, causal, d, b)


@register("interdependence", "lphm_parameterized_bilinear", aliases=["lphm_parameterized_bilinear_interdependence"])
class LPHMParameterizedBilinearInterdependence(ParameterizedBilinearInterdependence):
    """:class:`ParameterizedBilinearInterdependence` with a low-rank hypercomplex W (``reconciliation: lphm``)."""

    family = "lphm"

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        reconciliation: Any = "lphm",
        softmax: bool = False,
        scale: bool | float = False,
        causal: bool = False,
        d: int | None = None,
        b: int | None = None,
    ) -> None:
        super().__init__(m, kind, reconciliation, softmax, scale, causal, d, b)


@register(
    "interdependence",
    "dual_lphm_parameterized_bilinear",
    aliases=["dual_lphm_parameterized_bilinear_interdependence"],
)
class DualLPHMParameterizedBilinearInterdependence(ParameterizedBilinearInterdependence):
    """:class:`ParameterizedBilinearInterdependence` with a dual-LPHM W (``reconciliation: dual_lphm``)."""

    family = "dual_lphm"

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        reconciliation: Any = "dual_lphm",
        softmax: bool = False,
        scale: bool | float = False,
        causal: bool = False,
        d: int | None = None,
        b: int | None = None,
    ) -> None:
        super().__init__(m, kind, reconciliation, softmax, scale, causal, d, b)


@register(
    "interdependence",
    "random_matrix_adaption_parameterized_bilinear",
    aliases=["random_matrix_adaption_parameterized_bilinear_interdependence"],
)
class RandomMatrixAdaptionParameterizedBilinearInterdependence(ParameterizedBilinearInterdependence):
    """:class:`ParameterizedBilinearInterdependence` with a random-matrix-adaption W
    (``reconciliation: random_matrix_adaption``; its frozen random factors are seeded buffers)."""

    family = "random_matrix_adaption"

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        reconciliation: Any = "random_matrix_adaption",
        softmax: bool = False,
        scale: bool | float = False,
        causal: bool = False,
        d: int | None = None,
        b: int | None = None,
    ) -> None:
        super().__init__(m, kind, reconciliation, softmax, scale, causal, d, b)
