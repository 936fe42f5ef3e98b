"""Expansion functions kappa: R^m -> R^D."""

from ..base import Expansion
from .basic import IdentityExpansion, Linear, Reciprocal
from .combinatorial import Combinatorial, CombinatorialNormal
from .composite import Extended, Nested
from .geometric import CuboidPatch, CylinderPatch, SpherePatch
from .orthogonal import (
    Bessel,
    Chebyshev,
    Fibonacci,
    Gegenbauer,
    Hermite,
    Jacobi,
    Laguerre,
    Legendre,
    Lucas,
    ReverseBessel,
)
from .polynomial import Taylor
from .probabilistic import (
    CauchyExpansion,
    Chi2Expansion,
    ExponentialExpansion,
    GammaExpansion,
    HybridProbabilistic,
    LaplaceExpansion,
    NaiveCauchy,
    NaiveChi2,
    NaiveExponential,
    NaiveGamma,
    NaiveLaplace,
    NaiveNormal,
    NormalExpansion,
)
from .rbf import GaussianRBF, InverseQuadraticRBF
from .spline import BSpline
from .trigonometric import ArcHyperbolic, ArcTrigonometric, Fourier, Hyperbolic, Trigonometric
from .wavelet import (
    BetaWavelet,
    DiscreteWavelet,
    DoGWavelet,
    HaarWavelet,
    MeyerWavelet,
    RickerWavelet,
    ShannonWavelet,
)

__all__ = [
    "Expansion",
    # basic
    "IdentityExpansion",
    "Reciprocal",
    "Linear",
    # polynomial
    "Taylor",
    "Fourier",
    "Chebyshev",
    "Jacobi",
    "Legendre",
    "Hermite",
    "Laguerre",
    "Gegenbauer",
    "Bessel",
    "ReverseBessel",
    "Fibonacci",
    "Lucas",
    # trigonometric
    "Trigonometric",
    "Hyperbolic",
    "ArcTrigonometric",
    "ArcHyperbolic",
    # rbf and spline
    "GaussianRBF",
    "InverseQuadraticRBF",
    "BSpline",
    # wavelets
    "DiscreteWavelet",
    "HaarWavelet",
    "BetaWavelet",
    "ShannonWavelet",
    "RickerWavelet",
    "DoGWavelet",
    "MeyerWavelet",
    # probabilistic
    "NaiveNormal",
    "NaiveCauchy",
    "NaiveChi2",
    "NaiveGamma",
    "NaiveLaplace",
    "NaiveExponential",
    "NormalExpansion",
    "CauchyExpansion",
    "Chi2Expansion",
    "GammaExpansion",
    "LaplaceExpansion",
    "ExponentialExpansion",
    "HybridProbabilistic",
    # combinatorial and geometric
    "Combinatorial",
    "CombinatorialNormal",
    "CuboidPatch",
    "CylinderPatch",
    "SpherePatch",
    # composite
    "Nested",
    "Extended",
]
