"""Remainder functions pi: R^m -> R^n, the residual path of the RPN equation."""

from ..base import Remainder
from .basic import (
    ConstantRemainder,
    IdentityRemainder,
    LinearRemainder,
    NonlinearRemainder,
    OneRemainder,
    SkipRemainder,
    ZeroRemainder,
)

__all__ = [
    "Remainder",
    "ZeroRemainder",
    "ConstantRemainder",
    "OneRemainder",
    "IdentityRemainder",
    "LinearRemainder",
    "NonlinearRemainder",
    "SkipRemainder",
]
