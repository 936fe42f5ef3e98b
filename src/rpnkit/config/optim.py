"""Optimizers, learning-rate schedulers and losses by name, from fixed whitelists (never dotted paths).

A spec is a name (``"adamw"``) or a dict with ``name`` and the constructor's keyword arguments
(``{"name": "adamw", "lr": 2e-3, "weight_decay": 1e-4}``). Keys are checked against the torch
class's signature, values by building the object once on a dummy parameter, so mistakes surface as
:class:`~rpnkit.ConfigError` naming the config path (``train.optimizer.lr``) before training starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..validation import check_finite, check_real, unknown_key, unknown_name

__all__ = [
    "OPTIMIZERS",
    "SCHEDULERS",
    "LOSSES",
    "LOSS_TASKS",
    "spec_dict",
    "check_number",
    "check_optimizer",
    "check_scheduler",
    "check_loss",
    "build_optimizer",
    "LBFGS_OBJECTIVE_SCALE",
    "build_scheduler",
    "build_loss",
]

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "lbfgs": torch.optim.LBFGS,
}
SCHEDULERS: dict[str, type] = {
    "exponential": torch.optim.lr_scheduler.ExponentialLR,
    "step": torch.optim.lr_scheduler.StepLR,
    "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
    "plateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
}
LOSSES: dict[str, type[nn.Module]] = {
    "cross_entropy": nn.CrossEntropyLoss,
    "mse": nn.MSELoss,
    "l1": nn.L1Loss,
    "bce_with_logits": nn.BCEWithLogitsLoss,
    "huber": nn.HuberLoss,
}
#: Which task each loss serves.
LOSS_TASKS = {
    "cross_entropy": "classification",
    "bce_with_logits": "classification",
    "mse": "regression",
    "l1": "regression",
    "huber": "regression",
}
#: Loss options a config may set (weights and reductions are the trainer's business).
_LOSS_OPTIONS = {"cross_entropy": {"label_smoothing"}, "huber": {"delta"}}
#: Constructor arguments never taken from a config.
_HIDDEN = {"self", "params", "optimizer", "last_epoch", "verbose"}


def spec_dict(spec: Any, what: str, table: dict[str, Any], path: str, default: str | None = None) -> dict[str, Any]:
    """Normalise a name-or-dict spec to a dict with a valid ``name``."""
    if spec is None and default is not None:
        spec = default
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict):
        raise ConfigError(
            f"expected a {what} name or a mapping with 'name' (one of {sorted(table)}), got {spec!r}", path
        )
    if "name" not in spec:
        raise ConfigError(f"a {what} needs 'name': one of {sorted(table)}", f"{path}.name")
    if spec["name"] not in table:
        raise unknown_name(what, spec["name"], table, f"{path}.name", see=f"expected one of {sorted(table)}", n=2)
    return dict(spec)


def _check_keys(cls: type, spec: dict[str, Any], path: str, allowed: Iterable[str] | None = None) -> dict[str, Any]:
    params = inspect.signature(cls.__init__).parameters
    valid = sorted(allowed) if allowed is not None else sorted(k for k in params if k not in _HIDDEN)
    kwargs = {k: v for k, v in spec.items() if k != "name"}
    for key in kwargs:
        if key not in valid:
            raise unknown_key(key, valid, spec["name"], f"{path}.{key}")
        check_finite(kwargs[key], f"{path}.{key}")
    return kwargs


def check_number(value: Any, path: str, low: float | None = None, strict: bool = False) -> Any:
    """A finite number (``bool`` rejected), ``> low`` (``strict``) or ``>= low``; returned unchanged.

    The message reads ``expected a number > 0, got -1`` (:func:`rpnkit.validation.check_real` says
    ``expected > 0``, without the noun, so the bound is checked here).
    """
    check_real(value, path=path)
    if low is not None and (value <= low if strict else value < low):
        raise ConfigError(f"expected a number {'>' if strict else '>='} {low}, got {value!r}", path)
    return value


#: The factor on the objective that L-BFGS minimises, by default (see :func:`check_optimizer`).
LBFGS_OBJECTIVE_SCALE = 1e6


def check_optimizer(spec: Any, path: str = "train.optimizer") -> dict[str, Any]:
    """Validate an optimizer spec; returns it as a dict (``lr`` filled with 1e-3 when absent, 1 for lbfgs).

    L-BFGS gets ``line_search_fn: strong_wolfe`` unless the spec sets it (``null`` turns it off), and
    ``objective_scale`` (default :data:`LBFGS_OBJECTIVE_SCALE`): the optimizer minimises the loss times this
    factor. torch's L-BFGS works with absolute thresholds (it keeps a curvature pair only when y.s > 1e-10,
    stops when the loss changes by less than 1e-9 or the gradient falls below 1e-7), which stall a fit near
    an MSE of 1e-7; scaling the objective moves them out of the way. Reported losses are unscaled.
    """
    spec = spec_dict(spec, "optimizer", OPTIMIZERS, path, default="adam")
    cls = OPTIMIZERS[spec["name"]]
    allowed = None
    if spec["name"] == "lbfgs":  # without a line search a full step of lr 1 can overshoot to NaN
        spec.setdefault("line_search_fn", "strong_wolfe")
        spec.setdefault("objective_scale", LBFGS_OBJECTIVE_SCALE)
        check_number(spec["objective_scale"], f"{path}.objective_scale", 0, strict=True)
        allowed = [*(k for k in inspect.signature(cls.__init__).parameters if k not in _HIDDEN), "objective_scale"]
    kwargs = _check_keys(cls, spec, path, allowed)
    kwargs.pop("objective_scale", None)
    spec.setdefault("lr", 1.0 if spec["name"] == "lbfgs" else 1e-3)
    kwargs.setdefault("lr", spec["lr"])
    check_number(spec["lr"], f"{path}.lr", 0, strict=True)
    for key in ("weight_decay", "momentum", "dampening"):
        if key in kwargs:
            check_number(kwargs[key], f"{path}.{key}", 0)
    if "betas" in kwargs:
        betas = kwargs["betas"]
        if not isinstance(betas, (list, tuple)) or len(betas) != 2:
            raise ConfigError(f"expected two numbers [beta1, beta2], got {betas!r}", f"{path}.betas")
        kwargs["betas"] = tuple(betas)
    try:
        cls([nn.Parameter(torch.zeros(1))], **kwargs)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{spec['name']}: {err}", path) from None
    return spec


def build_optimizer(spec: dict[str, Any], parameters: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizer of a checked spec over ``parameters`` (``objective_scale`` is the trainer's business)."""
    kwargs = {k: v for k, v in spec.items() if k not in ("name", "objective_scale")}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    return OPTIMIZERS[spec["name"]](parameters, **kwargs)


