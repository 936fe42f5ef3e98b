"""Composite compressions: composition (nested) and concatenation (extended) of child transformations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..base import Transformation
from ..component import to_plain
from ..errors import ConfigError
from ..registry import build, child_path, register
from ._base import CompressionBase
from ._checks import positive_int

__all__ = ["NestedCompression", "ExtendedCompression"]

#: Kinds a child spec is looked up in, in this order.
CHILD_KINDS = ("compression", "expansion")


def _build_children(functions: Any, m: int, chain: bool) -> tuple[list[Transformation], int]:
    """Build the children under ``functions``; each gets the previous child's D (chain) or m."""
    if isinstance(functions, (str, dict)) or not isinstance(functions, Sequence) or len(functions) == 0:
        raise ConfigError(f"functions must be a non-empty list of compression/expansion specs, got {functions!r}")
    children: list[Transformation] = []
    width = m
    for i, spec in enumerate(functions):
        path = f"{child_path('functions')}[{i}]"
        child = build(CHILD_KINDS, spec, path=path, m=width if chain else m)
        if not isinstance(child, Transformation):
            raise ConfigError(f"expected a compression or expansion, got {type(child).__name__}", path)
        children.append(child)
        width = child.D
    return children, width


class _Composite(CompressionBase):
    """Shared plumbing: children in an ``nn.ModuleList``, config written from the built children."""

    functions: nn.ModuleList

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["functions"] = [to_plain(child) for child in self.functions]
        return config

    def extra_repr(self) -> str:
        return super().extra_repr() + f", k={len(self.functions)}"


@register("compression", "nested", aliases=["nested_compression"])
class NestedCompression(_Composite):
    """kappa(x) = kappa_k(... kappa_2(kappa_1(x))); D = D_k(... D_1(m)).

    Children are compression or expansion specs under ``functions`` (a name, a ``{"name": ...}`` dict,
    a class or a module); child i is built with m = D_{i-1}. A name registered in both catalogues
    (``identity``, ``reciprocal``, ``linear``, ``nested``, ...) resolves to the compression; pass a
    built module to use the expansion. Children are registered submodules (saved, moved, trained),
    unlike the reference's plain list. :meth:`fit` fits the fit-once children in order.

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

    def __init__(
        self, m: int, functions: Sequence[Any] | None = None, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        children, self.D = _build_children(functions, positive_int(m, "m"), chain=True)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.functions = nn.ModuleList(children)

    def transform(self, x: Tensor) -> Tensor:
        for child in self.functions:
            x = child(x)
        return x

    def fit(self, X: Tensor) -> NestedCompression:
        """Fit each child that has ``fit`` on the (pre-processed) output of the children before it."""
        with torch.no_grad():
            if self.preprocess is not None:
                X = self.preprocess(X)
            for child in self.functions:
                if hasattr(child, "fit"):
                    child.fit(X)
                X = child(X)
        return self


@register("compression", "extended", aliases=["extended_compression"])
class ExtendedCompression(_Composite):
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

    def __init__(
        self, m: int, functions: Sequence[Any] | None = None, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        children, _ = _build_children(functions, positive_int(m, "m"), chain=False)
        self.D = sum(child.D for child in children)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.functions = nn.ModuleList(children)

    def transform(self, x: Tensor) -> Tensor:
        return torch.cat([child(x) for child in self.functions], dim=-1)

    def fit(self, X: Tensor) -> ExtendedCompression:
        """Fit each child that has ``fit`` on the (pre-processed) X."""
        with torch.no_grad():
            if self.preprocess is not None:
                X = self.preprocess(X)
            for child in self.functions:
                if hasattr(child, "fit"):
                    child.fit(X)
        return self
