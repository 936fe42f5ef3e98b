"""Manifold-learning compressions: Isomap, LLE, MDS, spectral embedding and t-SNE, fitted once.

``fit(X)`` computes scikit-learn's embedding E (N, k) of the training rows. These methods are
transductive: t-SNE, MDS and spectral embedding have no way to place a new point, and Isomap's and
LLE's own ``transform`` need the whole training set at hand. rpnkit therefore embeds new points with
the **least-squares affine map** x -> W x + b fitted from X to E (stored as buffers, so forward is one
matmul on any device). This is an *approximation* of the embedding: exact on the training set only
when N <= m + 1 (in general position) or when E is itself affine in x; its quality on the training
set is recorded as ``fit_r2`` (coefficient of determination) and ``fit`` warns when it is below 0.5.
The exact training embedding is returned by :meth:`ManifoldCompression.fit_transform` (and kept as
the non-persistent attribute ``embedding_``).

The reference system ran ``fit_transform`` on every batch (embeddings not comparable across
batches, CPU/numpy only) and defaulted Isomap and LLE to the degenerate n_neighbors=1; here the
default is 5 (scikit-learn's).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError, RPNError
from ..functional.fitted_maps import least_squares_map
from ..registry import register
from ..validation import check_choice, check_int, check_real
from .fitted import FittedCompression, to_numpy64

__all__ = [
    "ManifoldCompression",
    "IsomapCompression",
    "LLECompression",
    "MDSCompression",
    "SpectralEmbeddingCompression",
    "TSNECompression",
]


def _supported(cls: type, **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments that this scikit-learn version's ``cls`` accepts."""
    accepted = inspect.signature(cls.__init__).parameters
    return {key: value for key, value in kwargs.items() if key in accepted}


class ManifoldCompression(FittedCompression):
    """Base of the manifold compressions (not registered): kappa(x) = W x + b fitted to the embedding.

    Args:
        k: embedding dimension (D).
        ridge: L2 penalty of the out-of-sample map (0: minimum-norm least squares).
        seed: random state of the embedding method.

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self, m: int, k: int = 2, ridge: float = 0.0, seed: int = 0, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        self.ridge = check_real(ridge, "ridge", ge=0.0)
        self.seed = check_int(seed, "seed", 0)
        super().__init__(m, k, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("weight", torch.zeros(self.k, self.m))
        self.register_buffer("bias", torch.zeros(self.k))
        self.register_buffer("fit_r2", torch.zeros(()))
        self.embedding_: Tensor | None = None

    def embed(self, X) -> Any:
        """The method's embedding (N, k) of the float64 numpy rows X."""
        raise NotImplementedError

    def _fit(self, X: Tensor) -> None:
        embedding = torch.as_tensor(self.embed(to_numpy64(X)), dtype=torch.float64)
        W, b, r2 = least_squares_map(X, embedding, self.ridge)
        self.weight.copy_(W)
        self.bias.copy_(b)
        self.fit_r2.fill_(r2)
        self.embedding_ = embedding.to(X.dtype)
        if r2 < 0.5:
            warnings.warn(
                f"{self._label()}: the linear out-of-sample map explains only R^2 = {r2:.2f} of the training "
                "embedding; forward(x) is a rough approximation (fit_transform(X) returns the exact one)",
                stacklevel=3,
            )

    def fit_transform(self, X: Tensor) -> Tensor:
        """Fit on X and return the method's exact embedding of X (N, k) (not the linear approximation)."""
        self.fit(X)
        assert self.embedding_ is not None
        return self.embedding_.to(device=X.device, dtype=X.dtype)

    def project(self, x: Tensor) -> Tensor:
        return torch.nn.functional.linear(x, self.weight.to(x.dtype), self.bias.to(x.dtype))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", fit_r2={float(self.fit_r2):.3f}"


