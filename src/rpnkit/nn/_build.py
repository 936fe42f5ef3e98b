"""How heads and layers build their children: one helper for the build, the path and the type check."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import ConfigError
from ..registry import build, get_class
from ..validation import child_path

__all__ = ["child", "fused_parts"]


def child(kind: str | tuple[str, ...], spec: Any, key: str, expect: type | None = None, what: str = "", **dims: Any):
    """Build the child ``key`` from ``spec`` under the config path ``parent.key``, injecting ``dims``.

    With ``expect``, a child of another type is a :class:`ConfigError` ("``key`` must be ``what``").
    """
    path = child_path(key)
    module = build(kind, spec, path=path, **dims)
    if expect is not None and not isinstance(module, expect):
        raise ConfigError(f"{key} must be {what or expect.__name__}, got {type(module).__name__}", path)
    return module


def fused_parts(fusion: Any, n: int, k: int, owner: str) -> tuple[int, Any]:
    """(width of each of k parts, builder of the fusion) so that fusing the parts gives width n.

    ``owner`` names the output in errors ("the head's n"). The builder is called with no arguments once
    the parts exist, so the fusion is built after them (their order in the module tree is kept).
    """
    if isinstance(fusion, nn.Module):
        cls = type(fusion)
    elif isinstance(fusion, type):
        cls = fusion
    else:
        name = fusion.get("name") if isinstance(fusion, dict) else fusion
        cls = get_class("fusion", name, child_path("fusion"))
    try:
        part_n = cls.input_dim(n, k)
    except ConfigError as err:
        raise ConfigError(err.detail, child_path("fusion")) from None

    def make():
        module = child("fusion", fusion, "fusion", dims=[part_n] * k, n=n)
        if module.n != n:
            raise ConfigError(f"{owner}: fusion produces width {module.n}, but n is {n}", child_path("fusion"))
        return module

    return part_n, make
