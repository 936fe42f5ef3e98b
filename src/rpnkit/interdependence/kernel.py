"""Numerical-kernel interdependences: A is a kernel (similarity) matrix of the batch's columns or rows.

The attribute kind compares the m columns of the batch x (b, m) (each column a point in R^b), giving
an (m, m) matrix; the instance kind compares the b rows (points in R^m), giving (b, b). With leading
dimensions each leading index is its own batch. The maths is :mod:`rpnkit.functional.kernels`
(Gram products or ``torch.cdist``, no pairwise loops, no (b, m, m) difference tensors).

The linear and cosine kernels never build A: ``x @ (X^T X)`` is computed as ``(x @ X^T) @ X`` or
``x @ (X^T @ X)``, whichever is cheaper.

Corrected reference defects: the distance interdependences (``*_distance``) no longer build (b, m, m)
difference tensors; Canberra divides by ``|x| + |y|`` with 0/0 = 0 instead of adding 1e-10; the
cosine similarity of a zero vector is 0 (the reference wrote 1 into the norms in place); the
anisotropic RBF's per-feature scales are a (learnable or fixed) buffer on the module's device instead
of a CPU ``torch.ones(b)``; the reference's ``exponential_kernel`` squared the distance (it was the
gaussian RBF under another name): here it is ``exp(-gamma d(x, y))`` of a chosen metric.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..errors import ConfigError, ShapeError
from ..functional import kernels as fk
from ..registry import build, register
from ..validation import check_bool, check_choice, check_int, check_real, child_path
from ._common import NamedKernelInterdependence, SquareInterdependence, batched, check_b, check_kind, child_spec

__all__ = [
    "KernelInterdependence",
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
]


class KernelInterdependence(SquareInterdependence):
    """Base of the kernel interdependences: subclasses implement ``kernel(P)`` over the rows of P (n, d)."""

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out"}

    def kernel(self, P: Tensor) -> Tensor:
        raise NotImplementedError

    def points(self, x: Tensor) -> Tensor:
        """The points compared: the columns of x (attribute) or its rows (instance), as rows."""
        return x.transpose(-1, -2) if self.kind == "attribute" else x

    def matrix(self, x: Tensor) -> Tensor:
        return batched(self.kernel, self.points(x), f"interdependence {self.registry_name}")


def _gram_mix(kind: str, P: Tensor, data: Tensor) -> Tensor:
    """The mix with A = P P^T (P the points as rows) without building A when that is cheaper.

    attribute: ``data @ A`` with P = X^T (m, b): ``(data @ X^T) @ X`` or ``data @ (X^T @ X)``;
    instance: ``A^T @ data`` with P = X (b, m): ``X @ (X^T @ data)`` or ``(X @ X^T) @ data``.
    """
    n, d = P.shape[-2], P.shape[-1]
    if kind == "attribute":
        rows = data.shape[-2]
        if rows * d * 2 * n <= n * n * d + rows * n * n:  # (data @ P) @ P^T vs data @ (P @ P^T)
            return (data @ P) @ P.transpose(-1, -2)
        return data @ (P @ P.transpose(-1, -2))
    cols = data.shape[-1]
    if n * d * cols * 2 <= n * n * d + n * n * cols:  # P @ (P^T @ data) vs (P @ P^T) @ data
        return P @ (P.transpose(-1, -2) @ data)
    return (P @ P.transpose(-1, -2)) @ data


@register("interdependence", "linear_kernel", aliases=["linear_kernel_interdependence"])
class LinearKernelInterdependence(KernelInterdependence):
    """Linear kernel: A = X^T X (attribute, over columns) or X X^T (instance, over rows), never built.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def kernel(self, P: Tensor) -> Tensor:
        return fk.linear_kernel(P)

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        return _gram_mix(self.kind, self.points(x), data)


