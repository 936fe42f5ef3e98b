"""Safe YAML/JSON reading and atomic writing (configs never execute code)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["load_yaml", "dump_yaml", "read_config", "write_text_atomic", "write_bytes_atomic"]


def _yaml():
    try:
        import yaml
    except ImportError as err:  # pragma: no cover - PyYAML is a declared dependency
        raise ConfigError("reading YAML needs PyYAML: pip install pyyaml") from err
    return yaml


_LOADER = None


def _loader():
    """A SafeLoader that reads floats by YAML 1.2's rules: ``1e-3``, ``.5e3``, ``-.5`` (YAML 1.1 needs ``1.0e-3``)."""
    global _LOADER
    if _LOADER is None:
        import re

        yaml = _yaml()

        class Loader(yaml.SafeLoader):
            """Refuses duplicate keys and documents whose aliases expand past :data:`MAX_NODES` nodes."""

            def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
                if isinstance(node, yaml.MappingNode):
                    seen: dict[Any, Any] = {}
                    for key_node, _ in node.value:
                        key = self.construct_object(key_node, deep=True)
                        try:
                            first = seen.get(key)
                        except TypeError:  # an unhashable key: PyYAML says so itself
                            continue
                        if first is not None:
                            raise ConfigError(
                                f"{_source(self)}: duplicate key {key!r} (line {key_node.start_mark.line + 1}; "
                                f"first at line {first.start_mark.line + 1}): give each key once"
                            )
                        seen[key] = key_node
                return super().construct_mapping(node, deep=deep)

            def compose_document(self):  # noqa: ANN201
                node = super().compose_document()
                _check_expansion(node, _source(self))
                return node

        Loader.add_implicit_resolver(
            "tag:yaml.org,2002:float",
            re.compile(
                r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""",
                re.X,
            ),
            list("-+0123456789."),
        )
        _LOADER = Loader
    return _LOADER


#: The most nodes a YAML document may expand to through its aliases (a config has hundreds).
MAX_NODES = 100_000


def _source(loader: Any) -> str:
    return getattr(loader, "rpnkit_source", "<string>")


def _check_expansion(root: Any, source: str) -> None:
    """Refuse a document whose aliases expand it past :data:`MAX_NODES` (an alias bomb), counting each
    shared node once per use without expanding anything (linear in the distinct nodes)."""
    sizes: dict[int, int] = {}

    def size(node: Any, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > 200:
            raise ConfigError(f"{source}: YAML nested more than 200 levels deep")
        total = 1
        if isinstance(node.value, list):
            for item in node.value:
                parts = item if isinstance(item, tuple) else (item,)
                for part in parts:
                    total += size(part, depth + 1)
                    if total > MAX_NODES:
                        break
        sizes[id(node)] = total = min(total, MAX_NODES + 1)
        return total

    if root is not None and size(root, 0) > MAX_NODES:
        raise ConfigError(
            f"{source}: the YAML expands to more than {MAX_NODES:,} values through its aliases (&anchor / *alias); "
            "refused (an alias bomb?)"
        )


def load_yaml(text: str, source: str = "<string>") -> Any:
    r"""Parse YAML with a safe loader (no Python objects, no code); ``1e-3`` is a float.

    Example:
        >>> load_yaml("lr: 1e-3\nsteps: 10\nname: 1e3x")
        {'lr': 0.001, 'steps': 10, 'name': '1e3x'}
    """
    yaml = _yaml()
    loader = None
    try:
        loader = _loader()(text)
        loader.rpnkit_source = source
        return loader.get_single_data()
    except yaml.YAMLError as err:
        raise ConfigError(f"cannot parse {source} as YAML: {err}") from None
    finally:
        if loader is not None:
            loader.dispose()


def dump_yaml(data: Any) -> str:
    """YAML text of plain data, keys in insertion order."""
    return _yaml().safe_dump(data, sort_keys=False, default_flow_style=None)


def read_config(path: str | os.PathLike) -> Any:
    """Read a ``.yaml``/``.yml``/``.json`` file into plain data."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path} is not UTF-8 text (byte {err.start}); is it corrupt?") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"cannot parse {path} as JSON: {err}") from None
    return load_yaml(text, str(path))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``.

    A crash at any point leaves either the old file or the new one, never a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """:func:`write_bytes_atomic` for UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))
