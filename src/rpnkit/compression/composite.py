"""Composite compressions: composition (nested) and concatenation (extended) of child transformations.

The implementation is shared with the composite expansions (:mod:`rpnkit.kappa.composite`); these
classes register it as compressions, whose child names resolve among compressions first.
"""

from __future__ import annotations

from ..implicit import Block
from ..kappa.composite import ExtendedComposite, NestedComposite
from ..registry import register
from ._base import CompressionBase

__all__ = ["NestedCompression", "ExtendedCompression"]

#: Kinds a child spec is looked up in, in this order.
CHILD_KINDS = ("compression", "expansion")


class _NoImplicitPath:
    """The composite compressions take the explicit path, as they always have.

    The shared layout of :mod:`rpnkit.kappa.composite` would apply to them unchanged; it is switched off
    here only so that no existing model changes path (delete this class to give them the implicit path).
    """

    def implicit_layout(self) -> list[Block] | None:
        return None


@register("compression", "nested", aliases=["nested_compression"])
class NestedCompression(_NoImplicitPath, NestedComposite, CompressionBase):
    """kappa(x) = kappa_k(... kappa_2(kappa_1(x))); D = D_k(... D_1(m)).

    Children are compression or expansion specs under ``functions`` (a name, a ``{"name": ...}`` dict,
    a class or a module); child i is built with m = D_{i-1}. A name registered in both catalogues
    (``identity``, ``reciprocal``, ``linear``, ``nested``, ...) resolves to the compression; use the
    expansion's ``*_expansion`` alias (or pass a built module) for the expansion. Children are
    registered submodules (saved, moved, trained), unlike the reference's plain list. :meth:`fit` fits
    the fit-once children in order.

    Args:
        functions: the child specs, applied first to last.

    Shape:
        (..., m) -> (..., D)

    Example:
        >>> import torch
        >>> kappa = NestedCompression(4, functions=[{"name": "linear", "c": 2.0}, "sum"])
        >>> kappa(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        tensor([20.])
    """

    CHILD_KINDS = CHILD_KINDS


@register("compression", "extended", aliases=["extended_compression"])
class ExtendedCompression(_NoImplicitPath, ExtendedComposite, CompressionBase):
    """kappa(x) = [kappa_1(x), ..., kappa_k(x)] (concatenated); D = D_1(m) + ... + D_k(m).

    Children are compression or expansion specs under ``functions``, each built with the same m (see
    :class:`NestedCompression` for how names resolve). :meth:`fit` fits the fit-once children on X.

    Args:
        functions: the child specs.

    Shape:
        (..., m) -> (..., sum_i D_i)

    Example:
        >>> import torch
        >>> kappa = ExtendedCompression(3, functions=["max", "min", "identity"])
        >>> kappa(torch.tensor([1.0, -2.0, 3.0]))
        tensor([ 3., -2.,  1., -2.,  3.])
    """

    CHILD_KINDS = CHILD_KINDS