@register("interdependence", "cosine_similarity", aliases=["cosine_similarity_interdependence"])
class CosineSimilarityInterdependence(KernelInterdependence):
    """Cosine similarity: A_ij = <p_i, p_j> / (|p_i| |p_j|) of columns (attribute) or rows (instance).

    A zero vector has similarity 0 with everything (the reference set its norm to 1 in place). A is a
    Gram product of unit vectors and is never built by the mix.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def kernel(self, P: Tensor) -> Tensor:
        return fk.cosine_similarity(P)

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        P = self.points(x)
        unit = P * P.square().sum(dim=-1, keepdim=True).clamp_min(torch.finfo(P.dtype).tiny).rsqrt()
        return _gram_mix(self.kind, unit, data)


@register("interdependence", "polynomial_kernel", aliases=["polynomial_kernel_interdependence"])
class PolynomialKernelInterdependence(KernelInterdependence):
    """Polynomial kernel A_ij = (gamma <p_i, p_j> + coef0) ** degree.

    The defaults are the reference's ``(X^T X + c)^d`` with c = 0, d = 1 (gamma = 1).

    Args:
        degree: d >= 1.
        gamma: scale of the inner product.
        coef0: c.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    param_aliases = {
        "interdependence_type": "kind",
        "m_prime": "m_out",
        "b_prime": "b_out",
        "d": "degree",
        "c": "coef0",
    }

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        degree: int = 1,
        gamma: float = 1.0,
        coef0: float = 0.0,
        b: int | None = None,
    ) -> None:
        self.degree = check_int(degree, "degree")
        self.gamma = check_real(gamma, "gamma")
        self.coef0 = check_real(coef0, "coef0")
        super().__init__(m, kind, b)

    def kernel(self, P: Tensor) -> Tensor:
        return fk.polynomial_kernel(P, degree=self.degree, gamma=self.gamma, coef0=self.coef0)


@register("interdependence", "hyperbolic_tangent_kernel", aliases=["hyperbolic_tangent_kernel_interdependence"])
class HyperbolicTangentKernelInterdependence(KernelInterdependence):
    """Hyperbolic tangent kernel A_ij = tanh(gamma <p_i, p_j> + coef0) (the reference's alpha = gamma, c = coef0).

    Args:
        gamma: scale of the inner product (reference default 1).
        coef0: offset (reference default 0).

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    param_aliases = {
        "interdependence_type": "kind",
        "m_prime": "m_out",
        "b_prime": "b_out",
        "alpha": "gamma",
        "c": "coef0",
    }

    def __init__(
        self, m: int, kind: str = "attribute", gamma: float = 1.0, coef0: float = 0.0, b: int | None = None
    ) -> None:
        self.gamma = check_real(gamma, "gamma")
        self.coef0 = check_real(coef0, "coef0")
        super().__init__(m, kind, b)

    def kernel(self, P: Tensor) -> Tensor:
        return fk.hyperbolic_tangent_kernel(P, gamma=self.gamma, coef0=self.coef0)


@register("interdependence", "exponential_kernel", aliases=["exponential_kernel_interdependence"])
class ExponentialKernelInterdependence(KernelInterdependence):
    """Exponential kernel of a distance: A_ij = exp(-gamma d(p_i, p_j)), d *not* squared.

    The reference's ``exponential_kernel`` was ``exp(-gamma |p_i - p_j|^2)``, the gaussian RBF under
    another name: use ``gaussian_rbf_kernel`` with ``gamma`` for it.

    Args:
        gamma: inverse length scale (> 0).
        metric: ``euclidean``, ``manhattan``, ``chebyshev``, ``minkowski`` or ``canberra``.
        p: the Minkowski order (>= 1; ``metric: minkowski`` only).

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        gamma: float = 1.0,
        metric: str = "euclidean",
        p: float = 2.0,
        b: int | None = None,
    ) -> None:
        self._setup_distance(m, kind, gamma, metric, p, b)

    def _setup_distance(self, m: int, kind: str, gamma: Any, metric: Any, p: Any, b: Any) -> None:
        self.gamma = check_real(gamma, "gamma", gt=0.0)
        self.metric = check_choice(metric, "metric", list(fk.DISTANCE_METRICS))
        if not (isinstance(p, (int, float)) and not isinstance(p, bool) and p >= 1):
            raise ConfigError(f"p must be a number >= 1 (or .inf), got {p!r}", child_path("p"))
        self.p = float(p)
        super().__init__(m, kind, b)

    def kernel(self, P: Tensor) -> Tensor:
        return fk.exponential_kernel(P, gamma=self.gamma, metric=self.metric, p=self.p)


