"""Save and load models: the config (YAML) plus safetensors weights, buffers included.

A checkpoint directory holds ``config.yaml`` (the model config and rpnkit's version) and
``model.safetensors``. Loading never unpickles anything: the model is rebuilt from registered
components and the tensors are read with safetensors. Each file is written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config.io import dump_yaml, read_config, write_bytes_atomic, write_text_atomic
from .config.model import build_model
from .errors import ConfigError

__all__ = ["save", "load", "read_weights", "fill", "state_tensors", "CONFIG_FILE", "WEIGHTS_FILE"]

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.safetensors"


def state_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as contiguous CPU tensors that do not share memory (safetensors needs that)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def save(model: nn.Module, directory: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
    """Save ``model`` (config + weights and buffers) into ``directory``.

    Args:
        model: a model with ``to_config()`` built from registered components.
        directory: created if needed; existing files are replaced atomically.
        extra: optional plain data stored beside the config (e.g. training metadata).
    """
    from safetensors.torch import save as st_save

    from ._version import __version__

    directory = Path(directory)
    config = model.to_config()
    document = {"rpnkit_version": __version__, "model": config}
    if extra:
        document["extra"] = extra
    tensors = state_tensors(model)
    dtypes = sorted({str(t.dtype).replace("torch.", "") for t in tensors.values() if t.is_floating_point()})
    document["dtype"] = dtypes[0] if len(dtypes) == 1 else dtypes
    write_bytes_atomic(directory / WEIGHTS_FILE, st_save(tensors, metadata={"format": "pt"}))
    write_text_atomic(directory / CONFIG_FILE, dump_yaml(document))
    return directory


def read_weights(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a damaged or foreign file is a :class:`ConfigError` (nothing unpickled)."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(device))
    except Exception as err:  # noqa: BLE001 - safetensors, OSError, torch: the file is not what it should be
        raise ConfigError(
            f"{path} is corrupt or not an rpnkit weights file (truncated or foreign: {type(err).__name__}); "
            "save the model again, or use an intact copy"
        ) from None


def fill(model: nn.Module, tensors: dict[str, torch.Tensor], where: str | os.PathLike) -> nn.Module:
    """Load ``tensors`` into ``model`` strictly: every key and every shape must match (else a :class:`ConfigError`)."""
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        raise ConfigError(
            f"checkpoint {str(where)!r} does not match its config: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    try:  # graph interdependences resize their edge buffers on load; torch checks every other shape
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        wrong = [line.strip() for line in str(err).splitlines() if "size mismatch" in line]
        raise ConfigError(
            f"checkpoint {str(where)!r} does not match its config: the weights have other shapes than the model "
            f"the config builds ({'; '.join(wrong[:2]) or type(err).__name__}{'; ...' if len(wrong) > 2 else ''}); "
            "was config.yaml edited?"
        ) from None
    return model


def _dtype(value: Any, where: Path) -> torch.dtype | None:
    """The floating dtype a checkpoint's ``dtype`` names (None for a list: mixed dtypes stay as saved)."""
    if value is None or isinstance(value, list):
        return None
    found = getattr(torch, value, None) if isinstance(value, str) else None
    if not isinstance(found, torch.dtype) or not found.is_floating_point:
        raise ConfigError(
            f"{where}: dtype must name a floating dtype such as float32 or float64, got {value!r}", "dtype"
        )
    return found


def load(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model saved by :func:`save` and load its weights (strictly: every key and shape must match)."""
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    weights_path = directory / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise ConfigError(f"{str(directory)!r} is not an rpnkit checkpoint (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    document = read_config(config_path)
    if not isinstance(document, dict) or "model" not in document:
        raise ConfigError(f"{config_path} has no 'model' section")
    dtype = _dtype(document.get("dtype"), config_path)
    model = build_model(document["model"], path="model")
    tensors = read_weights(weights_path, map_location)
    if dtype is not None:
        model = model.to(dtype)
    fill(model, tensors, directory)
    return model.to(map_location)
