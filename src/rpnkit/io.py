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

__all__ = ["save", "load", "state_tensors", "CONFIG_FILE", "WEIGHTS_FILE"]

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


def load(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model saved by :func:`save` and load its weights (strictly: every key must match)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    weights_path = directory / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise ConfigError(f"{str(directory)!r} is not an rpnkit checkpoint (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    document = read_config(config_path)
    if not isinstance(document, dict) or "model" not in document:
        raise ConfigError(f"{config_path} has no 'model' section")
    model = build_model(document["model"], path="model")
    tensors = load_file(str(weights_path), device=str(map_location))
    dtype = document.get("dtype")
    if isinstance(dtype, str) and hasattr(torch, dtype):
        model = model.to(getattr(torch, dtype))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise ConfigError(
            f"checkpoint {str(directory)!r} does not match its config: missing {sorted(missing)}, "
            f"unexpected {sorted(unexpected)}"
        )
    return model.to(map_location)
