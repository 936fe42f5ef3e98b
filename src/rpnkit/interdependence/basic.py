"""Identity and learned (parameterised) interdependences."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..base import Interdependence
from ..errors import ConfigError
from ..registry import build, child_path, register
from ..validation import check_int

__all__ = ["IdentityInterdependence", "ParameterizedInterdependence"]


@register("interdependence", "identity", aliases=["identity_interdependence", "eye_interdependence"])
class IdentityInterdependence(Interdependence):
    """A = I: xi(x) = x (attribute or instance type)."""

    def __init__(self, m: int, kind: str = "attribute", b: int | None = None) -> None:
        super().__init__(m, kind=kind, b=b)

    def matrix(self, x: Tensor) -> Tensor:
        return torch.eye(self.m, dtype=x.dtype, device=x.device)

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        return data


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
        rows, cols = (self.b_out, self.b) if kind == "instance" else (self.m_out, self.m)
        self.reconciliation = build("reconciliation", reconciliation, path=child_path("reconciliation"), n=rows, D=cols)

    def matrix(self, x: Tensor) -> Tensor:
        return self.reconciliation.weight().T

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        if self.kind == "attribute":
            return self.reconciliation(data)
        return self.reconciliation(data.transpose(-1, -2)).transpose(-1, -2)
