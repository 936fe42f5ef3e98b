"""Expansion functions kappa: R^m -> R^D."""

from ..base import Expansion
from .basic import IdentityExpansion
from .polynomial import Chebyshev, Taylor
from .rbf import GaussianRBF
from .spline import BSpline

__all__ = ["Expansion", "IdentityExpansion", "Taylor", "Chebyshev", "GaussianRBF", "BSpline"]
