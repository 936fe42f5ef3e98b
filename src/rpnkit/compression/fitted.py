"""Fit-once compressions: computed from training data by ``fit(X)``, then a fixed torch map.

The reference system refitted scikit-learn estimators on every batch (so features changed between
batches and at eval), converted tensors to numpy in ``forward`` (failing on GPU and with gradients)
and returned float64. Here ``fit(X)`` runs once on training data (scikit-learn is imported lazily
inside ``fit`` only), its result is stored in buffers registered in ``__init__`` with their final
shapes (so ``state_dict`` save/load works before and after fitting, and a ``fitted`` flag travels
with them), and ``forward`` is pure torch on the input's device and dtype.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..component import check_last_dim
from ..errors import ConfigError, RPNError
from ..functional.fitted_maps import group_mean_matrix, top_variance_columns
from ..registry import register
from ..validation import check_bool, check_choice, check_int, check_real
from ._base import CompressionBase

__all__ = [
    "FittedCompression",
    "IncrementalPCACompression",
    "RandomProjectionCompression",
    "VarianceThresholdCompression",
    "FeatureClusteringCompression",
]


def to_numpy64(X: Tensor):
    """X as a float64 numpy array on the CPU (for scikit-learn inside ``fit``)."""
    return X.detach().to("cpu", torch.float64).numpy()


def _sync_fitted_flag(module: FittedCompression, incompatible_keys: Any) -> None:
    module._fitted = bool(module.fitted)


class FittedCompression(CompressionBase):
    """Base of the fit-once compressions with k outputs (not registered).

    Subclasses register their buffers in ``__init__`` (final shapes), implement :meth:`_fit` (fill
    the buffers from X, an (N, m) tensor already pre-processed) and :meth:`project` (the torch map).
    The fitted buffers keep the module's dtype and device (build or ``.double()`` the module before
    ``fit`` to keep float64 precision); ``forward`` casts them to the input's dtype. The ``fitted`` flag
    is a bool buffer, so ``load_state_dict`` of a fitted state makes a fresh module usable.

    Args:
        k: the output width D (1 <= k <= m).

    Shape:
        (..., m) -> (..., k)
    """

    #: Smallest number of training rows ``fit`` accepts (subclasses may raise it from their settings).
    min_samples: int = 2

    def __init__(self, m: int, k: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.k = check_int(k, "k")
        if self.k > check_int(m, "m"):
            raise ConfigError(f"k must be an int in [1, m={m}], got {k!r}")
        self.D = self.k
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self._fitted = False
        self.register_load_state_dict_post_hook(_sync_fitted_flag)

    @property
    def is_fitted(self) -> bool:
        return self._fitted

    def _check_fit_input(self, X: Tensor) -> Tensor:
        if not isinstance(X, Tensor):
            raise RPNError(
                f"{self._label()}: fit expects a torch.Tensor of shape (N, {self.m}), got {type(X).__name__}"
            )
        if X.dim() != 2:
            raise RPNError(f"{self._label()}: fit expects a 2-D tensor (N, m={self.m}), got shape {tuple(X.shape)}")
        check_last_dim(X, self.m, self._label())
        need = self.min_samples_for_fit()
        if X.shape[0] < need:
            raise RPNError(f"{self._label()}: fit needs at least {need} rows, got {X.shape[0]}")
        if not torch.isfinite(X).all():
            raise RPNError(f"{self._label()}: fit data contains NaN or inf")
        return X

    def min_samples_for_fit(self) -> int:
        return self.min_samples

    def fit(self, X: Tensor) -> FittedCompression:
        """Compute the compression from training data X of shape (N, m); returns self."""
        X = self._check_fit_input(X)
        with torch.no_grad():
            if self.preprocess is not None:
                X = self.preprocess(X)
            try:
                self._fit(X.detach())
            except ModuleNotFoundError as err:
                if not (err.name or "").startswith("sklearn"):
                    raise
                raise RPNError(
                    f"{self._label()}: fit uses scikit-learn, which is not installed (pip install scikit-learn)"
                ) from err
            self.fitted.fill_(True)
        self._fitted = True
        return self

    def _fit(self, X: Tensor) -> None:
        raise NotImplementedError

    def project(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def transform(self, x: Tensor) -> Tensor:
        if not self._fitted:
            raise RPNError(
                f"{self._label()} is not fitted: call fit(X) with training data of shape (N, {self.m}) first "
                "(or load_state_dict from a fitted one)"
            )
        return self.project(x)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", fitted={self._fitted}"


@register("compression", "incremental_pca", aliases=["incremental_PCA_based_compression", "pca"])
class IncrementalPCACompression(FittedCompression):
    """Principal components fitted once: kappa(x) = ((x - mu) V^T) / sigma (sigma = 1 unless ``whiten``).

    ``fit`` runs scikit-learn's ``IncrementalPCA(k, whiten, batch_size)`` over X (mini-batches of
    ``batch_size`` rows, default 5*m, so X may exceed what an exact SVD would hold); V (k, m) are its
    ``components_``, mu its ``mean_`` and sigma^2 its ``explained_variance_``. Signs follow sklearn's
    ``svd_flip``. The reference refitted with ``partial_fit`` on every call, also at eval.

    Args:
        k: number of components (D).
        whiten: divide by the square root of each component's variance.
        batch_size: rows per IncrementalPCA step (None: sklearn's 5*m).

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 2,
        whiten: bool = False,
        batch_size: int | None = None,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.whiten = check_bool(whiten, "whiten")
        self.batch_size = check_int(batch_size, "batch_size", allow_none=True)
        super().__init__(m, k, preprocess=preprocess, postprocess=postprocess)
        if self.batch_size is not None and self.batch_size < self.k:
            raise ConfigError(f"batch_size must be >= k={self.k} (each step needs k rows), got {batch_size!r}")
        self.register_buffer("components", torch.zeros(self.k, self.m))
        self.register_buffer("mean", torch.zeros(self.m))
        self.register_buffer("scale", torch.ones(self.k))
        self.register_buffer("explained_variance", torch.zeros(self.k))

    def min_samples_for_fit(self) -> int:
        return max(2, self.k)

    def _fit(self, X: Tensor) -> None:
        from sklearn.decomposition import IncrementalPCA

        est = IncrementalPCA(n_components=self.k, whiten=self.whiten, batch_size=self.batch_size).fit(to_numpy64(X))
        variance = torch.as_tensor(est.explained_variance_)
        self.components.copy_(torch.as_tensor(est.components_))
        self.mean.copy_(torch.as_tensor(est.mean_))
        self.explained_variance.copy_(variance)
        if self.whiten:
            self.scale.copy_(1.0 / variance.clamp(min=torch.finfo(torch.float64).tiny).sqrt())

    def project(self, x: Tensor) -> Tensor:
        z = (x - self.mean.to(x.dtype)) @ self.components.to(x.dtype).T
        return z * self.scale.to(x.dtype) if self.whiten else z


@register("compression", "random_projection", aliases=["incremental_random_projection_based_compression"])
class RandomProjectionCompression(CompressionBase):
    """A fixed random projection kappa(x) = R x with R (k, m) drawn once from ``seed``.

    ``gaussian``: R_ij ~ N(0, 1/k). ``sparse`` (Achlioptas / Li): R_ij = +-sqrt(1/(density k)) with
    probability density/2 each and 0 otherwise (density default 1/sqrt(m)), as scikit-learn's random
    projections. R does not depend on data, so it is built in ``__init__`` (a buffer) and ``fit(X)``
    only checks X and returns self (kept for the fit-once API). The reference re-drew R on every call.

    Args:
        k: output width D.
        kind: ``gaussian`` or ``sparse``.
        density: fraction of non-zeros for ``sparse`` (0 < density <= 1; None: 1/sqrt(m)).
        seed: seed of R.

    Shape:
        (..., m) -> (..., k)
    """

    KINDS = ("gaussian", "sparse")

    def __init__(
        self,
        m: int,
        k: int = 2,
        kind: str = "gaussian",
        density: float | None = None,
        seed: int = 0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.k = check_int(k, "k")
        self.kind = check_choice(kind, "kind", self.KINDS)
        self.seed = check_int(seed, "seed", 0)
        m = check_int(m, "m")
        if density is None:
            density = 1.0 / math.sqrt(m)
        self.density = check_real(density, "density", gt=0.0)
        if self.density > 1:
            raise ConfigError(f"density must be in (0, 1], got {density!r}")
        self.D = self.k
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("matrix", self._draw().to(torch.get_default_dtype()))

    def _draw(self) -> Tensor:
        gen = torch.Generator().manual_seed(self.seed)
        if self.kind == "gaussian":
            return torch.randn(self.k, self.m, generator=gen, dtype=torch.float64) / math.sqrt(self.k)
        u = torch.rand(self.k, self.m, generator=gen, dtype=torch.float64)
        value = math.sqrt(1.0 / (self.density * self.k))
        half = self.density / 2
        return torch.where(u < half, -value, torch.where(u < self.density, value, 0.0))

    def fit(self, X: Tensor) -> RandomProjectionCompression:
        """Nothing to learn: checks X's width and returns self."""
        check_last_dim(X, self.m, self._label())
        return self

    def transform(self, x: Tensor) -> Tensor:
        return x @ self.matrix.to(x.dtype).T

    def extra_repr(self) -> str:
        return super().extra_repr() + f", kind={self.kind!r}, seed={self.seed}"


@register("compression", "variance_threshold", aliases=["incremental_variance_threshold_based_compression"])
class VarianceThresholdCompression(FittedCompression):
    """Keep the k columns of largest training variance: kappa(x) = x[idx], idx ascending.

    ``fit`` computes the population variance of each column (torch, no scikit-learn) and keeps the top
    k (ties to the lower index) in their original column order. The reference returned them in
    ascending-variance order and refitted running variances on every call.

    Args:
        k: number of columns kept (D).

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(self, m: int, k: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        super().__init__(m, k, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("index", torch.arange(self.k))
        self.register_buffer("variances", torch.zeros(self.m))

    def _fit(self, X: Tensor) -> None:
        index, variances = top_variance_columns(X, self.k)
        self.index.copy_(index)
        self.variances.copy_(variances)

    def project(self, x: Tensor) -> Tensor:
        return x.index_select(-1, self.index)


@register("compression", "feature_clustering", aliases=["incremental_feature_clustering_based_compression"])
class FeatureClusteringCompression(FittedCompression):
    """Cluster the m features into k groups once; kappa(x)_g = mean of the features in group g.

    ``fit`` clusters the columns of X (each feature is a point in R^N) with scikit-learn:
    ``agglomerative`` = ``FeatureAgglomeration`` (Ward), ``kmeans`` = ``KMeans`` on X^T, ``spectral`` =
    ``SpectralClustering`` on X^T with an RBF affinity (the reference's choice, which it refitted on
    every call from running column distances). Groups are numbered by their lowest feature index, so
    the output order is deterministic. forward is x A^T with the (k, m) group-mean matrix A.

    Args:
        k: number of groups (D).
        method: ``agglomerative``, ``kmeans`` or ``spectral``.
        seed: random state of kmeans / spectral.

    Shape:
        (..., m) -> (..., k)
    """

    METHODS = ("agglomerative", "kmeans", "spectral")

    def __init__(
        self,
        m: int,
        k: int = 2,
        method: str = "agglomerative",
        seed: int = 0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.method = check_choice(method, "method", self.METHODS)
        self.seed = check_int(seed, "seed", 0)
        super().__init__(m, k, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("labels", torch.zeros(self.m, dtype=torch.long))
        self.register_buffer("assignment", torch.zeros(self.k, self.m))

    def _fit(self, X: Tensor) -> None:
        data = to_numpy64(X)
        if self.method == "agglomerative":
            from sklearn.cluster import FeatureAgglomeration

            raw = FeatureAgglomeration(n_clusters=self.k).fit(data).labels_
        elif self.method == "kmeans":
            from sklearn.cluster import KMeans

            raw = KMeans(n_clusters=self.k, n_init=10, random_state=self.seed).fit(data.T).labels_
        else:
            from sklearn.cluster import SpectralClustering

            raw = SpectralClustering(n_clusters=self.k, affinity="rbf", random_state=self.seed).fit(data.T).labels_
        raw = torch.as_tensor(raw, dtype=torch.long)
        first_seen = {int(v): None for v in raw.tolist()}  # insertion order = order of lowest feature index
        if len(first_seen) != self.k:
            raise RPNError(
                f"{self._label()}: {self.method} clustering found {len(first_seen)} feature groups, expected k={self.k}"
            )
        relabel = torch.empty(int(raw.max()) + 1, dtype=torch.long)
        relabel[torch.tensor(list(first_seen))] = torch.arange(self.k)
        labels = relabel[raw]
        self.labels.copy_(labels)
        self.assignment.copy_(group_mean_matrix(labels, self.k))

    def project(self, x: Tensor) -> Tensor:
        return x @ self.assignment.to(x.dtype).T

    def extra_repr(self) -> str:
        return super().extra_repr() + f", method={self.method!r}"
