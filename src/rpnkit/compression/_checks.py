"""Eager hyperparameter checks shared by the compression catalogue (messages say expected vs given)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..base import positive_int
from ..errors import ConfigError

__all__ = ["positive_int", "nonnegative_int", "optional_positive_int", "choice", "flag", "real", "positive_real"]


def nonnegative_int(value: Any, name: str) -> int:
    """An int >= 0 (``bool`` rejected)."""
    return positive_int(value, name, minimum=0)


def optional_positive_int(value: Any, name: str) -> int | None:
    """None, or an int >= 1."""
    return None if value is None else positive_int(value, name)


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    """One of ``options`` (exact string match)."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise ConfigError(f"{name} must be one of {options}, got {value!r}")
    return value


def flag(value: Any, name: str) -> bool:
    """A bool (ints are not accepted, so a typo such as ``k: true`` is caught)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be a bool, got {value!r}")
    return value


def real(value: Any, name: str) -> float:
    """A finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def positive_real(value: Any, name: str, allow_zero: bool = False) -> float:
    """A finite real number > 0 (>= 0 when ``allow_zero``)."""
    number = real(value, name)
    if number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a finite number {bound}, got {value!r}")
    return number
