"""Remainder functions pi: R^m -> R^n, the residual path of the RPN equation."""

from ..base import Remainder
from .basic import ConstantRemainder, IdentityRemainder, LinearRemainder, ZeroRemainder

__all__ = ["Remainder", "ZeroRemainder", "ConstantRemainder", "IdentityRemainder", "LinearRemainder"]
