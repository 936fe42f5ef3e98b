"""Numerical kernels and distances between the rows of two data matrices.

Every function follows scikit-learn's convention: rows are samples, so ``kernel(X, Y)`` with
``X`` (n, d) and ``Y`` (n', d) returns the (n, n') matrix ``K[i, j] = k(X[i], Y[j])`` and
``kernel(X)`` compares the rows of ``X`` with themselves. RPN 2's interdependences use them two ways:

* attribute interdependence of a batch ``x`` (b, m): ``A = kernel(x.T)``, an (m, m) matrix over columns;
* instance interdependence: ``A = kernel(x)``, a (b, b) matrix over rows.

Everything is built from Gram matrices (``X @ Y.T``) or ``torch.cdist``; no Python loop runs over
pairs, no (n, n', d) difference tensor is built except for the Canberra distance (which has no
Gram form and is computed in row chunks of bounded memory). Results keep the input's device and
dtype and are differentiable wherever the formula is.

Example:
    >>> import torch
    >>> X = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    >>> euclidean_distances(X)
    tensor([[0., 5.],
            [5., 0.]])
    >>> gaussian_rbf_kernel(X, sigma=5.0)
    tensor([[1.0000, 0.6065],
            [0.6065, 1.0000]])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..errors import ShapeError

__all__ = [
    "DISTANCE_METRICS",
    "HYBRID_MODES",
    "linear_kernel",
    "polynomial_kernel",
    "hyperbolic_tangent_kernel",
    "sigmoid_kernel",
    "cosine_similarity",
    "squared_euclidean_distances",
    "euclidean_distances",
    "manhattan_distances",
    "chebyshev_distances",
    "minkowski_distances",
    "canberra_distances",
    "pairwise_distances",
    "exponential_kernel",
    "gaussian_rbf_kernel",
    "laplacian_kernel",
    "anisotropic_rbf_kernel",
    "hybrid_kernel",
]

#: Metrics accepted by :func:`pairwise_distances` and :func:`exponential_kernel`.
DISTANCE_METRICS = ("euclidean", "manhattan", "chebyshev", "minkowski", "canberra")

#: How :func:`hybrid_kernel` combines kernel matrices.
HYBRID_MODES = ("sum", "product", "weighted")

# Largest number of elements of the (chunk, n', d) temporary built by the Canberra distance.
_CANBERRA_CHUNK_ELEMENTS = 1 << 22


def _pair(X: Tensor, Y: Tensor | None, who: str) -> tuple[Tensor, Tensor]:
    """Check that X (n, d) and Y (n', d) are matrices of the same width; Y defaults to X."""
    if X.dim() != 2:
        raise ShapeError(f"{who}: X must be a matrix (n, d), got shape {tuple(X.shape)}")
    if Y is None:
        return X, X
    if Y.dim() != 2 or Y.shape[1] != X.shape[1]:
        raise ShapeError(f"{who}: Y must be a matrix (n', d={X.shape[1]}), got shape {tuple(Y.shape)}")
    return X, Y


def _gamma(gamma: float | Tensor | None, d: int) -> float | Tensor:
    """scikit-learn's default scale: gamma = 1 / n_features when not given."""
    return 1.0 / d if gamma is None else gamma


def _scale(sigma: float | Tensor | None, gamma: float | Tensor | None, from_sigma, who: str) -> float | Tensor:
    """The gamma of a kernel given either sigma or gamma (not both); sigma = 1 when neither is given."""
    if sigma is not None and gamma is not None:
        raise ValueError(f"{who}: give sigma or gamma, not both (got sigma={sigma!r}, gamma={gamma!r})")
    if gamma is not None:
        return gamma
    return from_sigma(1.0 if sigma is None else sigma)


# ------------------------------------------------------------------------------------- inner products


def linear_kernel(X: Tensor, Y: Tensor | None = None) -> Tensor:
    """Linear kernel ``k(x, y) = <x, y>``: the Gram matrix ``X @ Y.T``.

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "linear_kernel")
    return X @ Y.T


def polynomial_kernel(
    X: Tensor,
    Y: Tensor | None = None,
    degree: int = 3,
    gamma: float | Tensor | None = None,
    coef0: float | Tensor = 1.0,
) -> Tensor:
    """Polynomial kernel ``k(x, y) = (gamma <x, y> + coef0) ** degree`` (scikit-learn's form).

    ``gamma=None`` means 1 / d (scikit-learn's default). The reference toolkit's
    ``(X^T X + c) ** d`` is ``gamma=1.0, coef0=c, degree=d``.

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "polynomial_kernel")
    return (linear_kernel(X, Y) * _gamma(gamma, X.shape[1]) + coef0).pow(degree)


def hyperbolic_tangent_kernel(
    X: Tensor,
    Y: Tensor | None = None,
    gamma: float | Tensor | None = None,
    coef0: float | Tensor = 1.0,
) -> Tensor:
    """Hyperbolic tangent ("sigmoid") kernel ``k(x, y) = tanh(gamma <x, y> + coef0)``.

    ``gamma=None`` means 1 / d (scikit-learn's default). The reference toolkit's
    ``tanh(alpha X^T X + c)`` is ``gamma=alpha, coef0=c``. Not positive semi-definite in general.

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "hyperbolic_tangent_kernel")
    return torch.tanh(linear_kernel(X, Y) * _gamma(gamma, X.shape[1]) + coef0)


#: scikit-learn's name for :func:`hyperbolic_tangent_kernel`.
sigmoid_kernel = hyperbolic_tangent_kernel


def _unit_rows(X: Tensor) -> Tensor:
    """Rows scaled to unit euclidean norm; a zero row stays zero, with a zero (not NaN) gradient.

    ``rsqrt(max(|x|^2, tiny))``: the clamp stops the gradient at a zero row, where the norm's own
    backward would give 0/0.
    """
    return X * X.square().sum(dim=1, keepdim=True).clamp_min(torch.finfo(X.dtype).tiny).rsqrt()


def cosine_similarity(X: Tensor, Y: Tensor | None = None) -> Tensor:
    """Cosine similarity ``k(x, y) = <x, y> / (||x|| ||y||)``, 0 for a zero vector.

    A zero row has similarity 0 with everything, itself included (as in scikit-learn, which
    leaves zero rows unnormalised). The gradient at a zero row is finite (0 through the norm).

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "cosine_similarity")
    Xn = _unit_rows(X)
    return Xn @ (Xn if Y is X else _unit_rows(Y)).T


# -------------------------------------------------------------------------------------------- distances


def squared_euclidean_distances(X: Tensor, Y: Tensor | None = None) -> Tensor:
    """Squared euclidean distances ``||x - y||^2`` through the Gram trick.

    ``||x||^2 + ||y||^2 - 2 <x, y>`` after shifting both sets by the mean of X (distances do not
    change, the cancellation error of the trick shrinks), clamped at 0. When ``Y`` is None the
    diagonal is exactly 0.

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "squared_euclidean_distances")
    same = Y is X
    centre = X.mean(dim=0)
    Xc = X - centre
    Yc = Xc if same else Y - centre
    xx = Xc.square().sum(dim=1)
    yy = xx if same else Yc.square().sum(dim=1)
    D = torch.addmm(xx[:, None] + yy[None, :], Xc, Yc.T, alpha=-2.0).clamp_min(0.0)
    if same:
        D = D - torch.diag_embed(D.diagonal())
    return D


def euclidean_distances(X: Tensor, Y: Tensor | None = None) -> Tensor:
    """Euclidean distances ``||x - y||_2`` (Gram trick, see :func:`squared_euclidean_distances`).

    The square root is taken of ``max(D2, tiny)``, so coincident points have a finite (zero)
    gradient; with ``Y`` None the diagonal is exactly 0.

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "euclidean_distances")
    D = squared_euclidean_distances(X, Y).clamp_min(torch.finfo(X.dtype).tiny).sqrt()
    if Y is X:
        D = D - torch.diag_embed(D.diagonal())
    return D


