"""The component registry: build any component from a name, a dict, a class or a module.

Components register under a *kind* (``"expansion"``, ``"reconciliation"``, ...) with a snake_case
name and optional aliases (the reference system's long names). A *spec* is one of

* a registered name: ``"taylor"``;
* a dict ``{"name": "taylor", "degree": 3}`` whose other keys are constructor arguments;
* a component class: ``rpnkit.expansion.Taylor``;
* a built module (used as is, after its dimensions are checked).

The parent injects the dimensions (``m``, ``n``, ``D``, ``dims``): configs never repeat a number the
code can compute. Nothing is ever imported by dotted path: a config can only name registered classes.

Parameter names follow one rule (docs/migration.md): ``degree``, ``rank``, ``channels``, ``bias``,
``kind`` and spelled-out counts. A class's ``param_aliases`` (``{"d": "degree", "r": "rank"}``: the
reference's spellings and rpnkit's older ones) are renamed by :func:`resolve_param_aliases` before
the signature check; a parameter given under both spellings is a :class:`ConfigError` naming both.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from torch import nn

from .errors import ConfigError
from .validation import at_path, check_finite, child_path, config_path, did_you_mean, join_path, unknown_key

__all__ = [
    "register",
    "unregister",
    "get_class",
    "build",
    "names",
    "kinds",
    "child_path",
    "config_path",
    "INJECTED",
    "param_aliases",
    "param_names",
    "resolve_param_aliases",
]

#: Constructor arguments that a parent supplies; they never appear in a component's config.
INJECTED = ("m", "n", "D", "dims", "layout")

_CLASSES: dict[str, dict[str, type]] = {}
_ALIASES: dict[str, dict[str, str]] = {}


def register(kind: str, name: str, aliases: Iterable[str] = ()):
    """Class decorator that registers a component under ``kind``/``name`` (and aliases).

    Example:
        >>> import rpnkit as rk
        >>> @rk.register("remainder", "half_identity")
        ... class HalfIdentity(rk.Remainder):
        ...     def forward(self, x):
        ...         return 0.5 * x
        >>> "half_identity" in rk.registry.names("remainder")
        True
        >>> rk.registry.unregister("remainder", "half_identity")
    """

    def decorator(cls: type) -> type:
        table = _CLASSES.setdefault(kind, {})
        alias_table = _ALIASES.setdefault(kind, {})
        for key in (name, *aliases):
            if key in table or key in alias_table:
                held = table.get(key) or table[alias_table[key]]
                raise ValueError(
                    f"{kind} {key!r} is already registered to {held.__module__}.{held.__qualname__}; "
                    f"{cls.__module__}.{cls.__qualname__} cannot take it (choose another name)"
                )
        table[name] = cls
        for alias in aliases:
            alias_table[alias] = name
        if "registry_name" not in cls.__dict__:
            cls.registry_name = name
            cls.registry_kind = kind
        return cls

    return decorator


def unregister(kind: str, name: str) -> None:
    """Remove a registered component (and its aliases); for tests and interactive sessions."""
    table = _CLASSES.get(kind, {})
    if name not in table:
        raise ConfigError(f"{kind} {name!r} is not registered")
    table.pop(name)
    aliases = _ALIASES.get(kind, {})
    for alias in [a for a, target in aliases.items() if target == name]:
        aliases.pop(alias)


def kinds() -> list[str]:
    """All kinds that have at least one registered component."""
    return sorted(_CLASSES)


def names(kind: str, aliases: bool = False) -> list[str]:
    """Registered names of one kind (with the aliases when ``aliases=True``)."""
    found = list(_CLASSES.get(kind, {}))
    if aliases:
        found += list(_ALIASES.get(kind, {}))
    return sorted(found)


def aliases_of(kind: str, name: str) -> list[str]:
    """The aliases registered for ``kind``/``name``."""
    return sorted(a for a, target in _ALIASES.get(kind, {}).items() if target == name)


def get_class(kind: str | tuple[str, ...], name: str, path: str | None = None) -> type:
    """Look a registered class up by name or alias; unknown names get a did-you-mean error."""
    path = config_path() if path is None else path
    kinds_ = (kind,) if isinstance(kind, str) else tuple(kind)
    for k in kinds_:
        table = _CLASSES.get(k, {})
        key = _ALIASES.get(k, {}).get(name, name)
        if key in table:
            return table[key]
    known = [n for k in kinds_ for n in list(_CLASSES.get(k, {})) + list(_ALIASES.get(k, {}))]
    hint = did_you_mean(name, known, n=3)
    label = "/".join(kinds_)
    raise ConfigError(f"unknown {label} {name!r}{hint} (see `rpnkit components {kinds_[0]}`)", path)


def param_aliases(cls: type) -> dict[str, str]:
    """The parameter aliases of ``cls`` that apply to its constructor: ``{alias: rpnkit name}``.

    A class declares ``param_aliases = {"d": "degree", "r": "rank"}`` (the reference's spellings and
    rpnkit's older ones); the table is inherited, and an entry is dropped where the alias is itself
    a parameter of the constructor or the target is not one.
    """
    table = getattr(cls, "param_aliases", None) or {}
    if not table:
        return {}
    params = inspect.signature(cls.__init__).parameters
    return {alias: target for alias, target in table.items() if alias not in params and target in params}


def param_names(cls: type) -> list[str]:
    """The constructor parameters of ``cls`` (without ``self`` and ``*args``/``**kwargs``)."""
    return list(_accepted(cls)[0])


def resolve_param_aliases(cls: type, kwargs: dict[str, Any], path: str | None = None) -> dict[str, Any]:
    """``kwargs`` with every alias of ``cls`` renamed to rpnkit's spelling (the key order is kept).

    Raises:
        ConfigError: a parameter given under both spellings (the message names both).
    """
    aliases = param_aliases(cls)
    if not aliases or not any(key in aliases for key in kwargs):
        return kwargs
    path = config_path() if path is None else path
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        target = aliases.get(key, key)
        if target in out or (target != key and target in kwargs):
            other = next(k for k in kwargs if k != key and aliases.get(k, k) == target)
            first, second = sorted((key, other), key=lambda k: k != target)
            raise ConfigError(
                f"{first!r} and {second!r} are two spellings of one parameter of {cls.__name__} "
                f"({second!r} is an alias of {first!r}); give it once",
                join_path(path, second),
            )
        out[target] = value
    return out


def _accepted(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
    params = dict(inspect.signature(cls.__init__).parameters)
    params.pop("self", None)
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    params = {k: p for k, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return params, var_kw


def build(kind: str | tuple[str, ...], spec: Any, path: str | None = None, **injected: Any) -> nn.Module:
    """Build a component of ``kind`` from ``spec``, injecting the parent's dimensions.

    Args:
        kind: registry kind, or a tuple of kinds searched in order.
        spec: a name, a ``{"name": ..., **kwargs}`` dict, a class, or a built module.
        path: config path used in error messages (defaults to the current build path).
        **injected: dimensions supplied by the parent (``m``, ``n``, ``D``, ``dims``); only those the
            constructor accepts are passed.

    Raises:
        ConfigError: unknown name, unknown or missing key, or an invalid value; the message names
            the config path.
    """
    path = config_path() if path is None else path
    kinds_ = (kind,) if isinstance(kind, str) else tuple(kind)
    if isinstance(spec, nn.Module):
        _check_module_dims(spec, injected, path)
        return spec
    if isinstance(spec, str):
        cls, kwargs = get_class(kinds_, spec, path), {}
    elif isinstance(spec, dict):
        if "name" not in spec:
            raise ConfigError(f"a {kinds_[0]} spec needs a 'name' key, got keys {sorted(spec)}", path)
        kwargs = dict(spec)
        cls = get_class(kinds_, kwargs.pop("name"), f"{path}.name" if path else "name")
    elif isinstance(spec, type) and issubclass(spec, nn.Module):
        cls, kwargs = spec, {}
    else:
        raise ConfigError(
            f"expected a {kinds_[0]} spec (a name, a dict with 'name', a class or a module), got {spec!r}", path
        )
    kwargs = resolve_param_aliases(cls, kwargs, path)
    params, var_kw = _accepted(cls)
    for key in kwargs:
        if key in INJECTED and key in injected:
            if kwargs[key] != injected[key]:
                raise ConfigError(
                    f"{key}={kwargs[key]!r} conflicts with the value {injected[key]!r} that the parent supplies; "
                    f"remove {key!r} from the config",
                    join_path(path, key),
                )
        elif key not in params and not var_kw:
            raise unknown_key(key, (k for k in params if k not in injected), cls.__name__, join_path(path, key))
        else:
            check_finite(kwargs[key] if isinstance(kwargs[key], float) else None, join_path(path, key), key)
    call = {k: v for k, v in injected.items() if k in params or var_kw}
    call.update({k: v for k, v in kwargs.items() if not (k in INJECTED and k in injected)})
    missing = [k for k, p in params.items() if p.default is inspect.Parameter.empty and k not in call]
    if missing:
        raise ConfigError(f"missing required key(s) {missing} for {cls.__name__}", path)
    with at_path(path):
        try:
            return cls(**call)
        except ConfigError as err:
            if err.path or not path:
                raise
            raise ConfigError(err.detail, path) from err
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{cls.__name__}: {err}", path) from err


def _check_module_dims(module: nn.Module, injected: dict[str, Any], path: str) -> None:
    for key, value in injected.items():
        have = getattr(module, key, None)
        if key == "dims" and have is not None:
            have = list(have)
            value = list(value)
        if have is not None and have != value:
            raise ConfigError(
                f"the given {type(module).__name__} has {key}={have!r} but its place needs {key}={value!r}", path
            )
