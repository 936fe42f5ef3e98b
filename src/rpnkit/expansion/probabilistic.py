"""Probabilistic expansions: log-densities of each feature under fixed distributions.

The naive_* classes evaluate one distribution (D = m); the others a fixed list of K parameter
sets, block-major (block k = the k-th parameter set, m columns each; D = K m). The parameter
sets default to the reference system's and can be replaced (``parameters``). Everything is
computed with torch maths on the input's device and dtype (the reference built
``torch.distributions`` objects on the CPU and moved every batch there and back).
Distributions on the positive half-line see a squashed input, as in the reference:
chi-square at sigmoid(x) + 0.001, gamma and exponential at 0.99 sigmoid(x) + 0.001.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..base import Expansion
from ..errors import ConfigError
from ..functional import probabilistic as P
from ..registry import register

__all__ = [
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
]


def _check_parameters(value: Any, width: int, names: tuple[str, ...], positive: tuple[bool, ...]) -> list[list[float]]:
    """A non-empty list of parameter tuples of the given width; positive entries checked."""
    label = "(" + ", ".join(names) + ")"
    try:
        rows = [[float(v) for v in (row if isinstance(row, (list, tuple)) else [row])] for row in value]
    except (TypeError, ValueError):
        raise ConfigError(f"parameters must be a list of {label} values, got {value!r}") from None
    if not rows or any(len(row) != width for row in rows):
        raise ConfigError(f"parameters must be a non-empty list of {label} values, got {value!r}")
    for row in rows:
        for v, name, pos in zip(row, names, positive):
            if pos and not v > 0:
                raise ConfigError(f"parameters: {name} must be > 0, got {row}")
    return rows


class _ParametricFamily(Expansion):
    """Base: log-density of one family at K parameter sets (columns of the ``params`` buffer)."""

    #: names of the distribution's parameters, and which must be positive.
    param_names: ClassVar[tuple[str, ...]] = ()
    param_positive: ClassVar[tuple[bool, ...]] = ()

    def _setup(self, m: int, parameters: Any, preprocess: Any, postprocess: Any) -> None:
        rows = _check_parameters(parameters, len(self.param_names), self.param_names, self.param_positive)
        self.K = len(rows)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        # (n_params, K, 1): params[i] broadcasts against a (..., K, m) view of x.
        # Kept in float64 (and out of the state dict: the config holds the values) so that a float64
        # model sees the exact parameters; forward casts to x's dtype.
        table = torch.tensor(rows, dtype=torch.float64).T.unsqueeze(-1)
        self.register_buffer("params", table, persistent=False)

    def output_dim(self, m: int) -> int:
        return self.K * m

    def log_pdf(self, x: Tensor, *params: Tensor) -> Tensor:
        raise NotImplementedError

    def squash(self, x: Tensor) -> Tensor:
        return x

    def transform(self, x: Tensor) -> Tensor:
        params = self.params.to(x.dtype)
        z = self.log_pdf(self.squash(x).unsqueeze(-2), *params)  # (..., K, m)
        return z.reshape(*x.shape[:-1], self.D)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", K={self.K}"


# ---- the six-parameter families --------------------------------------------------------------


@register("expansion", "normal", aliases=["normal_expansion"])
class NormalExpansion(_ParametricFamily):
    """log N(x; mu_k, sigma_k^2) for K (mu, sigma) pairs, block-major; D = K m.

    Default pairs (the reference's): (0, 1), (1, 1), (-1, 1), (0, 0.1), (1, 0.1), (-1, 0.1).

    Args:
        parameters: list of (mu, sigma) pairs, sigma > 0.

    Shape:
        (..., m) -> (..., K m)
    """

    finite_domain = (
        "a normal log-density -((x - mu)/sigma)^2 / 2: finite while |x - mu| / sigma < sqrt(2 * dtype max) "
        "(float32: about 2.6e19)"
    )

    param_names = ("mu", "sigma")
    param_positive = (False, True)

    def __init__(
        self,
        m: int,
        parameters: Sequence[Sequence[float]] = (
            (0.0, 1.0),
            (1.0, 1.0),
            (-1.0, 1.0),
            (0.0, 0.1),
            (1.0, 0.1),
            (-1.0, 0.1),
        ),
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self._setup(m, parameters, preprocess, postprocess)

    def log_pdf(self, x: Tensor, *params: Tensor) -> Tensor:
        return P.normal_log_pdf(x, *params)


@register("expansion", "cauchy", aliases=["cauchy_expansion"])
class CauchyExpansion(_ParametricFamily):
    """log Cauchy(x; loc_k, scale_k) for K (loc, scale) pairs, block-major; D = K m.

    Default pairs (the reference's): (0, 1), (0, 0.5), (1, 1), (1, 0.5), (-1, 1), (-1, 0.5).

    Args:
        parameters: list of (loc, scale) pairs, scale > 0.

    Shape:
        (..., m) -> (..., K m)
    """

    param_names = ("loc", "scale")
    param_positive = (False, True)

    def __init__(
        self,
        m: int,
        parameters: Sequence[Sequence[float]] = (
            (0.0, 1.0),
            (0.0, 0.5),
            (1.0, 1.0),
            (1.0, 0.5),
            (-1.0, 1.0),
            (-1.0, 0.5),
        ),
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self._setup(m, parameters, preprocess, postprocess)

    def log_pdf(self, x: Tensor, *params: Tensor) -> Tensor:
        return P.cauchy_log_pdf(x, *params)


@register("expansion", "chi2", aliases=["chi2_expansion"])
class Chi2Expansion(_ParametricFamily):
    """log chi2_k(sigmoid(x) + 0.001) for K degrees of freedom, block-major; D = K m (default 2m).

    Default degrees of freedom (the reference's): 1, 2.

    Args:
        parameters: list of degrees of freedom (> 0).

    Shape:
        (..., m) -> (..., K m)
    """

    param_names = ("df",)
    param_positive = (True,)

    def __init__(
        self, m: int, parameters: Sequence[float] = (1.0, 2.0), preprocess: Any = None, postprocess: Any = None
    ) -> None:
        self._setup(m, parameters, preprocess, postprocess)

    def squash(self, x: Tensor) -> Tensor:
        return P.squash(x)

    def log_pdf(self, x: Tensor, *params: Tensor) -> Tensor:
        return P.chi2_log_pdf(x, *params)


@register("expansion", "gamma", aliases=["gamma_expansion"])
class GammaExpansion(_ParametricFamily):
    """log Gamma(0.99 sigmoid(x) + 0.001; a_k, rate r_k) for K (a, r) pairs, block-major; D = K m.

    Default pairs (concentration, rate), the reference's: (0.5, 1), (0.5, 2), (1, 1), (1, 2),
    (2, 1), (2, 2).

    Args:
        parameters: list of (concentration, rate) pairs, both > 0.

    Shape:
        (..., m) -> (..., K m)
    """

    param_names = ("concentration", "rate")
    param_positive = (True, True)

    def __init__(
        self,
        m: int,
        parameters: Sequence[Sequence[float]] = (
            (0.5, 1.0),
            (0.5, 2.0),
            (1.0, 1.0),
            (1.0, 2.0),
            (2.0, 1.0),
            (2.0, 2.0),
        ),
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self._setup(m, parameters, preprocess, postprocess)

    def squash(self, x: Tensor) -> Tensor:
        return P.squash_99(x)

    def log_pdf(self, x: Tensor, *params: Tensor) -> Tensor:
        return P.gamma_log_pdf(x, *params)


@register("expansion", "laplace", aliases=["laplace_expansion"])
class LaplaceExpansion(_ParametricFamily):
    """log Laplace(x; loc_k, scale_k) for K (loc, scale) pairs, block-major; D = K m.

    Default pairs (the reference's): (0, 1), (0, 2), (1, 1), (1, 2), (-1, 1), (-1, 2).

    Args:
        parameters: list of (loc, scale) pairs, scale > 0.

    Shape:
        (..., m) -> (..., K m)
    """

    param_names = ("loc", "scale")
    param_positive = (False, True)

    def __init__(
        self,
        m: int,
        parameters: Sequence[Sequence[float]] = (
            (0.0, 1.0),
            (0.0, 2.0),
            (1.0, 1.0),
            (1.0, 2.0),
            (-1.0, 1.0),
            (-1.0, 2.0),
        ),
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self._setup(m, parameters, preprocess, postprocess)

    def log_pdf(self, x: Tensor, *params: Tensor) -> Tensor:
        return P.laplace_log_pdf(x, *params)


@register("expansion", "exponential", aliases=["exponential_expansion"])
class ExponentialExpansion(_ParametricFamily):
    """log Exp(0.99 sigmoid(x) + 0.001; rate r_k) for K rates, block-major; D = K m.

    Default rates (the reference's): 0.5, 0.75, 1, 2, 3, 5.

    Args:
        parameters: list of rates (> 0).

    Shape:
        (..., m) -> (..., K m)
    """

    param_names = ("rate",)
    param_positive = (True,)

    def __init__(
        self,
        m: int,
        parameters: Sequence[float] = (0.5, 0.75, 1.0, 2.0, 3.0, 5.0),
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self._setup(m, parameters, preprocess, postprocess)

    def squash(self, x: Tensor) -> Tensor:
        return P.squash_99(x)

    def log_pdf(self, x: Tensor, *params: Tensor) -> Tensor:
        return P.exponential_log_pdf(x, *params)


# ---- naive (one distribution, D = m) ---------------------------------------------------------


class _Naive(Expansion):
    """Base of the one-distribution expansions (D = m, no hyperparameters)."""

    def __init__(self, m: int, preprocess: Any = None, postprocess: Any = None) -> None:
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def output_dim(self, m: int) -> int:
        return m


@register("expansion", "naive_normal", aliases=["naive_normal_expansion"])
class NaiveNormal(_Naive):
    """kappa(x) = log N(x; 0, 1) elementwise; D = m.

    Shape:
        (..., m) -> (..., m)
    """

    finite_domain = (
        "a normal log-density -((x - mu)/sigma)^2 / 2: finite while |x - mu| / sigma < sqrt(2 * dtype max) "
        "(float32: about 2.6e19)"
    )

    def transform(self, x: Tensor) -> Tensor:
        return P.normal_log_pdf(x)


@register("expansion", "naive_cauchy", aliases=["naive_cauchy_expansion"])
class NaiveCauchy(_Naive):
    """kappa(x) = log Cauchy(x; 0, 1) elementwise; D = m.

    Shape:
        (..., m) -> (..., m)
    """

    def transform(self, x: Tensor) -> Tensor:
        return P.cauchy_log_pdf(x)


@register("expansion", "naive_chi2", aliases=["naive_chi2_expansion"])
class NaiveChi2(_Naive):
    """kappa(x) = log chi2_1(sigmoid(x) + 0.001) elementwise; D = m.

    Shape:
        (..., m) -> (..., m)
    """

    def transform(self, x: Tensor) -> Tensor:
        return P.chi2_log_pdf(P.squash(x), 1.0)


@register("expansion", "naive_gamma", aliases=["naive_gamma_expansion"])
class NaiveGamma(_Naive):
    """kappa(x) = log Gamma(0.99 sigmoid(x) + 0.001; concentration 0.5, rate 1) elementwise; D = m.

    Shape:
        (..., m) -> (..., m)
    """

    def transform(self, x: Tensor) -> Tensor:
        return P.gamma_log_pdf(P.squash_99(x), 0.5, 1.0)


@register("expansion", "naive_laplace", aliases=["naive_laplace_expansion"])
class NaiveLaplace(_Naive):
    """kappa(x) = log Laplace(x; 0, 1) elementwise; D = m.

    Shape:
        (..., m) -> (..., m)
    """

    def transform(self, x: Tensor) -> Tensor:
        return P.laplace_log_pdf(x)


@register("expansion", "naive_exponential", aliases=["naive_exponential_expansion"])
class NaiveExponential(_Naive):
    """kappa(x) = log Exp(0.99 sigmoid(x) + 0.001; rate 0.5) elementwise; D = m.

    Shape:
        (..., m) -> (..., m)
    """

    def transform(self, x: Tensor) -> Tensor:
        return P.exponential_log_pdf(P.squash_99(x), 0.5)


@register("expansion", "hybrid_probabilistic", aliases=["hybrid_probabilistic_expansion"])
class HybridProbabilistic(_Naive):
    """Six log-densities per feature, block-major; D = 6m.

    With s = 0.99 sigmoid(x) + 0.001 (the reference's, also for the chi-square block):
    [log N(x; 0, 1), log Cauchy(x; 0, 1), log chi2_1(s), log Gamma(s; 0.5, rate 1),
    log Laplace(x; 0, 1), log Exp(s; rate 1)].

    Shape:
        (..., m) -> (..., 6m)
    """

    finite_domain = (
        "a normal log-density -((x - mu)/sigma)^2 / 2: finite while |x - mu| / sigma < sqrt(2 * dtype max) "
        "(float32: about 2.6e19)"
    )

    def output_dim(self, m: int) -> int:
        return 6 * m

    def transform(self, x: Tensor) -> Tensor:
        s = P.squash_99(x)
        blocks = (
            P.normal_log_pdf(x),
            P.cauchy_log_pdf(x),
            P.chi2_log_pdf(s, 1.0),
            P.gamma_log_pdf(s, 0.5, 1.0),
            P.laplace_log_pdf(x),
            P.exponential_log_pdf(s, 1.0),
        )
        return torch.stack(blocks, dim=-2).reshape(*x.shape[:-1], self.D)
