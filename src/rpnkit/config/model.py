"""Build models from config dicts."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import ConfigError
from ..registry import build

__all__ = ["build_model"]


def build_model(config: Any, path: str = "") -> nn.Module:
    """Build a model from its config (a dict as returned by ``model.to_config()``, or YAML text).

    A config without ``name`` is the plain ``rpn`` model. Errors name the config path of the bad
    value, e.g. ``layers[1].head.reconciliation.p``.

    Example:
        >>> import rpnkit as rk
        >>> model = rk.build_model({"dims": [4, 3], "head": {"expansion": "taylor"}})
        >>> rk.build_model(model.to_config()).to_config() == model.to_config()
        True
    """
    if isinstance(config, str):
        from .io import load_yaml

        config = load_yaml(config)
    if not isinstance(config, dict):
        raise ConfigError(f"a model config must be a mapping, got {type(config).__name__}", path)
    if "name" not in config:
        config = {"name": "rpn", **config}
    return build("model", config, path=path)