class _NeighbourMethod(ManifoldCompression):
    """A manifold method with an n_neighbors hyperparameter (needs N > n_neighbors rows)."""

    n_neighbors: int | None

    def min_samples_for_fit(self) -> int:
        return max(self.k + 1, (self.n_neighbors or 1) + 1)


@register("compression", "isomap", aliases=["isomap_manifold_compression"])
class IsomapCompression(_NeighbourMethod):
    """Isomap embedding (geodesic distances on the n_neighbors graph, then classical MDS); fitted once.

    Out-of-sample points use the least-squares affine map of :class:`ManifoldCompression`
    (scikit-learn's own Isomap ``transform`` would need the training set and its geodesic matrix).

    Args:
        k: embedding dimension (D).
        n_neighbors: neighbours of the graph (default 5; the reference's 1 is degenerate).
        ridge, seed: see :class:`ManifoldCompression`.

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 2,
        n_neighbors: int = 5,
        ridge: float = 0.0,
        seed: int = 0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.n_neighbors = check_int(n_neighbors, "n_neighbors")
        super().__init__(m, k, ridge=ridge, seed=seed, preprocess=preprocess, postprocess=postprocess)

    def embed(self, X) -> Any:
        from sklearn.manifold import Isomap

        return Isomap(n_neighbors=self.n_neighbors, n_components=self.k).fit_transform(X)


@register("compression", "lle", aliases=["lle_manifold_compression"])
class LLECompression(_NeighbourMethod):
    """Locally linear embedding (``method='standard'``); fitted once.

    Out-of-sample points use the least-squares affine map of :class:`ManifoldCompression`.

    Args:
        k: embedding dimension (D).
        n_neighbors: neighbours per point (default 5; must exceed k).
        reg: regularisation of the local weights.
        ridge, seed: see :class:`ManifoldCompression`.

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 2,
        n_neighbors: int = 5,
        reg: float = 1e-3,
        ridge: float = 0.0,
        seed: int = 0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.n_neighbors = check_int(n_neighbors, "n_neighbors")
        self.reg = check_real(reg, "reg", gt=0.0)
        if self.n_neighbors <= check_int(k, "k"):
            raise ConfigError(f"n_neighbors must be > k={k} for LLE, got {n_neighbors!r}")
        super().__init__(m, k, ridge=ridge, seed=seed, preprocess=preprocess, postprocess=postprocess)

    def embed(self, X) -> Any:
        from sklearn.manifold import LocallyLinearEmbedding

        est = LocallyLinearEmbedding(
            n_neighbors=self.n_neighbors, n_components=self.k, reg=self.reg, random_state=self.seed
        )
        return est.fit_transform(X)


