"""Build models from config dicts."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import ConfigError
from ..memory import SizeGuard, default_limit, parse_bytes
from ..registry import build

__all__ = ["build_model"]


def build_model(
    config: Any, path: str = "", max_bytes: int | str | None = None, option: str = "max_bytes", meta: bool = False
) -> nn.Module:
    """Build a model from its config (a dict as returned by ``model.to_config()``, or YAML text).

    A config without ``name`` is the plain ``rpn`` model. Errors name the config path of the bad
    value, e.g. ``layers[1].head.reconciliation.p``.

    Every tensor the build allocates is checked *before* it is allocated (:class:`rpnkit.memory.SizeGuard`):
    a model whose parameters and buffers would pass ``max_bytes`` in total is a :class:`ConfigError`
    naming the component being built, the estimate and the option.

    Args:
        config: the model config.
        path: the config path of the model (``model`` in an experiment).
        max_bytes: the limit in bytes (or ``"8GiB"``); default: a fraction of the machine's available
            memory (:func:`rpnkit.memory.default_limit`).
        option: the option named in the error when the limit is passed.
        meta: build parameters and buffers on the meta device (sizes only, nothing allocated);
            components that compute their buffers from values (patch geometry) may refuse this.

    Example:
        >>> import rpnkit as rk
        >>> model = rk.build_model({"dims": [4, 3], "head": {"expansion": "taylor"}})
        >>> rk.build_model(model.to_config()).to_config() == model.to_config()
        True
        >>> rk.build_model({"dims": [784, 64], "head": {"expansion": "taylor"}}, max_bytes="10MiB")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rpnkit.errors.ConfigError: layers[0].head.reconciliation: needs at least 150.3 MiB (a (64, 615,440) ...
    """
    if isinstance(config, str):
        from .io import load_yaml

        config = load_yaml(config)
    if not isinstance(config, dict):
        raise ConfigError(f"a model config must be a mapping, got {type(config).__name__}", path)
    if "name" not in config:
        config = {"name": "rpn", **config}
    limit = parse_bytes(max_bytes, option) if max_bytes is not None else default_limit()
    with SizeGuard(limit, option, meta=meta):
        return build("model", config, path=path)
