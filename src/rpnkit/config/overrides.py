"""``key.path=value`` overrides (``rpnkit train --set``): parse them and apply them to a config.

Keys are dotted paths with list indexes (``model.layers[1].n``); values are YAML, read by
:func:`rpnkit.config.io.load_yaml` (so ``1e-3`` is a number, as in YAML 1.2).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import ConfigError
from ..validation import join_path
from .io import load_yaml

__all__ = ["parse_override", "apply_overrides"]

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def _parse_path(key: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    key = key.strip()
    while pos < len(key):
        if key[pos] == "." and parts and pos + 1 < len(key):
            pos += 1
        match = _SEGMENT.match(key, pos)
        if match is None:
            raise ConfigError(f"cannot parse the key {key!r} (use a.b.c or a.b[1].c)", key)
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts or not isinstance(parts[0], str):
        raise ConfigError(f"cannot parse the key {key!r} (use a.b.c or a.b[1].c)", key)
    return parts


def _show(parts: Sequence[str | int]) -> str:
    """``["model", "layers", 1, "n"]`` -> ``"model.layers[1].n"``."""
    out = ""
    for part in parts:
        out = join_path(out, part)
    return out


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """``"train.optimizer.lr=1e-3"`` -> (``["train", "optimizer", "lr"]``, ``0.001``); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"an override is key.path=value, got {text!r}")
    key, _, raw = text.partition("=")
    parts = _parse_path(key)
    value = load_yaml(raw, f"the value of {key.strip()}") if raw.strip() else None
    return parts, value


def apply_overrides(config: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides to a copy of ``config``.

    Missing mapping keys are created; list indexes must exist (negative ones count from the end);
    a spec given as a bare name (``optimizer: adam``) becomes ``{name: adam}`` when a key inside it is set.

    Example:
        >>> apply_overrides({"model": {"dims": [4, 8, 3]}}, ["model.dims[1]=16", "train.optimizer.lr=0.01"])
        {'model': {'dims': [4, 16, 3]}, 'train': {'optimizer': {'lr': 0.01}}}
    """
    config = copy.deepcopy(config)
    for text in overrides:
        parts, value = parse_override(text)
        _set(config, parts, value)
    return config


def _set(config: dict[str, Any], parts: list[str | int], value: Any) -> None:
    """Set ``config[parts[0]][parts[1]]... = value``, creating mappings on the way."""
    node: Any = config
    for i, part in enumerate(parts):
        here = _show(parts[: i + 1])
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError(f"[{part}] indexes a list, but {_show(parts[:i])} is {type(node).__name__}", here)
            if not -len(node) <= part < len(node):
                raise ConfigError(f"index {part} is out of range for a list of length {len(node)}", here)
        elif not isinstance(node, dict):
            raise ConfigError(f"{_show(parts[:i])} is a {type(node).__name__}, so it has no key {part!r}", here)
        if i == len(parts) - 1:
            node[part] = value
            return
        current = node[part] if isinstance(part, int) else node.get(part)
        node[part] = _container(current, parts[i + 1], here)
        node = node[part]


def _container(current: Any, next_part: str | int, here: str) -> Any:
    """The list or mapping at ``here`` that ``next_part`` goes into (a bare name becomes ``{name: ...}``)."""
    if isinstance(next_part, int):
        if isinstance(current, list):
            return current
        raise ConfigError(f"not a list (it is {current!r}), so it cannot be indexed with [{next_part}]", here)
    if isinstance(current, dict):
        return current
    if current is None:
        return {}
    if isinstance(current, str):
        return {"name": current}
    raise ConfigError(f"{current!r} is not a mapping, so it has no key {next_part!r}", here)
