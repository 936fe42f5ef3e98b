"""Eager validation of real-valued hyperparameters (errors say what is expected and what was given)."""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError

__all__ = ["real", "optional_real"]


def real(value: Any, name: str, *, gt: float | None = None, ge: float | None = None) -> float:
    """A finite real number (``bool`` rejected), optionally > gt or >= ge."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if gt is not None and not value > gt:
        raise ConfigError(f"{name} must be > {gt}, got {value!r}")
    if ge is not None and not value >= ge:
        raise ConfigError(f"{name} must be >= {ge}, got {value!r}")
    return float(value)


def optional_real(value: Any, name: str, *, gt: float | None = None) -> float | None:
    """None, or a finite real number > gt."""
    return None if value is None else real(value, name, gt=gt)
