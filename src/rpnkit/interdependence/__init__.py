"""Data interdependence functions xi (attribute and instance types)."""

from ..base import Interdependence
from .basic import IdentityInterdependence, ParameterizedInterdependence

__all__ = ["Interdependence", "IdentityInterdependence", "ParameterizedInterdependence"]
