"""Fusion functions: several tensors (channels of a head, heads of a layer) -> one."""

from ..base import Fusion
from .basic import Concatenation, MaxFusion, MeanFusion, ParameterizedConcatenation, SumFusion

__all__ = ["Fusion", "MeanFusion", "SumFusion", "MaxFusion", "Concatenation", "ParameterizedConcatenation"]
