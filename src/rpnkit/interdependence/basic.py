"""Identity and learned (parameterised) interdependences."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..base import Interdependence
from ..errors import ConfigError
from ..registry import build, child_path, register
from ..validation import check_int
from ._common import RectangularInterdependence, check_family

__all__ = [
    "IdentityInterdependence",
    "ParameterizedInterdependence",
    "LowrankParameterizedInterdependence",
    "HMParameterizedInterdependence",
    "LPHMParameterizedInterdependence",
    "DualLPHMParameterizedInterdependence",
    "RandomMatrixAdaptionParameterizedInterdependence",
]


@register("interdependence", "identity", aliases=["identity_interdependence", "eye_interdependence", "eye"])
class IdentityInterdependence(RectangularInterdependence):
    """A = I: xi(x) = x (attribute or instance type); rectangular with m_out / b_out.

    A rectangular eye(m, m') (or eye(b, b')) keeps the first min(m, m') columns (rows) and pads with
    zeros; it is applied by slicing, never built.

    Args:
        b: instance kind: the number of rows, checked when given.
        m_out: m' (attribute kind; default m).
        b_out: b' (instance kind; default: as many rows as the input).

    Shape:
        attribute (..., b, m) -> (..., b, m'); instance (..., b, D) -> (..., b', D).
    """

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out"}

    def __init__(
        self, m: int, kind: str = "attribute", b: int | None = None, m_out: int | None = None, b_out: int | None = None
    ) -> None:
        self._init_widths(m, kind, b, m_out, b_out)

    def matrix(self, x: Tensor) -> Tensor:
        return torch.eye(*self.matrix_shape(x), dtype=x.dtype, device=x.device)

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        axis, size = self.mixed_axis(data)
        have = data.shape[axis]
        if size == have:
            return data
        if size < have:
            return data.narrow(axis, 0, size)
        pad = [0, size - have] if axis == -1 else [0, 0, 0, size - have]
        return torch.nn.functional.pad(data, pad)


@register("interdependence", "parameterized", aliases=["parameterized_interdependence"])
class ParameterizedInterdependence(Interdependence):
    """A learned mixing matrix A in R^{m x m'} (attribute) or R^{b x b'} (instance).

    A.T is held by a reconciliation, so a structured A (``lowrank``, ``dual_lphm``, ...) is applied
    without being built: attribute xi(x) = x @ A = psi(x).

    Args:
        m_out: m' for the attribute kind (default m).
        b: number of instances (required for the instance kind).
        b_out: b' for the instance kind (default b).
        reconciliation: spec of the reconciliation holding A.T (default ``identity``).
    """

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out"}

    #: The reconciliation an alias class implies (None: any).
    family: str | None = None

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        m_out: int | None = None,
        b: int | None = None,
        b_out: int | None = None,
        reconciliation: Any = "identity",
    ) -> None:
        if kind == "instance":
            if b is None:
                raise ConfigError("the instance kind of 'parameterized' needs b, the number of instances")
            self.b_out = check_int(b if b_out is None else b_out, "b_out")
            self.m_out = m
        else:
            self.m_out = check_int(m if m_out is None else m_out, "m_out")
        super().__init__(m, kind=kind, b=b)
        if self.family is not None:
            check_family(reconciliation, self.family, self.registry_name)
        rows, cols = (self.b_out, self.b) if kind == "instance" else (self.m_out, self.m)
        self.reconciliation = build("reconciliation", reconciliation, path=child_path("reconciliation"), n=rows, D=cols)

    def matrix(self, x: Tensor) -> Tensor:
        return self.reconciliation.weight().T

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        if self.kind == "attribute":
            return self.reconciliation(data)
        return self.reconciliation(data.transpose(-1, -2)).transpose(-1, -2)


@register("interdependence", "lowrank_parameterized", aliases=["lowrank_parameterized_interdependence"])
class LowrankParameterizedInterdependence(ParameterizedInterdependence):
    """:class:`ParameterizedInterdependence` with a low-rank A (``reconciliation: lowrank``, rank 2 by default)."""

    family = "lowrank"

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        m_out: int | None = None,
        b: int | None = None,
        b_out: int | None = None,
        reconciliation: Any = "lowrank",
    ) -> None:
        super().__init__(m, kind=kind, m_out=m_out, b=b, b_out=b_out, reconciliation=reconciliation)


@register("interdependence", "hm_parameterized", aliases=["hm_parameterized_interdependence"])
class HMParameterizedInterdependence(ParameterizedInterdependence):
    """:class:`ParameterizedInterdependence` with a Kronecker (hypercomplex) A (``reconciliation: hm``).

    A true Kronecker product, not the reference's einsum.
    """

    family = "hm"

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        m_out: int | None = None,
        b: int | None = None,
        b_out: int | None = None,
        reconciliation: Any = "hm",
    ) -> None:
        super().__init__(m, kind=kind, m_out=m_out, b=b, b_out=b_out, reconciliation=reconciliation)


@register("interdependence", "lphm_parameterized", aliases=["lphm_parameterized_interdependence"])
class LPHMParameterizedInterdependence(ParameterizedInterdependence):
    """:class:`ParameterizedInterdependence` with a low-rank hypercomplex A (``reconciliation: lphm``)."""

    family = "lphm"

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        m_out: int | None = None,
        b: int | None = None,
        b_out: int | None = None,
        reconciliation: Any = "lphm",
    ) -> None:
        super().__init__(m, kind=kind, m_out=m_out, b=b, b_out=b_out, reconciliation=reconciliation)


@register("interdependence", "dual_lphm_parameterized", aliases=["dual_lphm_parameterized_interdependence"])
class DualLPHMParameterizedInterdependence(ParameterizedInterdependence):
    """:class:`ParameterizedInterdependence` with a dual-LPHM A (``reconciliation: dual_lphm``)."""

    family = "dual_lphm"

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        m_out: int | None = None,
        b: int | None = None,
        b_out: int | None = None,
        reconciliation: Any = "dual_lphm",
    ) -> None:
        super().__init__(m, kind=kind, m_out=m_out, b=b, b_out=b_out, reconciliation=reconciliation)


@register(
    "interdependence",
    "random_matrix_adaption_parameterized",
    aliases=["random_matrix_adaption_parameterized_interdependence"],
)
class RandomMatrixAdaptionParameterizedInterdependence(ParameterizedInterdependence):
    """:class:`ParameterizedInterdependence` with a random-matrix-adaption A.

    ``reconciliation: random_matrix_adaption``; its frozen random factors are seeded, saved buffers.
    """

    family = "random_matrix_adaption"

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        m_out: int | None = None,
        b: int | None = None,
        b_out: int | None = None,
        reconciliation: Any = "random_matrix_adaption",
    ) -> None:
        super().__init__(m, kind=kind, m_out=m_out, b=b, b_out=b_out, reconciliation=reconciliation)
