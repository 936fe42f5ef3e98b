"""Naive probabilistic compressions: keep k features chosen with probabilities from a density.

s = 0.99 sigmoid(metric(x)) + 0.001 (when normalising), weights w_j proportional to p(s_j) per row,
k column indices drawn from w without replacement and sorted ascending. The output is x[idx]
(``simply_sampling``), s[idx], or log p(s[idx]) (``log_prob``); D = k.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from ..functional.compression_sampling import (
    DISTRIBUTIONS,
    ELEMENTWISE_METRICS,
    POSITIVE_SUPPORT,
    apply_elementwise,
    check_distribution,
    gumbel_noise,
    log_density,
    select_indices,
    squash,
)
from ..registry import register
from ..validation import check_bool, check_choice, check_int, check_real
from ._base import CompressionBase

__all__ = [
    "NaiveProbabilisticCompression",
    "NaiveUniformProbabilistic",
    "NaiveNormalProbabilistic",
    "NaiveCauchyProbabilistic",
    "NaiveChi2Probabilistic",
    "NaiveExponentialProbabilistic",
    "NaiveGammaProbabilistic",
    "NaiveLaplaceProbabilistic",
]

#: How indices are chosen in eval mode.
EVAL_SELECTIONS = ("fixed_draw", "top_k")


def check_metric(metric: Any) -> str | None:
    if metric is None:
        return None
    return check_choice(metric, "metric", ELEMENTWISE_METRICS)


class SamplingMixin:
    """Seeded index selection shared by the sampling compressions.

    Training mode draws fresh indices from a ``torch.Generator`` seeded with ``seed`` (one per device,
    created on first use; :meth:`reseed` restarts the stream). Eval mode is deterministic:
    ``fixed_draw`` adds a Gumbel vector drawn once from ``seed`` at construction (a buffer) to the
    log-weights and keeps the top k, which is one fixed draw without replacement from the same law as
    training (per row it depends on that row only, not on the batch); ``top_k`` keeps the k largest
    weights, ties to the lower index. Indices are always distinct at eval. The training generators'
    state is not part of the state dict: a rebuilt or reloaded module restarts its stream from ``seed``.
    """

    seed: int
    eval_selection: str
    with_replacement: bool
    training: bool

    def _init_sampling(self, seed: Any, eval_selection: Any, with_replacement: Any) -> None:
        self.seed = check_int(seed, "seed", 0)
        self.eval_selection = check_choice(eval_selection, "eval_selection", EVAL_SELECTIONS)
        self.with_replacement = check_bool(with_replacement, "with_replacement")
        self._generators: dict[str, torch.Generator] = {}

    def _fixed_noise(self, size: int, stream: int = 0) -> Tensor:
        """Gumbel noise of ``size`` drawn from ``seed`` (stream distinguishes several tables)."""
        gen = torch.Generator().manual_seed(self.seed + 7919 * stream)
        e = torch.empty(size, dtype=torch.float64).exponential_(generator=gen)
        return (-torch.log(e)).to(torch.get_default_dtype())

    def generator(self, device: torch.device) -> torch.Generator:
        """The training-mode generator of ``device`` (seeded with ``seed`` on first use)."""
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def reseed(self, seed: int | None = None) -> None:
        """Restart the training-mode random streams (from ``seed``, default the configured one)."""
        if seed is not None:
            self.seed = check_int(seed, "seed", 0)
        self._generators.clear()

    def _select(self, logw: Tensor, k: int, eval_noise: Tensor, scratch: bool = False, finite: bool = False) -> Tensor:
        """Sorted indices (N, k) from log-weights (N, n); ``scratch``/``finite`` as in ``select_indices``."""
        options = {"scratch": scratch, "finite": finite}
        if self.training:
            gen = self.generator(logw.device)
            noise = None if self.with_replacement else gumbel_noise(tuple(logw.shape), gen, logw)
            return select_indices(logw, k, noise, generator=gen, with_replacement=self.with_replacement, **options)
        if self.eval_selection == "top_k":
            return select_indices(logw, k, None, stable=True, **options)
        return select_indices(logw, k, eval_noise.to(logw.dtype), **options)


@register("compression", "naive_probabilistic", aliases=["naive_probabilistic_compression"])
class NaiveProbabilisticCompression(SamplingMixin, CompressionBase):
    """Keep k of the m features, drawn per row with probabilities proportional to p(s); D = k.

    s = metric(x), then s <- 0.99 sigmoid(s) + 0.001 when ``require_normalization``; weights
    w_j = p(s_j) / sum_l p(s_l); k indices drawn from w (without replacement unless
    ``with_replacement``), sorted ascending. Output: x[idx] when ``simply_sampling``, else s[idx], or
    log p(s[idx]) with ``log_prob``. Gradients reach the gathered values, never the choice of indices.

    Differences from the reference system: densities are torch maths on the input's device (no CPU
    round trip); randomness is seeded; eval mode is deterministic (see :class:`SamplingMixin`:
    ``fixed_draw`` by default); ``log_prob`` together with ``simply_sampling`` is an error instead of
    being silently dropped; the positive-support distributions (uniform, chi2, exponential, gamma)
    require normalisation (the reference forced it silently in their classes). ``metric`` is a name
    of an elementwise map (abs, square, tanh) rather than a callable, so the config stays data.

    Args:
        k: number of features kept (1 <= k <= m).
        dist: ``uniform``, ``normal``, ``cauchy``, ``chi2``, ``exponential``, ``gamma`` or ``laplace``.
        dist_params: parameters overriding the defaults: uniform low=0, high=1; normal mean=0, std=1;
            cauchy loc=0, scale=1; chi2 df=1; exponential rate=0.5; gamma concentration=1, rate=1;
            laplace loc=0, scale=1.
        simply_sampling: output the raw selected x values.
        metric: optional elementwise map applied before normalising.
        with_replacement: in training, draw k i.i.d. indices (repeats possible).
        require_normalization: squash into (0.001, 0.991) before evaluating the density.
        log_prob: output log p(s[idx]) (only with ``simply_sampling=False``).
        seed: seed of the training-mode generator and of the eval-mode fixed draw.
        eval_selection: ``fixed_draw`` or ``top_k``.

    Shape:
        (..., m) -> (..., k)

    Example:
        >>> import torch
        >>> kappa = NaiveProbabilisticCompression(6, k=3, dist="normal").eval()
        >>> x = torch.randn(2, 6)
        >>> kappa(x).shape, torch.equal(kappa(x), kappa(x))
        (torch.Size([2, 3]), True)
    """

    def __init__(
        self,
        m: int,
        k: int = 1,
        dist: str = "uniform",
        dist_params: Mapping[str, float] | None = None,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        require_normalization: bool = True,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.k = check_int(k, "k")
        if self.k > check_int(m, "m"):
            raise ConfigError(f"k must be an int in [1, m={m}], got {k!r}")
        self.dist = check_choice(dist, "dist", DISTRIBUTIONS)
        if dist_params is not None and not isinstance(dist_params, Mapping):
            raise ConfigError(f"dist_params must be a mapping of parameter names to numbers, got {dist_params!r}")
        try:
            self.params = check_distribution(self.dist, dist_params)
        except ValueError as err:
            raise ConfigError(str(err)) from err
        self.simply_sampling = check_bool(simply_sampling, "simply_sampling")
        self.metric = check_metric(metric)
        self.require_normalization = check_bool(require_normalization, "require_normalization")
        self.log_prob = check_bool(log_prob, "log_prob")
        if self.log_prob and self.simply_sampling:
            raise ConfigError("log_prob=True needs simply_sampling=False (raw x values have no log-density here)")
        if self.dist in POSITIVE_SUPPORT and not self.require_normalization:
            raise ConfigError(
                f"dist={self.dist!r} has support inside [0, inf), so require_normalization must be True, got False"
            )
        self.D = self.k
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self._init_sampling(seed, eval_selection, with_replacement)
        self.register_buffer("eval_noise", self._fixed_noise(self.m))

    def scores(self, x: Tensor) -> Tensor:
        """s: the (optionally squashed) metric values the density is evaluated at; (..., m)."""
        s = apply_elementwise(x, self.metric)
        return squash(s) if self.require_normalization else s

    def transform(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.m)
        s = self.scores(flat)
        logw = log_density(self.dist, s.detach(), self.params)
        idx = self._select(logw, self.k, self.eval_noise, scratch=True)
        out = (flat if self.simply_sampling else s).gather(-1, idx)
        if self.log_prob:
            out = log_density(self.dist, out, self.params)
        # a row with a NaN stays NaN: the selection and some densities (clamped supports) would make it finite
        out = out.masked_fill(flat.isnan().any(-1, keepdim=True), float("nan"))
        return out.reshape(*lead, self.k)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", dist={self.dist!r}, params={self.params}, seed={self.seed}"


def _common(
    simply_sampling: bool,
    metric: str | None,
    with_replacement: bool,
    log_prob: bool,
    seed: int,
    eval_selection: str,
    preprocess: Any,
    postprocess: Any,
) -> dict[str, Any]:
    return dict(
        simply_sampling=simply_sampling,
        metric=metric,
        with_replacement=with_replacement,
        log_prob=log_prob,
        seed=seed,
        eval_selection=eval_selection,
        preprocess=preprocess,
        postprocess=postprocess,
    )


@register("compression", "naive_uniform_probabilistic", aliases=["naive_uniform_probabilistic_compression"])
class NaiveUniformProbabilistic(NaiveProbabilisticCompression):
    """:class:`NaiveProbabilisticCompression` with U(low, high) (normalisation always on).

    With the default U(0, 1) every squashed value has the same density, so the choice is a uniformly
    random k-subset in training and a fixed random k-subset at eval. (The reference's class was
    misnamed ``naive_normal_probabilistic_compression``.)

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 1,
        low: float = 0.0,
        high: float = 1.0,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        params = {"low": check_real(low, "low"), "high": check_real(high, "high")}
        common = _common(simply_sampling, metric, with_replacement, log_prob, seed, eval_selection, preprocess,
                         postprocess)  # fmt: skip
        super().__init__(m, k, "uniform", params, require_normalization=True, **common)