def manhattan_distances(X: Tensor, Y: Tensor | None = None) -> Tensor:
    """Manhattan (city-block, L1) distances ``sum_k |x_k - y_k|`` (``torch.cdist``, p = 1).

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "manhattan_distances")
    return torch.cdist(X, Y, p=1.0)


def chebyshev_distances(X: Tensor, Y: Tensor | None = None) -> Tensor:
    """Chebyshev (L-infinity) distances ``max_k |x_k - y_k|`` (``torch.cdist``, p = inf).

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "chebyshev_distances")
    return torch.cdist(X, Y, p=math.inf)


def minkowski_distances(X: Tensor, Y: Tensor | None = None, p: float = 2.0) -> Tensor:
    """Minkowski distances ``(sum_k |x_k - y_k|^p)^(1/p)`` for p >= 1 (p = inf: Chebyshev).

    p = 2 goes through the Gram trick of :func:`euclidean_distances`; other p through ``torch.cdist``,
    which never builds the (n, n', d) difference tensor.

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not p >= 1:
        raise ValueError(f"minkowski_distances: p must be a number >= 1 (or inf), got {p!r}")
    X, Y = _pair(X, Y, "minkowski_distances")
    if p == 2:
        return euclidean_distances(X, None if Y is X else Y)
    return torch.cdist(X, Y, p=float(p))


def canberra_distances(X: Tensor, Y: Tensor | None = None) -> Tensor:
    """Canberra distances ``sum_k |x_k - y_k| / (|x_k| + |y_k|)``, a 0/0 term counting as 0.

    As ``scipy.spatial.distance.canberra``. The reference toolkit added 1e-10 to every denominator
    instead, which biases terms whose coordinates are tiny; here only exact 0/0 terms are special.
    Rows of X are processed in chunks so the (chunk, n', d) temporary stays under ~4M elements.

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    X, Y = _pair(X, Y, "canberra_distances")
    n, d = X.shape
    step = max(1, _CANBERRA_CHUNK_ELEMENTS // max(1, Y.shape[0] * d))
    ay = Y.abs()[None]
    parts = []
    for start in range(0, n, step):
        x = X[start : start + step, None, :]
        den = x.abs() + ay
        # a zero denominator means x_k = y_k = 0, so the numerator is 0 too: divide by 1 instead
        den = torch.where(den > 0, den, torch.ones_like(den))
        parts.append(((x - Y[None]).abs() / den).sum(dim=-1))
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def pairwise_distances(X: Tensor, Y: Tensor | None = None, metric: str = "euclidean", p: float = 2.0) -> Tensor:
    """Distances under ``metric`` (one of :data:`DISTANCE_METRICS`; ``p`` for ``minkowski``).

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    if metric == "euclidean":
        return euclidean_distances(X, Y)
    if metric == "manhattan":
        return manhattan_distances(X, Y)
    if metric == "chebyshev":
        return chebyshev_distances(X, Y)
    if metric == "minkowski":
        return minkowski_distances(X, Y, p=p)
    if metric == "canberra":
        return canberra_distances(X, Y)
    raise ValueError(f"metric must be one of {list(DISTANCE_METRICS)}, got {metric!r}")


# ------------------------------------------------------------------------------- kernels exp(-distance)


def exponential_kernel(
    X: Tensor,
    Y: Tensor | None = None,
    gamma: float | Tensor = 1.0,
    metric: str = "euclidean",
    p: float = 2.0,
) -> Tensor:
    """Exponential kernel of a distance: ``k(x, y) = exp(-gamma d(x, y))`` (d *not* squared).

    With the euclidean metric this is the Matern-1/2 ("Ornstein-Uhlenbeck") kernel. The reference
    toolkit's ``*_distance_interdependence`` classes are ``gamma=1`` with ``metric`` manhattan /
    euclidean / chebyshev / minkowski(p) / canberra. Its ``exponential_kernel`` squared the distance,
    which made it the gaussian RBF kernel under another name: that one is
    ``gaussian_rbf_kernel(X, Y, gamma=gamma)`` here.

    Args:
        gamma: inverse length scale (float or a tensor, e.g. learnable).
        metric: one of :data:`DISTANCE_METRICS`.
        p: the Minkowski order (``metric="minkowski"`` only).

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    return torch.exp(pairwise_distances(X, Y, metric=metric, p=p) * -gamma)


def gaussian_rbf_kernel(
    X: Tensor,
    Y: Tensor | None = None,
    sigma: float | Tensor | None = None,
    gamma: float | Tensor | None = None,
) -> Tensor:
    """Gaussian RBF kernel ``exp(-||x - y||^2 / (2 sigma^2))``, or scikit-learn's ``exp(-gamma ||x - y||^2)``.

    Give ``sigma`` (the bandwidth; gamma = 1 / (2 sigma^2)) or ``gamma`` (scikit-learn's form), not
    both; neither means sigma = 1 (the reference toolkit's default). Note that scikit-learn's own
    default, gamma = 1 / d, is *not* applied: pass ``gamma=1 / d`` for it.

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    g = _scale(sigma, gamma, lambda s: 0.5 / s**2, "gaussian_rbf_kernel")
    return torch.exp(squared_euclidean_distances(X, Y) * -g)


def laplacian_kernel(
    X: Tensor,
    Y: Tensor | None = None,
    sigma: float | Tensor | None = None,
    gamma: float | Tensor | None = None,
) -> Tensor:
    """Laplacian kernel ``exp(-||x - y||_1 / sigma)``, or scikit-learn's ``exp(-gamma ||x - y||_1)``.

    Give ``sigma`` (gamma = 1 / sigma) or ``gamma``, not both; neither means sigma = 1 (the
    reference toolkit's default; scikit-learn's default gamma = 1 / d is not applied).

    Shape:
        X (n, d), Y (n', d) (default X) -> (n, n').
    """
    g = _scale(sigma, gamma, lambda s: 1.0 / s, "laplacian_kernel")
    return torch.exp(manhattan_distances(X, Y) * -g)


def anisotropic_rbf_kernel(
    X: Tensor,
    Y: Tensor | None = None,
    length_scale: float | Tensor | None = None,
    weights: Tensor | None = None,
) -> Tensor:
    """Gaussian kernel with one length scale per feature.

    ``k(x, y) = exp(-1/2 sum_k ((x_k - y_k) / l_k)^2)`` (scikit-learn's Gaussian-process ``RBF``
    with a vector ``length_scale``), or, given ``weights`` a (the reference toolkit's form),
    ``k(x, y) = exp(-sum_k a_k (x_k - y_k)^2)``; so a_k = 1 / (2 l_k^2). Give one of the two
    (neither: l = 1). The weighted squared distance is a Gram product
    ``sum_k a_k x_k^2 + sum_k a_k y_k^2 - 2 (X * a) @ Y.T`` (clamped at 0, diagonal exact), so it
    is differentiable in ``a`` even at a_k = 0, and never builds an (n, n', d) tensor. The
    reference's version had a of length b with the default ``torch.ones(b)`` built on the CPU and
    an O(m^2 b^2) einsum.

    Args:
        length_scale: l, a float or a (d,) tensor (positive).
        weights: a, a (d,) tensor (non-negative), e.g. learnable.

    Shape:
        X (n, d), Y (n', d) (default X), length_scale/weights (d,) -> (n, n').
    """
    X, Y = _pair(X, Y, "anisotropic_rbf_kernel")
    if length_scale is not None and weights is not None:
        raise ValueError("anisotropic_rbf_kernel: give length_scale or weights, not both")
    if weights is None:
        ls = 1.0 if length_scale is None else length_scale
        weights = (torch.as_tensor(ls, dtype=X.dtype, device=X.device) ** -2 * 0.5).expand(X.shape[1])
    if weights.shape != (X.shape[1],):
        raise ShapeError(
            f"anisotropic_rbf_kernel: expected {X.shape[1]} per-feature scales, got {tuple(weights.shape)}"
        )
    same = Y is X
    centre = X.mean(dim=0)
    Xc = X - centre
    Yc = Xc if same else Y - centre
    Xa = Xc * weights
    xx = (Xa * Xc).sum(dim=1)
    yy = xx if same else (Yc.square() * weights).sum(dim=1)
    D = torch.addmm(xx[:, None] + yy[None, :], Xa, Yc.T, alpha=-2.0).clamp_min(0.0)
    if same:
        D = D - torch.diag_embed(D.diagonal())
    return torch.exp(-D)


# ---------------------------------------------------------------------------------------------- hybrid


def hybrid_kernel(
    kernels: Sequence[Tensor],
    mode: str = "weighted",
    weights: Sequence[float] | Tensor | None = None,
) -> Tensor:
    """Combine kernel matrices of the same shape into one ("custom hybrid" kernel).

    * ``sum``: ``K = sum_i K_i``;
    * ``product``: ``K = prod_i K_i`` elementwise (the Schur product keeps positive semi-definiteness);
    * ``weighted``: ``K = sum_i w_i K_i``, ``w`` given (floats or a (k,) tensor, e.g. learnable) or
      ``1 / k`` each (the reference toolkit's default).

    Shape:
        k matrices (n, n') -> (n, n').
    """
    kernels = list(kernels)
    if not kernels:
        raise ValueError("hybrid_kernel: expected at least one kernel matrix, got none")
    shape = kernels[0].shape
    for i, K in enumerate(kernels):
        if K.shape != shape:
            raise ShapeError(f"hybrid_kernel: kernel {i} has shape {tuple(K.shape)}, kernel 0 has {tuple(shape)}")
    if mode == "sum":
        return torch.stack(kernels).sum(dim=0) if len(kernels) > 1 else kernels[0]
    if mode == "product":
        return torch.stack(kernels).prod(dim=0) if len(kernels) > 1 else kernels[0]
    if mode != "weighted":
        raise ValueError(f"hybrid_kernel: mode must be one of {list(HYBRID_MODES)}, got {mode!r}")
    ref = kernels[0]
    if weights is None:
        w = ref.new_full((len(kernels),), 1.0 / len(kernels))
    else:
        w = torch.as_tensor(weights, dtype=ref.dtype, device=ref.device)
        if w.shape != (len(kernels),):
            raise ShapeError(f"hybrid_kernel: expected {len(kernels)} weights, got shape {tuple(w.shape)}")
    return torch.tensordot(w, torch.stack(kernels), dims=1)
