"""Compression functions kappa: R^m -> R^D with D usually below m.

* elementwise (D = m): identity, reciprocal, linear;
* metric reductions (D = 1): metric, max, min, sum, mean, prod, median;
* geometric patch pooling on a grid (D = C*P): cuboid, cylinder, sphere and their max/min/mean forms;
* sampling (seeded, deterministic at eval): naive_probabilistic and its seven distributions,
  combinatorial, combinatorial_probabilistic;
* fit-once (``fit(X)`` then a torch map): incremental_pca, random_projection, variance_threshold,
  feature_clustering, isomap, lle, mds, spectral_embedding, tsne;
* composite: nested (composition), extended (concatenation).
"""

from ..base import Compression
from .basic import IdentityCompression, LinearCompression, ReciprocalCompression
from .combinatorial import CombinatorialCompression, CombinatorialProbabilisticCompression
from .composite import ExtendedCompression, NestedCompression
from .fitted import (
    FeatureClusteringCompression,
    FittedCompression,
    IncrementalPCACompression,
    RandomProjectionCompression,
    VarianceThresholdCompression,
)
from .geometric import (
    CuboidCompression,
    CuboidMaxCompression,
    CuboidMeanCompression,
    CuboidMinCompression,
    CylinderCompression,
    CylinderMaxCompression,
    CylinderMeanCompression,
    CylinderMinCompression,
    GeometricCompression,
    SphereCompression,
    SphereMaxCompression,
    SphereMeanCompression,
    SphereMinCompression,
)
from .manifold import (
    IsomapCompression,
    LLECompression,
    ManifoldCompression,
    MDSCompression,
    SpectralEmbeddingCompression,
    TSNECompression,
)
from .metric import (
    MaxCompression,
    MeanCompression,
    MedianCompression,
    MetricCompression,
    MinCompression,
    ProdCompression,
    SumCompression,
)
from .probabilistic import (
    NaiveCauchyProbabilistic,
    NaiveChi2Probabilistic,
    NaiveExponentialProbabilistic,
    NaiveGammaProbabilistic,
    NaiveLaplaceProbabilistic,
    NaiveNormalProbabilistic,
    NaiveProbabilisticCompression,
    NaiveUniformProbabilistic,
)

__all__ = [
    "Compression",
    "IdentityCompression",
    "ReciprocalCompression",
    "LinearCompression",
    "MetricCompression",
    "MaxCompression",
    "MinCompression",
    "SumCompression",
    "MeanCompression",
    "ProdCompression",
    "MedianCompression",
    "GeometricCompression",
    "CuboidCompression",
    "CylinderCompression",
    "SphereCompression",
    "CuboidMaxCompression",
    "CuboidMinCompression",
    "CuboidMeanCompression",
    "CylinderMaxCompression",
    "CylinderMinCompression",
    "CylinderMeanCompression",
    "SphereMaxCompression",
    "SphereMinCompression",
    "SphereMeanCompression",
    "NaiveProbabilisticCompression",
    "NaiveUniformProbabilistic",
    "NaiveNormalProbabilistic",
    "NaiveCauchyProbabilistic",
    "NaiveChi2Probabilistic",
    "NaiveExponentialProbabilistic",
    "NaiveGammaProbabilistic",
    "NaiveLaplaceProbabilistic",
    "CombinatorialCompression",
    "CombinatorialProbabilisticCompression",
    "FittedCompression",
    "IncrementalPCACompression",
    "RandomProjectionCompression",
    "VarianceThresholdCompression",
    "FeatureClusteringCompression",
    "ManifoldCompression",
    "IsomapCompression",
    "LLECompression",
    "MDSCompression",
    "SpectralEmbeddingCompression",
    "TSNECompression",
    "NestedCompression",
    "ExtendedCompression",
]
