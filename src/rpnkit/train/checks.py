"""Checks of the training options against the data and the machine, made when training starts."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..validation import did_you_mean
from . import metrics as M

__all__ = ["resolve_device", "default_loss", "check_task_metrics", "check_monitor", "monitored_metric", "check_widths"]


def resolve_device(device: Any, path: str = "train.device") -> torch.device:
    """``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``; unavailable ones are errors."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}", path) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA is not available on this machine; use 'cpu' or 'auto'", path)
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ConfigError("MPS is not available on this machine; use 'cpu' or 'auto'", path)
    return dev


def default_loss(task: str) -> str:
    """``cross_entropy`` for classification, ``mse`` for regression."""
    return "cross_entropy" if task == "classification" else "mse"


def check_task_metrics(names: list[str] | None, task: str) -> list[str]:
    """The metric names (default: the task's) as a new list; metrics of the other task are refused."""
    names = names if names is not None else M.default_metrics(task)
    wrong = [n for n in names if (n in M.REGRESSION) != (task == "regression")]
    if wrong:
        raise ConfigError(f"metrics {wrong} do not apply to a {task} task (use {M.default_metrics(task)})", "metrics")
    return list(names)


def check_monitor(name: Any, has_val: bool, path: str) -> str:
    """``train_loss``, or with a validation split ``val_loss`` or ``val_<metric>``."""
    if not isinstance(name, str):
        raise ConfigError(f"expected a name such as 'val_loss' or 'val_accuracy', got {name!r}", path)
    valid = ["train_loss"] + (["val_loss"] + [f"val_{m}" for m in M.METRICS] if has_val else [])
    if name in valid:
        return name
    if name.partition("_")[0] == "val" and not has_val:
        hint = "set data.val_fraction > 0, or monitor 'train_loss'"
        raise ConfigError(f"{name!r} needs a validation split: {hint}", path)
    hint = did_you_mean(name, valid)
    raise ConfigError(f"cannot monitor {name!r}{hint} (use train_loss, val_loss or val_<metric>)", path)


def monitored_metric(name: str) -> str | None:
    """The metric a monitor name watches (``val_accuracy`` -> ``accuracy``), None for a loss."""
    split, _, quantity = name.partition("_")
    return quantity if split == "val" and quantity != "loss" else None


def check_widths(model: nn.Module, data: Any, inputs: torch.Tensor, loss: str) -> None:
    """The model's input width must match the data's features, its output width the classes or targets."""
    m, n = getattr(model, "m", None), getattr(model, "n", None)
    if isinstance(m, int) and inputs.dim() >= 2 and inputs.shape[-1] != m:
        raise ConfigError(
            f"the model takes {m} input features but the data {data.name!r} have {inputs.shape[-1]}; "
            f"set the first width to {inputs.shape[-1]}",
            "model.dims[0]",
        )
    if not isinstance(n, int):
        return
    if data.task == "classification":
        k = data.num_classes
        if not (n == k or (loss == "bce_with_logits" and n == 1 and k == 2)):
            raise ConfigError(
                f"the model has {n} outputs but the data {data.name!r} have {k} classes; set the last width to {k}",
                "model.dims[-1]",
            )
    elif n != data.out_features:
        raise ConfigError(
            f"the model has {n} outputs but the data {data.name!r} have {data.out_features} "
            f"target column(s); set the last width to {data.out_features}",
            "model.dims[-1]",
        )
