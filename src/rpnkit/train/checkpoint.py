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
import pickle
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config.io import write_bytes_atomic
from ..errors import ConfigError
from ..io import CONFIG_FILE, WEIGHTS_FILE, fill, read_weights, save

__all__ = [
    "STATE_FILE",
    "save_checkpoint",
    "load_weights",
    "load_state",
    "check_state",
    "load_optimizer_state",
    "checkpoint_dir",
    "write_state",
]

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
    directory = checkpoint_dir(directory)
    path = directory / WEIGHTS_FILE
    if not path.is_file() or not (directory / CONFIG_FILE).is_file():
        raise ConfigError(f"{str(directory)!r} is not a checkpoint (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    return fill(model, read_weights(path, device), directory)


#: Keys every training state has, with the type each must be.
STATE_KEYS = {"epoch": int, "optimizer": dict, "rng": dict, "history": list, "best": dict, "elapsed": (int, float)}


def load_state(directory: str | os.PathLike) -> dict[str, Any]:
    """The training state of a checkpoint, read with ``torch.load(weights_only=True)``.

    A file that is truncated, not a training state, or holds anything but plain data (a pickle that
    would build other objects) is a :class:`ConfigError` saying it is corrupt or untrusted; nothing in
    it runs. So is a state with a negative epoch or without the keys a training state has.
    """
    path = checkpoint_dir(directory) / STATE_FILE
    if not path.is_file():
        raise ConfigError(f"{str(Path(directory))!r} has no {STATE_FILE}; only run/last can be resumed")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # its message advises weights_only=False: never for a file one did not write
        raise ConfigError(
            f"{path} is corrupt or untrusted: it holds objects that a training state never holds, and was refused "
            "unread (nothing in it ran); resume from a run rpnkit wrote, or start the run again"
        ) from None
    except Exception as err:  # noqa: BLE001 - torch.load fails in many ways on damaged bytes
        raise ConfigError(
            f"{path} is corrupt (truncated or not a training state: {type(err).__name__}); "
            "start the run again, or resume from an intact copy"
        ) from None
    return check_state(state, path)


def check_state(state: Any, path: str | os.PathLike) -> dict[str, Any]:
    """``state`` when it has the shape of a training state (an int epoch >= 0; the trainer's keys of their types)."""
    if not isinstance(state, dict):
        raise ConfigError(f"{path} is corrupt: a training state is a mapping, got {type(state).__name__}")
    for key, kind in STATE_KEYS.items():
        value = state.get(key)
        if key != "epoch" and value is None:  # written by the trainer; a bare state has the epoch only
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{path} is corrupt: its {key!r} is {type(value).__name__}, not a training state's")
    if state["epoch"] < 0:
        raise ConfigError(f"{path} is corrupt: its epoch is {state['epoch']} (< 0); start the run again")
    return state


#: Optimizer state entries that have the shape of their parameter (adam/adamw moments, sgd momentum).
_PARAM_SHAPED = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer")


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: Any, path: str | os.PathLike) -> None:
    """Load a checkpoint's optimizer state after checking that it fits: the groups, the parameter counts,
    and the shape of every moment (torch would load a moment of another shape and fail, or broadcast,
    at the first step)."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    try:
        groups, states = saved["param_groups"], saved["state"]
        ids = [i for group in groups for i in group["params"]]
    except (KeyError, TypeError):
        raise ConfigError(f"{path} is corrupt: its optimizer state has no param_groups/state") from None
    if len(ids) != len(params):
        raise ConfigError(
            f"{path} does not fit the model: its optimizer state has {len(ids)} parameters, not {len(params)}"
        )
    for index, param in zip(ids, params):
        for key, value in (states.get(index) or {}).items() if isinstance(states, dict) else ():
            if key in _PARAM_SHAPED and isinstance(value, torch.Tensor) and value.shape != param.shape:
                raise ConfigError(
                    f"{path} does not fit the model: optimizer state {key!r} of parameter {index} has shape "
                    f"{tuple(value.shape)}, the parameter {tuple(param.shape)}"
                )
    try:
        optimizer.load_state_dict(saved)
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise ConfigError(f"{path} does not fit the optimizer: {err}") from None
