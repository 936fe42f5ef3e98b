"""Statistical-kernel interdependences: A from the dependence between the batch's columns (or rows).

The attribute kind computes an (m, m) matrix over the m columns of the batch x (b, m), treating the b
rows as observations; the instance kind computes a (b, b) matrix over the rows, treating the m
columns as observations (the statistic of x^T). Everything comes from one centred product per batch
(:mod:`rpnkit.functional.statistics`): no loop over pairs, on the input's device and dtype, and
differentiable. With leading dimensions x (..., b, m), each leading index is its own batch.

Corrected reference defects: Pearson correlation is finite (0) for constant columns; the RV
coefficient is ``rho^2`` for single columns (sign-blind) with a unit diagonal, not ``clamp(rho, 0, 1)``
with a zero diagonal; the Gaussian mutual information's diagonal is its cap, not 0.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..functional import statistics as fs
from ..registry import register
from ..validation import check_choice, check_real
from ._common import NamedKernelInterdependence, SquareInterdependence, batched

__all__ = [
    "StatisticalInterdependence",
    "StatisticalKernelInterdependence",
    "KLDivergenceInterdependence",
    "PearsonCorrelationInterdependence",
    "RVCoefficientInterdependence",
    "MutualInformationInterdependence",
]


class StatisticalInterdependence(SquareInterdependence):
    """Base of the statistical kernels: subclasses implement ``statistic(X)`` over the columns of X (n, d)."""

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out"}

    def statistic(self, X: Tensor) -> Tensor:
        raise NotImplementedError

    def matrix(self, x: Tensor) -> Tensor:
        who = f"interdependence {self.registry_name}"
        if self.kind == "attribute":
            return batched(self.statistic, x, who)
        return batched(lambda X: self.statistic(X.T), x, who)


@register("interdependence", "kl_divergence", aliases=["kl_divergence_interdependence"])
class KLDivergenceInterdependence(StatisticalInterdependence):
    """A_ij = KL(p_i || p_j) between the columns (attribute) or rows (instance) taken as distributions.

    See :func:`rpnkit.functional.statistics.kl_divergence`: one (m, b) x (b, m) product, no (b, m, m)
    tensor. A is not symmetric and its diagonal is 0.

    Args:
        normalization: ``softmax`` (the reference's: each column softmaxed over the rows) or ``sum``
            (non-negative data divided by its sum, smoothed by eps).
        eps: the smoothing of ``sum``.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def __init__(
        self, m: int, kind: str = "attribute", normalization: str = "softmax", eps: float = 1e-12, b: int | None = None
    ) -> None:
        self.normalization = check_choice(normalization, "normalization", list(fs.KL_NORMALIZATIONS))
        self.eps = check_real(eps, "eps", gt=0.0)
        super().__init__(m, kind, b)

    def statistic(self, X: Tensor) -> Tensor:
        return fs.kl_divergence(X, normalization=self.normalization, eps=self.eps)


@register("interdependence", "pearson_correlation", aliases=["pearson_correlation_interdependence"])
class PearsonCorrelationInterdependence(StatisticalInterdependence):
    """A = the Pearson correlation matrix of the columns (attribute) or rows (instance).

    Finite for constant columns (0 off the diagonal, 1 on it); the reference (like
    ``numpy.corrcoef``) gave NaN there.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def statistic(self, X: Tensor) -> Tensor:
        return fs.pearson_correlation(X)


@register("interdependence", "rv_coefficient", aliases=["rv_coefficient_interdependence"])
class RVCoefficientInterdependence(StatisticalInterdependence):
    """A_ij = the RV coefficient of columns (attribute) or rows (instance) i and j.

    For single columns RV = rho^2 (sign-blind) and RV_ii = 1. The reference returned
    ``clamp(rho, 0, 1)`` with a zero diagonal, from a Python loop over all pairs.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def statistic(self, X: Tensor) -> Tensor:
        return fs.rv_coefficient(X)


@register("interdependence", "mutual_information", aliases=["mutual_information_interdependence"])
class MutualInformationInterdependence(StatisticalInterdependence):
    """A_ij = Gaussian mutual information ``-1/2 log(1 - rho_ij^2)`` of columns (attribute) or rows (instance).

    ``1 - rho^2`` is floored at eps, so every entry is at most ``-1/2 log(eps)``, and the diagonal sits
    exactly at that cap (the reference set it to 0, below every other entry, and looped over pairs).

    Args:
        eps: the floor of ``1 - rho^2``, in (0, 1).

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def __init__(self, m: int, kind: str = "attribute", eps: float = 1e-6, b: int | None = None) -> None:
        self.eps = check_real(eps, "eps", gt=0.0, lt=1.0)
        super().__init__(m, kind, b)

    def statistic(self, X: Tensor) -> Tensor:
        return fs.gaussian_mutual_information(X, eps=self.eps)


#: The statistical interdependences :class:`StatisticalKernelInterdependence` can name.
STATISTICAL_KERNELS = ("kl_divergence", "pearson_correlation", "rv_coefficient", "mutual_information")


@register("interdependence", "statistical_kernel", aliases=["statistical_kernel_based_interdependence"])
class StatisticalKernelInterdependence(NamedKernelInterdependence):
    """A statistical kernel chosen by name: ``kernel`` is one of :data:`STATISTICAL_KERNELS` (see
    :class:`~rpnkit.interdependence._common.NamedKernelInterdependence`).

    Args:
        kernel: ``"pearson_correlation"``, ``{"name": "kl_divergence", "normalization": "sum"}``, ...

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    CHOICES = STATISTICAL_KERNELS

    def __init__(
        self, m: int, kind: str = "attribute", kernel: Any = "pearson_correlation", b: int | None = None
    ) -> None:
        super().__init__(m, kind, kernel, b)
