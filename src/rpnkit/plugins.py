"""Third-party components: plugins found through entry points, and local modules named by an experiment.

A plugin is a module that registers components with :func:`rpnkit.register` when it is imported.
rpnkit finds installed plugins through the entry-point group ``rpnkit.components``; each entry
point is a module (imported) or a callable (called without arguments) that registers components.
A package declares one in its ``pyproject.toml``:

.. code-block:: toml

    [project.entry-points."rpnkit.components"]
    my_components = "my_package.components"

``import rpnkit`` loads them after the built-in catalogues (set ``RPNKIT_DISABLE_PLUGINS=1`` to
skip them), so a YAML experiment can name their components like built-in ones, and
``rpnkit components`` lists each with its package. A local module, one that is not installed, is
loaded by name: ``rpnkit train --plugin my_module`` or ``plugins: [my_module]`` in the experiment
(looked up in the experiment file's folder, the working directory, then ``sys.path``). A config
still names registered components only: nothing in a component spec is ever imported.

A plugin may not take a name or alias that is already registered (by rpnkit or another plugin):
the error names both classes, and the plugin's other registrations are undone. An installed
plugin that fails at ``import rpnkit`` does not break the import: it is reported with a warning and
again, as a :class:`~rpnkit.errors.ConfigError`, by :func:`check` (which ``rpnkit train`` and
``rpnkit components`` call).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from . import registry
from .errors import ConfigError

__all__ = [
    "GROUP",
    "PluginWarning",
    "discover",
    "load_entry_point",
    "load_module",
    "load_modules",
    "check",
    "origin",
    "failures",
    "check_module_name",
]

#: The entry-point group that installed plugins declare.
GROUP = "rpnkit.components"
#: Environment variable that turns entry-point discovery off at import time.
DISABLE_ENV = "RPNKIT_DISABLE_PLUGINS"

#: ``(kind, name) -> package`` of every component a plugin registered.
_ORIGINS: dict[tuple[str, str], str] = {}
#: Problems met while loading installed plugins at import time: ``(entry point, message)``.
_FAILURES: list[tuple[str, str]] = []
#: Entry points (``name = value``) and local modules already loaded.
_LOADED: set[str] = set()


class PluginWarning(UserWarning):
    """An installed plugin could not be loaded when rpnkit was imported."""


def _snapshot() -> set[tuple[str, str]]:
    return {(kind, name) for kind in registry.kinds() for name in registry.names(kind)}


def _register_from(label: str, package: str, load) -> list[tuple[str, str]]:
    """Run ``load()``; record what it registered under ``package``; undo it all when it fails."""
    before = _snapshot()
    try:
        load()
    except Exception as err:
        for kind, name in sorted(_snapshot() - before):
            registry.unregister(kind, name)
        if isinstance(err, ValueError) and "already registered" in str(err):
            raise ConfigError(f"plugin {label} ({package}): {err}") from err
        if isinstance(err, ConfigError):
            if err.path:  # already says where (a module that is not found)
                raise
            raise ConfigError(f"plugin {label} ({package}): {err.detail}", err.path) from err
        raise ConfigError(f"plugin {label} ({package}) failed to load: {type(err).__name__}: {err}") from err
    added = sorted(_snapshot() - before)
    for key in added:
        _ORIGINS[key] = package
    return added


def _call_target(target: Any) -> None:
    """An entry point's object: a module or a class registered on import; a callable is called."""
    if inspect.ismodule(target) or isinstance(target, type):
        return
    if not callable(target):
        raise TypeError(f"the entry point is neither a module nor a callable: {target!r}")
    target()


def load_entry_point(entry_point: metadata.EntryPoint) -> list[tuple[str, str]]:
    """Load one entry point of :data:`GROUP`; returns the ``(kind, name)`` pairs it registered."""
    key = f"{entry_point.name} = {entry_point.value}"
    if key in _LOADED:
        return []
    dist = getattr(entry_point, "dist", None)
    package = dist.name if dist is not None else entry_point.value.split(":")[0].split(".")[0]
    added = _register_from(f"{entry_point.name!r}", package, lambda: _call_target(entry_point.load()))
    _LOADED.add(key)
    return added


