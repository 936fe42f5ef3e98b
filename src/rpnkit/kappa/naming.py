"""The names kappa components write in configs: each resolves back to its own class.

A kappa spec is looked up in several registry kinds, in order: a head tries expansions, then
compressions (:data:`KAPPA_KINDS`); a composite compression tries compressions first. Some names are
registered in both kinds for different classes (``identity``, ``linear``, ``reciprocal``,
``combinatorial``, ``nested``, ``extended``), so the registry name alone may resolve to the other
kind's class. :func:`config_name` picks, among a class's registry name and aliases, the first that
resolves to the class itself under a given lookup order (``identity_compression`` for
:class:`~rpnkit.compression.IdentityCompression` under the head's order), so that
``build(kinds, to_config())`` gives the same class back wherever the config is read.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..component import to_plain
from ..errors import ConfigError
from ..registry import aliases_of, get_class

__all__ = ["KAPPA_KINDS", "config_name", "child_config"]

#: The registry kinds a head looks its ``expansion`` spec up in, in this order.
KAPPA_KINDS: tuple[str, ...] = ("expansion", "compression")


def _resolves_to(name: str, kinds: tuple[str, ...], cls: type) -> bool:
    try:
        return get_class(kinds, name, path="") is cls
    except ConfigError:
        return False


def config_name(cls: type, kinds: tuple[str, ...] = KAPPA_KINDS, current: str | None = None) -> str:
    """The name to write for ``cls`` in a config read with the lookup order ``kinds``.

    Candidates, in order: ``current`` (the name already written, kept when it works), the registry
    name, then the aliases, those ending in ``_<kind>`` first. The first that resolves to ``cls``
    under ``kinds`` wins; when none does, the registry name is returned.

    Example:
        >>> import rpnkit as rk
        >>> config_name(rk.compression.IdentityCompression), config_name(rk.expansion.IdentityExpansion)
        ('identity_compression', 'identity')
        >>> config_name(rk.expansion.IdentityExpansion, ("compression", "expansion"))
        'identity_expansion'
    """
    name, kind = cls.registry_name, cls.registry_kind
    aliases = sorted(aliases_of(kind, name), key=lambda alias: not alias.endswith(f"_{kind}"))
    for candidate in (current, name, *aliases):
        if candidate is not None and _resolves_to(candidate, kinds, cls):
            return candidate
    return name


def child_config(child: nn.Module, kinds: tuple[str, ...]) -> dict[str, Any]:
    """``child``'s config, named so that it resolves back to ``child``'s class under ``kinds``.

    A composite writes its children with this: its lookup order may differ from the head's, for which
    each component names itself (see :func:`config_name`).
    """
    config = to_plain(child)
    config["name"] = config_name(type(child), kinds, current=config["name"])
    return config
