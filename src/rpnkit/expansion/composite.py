"""Composite expansions built from other expansions/compressions: composition and concatenation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..base import Expansion, Transformation
from ..errors import ConfigError
from ..registry import build, child_path, register

__all__ = ["Nested", "Extended"]

_KINDS = ("expansion", "compression")


def _spec_list(functions: Any, who: str) -> list[Any]:
    if isinstance(functions, (str, dict, nn.Module, type)) or functions is None:
        functions = [] if functions is None else [functions]
    if not isinstance(functions, (list, tuple, nn.ModuleList)) or len(functions) == 0:
        raise ConfigError(
            f"{who} needs `functions`: a non-empty list of expansion/compression specs, got {functions!r}",
            child_path("functions"),
        )
    return list(functions)


def _build_child(spec: Any, i: int, m: int) -> Transformation:
    path = child_path("functions") + f"[{i}]"
    child = build(_KINDS, spec, path=path, m=m)
    if not isinstance(child, Transformation):
        raise ConfigError(f"expected an expansion or compression, got {type(child).__name__}", path)
    return child


class _Composite(Expansion):
    """Base: children kept in an ``nn.ModuleList`` (so they are registered, saved and moved)."""

    functions: nn.ModuleList

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["functions"] = [child.to_config() for child in self.functions]
        return config

    def extra_repr(self) -> str:
        return super().extra_repr() + f", k={len(self.functions)}"


@register("expansion", "nested", aliases=["nested_expansion"])
class Nested(_Composite):
    """kappa = kappa_k o ... o kappa_1: each function gets the previous one's output; D = D_k.

    Child i is built with m = D_{i-1} (D_0 = m) under the config path ``functions[i]``.

    Args:
        functions: non-empty list of expansion/compression specs (names, dicts, classes or modules).

    Shape:
        (..., m) -> (..., D_k)

    Example:
        >>> import torch
        >>> nested = Nested(2, functions=["identity", {"name": "taylor", "degree": 2}])
        >>> nested.D, nested(torch.tensor([1.0, 2.0])).tolist()
        (6, [1.0, 2.0, 1.0, 2.0, 2.0, 4.0])
    """

    def __init__(
        self, m: int, functions: Sequence[Any] | None = None, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        specs = _spec_list(functions, "nested")
        children, width = [], m
        for i, spec in enumerate(specs):
            child = _build_child(spec, i, width)
            children.append(child)
            width = child.D
        self.D = width
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.functions = nn.ModuleList(children)

    def transform(self, x: Tensor) -> Tensor:
        for child in self.functions:
            x = child(x)
        return x


@register("expansion", "extended", aliases=["extended_expansion"])
class Extended(_Composite):
    """kappa(x) = [kappa_1(x), ..., kappa_k(x)]: the concatenation; D = D_1 + ... + D_k.

    Every child is built with the same m under the config path ``functions[i]``.

    Args:
        functions: non-empty list of expansion/compression specs (names, dicts, classes or modules).

    Shape:
        (..., m) -> (..., D_1 + ... + D_k)

    Example:
        >>> import torch
        >>> extended = Extended(2, functions=["identity", {"name": "taylor", "degree": 2}])
        >>> extended.D, extended(torch.tensor([1.0, 2.0])).tolist()
        (8, [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 2.0, 4.0])
    """

    def __init__(
        self, m: int, functions: Sequence[Any] | None = None, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        specs = _spec_list(functions, "extended")
        children = [_build_child(spec, i, m) for i, spec in enumerate(specs)]
        self.D = sum(child.D for child in children)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.functions = nn.ModuleList(children)

    def transform(self, x: Tensor) -> Tensor:
        outputs = [child(x) for child in self.functions]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