@register("compression", "mds", aliases=["mds_manifold_compression"])
class MDSCompression(ManifoldCompression):
    """Metric multidimensional scaling (SMACOF on Euclidean distances); fitted once.

    MDS cannot place new points; forward uses the least-squares affine map of
    :class:`ManifoldCompression` (an approximation). The initialisation is classical MDS where the
    installed scikit-learn offers it (``init='classical_mds'``), else a seeded random start.

    Args:
        k: embedding dimension (D).
        n_init: SMACOF restarts (the best stress is kept).
        max_iter: SMACOF iterations.
        ridge, seed: see :class:`ManifoldCompression`.

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 2,
        n_init: int = 1,
        max_iter: int = 300,
        ridge: float = 0.0,
        seed: int = 0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.n_init = check_int(n_init, "n_init")
        self.max_iter = check_int(max_iter, "max_iter")
        super().__init__(m, k, ridge=ridge, seed=seed, preprocess=preprocess, postprocess=postprocess)

    def min_samples_for_fit(self) -> int:
        return self.k + 1

    def embed(self, X) -> Any:
        from sklearn.manifold import MDS

        kwargs = _supported(
            MDS, n_components=self.k, n_init=self.n_init, max_iter=self.max_iter, random_state=self.seed,
            init="classical_mds", normalized_stress="auto",
        )  # fmt: skip
        return MDS(**kwargs).fit_transform(X)


@register("compression", "spectral_embedding", aliases=["spectral_embedding_manifold_compression"])
class SpectralEmbeddingCompression(_NeighbourMethod):
    """Laplacian eigenmaps on the n_neighbors graph (``SpectralEmbedding``); fitted once.

    Spectral embedding cannot place new points; forward uses the least-squares affine map of
    :class:`ManifoldCompression` (an approximation). Eigenvector signs follow scikit-learn.

    Args:
        k: embedding dimension (D).
        n_neighbors: neighbours of the affinity graph (None: scikit-learn's max(N/10, 1)).
        ridge, seed: see :class:`ManifoldCompression`.

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 2,
        n_neighbors: int | None = None,
        ridge: float = 0.0,
        seed: int = 0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.n_neighbors = check_int(n_neighbors, "n_neighbors", allow_none=True)
        super().__init__(m, k, ridge=ridge, seed=seed, preprocess=preprocess, postprocess=postprocess)

    def embed(self, X) -> Any:
        from sklearn.manifold import SpectralEmbedding

        est = SpectralEmbedding(n_components=self.k, n_neighbors=self.n_neighbors, random_state=self.seed)
        return est.fit_transform(X)


@register("compression", "tsne", aliases=["tsne_manifold_compression"])
class TSNECompression(ManifoldCompression):
    """t-SNE embedding (PCA initialisation, seeded); fitted once.

    t-SNE cannot place new points and its embedding is far from affine in x, so forward (the
    least-squares affine map of :class:`ManifoldCompression`) is only a rough approximation; use
    :meth:`fit_transform` for the training embedding itself.

    Args:
        k: embedding dimension (D).
        perplexity: effective number of neighbours (must be below the number of training rows).
        method: ``barnes_hut`` (k <= 3 only), ``exact``, or ``auto``: exact for at most
            ``AUTO_EXACT_ROWS`` training rows or k >= 4, Barnes-Hut otherwise (on small sets the exact
            gradient is both faster and free of the Barnes-Hut approximation).
        max_iter: optimisation steps (>= 250, scikit-learn's minimum).
        ridge, seed: see :class:`ManifoldCompression`.

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 2,
        perplexity: float = 30.0,
        method: str = "auto",
        max_iter: int = 1000,
        ridge: float = 0.0,
        seed: int = 0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.perplexity = check_real(perplexity, "perplexity", gt=0.0)
        self.method = check_choice(method, "method", ("auto", "barnes_hut", "exact"))
        self.max_iter = check_int(max_iter, "max_iter", minimum=250)
        if self.method == "barnes_hut" and check_int(k, "k") > 3:
            raise ConfigError(f"method='barnes_hut' supports k <= 3, got k={k!r}; use method='exact'")
        super().__init__(m, k, ridge=ridge, seed=seed, preprocess=preprocess, postprocess=postprocess)

    #: ``method="auto"`` uses the exact gradient up to this many training rows.
    AUTO_EXACT_ROWS = 500

    def min_samples_for_fit(self) -> int:
        return self.k + 1

    def _check_fit_input(self, X: Tensor) -> Tensor:
        X = super()._check_fit_input(X)
        if not self.perplexity < X.shape[0]:
            raise RPNError(
                f"{self._label()}: perplexity={self.perplexity} must be below the number of rows {X.shape[0]}"
            )
        return X

    def embed(self, X) -> Any:
        from sklearn.manifold import TSNE

        method = self.method
        if method == "auto":
            method = "exact" if X.shape[0] <= self.AUTO_EXACT_ROWS or self.k > 3 else "barnes_hut"
        kwargs = _supported(
            TSNE, n_components=self.k, perplexity=self.perplexity, init="pca", method=method,
            random_state=self.seed, max_iter=self.max_iter,
        )  # fmt: skip
        return TSNE(**kwargs).fit_transform(X)
