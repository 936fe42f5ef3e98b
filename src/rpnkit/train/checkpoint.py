"""Training checkpoints: the model (``rk.save``: config.yaml + model.safetensors) plus the training state.

A checkpoint directory (``run/best``, ``run/last``) is written completely under a temporary name and
then swapped in, so an interruption leaves either the previous checkpoint or the new one, never a
mix. The training state (optimizer, scheduler, RNG states, epoch, history) is plain tensors, numbers,
strings, lists and dicts saved with :func:`torch.save` and read with ``torch.load(weights_only=True)``:
loading a checkpoint never unpickles arbitrary objects.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config.io import write_bytes_atomic
from ..errors import ConfigError
from ..io import CONFIG_FILE, WEIGHTS_FILE, save

__all__ = ["STATE_FILE", "save_checkpoint", "load_weights", "load_state", "checkpoint_dir", "write_state"]

STATE_FILE = "training_state.pt"


def write_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """``torch.save`` the state into memory, then write the bytes atomically."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def _tmp(directory: Path) -> Path:
    return directory.with_name(f".{directory.name}.tmp")


def _old(directory: Path) -> Path:
    return directory.with_name(f".{directory.name}.old")


def checkpoint_dir(directory: str | os.PathLike) -> Path:
    """The checkpoint folder, recovering the previous one if a swap was interrupted between its two renames."""
    directory = Path(directory)
    old = _old(directory)
    if not directory.exists() and old.is_dir():
        os.replace(old, directory)
    return directory


def save_checkpoint(
    directory: str | os.PathLike,
    model: nn.Module,
    state: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and ``state``) into ``directory`` all-or-nothing.

    The files are written into ``.<name>.tmp`` next to it; then the old folder is renamed aside, the
    new one renamed into place, and the old one deleted. If anything raises, the temporary folder is
    removed and the previous checkpoint is untouched.
    """
    directory = checkpoint_dir(directory)
    tmp, old = _tmp(directory), _old(directory)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        save(model, tmp, extra=extra)
        if state is not None:
            write_state(tmp / STATE_FILE, state)
        if directory.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return directory


def load_weights(model: nn.Module, directory: str | os.PathLike) -> nn.Module:
    """Load a checkpoint's safetensors weights into ``model`` (strict: every key must match)."""
    from safetensors.torch import load_file

    directory = checkpoint_dir(directory)
    path = directory / WEIGHTS_FILE
    if not path.is_file() or not (directory / CONFIG_FILE).is_file():
        raise ConfigError(f"{str(directory)!r} is not a checkpoint (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    tensors = load_file(str(path), device=str(device))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise ConfigError(
            f"checkpoint {str(directory)!r} does not fit the model: missing {sorted(missing)}, "
            f"unexpected {sorted(unexpected)}"
        )
    return model


def load_state(directory: str | os.PathLike) -> dict[str, Any]:
    """The training state of a checkpoint, read with ``torch.load(weights_only=True)``."""
    path = checkpoint_dir(directory) / STATE_FILE
    if not path.is_file():
        raise ConfigError(f"{str(Path(directory))!r} has no {STATE_FILE}; only run/last can be resumed")
    return torch.load(path, map_location="cpu", weights_only=True)
