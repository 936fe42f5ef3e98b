"""Composite expansions: composition (nested) and concatenation (extended) of other transformations.

The implementation is shared with the composite compressions (:mod:`rpnkit.kappa.composite`); these
classes register it as expansions, whose child names resolve among expansions first.
"""

from __future__ import annotations

from ..base import Expansion
from ..kappa.composite import ExtendedComposite, NestedComposite
from ..registry import register

__all__ = ["Nested", "Extended"]


@register("expansion", "nested", aliases=["nested_expansion"])
class Nested(NestedComposite, Expansion):
    """kappa = kappa_k o ... o kappa_1: each function gets the previous one's output; D = D_k.

    Child i is built with m = D_{i-1} (D_0 = m) under the config path ``functions[i]``. A child name
    registered in both catalogues (``identity``, ``linear``, ...) resolves to the expansion; see
    :class:`~rpnkit.compression.NestedCompression` for the compression-first form. :meth:`fit` fits
    the fit-once children in order.

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

    #: a composite is finite where its parts are (see each part's ``finite_domain``)
    finite_domain = "that of its parts (see the warning of the part that overflowed, if any)"

    CHILD_KINDS = ("expansion", "compression")


@register("expansion", "extended", aliases=["extended_expansion"])
class Extended(ExtendedComposite, Expansion):
    """kappa(x) = [kappa_1(x), ..., kappa_k(x)]: the concatenation; D = D_1 + ... + D_k.

    Every child is built with the same m under the config path ``functions[i]`` (names resolve as
    for :class:`Nested`).

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

    #: a composite is finite where its parts are (see each part's ``finite_domain``)
    finite_domain = "that of its parts (see the warning of the part that overflowed, if any)"

    CHILD_KINDS = ("expansion", "compression")
