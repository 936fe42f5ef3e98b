"""Compression functions kappa: R^m -> R^D with D usually below m."""

from ..base import Compression

__all__ = ["Compression"]
