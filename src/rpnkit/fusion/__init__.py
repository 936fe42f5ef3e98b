"""Fusion functions: several tensors (channels of a head, heads of a layer) -> one."""

from ..base import Fusion
from .basic import (
    Concatenation,
    ElementwiseFusion,
    L1NormFusion,
    L2NormFusion,
    MaxFusion,
    MeanFusion,
    MedianFusion,
    MetricFusion,
    MinFusion,
    ProdFusion,
    SumFusion,
)
from .parameterized import (
    DualLPHMParameterizedConcatenation,
    HMParameterizedConcatenation,
    LowRankParameterizedConcatenation,
    LPHMParameterizedConcatenation,
    ParameterizedConcatenation,
    ParameterizedWeightedFusion,
    RandomMatrixAdaptionParameterizedConcatenation,
    WeightedFusion,
)

__all__ = [
    "Fusion",
    "ElementwiseFusion",
    "MetricFusion",
    "MeanFusion",
    "SumFusion",
    "MaxFusion",
    "MinFusion",
    "ProdFusion",
    "MedianFusion",
    "L1NormFusion",
    "L2NormFusion",
    "Concatenation",
    "WeightedFusion",
    "ParameterizedWeightedFusion",
    "ParameterizedConcatenation",
    "LowRankParameterizedConcatenation",
    "HMParameterizedConcatenation",
    "LPHMParameterizedConcatenation",
    "DualLPHMParameterizedConcatenation",
    "RandomMatrixAdaptionParameterizedConcatenation",
]
