"""Optimizers, schedulers and losses by name: kept importable here; they live in :mod:`rpnkit.config.optim`."""

from ..config.optim import (
    LOSS_TASKS,
    LOSSES,
    OPTIMIZERS,
    SCHEDULERS,
    build_loss,
    build_optimizer,
    build_scheduler,
    check_loss,
    check_optimizer,
    check_scheduler,
    spec_dict,
)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULERS",
    "LOSSES",
    "LOSS_TASKS",
    "spec_dict",
    "check_optimizer",
    "check_scheduler",
    "check_loss",
    "build_optimizer",
    "build_scheduler",
    "build_loss",
]