@register("interdependence", "minkowski_distance", aliases=["minkowski_distance_interdependence"])
class MinkowskiDistanceInterdependence(ExponentialKernelInterdependence):
    """A_ij = exp(-gamma |p_i - p_j|_p), the Minkowski distance of order p (reference: gamma = 1).

    Args:
        p: the order, >= 1 (``.inf`` gives the Chebyshev distance).
        gamma: inverse length scale.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def __init__(
        self, m: int, kind: str = "attribute", p: float = 2.0, gamma: float = 1.0, b: int | None = None
    ) -> None:
        self._setup_distance(m, kind, gamma, "minkowski", p, b)


class _FixedMetricDistance(ExponentialKernelInterdependence):
    """:class:`ExponentialKernelInterdependence` of one metric: subclasses name ``METRIC`` (and its ``P``).

    Args:
        gamma: inverse length scale (> 0; the reference's is 1).

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    METRIC: ClassVar[str]
    P: ClassVar[float] = 2.0

    def __init__(self, m: int, kind: str = "attribute", gamma: float = 1.0, b: int | None = None) -> None:
        self._setup_distance(m, kind, gamma, self.METRIC, self.P, b)


@register("interdependence", "manhattan_distance", aliases=["manhattan_distance_interdependence"])
class ManhattanDistanceInterdependence(_FixedMetricDistance):
    """A_ij = exp(-gamma |p_i - p_j|_1), the Manhattan distance (reference: gamma = 1)."""

    METRIC, P = "manhattan", 1.0


@register("interdependence", "euclidean_distance", aliases=["euclidean_distance_interdependence"])
class EuclideanDistanceInterdependence(_FixedMetricDistance):
    """A_ij = exp(-gamma |p_i - p_j|_2), the Euclidean distance, not squared (reference: gamma = 1)."""

    METRIC = "euclidean"


@register("interdependence", "chebyshev_distance", aliases=["chebyshev_distance_interdependence"])
class ChebyshevDistanceInterdependence(_FixedMetricDistance):
    """A_ij = exp(-gamma max_k |p_ik - p_jk|), the Chebyshev distance (reference: gamma = 1)."""

    METRIC = "chebyshev"


@register("interdependence", "canberra_distance", aliases=["canberra_distance_interdependence"])
class CanberraDistanceInterdependence(_FixedMetricDistance):
    """A_ij = exp(-gamma sum_k |p_ik - p_jk| / (|p_ik| + |p_jk|)), the Canberra distance (0/0 terms count 0).

    The reference added 1e-10 to every denominator, which biases terms with tiny coordinates.
    """

    METRIC = "canberra"


def _bandwidth(sigma: Any, gamma: Any) -> tuple[float | None, float | None]:
    if sigma is not None and gamma is not None:
        raise ConfigError(f"give sigma or gamma, not both (got sigma={sigma!r}, gamma={gamma!r})", child_path("gamma"))
    return check_real(sigma, "sigma", gt=0.0, allow_none=True), check_real(gamma, "gamma", gt=0.0, allow_none=True)


class _BandwidthKernel(KernelInterdependence):
    """A kernel of one bandwidth, given as sigma or as gamma: subclasses name ``FUNCTION`` (of :mod:`kernels
    <rpnkit.functional.kernels>`, called as ``FUNCTION(P, sigma=, gamma=)``).

    Args:
        sigma: the bandwidth (default 1, the reference's).
        gamma: scikit-learn's form instead of sigma (give one of the two).

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    FUNCTION: ClassVar[Callable[..., Tensor]]

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        sigma: float | None = None,
        gamma: float | None = None,
        b: int | None = None,
    ) -> None:
        self.sigma, self.gamma = _bandwidth(sigma, gamma)
        super().__init__(m, kind, b)

    def kernel(self, P: Tensor) -> Tensor:
        return self.FUNCTION(P, sigma=self.sigma, gamma=self.gamma)


@register("interdependence", "gaussian_rbf_kernel", aliases=["gaussian_rbf_kernel_interdependence"])
class GaussianRBFKernelInterdependence(_BandwidthKernel):
    """Gaussian RBF kernel A_ij = exp(-|p_i - p_j|^2 / (2 sigma^2)) (or exp(-gamma |p_i - p_j|^2))."""

    FUNCTION = staticmethod(fk.gaussian_rbf_kernel)


@register("interdependence", "laplacian_kernel", aliases=["laplacian_kernel_interdependence"])
class LaplacianKernelInterdependence(_BandwidthKernel):
    """Laplacian kernel A_ij = exp(-|p_i - p_j|_1 / sigma) (or exp(-gamma |p_i - p_j|_1))."""

    FUNCTION = staticmethod(fk.laplacian_kernel)


@register("interdependence", "anisotropic_rbf_kernel", aliases=["anisotropic_rbf_kernel_interdependence"])
class AnisotropicRBFKernelInterdependence(KernelInterdependence):
    """Gaussian kernel with one length scale per coordinate: A_ij = exp(-1/2 sum_k ((p_ik - p_jk) / l_k)^2).

    The compared points are the columns of x (attribute kind), whose coordinates are the b *rows* of
    the batch, or its rows (instance kind), whose coordinates are its columns. So per-coordinate
    scales of the attribute kind are indexed by the batch rows, and tie the module to a fixed batch
    size b (the reference's ``a_vector`` of length b did the same): a batch of another size is a
    ``ShapeError``. A single (scalar, fixed) scale works with any size.

    Args:
        length_scale: l > 0: one number, or a list of one per coordinate.
        learnable: learn the per-coordinate scales (stored as log l, initialised from length_scale).
        features: the number of coordinates when a scalar length_scale is learnable: default b for
            the attribute kind (b is then required) and m for the instance kind (the width of the x
            that A is computed from; inside a Head the instance kind gets m = D, so give the head's
            input width here when the expansion changes the width).
        b: the batch size (required for per-coordinate scales of the attribute kind).

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        length_scale: float | list[float] = 1.0,
        learnable: bool = False,
        features: int | None = None,
        b: int | None = None,
    ) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        learnable = check_bool(learnable, "learnable")
        features = check_int(features, "features", allow_none=True)
        if isinstance(length_scale, (list, tuple)):
            scales = [check_real(v, f"length_scale[{i}]", gt=0.0) for i, v in enumerate(length_scale)]
            if not scales:
                raise ConfigError("length_scale must not be an empty list", child_path("length_scale"))
            if features is not None and features != len(scales):
                raise ConfigError(
                    f"features={features} but length_scale has {len(scales)} entries", child_path("features")
                )
            count: int | None = len(scales)
        else:
            scales = [check_real(length_scale, "length_scale", gt=0.0)]
            count = None
            if learnable:
                count = features if features is not None else (b if kind == "attribute" else m)
                if count is None:
                    raise ConfigError(
                        "learnable per-coordinate scales of the attribute kind are indexed by the batch rows: "
                        "give b (the fixed batch size) or features",
                        child_path("b"),
                    )
                scales = scales * count
        if kind == "attribute" and count is not None and b is not None and b != count:
            raise ConfigError(f"the attribute kind needs {count} per-row scales but b={b}", child_path("b"))
        self.features = count
        super().__init__(m, kind, b if kind == "instance" or count is None else count)
        if learnable:
            self.log_length_scale = nn.Parameter(torch.tensor(scales, dtype=torch.get_default_dtype()).log())
        elif count is not None:  # fixed per-coordinate scales: float64, so .to(float64) loses nothing
            self.register_buffer("log_length_scale", torch.tensor(scales, dtype=torch.float64).log())
        else:
            self.register_buffer("log_length_scale", None)
        self._scale = scales[0]

    def kernel(self, P: Tensor) -> Tensor:
        if self.features is not None and P.shape[-1] != self.features:
            what = "rows in the batch (b)" if self.kind == "attribute" else "columns in x"
            raise ShapeError(
                f"interdependence {self.registry_name}: {self.features} per-coordinate length scales but "
                f"{P.shape[-1]} {what}, got x of shape {tuple(P.shape)}"
            )
        if self.log_length_scale is None:
            return fk.anisotropic_rbf_kernel(P, length_scale=self._scale)
        weights = (self.log_length_scale.to(P.dtype) * -2.0).exp() * 0.5
        return fk.anisotropic_rbf_kernel(P, weights=weights)

    def matrix(self, x: Tensor) -> Tensor:
        P = self.points(x)
        if self.features is not None and P.shape[-1] != self.features:
            self.kernel(P)  # raises the ShapeError
        return batched(self.kernel, P, f"interdependence {self.registry_name}")


#: The kernel interdependences :class:`NumericalKernelInterdependence` can name.
NUMERICAL_KERNELS = (
    "linear_kernel",
    "polynomial_kernel",
    "hyperbolic_tangent_kernel",
    "cosine_similarity",
    "exponential_kernel",
    "minkowski_distance",
    "manhattan_distance",
    "euclidean_distance",
    "chebyshev_distance",
    "canberra_distance",
    "gaussian_rbf_kernel",
    "laplacian_kernel",
    "anisotropic_rbf_kernel",
)


@register("interdependence", "numerical_kernel", aliases=["numerical_kernel_based_interdependence"])
class NumericalKernelInterdependence(NamedKernelInterdependence):
    """A numerical kernel chosen by name: ``kernel`` names one of :data:`NUMERICAL_KERNELS` (see
    :class:`~rpnkit.interdependence._common.NamedKernelInterdependence`).

    Args:
        kernel: ``"gaussian_rbf_kernel"``, ``{"name": "polynomial_kernel", "degree": 2}``, ...

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    CHOICES = NUMERICAL_KERNELS

    def __init__(
        self, m: int, kind: str = "attribute", kernel: Any = "gaussian_rbf_kernel", b: int | None = None
    ) -> None:
        super().__init__(m, kind, kernel, b)


@register("interdependence", "hybrid_kernel", aliases=["custom_hybrid_kernel_interdependence"])
class HybridKernelInterdependence(SquareInterdependence):
    """Several kernel interdependences combined into one matrix ("custom hybrid" kernel).

    ``sum``: A = sum_i A_i; ``product``: A = prod_i A_i (elementwise); ``weighted``:
    A = sum_i w_i A_i, w given or 1/k each (the reference's default), optionally learnable.

    Args:
        kernels: specs of the k >= 1 kernels (any interdependences with square A: numerical or
            statistical kernels), built with this module's kind and b.
        mode: ``sum``, ``product`` or ``weighted``.
        weights: the k weights of ``weighted`` (default 1/k each).
        learnable: learn the weights (``weighted`` only).

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out"}

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        kernels: Any = ("gaussian_rbf_kernel", "linear_kernel"),
        mode: str = "weighted",
        weights: list[float] | None = None,
        learnable: bool = False,
        b: int | None = None,
    ) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        self.mode = check_choice(mode, "mode", list(fk.HYBRID_MODES))
        learnable = check_bool(learnable, "learnable")
        if not isinstance(kernels, (list, tuple)) or not kernels:
            raise ConfigError(
                f"kernels must be a non-empty list of kernel specs, got {kernels!r}", child_path("kernels")
            )
        if self.mode != "weighted" and (weights is not None or learnable):
            raise ConfigError(f"weights/learnable apply to mode 'weighted' only, not {self.mode!r}", child_path("mode"))
        k = len(kernels)
        if weights is None:
            values = [1.0 / k] * k
        else:
            if not isinstance(weights, (list, tuple)) or len(weights) != k:
                raise ConfigError(
                    f"weights must be a list of {k} numbers (one per kernel), got {weights!r}", child_path("weights")
                )
            values = [check_real(w, f"weights[{i}]") for i, w in enumerate(weights)]
        super().__init__(m, kind, b)
        self.kernels = nn.ModuleList(
            build("interdependence", child_spec(spec, f"kernels[{i}]", kind, b), path=child_path(f"kernels[{i}]"), m=m)
            for i, spec in enumerate(kernels)
        )
        for i, child in enumerate(self.kernels):
            if child.m_out != m:
                raise ConfigError(
                    f"kernel {i} changes the width to {child.m_out}; kernels must keep m={m}",
                    child_path(f"kernels[{i}]"),
                )
        w = torch.tensor(values, dtype=torch.get_default_dtype())
        if learnable:
            self.weights = nn.Parameter(w)
        else:
            self.register_buffer("weights", w)

    def matrix(self, x: Tensor) -> Tensor:
        mats = torch.broadcast_tensors(*[child.matrix(x) for child in self.kernels])
        if self.mode != "weighted":
            return fk.hybrid_kernel(mats, mode=self.mode)
        return torch.tensordot(self.weights.to(x.dtype), torch.stack(mats), dims=1)