@register("compression", "naive_normal_probabilistic", aliases=["naive_normal_probabilistic_compression"])
class NaiveNormalProbabilistic(NaiveProbabilisticCompression):
    """:class:`NaiveProbabilisticCompression` with N(mean, std^2).

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 1,
        mean: float = 0.0,
        std: float = 1.0,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        require_normalization: bool = True,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        params = {"mean": check_real(mean, "mean"), "std": check_real(std, "std")}
        common = _common(simply_sampling, metric, with_replacement, log_prob, seed, eval_selection, preprocess,
                         postprocess)  # fmt: skip
        super().__init__(m, k, "normal", params, require_normalization=require_normalization, **common)


@register("compression", "naive_cauchy_probabilistic", aliases=["naive_cauchy_probabilistic_compression"])
class NaiveCauchyProbabilistic(NaiveProbabilisticCompression):
    """:class:`NaiveProbabilisticCompression` with Cauchy(loc, scale).

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 1,
        loc: float = 0.0,
        scale: float = 1.0,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        require_normalization: bool = True,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        params = {"loc": check_real(loc, "loc"), "scale": check_real(scale, "scale")}
        common = _common(simply_sampling, metric, with_replacement, log_prob, seed, eval_selection, preprocess,
                         postprocess)  # fmt: skip
        super().__init__(m, k, "cauchy", params, require_normalization=require_normalization, **common)


