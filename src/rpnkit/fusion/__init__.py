"""Fusion functions: several tensors (channels of a head, heads of a layer) -> one."""

from ..base import Fusion
from . import basic, parameterized
from .basic import *  # noqa: F403
from .parameterized import *  # noqa: F403

# each family module lists its public names once, in its own __all__
__all__ = ["Fusion", *basic.__all__, *parameterized.__all__]
