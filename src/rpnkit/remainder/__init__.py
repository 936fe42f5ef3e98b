"""Remainder functions pi: R^m -> R^n, the residual path of the RPN equation."""

from ..base import Remainder
from . import basic
from .basic import *  # noqa: F403

# each family module lists its public names once, in its own __all__
__all__ = ["Remainder", *basic.__all__]
