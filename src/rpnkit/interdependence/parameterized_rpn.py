"""The parameterised RPN interdependence: A is itself an RPN head, kappa then psi, on the transposed data.

* ``kind: attribute`` (default): ``A = kappa(x^T) psi(w)^T`` in R^{m x m'}. The m columns of the batch
  x (b, m) are the "instances" of this inner head: each column, a vector of b values, is expanded by
  kappa (built with input width b, output width D_k = kappa.D(b)) and psi holds W in R^{m' x D_k}.
  Because kappa reads a column of b values, **A depends on the batch size b**: this kind needs a fixed
  b (given as ``b``), and a batch with another number of rows is a ``ShapeError`` that names the
  expected b (as in the reference, whose attribute type silently ties l to b).
* ``kind: instance``: ``A = kappa(x) psi(w)^T`` in R^{b x b'}: every row of x (width ``d``, default m)
  is expanded by kappa (D_k = kappa.D(d)) and psi holds W in R^{b' x D_k}; the output is
  ``A^T @ data`` (b' rows). Any b works; b' is fixed (``b_out``, default ``b``).

``kappa(.) psi^T`` is ``psi.product(kappa(.))``: psi's structure (lowrank, dual_lphm, ...) is used, W
is never built. With leading dimensions, x (..., b, m) gives one A per leading index. kappa and psi
are any registered expansion/compression and reconciliation (built through the registry; psi takes
no bias: A is a product).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..base import Interdependence, Reconciliation, Transformation
from ..component import to_plain
from ..errors import ConfigError, ShapeError
from ..kappa import KAPPA_KINDS, child_config
from ..registry import build, register
from ..validation import check_int, child_path
from ._common import check_b, check_kind

__all__ = ["ParameterizedRPNInterdependence"]


@register("interdependence", "parameterized_rpn", aliases=["parameterized_rpn_interdependence"])
class ParameterizedRPNInterdependence(Interdependence):
    """A = kappa(x^T) psi(w)^T (attribute, m x m') or kappa(x) psi(w)^T (instance, b x b').

    See the module docstring: the attribute kind's kappa reads the b values of a column, so it needs
    the fixed batch size ``b`` and checks it on every call.

    Args:
        kind: ``attribute`` (default) or ``instance``.
        expansion: kappa spec (an expansion or compression), built with m = b (attribute) or d
            (instance); default ``identity``.
        reconciliation: psi spec, built with n = m' (attribute) or b' (instance) and D = kappa.D;
            default ``identity`` (a dense W); it must have no bias.
        m_out: m' (attribute kind; default m).
        b: attribute kind: the batch size (required); instance kind: the rows, checked when given.
        b_out: b' (instance kind; default b, one of them required).
        d: instance kind: the width of the x that A comes from (default m). Inside a Head the instance
            interdependence gets m = D (the expansion's width) while A uses the head's input x: give
            the input width here when the head's expansion changes the width.

    Shape:
        attribute (..., b, m) -> (..., b, m'); instance (..., b, D) -> (..., b', D).

    Example:
        >>> import torch
        >>> xi = ParameterizedRPNInterdependence(3, expansion="taylor", m_out=2, b=4)
        >>> xi(torch.randn(4, 3)).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        m_out: int | None = None,
        b: int | None = None,
        b_out: int | None = None,
        d: int | None = None,
    ) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        m = check_int(m, "m")
        m_out = check_int(m_out, "m_out", allow_none=True)
        b_out = check_int(b_out, "b_out", allow_none=True)
        d = check_int(d, "d", allow_none=True)
        if kind == "attribute":
            for key, value in (("b_out", b_out), ("d", d)):
                if value is not None:
                    raise ConfigError(f"{key} applies to the instance kind only", child_path(key))
            if b is None:
                raise ConfigError(
                    "the attribute kind of parameterized_rpn needs b, the fixed batch size: A = kappa(x^T) psi^T "
                    "expands every column of the batch, a vector of b values, so kappa's input width is b",
                    child_path("b"),
                )
            width, self.m_out, self.b_out = b, m if m_out is None else m_out, b
        else:
            if m_out is not None:
                raise ConfigError("m_out applies to the attribute kind only", child_path("m_out"))
            if b is None and b_out is None:
                raise ConfigError(
                    "the instance kind of parameterized_rpn needs b_out (or b), the number of output rows b' "
                    "(psi's W is (b', kappa.D))",
                    child_path("b_out"),
                )
            width, self.m_out, self.b_out = m if d is None else d, m, b if b_out is None else b_out
        self.d = width
        super().__init__(m, kind=kind, b=b)
        self.expansion = build(KAPPA_KINDS, expansion, path=child_path("expansion"), m=width)
        if not isinstance(self.expansion, Transformation):
            raise ConfigError(
                f"expected an expansion or compression, got {type(self.expansion).__name__}", child_path("expansion")
            )
        rows = self.m_out if kind == "attribute" else self.b_out
        self.reconciliation = build(
            "reconciliation", reconciliation, path=child_path("reconciliation"), n=rows, D=self.expansion.D
        )
        if not isinstance(self.reconciliation, Reconciliation):
            raise ConfigError(
                f"expected a reconciliation, got {type(self.reconciliation).__name__}", child_path("reconciliation")
            )
        if self.reconciliation.bias is not None:
            raise ConfigError(
                "A = kappa(.) psi^T is a product and takes no bias: remove bias from the reconciliation",
                child_path("reconciliation.bias"),
            )

    def matrix(self, x: Tensor) -> Tensor:
        who = f"interdependence {self.registry_name}"
        if x.dim() < 2:
            raise ShapeError(f"{who}: expected x of shape (..., b, m), got {tuple(x.shape)}")
        if self.kind == "attribute":
            if x.shape[-2] != self.b or x.shape[-1] != self.m:
                raise ShapeError(
                    f"{who}: the attribute kind's A = kappa(x^T) psi^T expands columns of b={self.b} values "
                    f"(its kappa and psi are sized for that batch size), so x must be (..., b={self.b}, "
                    f"m={self.m}), got {tuple(x.shape)}"
                )
            return self.reconciliation.product(self.expansion(x.transpose(-1, -2)))
        if x.shape[-1] != self.d:
            raise ShapeError(f"{who}: A = kappa(x) psi^T needs x of width d={self.d}, got {tuple(x.shape)}")
        return self.reconciliation.product(self.expansion(x))

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        A = self.matrix(x)
        if self.kind == "attribute":
            return data @ A
        if data.dim() < 2 or data.shape[-2] != x.shape[-2]:
            raise ShapeError(
                f"interdependence {self.registry_name}: data must have the {x.shape[-2]} rows of x, got "
                f"{tuple(data.shape)}"
            )
        return A.transpose(-1, -2) @ data

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["expansion"] = child_config(self.expansion, KAPPA_KINDS)
        config["reconciliation"] = to_plain(self.reconciliation)
        return config

    def extra_repr(self) -> str:
        return super().extra_repr() + f", b_out={self.b_out}, kappa_D={self.expansion.D}"