@register("compression", "naive_chi2_probabilistic", aliases=["naive_chi2_probabilistic_compression"])
class NaiveChi2Probabilistic(NaiveProbabilisticCompression):
    """:class:`NaiveProbabilisticCompression` with chi^2(df) (normalisation always on).

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 1,
        df: float = 1.0,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        common = _common(simply_sampling, metric, with_replacement, log_prob, seed, eval_selection, preprocess,
                         postprocess)  # fmt: skip
        super().__init__(m, k, "chi2", {"df": check_real(df, "df")}, require_normalization=True, **common)


@register("compression", "naive_exponential_probabilistic", aliases=["naive_exponential_probabilistic_compression"])
class NaiveExponentialProbabilistic(NaiveProbabilisticCompression):
    """:class:`NaiveProbabilisticCompression` with Exp(rate) (normalisation always on).

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 1,
        rate: float = 0.5,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        common = _common(simply_sampling, metric, with_replacement, log_prob, seed, eval_selection, preprocess,
                         postprocess)  # fmt: skip
        super().__init__(m, k, "exponential", {"rate": check_real(rate, "rate")}, require_normalization=True, **common)


@register("compression", "naive_gamma_probabilistic", aliases=["naive_gamma_probabilistic_compression"])
class NaiveGammaProbabilistic(NaiveProbabilisticCompression):
    """:class:`NaiveProbabilisticCompression` with Gamma(concentration, rate) (normalisation always on).

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 1,
        concentration: float = 1.0,
        rate: float = 1.0,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        params = {"concentration": check_real(concentration, "concentration"), "rate": check_real(rate, "rate")}
        common = _common(simply_sampling, metric, with_replacement, log_prob, seed, eval_selection, preprocess,
                         postprocess)  # fmt: skip
        super().__init__(m, k, "gamma", params, require_normalization=True, **common)


@register("compression", "naive_laplace_probabilistic", aliases=["naive_laplace_probabilistic_compression"])
class NaiveLaplaceProbabilistic(NaiveProbabilisticCompression):
    """:class:`NaiveProbabilisticCompression` with Laplace(loc, scale).

    Shape:
        (..., m) -> (..., k)
    """

    def __init__(
        self,
        m: int,
        k: int = 1,
        loc: float = 0.0,
        scale: float = 1.0,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        require_normalization: bool = True,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        params = {"loc": check_real(loc, "loc"), "scale": check_real(scale, "scale")}
        common = _common(simply_sampling, metric, with_replacement, log_prob, seed, eval_selection, preprocess,
                         postprocess)  # fmt: skip
        super().__init__(m, k, "laplace", params, require_normalization=require_normalization, **common)