def check_scheduler(spec: Any, epochs: int, mode: str = "min", path: str = "train.scheduler") -> dict[str, Any] | None:
    """Validate a scheduler spec (None for a constant learning rate)."""
    if spec is None or spec is False:
        return None
    spec = spec_dict(spec, "scheduler", SCHEDULERS, path)
    kwargs = _check_keys(SCHEDULERS[spec["name"]], spec, path)
    name = spec["name"]
    if name == "exponential" and "gamma" not in kwargs:
        raise ConfigError("exponential needs gamma (the factor per epoch, e.g. 0.9)", f"{path}.gamma")
    if name == "step" and "step_size" not in kwargs:
        raise ConfigError("step needs step_size (epochs between decays)", f"{path}.step_size")
    try:
        build_scheduler(spec, torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0), epochs, mode)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{name}: {err}", path) from None
    return spec


def build_scheduler(spec: dict[str, Any] | None, optimizer: torch.optim.Optimizer, epochs: int, mode: str = "min"):
    """The scheduler of a checked spec (stepped once per epoch; ``cosine`` defaults T_max to the epochs)."""
    if spec is None:
        return None
    kwargs = {k: v for k, v in spec.items() if k != "name"}
    if spec["name"] == "cosine":
        kwargs.setdefault("T_max", epochs)
    if spec["name"] == "plateau":
        kwargs.setdefault("mode", mode)
    return SCHEDULERS[spec["name"]](optimizer, **kwargs)


def check_loss(spec: Any, task: str | None = None, path: str = "train.loss") -> dict[str, Any]:
    """Validate a loss spec; with ``task`` given, the loss must serve it."""
    spec = spec_dict(spec, "loss", LOSSES, path)
    name = spec["name"]
    kwargs = _check_keys(LOSSES[name], spec, path, allowed=_LOSS_OPTIONS.get(name, set()))
    if task is not None and LOSS_TASKS[name] != task:
        suggestion = "cross_entropy" if task == "classification" else "mse"
        raise ConfigError(
            f"loss {name!r} is for {LOSS_TASKS[name]} but the data are a {task} task; use {suggestion!r}"
            + (" or set data.task: regression" if task == "classification" else ""),
            f"{path}.name",
        )
    try:
        LOSSES[name](**kwargs)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{name}: {err}", path) from None
    return spec


def build_loss(spec: dict[str, Any]) -> nn.Module:
    """The loss module (mean reduction) of a checked spec."""
    return LOSSES[spec["name"]](**{k: v for k, v in spec.items() if k != "name"})
