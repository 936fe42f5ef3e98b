"""The local base of rpnkit's compressions: configs that name them unambiguously."""

from __future__ import annotations

from typing import Any

from .. import registry
from ..base import Compression

__all__ = ["CompressionBase"]


class CompressionBase(Compression):
    """:class:`~rpnkit.base.Compression` whose ``to_config`` never names an expansion by mistake.

    A head looks its ``expansion`` spec up among expansions first, then compressions, so a compression
    whose registry name is also an expansion's (``identity``, ``linear``, ``nested``, ``combinatorial``,
    ...) would be rebuilt from its config as that expansion. Such a compression writes its
    ``*_compression`` alias instead (``{"name": "combinatorial_compression", ...}``), which only it
    answers to, so configs round-trip through any lookup order.
    """

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        name = config["name"]
        if name in registry.names("expansion", aliases=True):
            unique = [
                alias
                for alias in registry.aliases_of("compression", name)
                if alias not in registry.names("expansion", aliases=True)
            ]
            preferred = [alias for alias in unique if alias.endswith("_compression")]
            if preferred or unique:
                config["name"] = (preferred or unique)[0]
        return config
