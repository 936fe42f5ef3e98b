"""Composite transformations, one implementation for both kinds: nested (composition) and extended (concatenation).

:class:`NestedComposite` and :class:`ExtendedComposite` hold the maths, the child building, the
configs, ``fit`` and the implicit-path layout; the catalogues register thin subclasses that add the
role base and the lookup order of child specs:

* :class:`rpnkit.expansion.Nested` / :class:`rpnkit.expansion.Extended` (``nested``, ``extended``):
  child names are looked up among expansions, then compressions;
* :class:`rpnkit.compression.NestedCompression` / :class:`rpnkit.compression.ExtendedCompression`
  (``nested_compression``, ``extended_compression``): compressions first.

Children are built under the config path ``functions[i]`` and kept in an ``nn.ModuleList`` (registered
submodules: saved, moved, trained).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..base import Transformation
from ..errors import ConfigError
from ..implicit import Block, bases_of, layout_of
from ..registry import build
from ..validation import check_int, child_path, join_path
from .naming import child_config

__all__ = ["Composite", "NestedComposite", "ExtendedComposite"]


def _spec_list(functions: Any, who: str, kinds: tuple[str, ...]) -> list[Any]:
    """The child specs: a list (or tuple, or ModuleList), or one spec standing for a list of one."""
    if isinstance(functions, (str, dict, nn.Module, type)):
        functions = [functions]
    if not isinstance(functions, (list, tuple, nn.ModuleList)) or len(functions) == 0:
        raise ConfigError(
            f"{who} needs `functions`: the functions must be a non-empty list of {'/'.join(kinds)} specs "
            f"(names, dicts, classes or modules), got {functions!r}",
            child_path("functions"),
        )
    return list(functions)


class Composite(Transformation):
    """Base of the composites: children built from ``functions`` in ``CHILD_KINDS`` order.

    Subclasses set ``CHAIN`` (child i gets the previous child's D as its m, else every child gets m)
    and implement :meth:`combined_width`, :meth:`transform` and :meth:`fit`.

    Args:
        functions: non-empty list of expansion/compression specs (names, dicts, classes or modules).
    """

    #: registry kinds a child name is looked up in, in order (set by the registered subclasses)
    CHILD_KINDS: ClassVar[tuple[str, ...]] = ("expansion", "compression")
    #: whether each child reads the previous child's output (nested) or x (extended)
    CHAIN: ClassVar[bool]

    functions: nn.ModuleList

    def __init__(
        self, m: int, functions: Sequence[Any] | None = None, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        m = check_int(m, "m")
        kinds = self.CHILD_KINDS
        specs = _spec_list(functions, self.registry_name or type(self).__name__, kinds)
        children: list[Transformation] = []
        width = m
        for i, spec in enumerate(specs):
            path = join_path(child_path("functions"), i)
            child = build(kinds, spec, path=path, m=width if self.CHAIN else m)
            if not isinstance(child, Transformation):
                raise ConfigError(f"expected an expansion or a compression, got {type(child).__name__}", path)
            children.append(child)
            width = child.D
        self.D = self.combined_width(children)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.functions = nn.ModuleList(children)

    def combined_width(self, children: list[Transformation]) -> int:
        """D from the children's widths."""
        raise NotImplementedError

    def fit(self, X: Tensor) -> Composite:
        """Fit each child that has ``fit`` on what it sees: the (pre-processed) X, or with ``CHAIN`` the
        output of the children before it."""
        with torch.no_grad():
            if self.preprocess is not None:
                X = self.preprocess(X)
            for child in self.functions:
                if hasattr(child, "fit"):
                    child.fit(X)
                if self.CHAIN:
                    X = child(X)
        return self

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["functions"] = [child_config(child, self.CHILD_KINDS) for child in self.functions]
        return config

    def extra_repr(self) -> str:
        return super().extra_repr() + f", k={len(self.functions)}"


class NestedComposite(Composite):
    """kappa = kappa_k o ... o kappa_1: child i is built with m = D_{i-1} (D_0 = m); D = D_k."""

    CHAIN = True

    def combined_width(self, children: list[Transformation]) -> int:
        return children[-1].D

    def transform(self, x: Tensor) -> Tensor:
        for child in self.functions:
            x = child(x)
        return x

    # implicit path: kappa_k's blocks, with bases computed from kappa_{k-1}(...kappa_1(x))

    def implicit_layout(self) -> list[Block] | None:
        return layout_of(self.functions[-1]) if len(self.functions) else None

    def implicit_bases(self, x: Tensor) -> list[Tensor]:
        for child in self.functions[:-1]:
            x = child(x)
        return bases_of(self.functions[-1], x)


class ExtendedComposite(Composite):
    """kappa(x) = [kappa_1(x), ..., kappa_k(x)]: every child is built with m; D = D_1 + ... + D_k."""

    CHAIN = False

    def combined_width(self, children: list[Transformation]) -> int:
        return sum(child.D for child in children)

    def transform(self, x: Tensor) -> Tensor:
        outputs = [child(x) for child in self.functions]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)

    # implicit path: the children's blocks one after another; a child without a layout is one dense
    # block whose base is the child's output

    def implicit_layout(self) -> list[Block] | None:
        blocks, offset = [], 0
        for child in self.functions:
            sub = layout_of(child)
            if sub is None:
                blocks.append(Block(child.D, "dense", 0, offset, child.D))
                offset += 1
                continue
            count = 1 + max(b.base for b in sub)
            blocks.extend(Block(b.width, b.kind, b.degree, b.base + offset, b.base_width, b.module) for b in sub)
            offset += count
        return blocks

    def implicit_bases(self, x: Tensor) -> list[Tensor]:
        out = []
        for child in self.functions:
            if layout_of(child) is None:
                out.append(child(x))
            else:
                out.extend(bases_of(child, x))
        return out
