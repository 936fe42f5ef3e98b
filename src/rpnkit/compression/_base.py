"""The local base of rpnkit's compressions: configs that name them so that a head rebuilds them."""

from __future__ import annotations

from typing import Any

from ..base import Compression
from ..kappa.naming import KAPPA_KINDS, config_name

__all__ = ["CompressionBase"]


class CompressionBase(Compression):
    """:class:`~rpnkit.base.Compression` whose config names it under the head's lookup order.

    A head looks its ``expansion`` spec up among expansions first (:data:`rpnkit.kappa.KAPPA_KINDS`),
    so a compression writes the first of its names that resolves to its own class there
    (:func:`rpnkit.kappa.config_name`): ``combinatorial_compression`` rather than ``combinatorial``,
    which is also an expansion's name.
    """

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["name"] = config_name(type(self), KAPPA_KINDS)
        return config
