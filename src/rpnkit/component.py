"""The abstract base of every rpnkit component and the config capture it provides.

Each subclass's constructor arguments are recorded when the instance is built, so that
``to_config()`` can return ``{"name": <registry name>, **hyperparameters}`` without the class
repeating them. Injected dimensions (``m``, ``n``, ``D``, ``dims``) are left out: the parent
supplies them again when the config is built.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, ClassVar

from torch import nn

from .errors import ConfigError
from .registry import INJECTED, resolve_param_aliases
from .validation import check_last_dim

__all__ = ["Component", "to_plain", "check_last_dim"]


def to_plain(value: Any) -> Any:
    """Turn a constructor argument into a YAML/JSON-safe value (modules become their configs)."""
    if isinstance(value, nn.Module):
        if not hasattr(value, "to_config"):
            raise ConfigError(f"{type(value).__name__} has no to_config(); register a Component subclass instead")
        return value.to_config()
    if isinstance(value, type):
        name = getattr(value, "registry_name", None)
        if name is None or "registry_name" not in value.__dict__:
            raise ConfigError(f"class {value.__name__} is not registered, so it cannot be written to a config")
        return name
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if callable(getattr(value, "tolist", None)) and getattr(value, "ndim", 0) >= 1:  # numpy arrays, tensors
        return to_plain(value.tolist())
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(f"cannot write {type(value).__name__} value {value!r} to a config")


class Component(nn.Module):
    """Base of expansions, compressions, reconciliations, remainders, fusions and interdependences.

    Subclasses are ``nn.Module`` s that own their parameters and buffers. Their constructor
    arguments are captured automatically for :meth:`to_config`.
    """

    registry_name: ClassVar[str | None] = None
    registry_kind: ClassVar[str | None] = None
    #: Other spellings of constructor arguments, ``{alias: rpnkit name}`` (the reference's names such
    #: as ``d``/``r``/``enable_bias``, and rpnkit's own older ones). They are accepted by the
    #: constructor and by ``registry.build``; ``to_config`` writes rpnkit's name. Inherited; an entry
    #: whose alias is a parameter of the class (or whose target is not) is ignored for that class.
    param_aliases: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
        original = cls.__init__
        signature = inspect.signature(original)

        @functools.wraps(original)
        def __init__(self, *args: Any, **kw: Any) -> None:
            kw = resolve_param_aliases(cls, kw)
            original(self, *args, **kw)
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            hparams = dict(bound.arguments)
            hparams.pop("self", None)
            for key, param in signature.parameters.items():
                if param.kind is param.VAR_KEYWORD:
                    hparams.update(hparams.pop(key, {}))
                elif param.kind is param.VAR_POSITIONAL:
                    hparams.pop(key, None)
            # The outermost constructor finishes last, so its record wins.
            object.__setattr__(self, "_hparams", hparams)

        cls.__init__ = __init__

    @property
    def hparams(self) -> dict[str, Any]:
        """The constructor arguments this component was built with (injected dimensions included)."""
        return dict(getattr(self, "_hparams", {}))

    def to_config(self) -> dict[str, Any]:
        """``{"name": registry name, **hyperparameters}``; builds an equal component through the registry."""
        cls = type(self)
        if "registry_name" not in cls.__dict__ or cls.registry_name is None:
            raise ConfigError(
                f"{cls.__name__} is not registered; decorate it with rpnkit.register(kind, name) to save it in a config"
            )
        config: dict[str, Any] = {"name": cls.registry_name}
        for key, value in self.hparams.items():
            if key in INJECTED:
                continue
            config[key] = to_plain(value)
        return config
