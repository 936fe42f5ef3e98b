"""Data interdependence functions xi (attribute and instance types).

* :mod:`.basic`: identity (eye) and the learned ``parameterized`` family (lowrank, hm, lphm, dual_lphm,
  random-matrix adaption);
* :mod:`.fixed`: constant (a given matrix), constant_c, zero, one;
* :mod:`.statistical`: KL divergence, Pearson correlation, RV coefficient, Gaussian mutual information;
* :mod:`.kernel`: linear, polynomial, tanh, cosine, distance (minkowski, manhattan, euclidean, chebyshev,
  canberra), exponential, gaussian RBF, laplacian, anisotropic RBF and hybrid kernels;
* :mod:`.topological`: chains (multi-hop, inverse, exponential), graphs (multi-hop, PageRank);
* :mod:`.bilinear`: parameterised bilinear (attention-like) scores;
* :mod:`.hybrid`: several interdependences fused into one matrix.
"""

from ..base import Interdependence
from .basic import (
    DualLPHMParameterizedInterdependence,
    HMParameterizedInterdependence,
    IdentityInterdependence,
    LowrankParameterizedInterdependence,
    LPHMParameterizedInterdependence,
    ParameterizedInterdependence,
    RandomMatrixAdaptionParameterizedInterdependence,
)
from .bilinear import (
    DualLPHMParameterizedBilinearInterdependence,
    HMParameterizedBilinearInterdependence,
    LowrankParameterizedBilinearInterdependence,
    LPHMParameterizedBilinearInterdependence,
    ParameterizedBilinearInterdependence,
    RandomMatrixAdaptionParameterizedBilinearInterdependence,
)
from .fixed import ConstantCInterdependence, ConstantInterdependence, OneInterdependence, ZeroInterdependence
from .hybrid import HybridInterdependence
from .kernel import (
    AnisotropicRBFKernelInterdependence,
    CanberraDistanceInterdependence,
    ChebyshevDistanceInterdependence,
    CosineSimilarityInterdependence,
    EuclideanDistanceInterdependence,
    ExponentialKernelInterdependence,
    GaussianRBFKernelInterdependence,
    HybridKernelInterdependence,
    HyperbolicTangentKernelInterdependence,
    LaplacianKernelInterdependence,
    LinearKernelInterdependence,
    ManhattanDistanceInterdependence,
    MinkowskiDistanceInterdependence,
    NumericalKernelInterdependence,
    PolynomialKernelInterdependence,
)
from .statistical import (
    KLDivergenceInterdependence,
    MutualInformationInterdependence,
    PearsonCorrelationInterdependence,
    RVCoefficientInterdependence,
    StatisticalKernelInterdependence,
)
from .topological import (
    ChainInterdependence,
    ExponentialApproxMultihopChainInterdependence,
    GraphInterdependence,
    InverseApproxMultihopChainInterdependence,
    MultihopChainInterdependence,
    MultihopGraphInterdependence,
    PageRankInterdependence,
    attach_graph,
)

__all__ = [
    "Interdependence",
    "IdentityInterdependence",
    "ParameterizedInterdependence",
    "LowrankParameterizedInterdependence",
    "HMParameterizedInterdependence",
    "LPHMParameterizedInterdependence",
    "DualLPHMParameterizedInterdependence",
    "RandomMatrixAdaptionParameterizedInterdependence",
    "ConstantInterdependence",
    "ConstantCInterdependence",
    "ZeroInterdependence",
    "OneInterdependence",
    "StatisticalKernelInterdependence",
    "KLDivergenceInterdependence",
    "PearsonCorrelationInterdependence",
    "RVCoefficientInterdependence",
    "MutualInformationInterdependence",
    "NumericalKernelInterdependence",
    "LinearKernelInterdependence",
    "PolynomialKernelInterdependence",
    "HyperbolicTangentKernelInterdependence",
    "CosineSimilarityInterdependence",
    "ExponentialKernelInterdependence",
    "MinkowskiDistanceInterdependence",
    "ManhattanDistanceInterdependence",
    "EuclideanDistanceInterdependence",
    "ChebyshevDistanceInterdependence",
    "CanberraDistanceInterdependence",
    "GaussianRBFKernelInterdependence",
    "LaplacianKernelInterdependence",
    "AnisotropicRBFKernelInterdependence",
    "HybridKernelInterdependence",
    "ChainInterdependence",
    "MultihopChainInterdependence",
    "InverseApproxMultihopChainInterdependence",
    "ExponentialApproxMultihopChainInterdependence",
    "GraphInterdependence",
    "MultihopGraphInterdependence",
    "PageRankInterdependence",
    "attach_graph",
    "ParameterizedBilinearInterdependence",
    "LowrankParameterizedBilinearInterdependence",
    "HMParameterizedBilinearInterdependence",
    "LPHMParameterizedBilinearInterdependence",
    "DualLPHMParameterizedBilinearInterdependence",
    "RandomMatrixAdaptionParameterizedBilinearInterdependence",
    "HybridInterdependence",
]