def _entry_points() -> list[metadata.EntryPoint]:
    found = metadata.entry_points(group=GROUP)
    unique: dict[str, metadata.EntryPoint] = {}
    for ep in found:  # one distribution can sit twice on sys.path
        unique.setdefault(f"{ep.name} = {ep.value}", ep)
    return sorted(unique.values(), key=lambda ep: ep.name)


def discover(strict: bool = False) -> list[tuple[str, str]]:
    """Load every installed plugin (entry-point group :data:`GROUP`) not loaded yet.

    Args:
        strict: raise the first failure as a :class:`ConfigError` (else: warn and remember it for
            :func:`check`).

    Returns:
        The ``(kind, name)`` pairs registered.
    """
    added: list[tuple[str, str]] = []
    for ep in _entry_points():
        try:
            added += load_entry_point(ep)
        except ConfigError as err:
            if strict:
                raise
            _FAILURES.append((ep.name, str(err)))
            warnings.warn(str(err), PluginWarning, stacklevel=2)
    return added


def _discover_on_import() -> None:
    if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
        return
    discover()


def check() -> None:
    """Raise the installed plugins' load failures (met at ``import rpnkit``) as one :class:`ConfigError`."""
    if _FAILURES:
        raise ConfigError("; ".join(message for _, message in _FAILURES))


def failures() -> list[tuple[str, str]]:
    """``(entry point, message)`` of each installed plugin that failed to load."""
    return list(_FAILURES)


def origin(kind: str, name: str) -> str | None:
    """The package (or local module) that registered ``kind``/``name``; None for rpnkit's own."""
    return _ORIGINS.get((kind, name))


def check_module_name(name: Any, path: str = "plugins") -> str:
    """A module name such as ``my_components`` or ``my_package.components`` (not a file path)."""
    plain = isinstance(name, str) and name and all(part.isidentifier() for part in name.split("."))
    if plain and not name.endswith(".py"):
        return name
    hint = ""
    if isinstance(name, str) and name.endswith(".py"):
        hint = f"; give the module name {Path(name).stem!r} (the file {Path(name).name} in the experiment's folder)"
    raise ConfigError(f"expected a module name such as 'my_components', got {name!r}{hint}", path)


def load_module(name: str, search: Iterable[str | os.PathLike] = (), path: str = "plugins") -> list[tuple[str, str]]:
    """Import the local plugin module ``name`` (looked up in ``search``, then ``sys.path``).

    Returns:
        The ``(kind, name)`` pairs it registered (none when it was imported before).

    Raises:
        ConfigError: the module is not found, fails to import, or takes a registered name.
    """
    check_module_name(name, path)
    if name in _LOADED or name in sys.modules:
        _LOADED.add(name)
        return []
    folders = [str(Path(f).resolve()) for f in search if Path(f).is_dir()]
    added_paths = [f for f in dict.fromkeys(folders) if f not in sys.path]
    sys.path[:0] = added_paths

    def load() -> None:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name is not None and (name == err.name or name.startswith(err.name + ".")):
                where = ", ".join(folders + ["sys.path"])
                raise ConfigError(f"plugin module {name!r} not found (looked in {where})", path) from err
            raise

    try:
        added = _register_from(repr(name), f"local module {name}", load)
    except ConfigError as err:
        sys.modules.pop(name, None)
        if err.path:
            raise
        raise ConfigError(err.detail, path) from err.__cause__
    finally:
        for folder in added_paths:
            if folder in sys.path:
                sys.path.remove(folder)
    _LOADED.add(name)
    return added


def load_modules(
    names: Sequence[str], search: Iterable[str | os.PathLike] = (), path: str = "plugins"
) -> list[tuple[str, str]]:
    """:func:`load_module` for each name (error paths ``plugins[i]``)."""
    search = list(search)
    added: list[tuple[str, str]] = []
    for i, name in enumerate(names):
        added += load_module(name, search, f"{path}[{i}]")
    return added
