"""Optimizers, schedulers and losses by name: kept importable here; they live in :mod:`rpnkit.config.optim`."""

from ..config import optim as _optim
from ..config.optim import *  # noqa: F403

__all__ = list(_optim.__all__)
