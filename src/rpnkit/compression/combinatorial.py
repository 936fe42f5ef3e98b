"""Combinatorial compressions: sample k r-combinations of the features for each order r = 1..d."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from ..functional.compression_sampling import (
    apply_elementwise,
    combination_index,
    count_combinations,
    log_std_normal,
    squash,
)
from ..registry import register
from ..validation import check_bool, check_int
from ._base import CompressionBase
from .probabilistic import SamplingMixin, check_metric

__all__ = ["CombinatorialCompression", "CombinatorialProbabilisticCompression"]

#: The largest total number of candidate combinations (sum over r of C(m, r)) accepted.
MAX_COMBINATIONS = 2**25


@register("compression", "combinatorial", aliases=["combinatorial_compression"])
class CombinatorialCompression(SamplingMixin, CompressionBase):
    """For each order r = 1..d, keep k of the r-combinations of features, drawn with weights N_r(s_S; 0, I).

    s = metric(x), squashed to 0.99 sigmoid(s) + 0.001 when ``require_normalization``. For an
    r-subset S (lexicographic order, as ``torch.combinations``) the weight is proportional to
    N_r(s_S; 0, I_r) = (2 pi)^{-r/2} exp(-||s_S||^2 / 2); k subsets are drawn per row (see
    :class:`~rpnkit.compression.probabilistic.SamplingMixin` for training vs eval), sorted ascending.
    Blocks are r-major. Each picked subset contributes

    * its r raw values x_S (``simply_sampling``): D = k * d(d+1)/2;
    * its r values s_S (``simply_sampling=False``): D = k * d(d+1)/2;
    * log N_r(s_S; 0, I) (``log_prob=True``): D = d * k.

    The reference system looped over the batch with ``torch.combinations`` on the CPU, and reported
    D = d*k also when it returned the s tuples; here the r-combination index tables are buffers built
    once, the weights come from gathered sums of s^2 (memory O(b * C(m, r)), no (b, C, r) tensor), and
    the reference's single ``with_replacement`` flag is split into ``with_replacement`` (draw with
    replacement in training) and ``repetition`` (r-combinations with repeated features).

    Args:
        degree: d, the largest order r (1 <= d <= m unless ``repetition``; alias ``d``).
        k: number of combinations kept per order (at most the number of 1-combinations, m).
        simply_sampling: output raw x values.
        metric: optional elementwise map (abs, square, tanh) applied before normalising.
        with_replacement: in training, draw k i.i.d. combinations (repeats possible).
        repetition: candidates are multisets (``torch.combinations(..., with_replacement=True)``).
        require_normalization: squash s into (0.001, 0.991).
        log_prob: output log N_r of the picked normalised tuples (needs ``simply_sampling=False``).
        seed: seed of the training-mode generator and of the eval-mode fixed draw.
        eval_selection: ``fixed_draw`` or ``top_k``.

    Shape:
        (..., m) -> (..., D)

    Example:
        >>> import torch
        >>> kappa = CombinatorialCompression(4, degree=2, k=2).eval()
        >>> kappa(torch.randn(3, 4)).shape   # k*1 + k*2 values
        torch.Size([3, 6])
    """

    param_aliases = {"d": "degree"}

    def __init__(
        self,
        m: int,
        degree: int = 1,
        k: int = 1,
        simply_sampling: bool = True,
        metric: str | None = None,
        with_replacement: bool = False,
        repetition: bool = False,
        require_normalization: bool = True,
        log_prob: bool = False,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        m = check_int(m, "m")
        self.d = self.degree = check_int(degree, "degree")
        self.k = check_int(k, "k")
        self.repetition = check_bool(repetition, "repetition")
        if not self.repetition and self.d > m:
            raise ConfigError(f"degree must be an int in [1, m={m}] (without repetition), got {degree!r}")
        counts = [count_combinations(m, r, self.repetition) for r in range(1, self.d + 1)]
        if self.k > min(counts):
            raise ConfigError(f"k must be an int in [1, {min(counts)}] (the fewest r-combinations), got {k!r}")
        if sum(counts) > MAX_COMBINATIONS:
            raise ConfigError(
                f"degree={degree} gives {sum(counts):,} candidate combinations of m={m} features (more than "
                f"{MAX_COMBINATIONS:,}); lower degree"
            )
        self.simply_sampling = check_bool(simply_sampling, "simply_sampling")
        self.metric = check_metric(metric)
        self.require_normalization = check_bool(require_normalization, "require_normalization")
        self.log_prob = check_bool(log_prob, "log_prob")
        if self.log_prob and self.simply_sampling:
            raise ConfigError("log_prob=True needs simply_sampling=False (raw x values have no log-density here)")
        self.D = self.d * self.k if self.log_prob else self.k * self.d * (self.d + 1) // 2
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self._init_sampling(seed, eval_selection, with_replacement)
        for r in range(1, self.d + 1):
            self.register_buffer(f"combinations_{r}", combination_index(m, r, self.repetition), persistent=False)
            self.register_buffer(f"eval_noise_{r}", self._fixed_noise(counts[r - 1], stream=r))

    def transform(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.m)
        s = apply_elementwise(flat, self.metric)
        if self.require_normalization:
            s = squash(s)
        source = flat if self.simply_sampling else s
        # log N_r(s_S) = const_r - ||s_S||^2 / 2; the constant does not change the choice
        half_square = -0.5 * s.detach() ** 2
        blocks = []
        for r in range(1, self.d + 1):  # over the orders (d is small), never over the batch
            combos: Tensor = getattr(self, f"combinations_{r}")
            scores = half_square.index_select(-1, combos[:, 0])
            for t in range(1, r):
                scores.add_(half_square.index_select(-1, combos[:, t]))
            noise = getattr(self, f"eval_noise_{r}")
            picked = self._select(scores, self.k, noise, scratch=True, finite=True)
            features = combos[picked].reshape(picked.shape[0], self.k * r)  # (N, k*r)
            values = source.gather(-1, features)
            if self.log_prob:
                values = log_std_normal((values**2).reshape(-1, self.k, r).sum(-1), r)
            blocks.append(values)
        out = torch.cat(blocks, dim=-1) if len(blocks) > 1 else blocks[0]
        return out.reshape(*lead, self.D)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.d}, k={self.k}, seed={self.seed}"


@register("compression", "combinatorial_probabilistic", aliases=["combinatorial_probabilistic_compression"])
class CombinatorialProbabilisticCompression(CombinatorialCompression):
    """:class:`CombinatorialCompression` that outputs log N_r(s_S; 0, I) of the k picked r-subsets; D = d*k.

    Args:
        degree, k, metric, with_replacement, repetition, require_normalization, seed, eval_selection: as for
            :class:`CombinatorialCompression`.

    Shape:
        (..., m) -> (..., d*k)
    """

    def __init__(
        self,
        m: int,
        degree: int = 1,
        k: int = 1,
        metric: str | None = None,
        with_replacement: bool = False,
        repetition: bool = False,
        require_normalization: bool = True,
        seed: int = 0,
        eval_selection: str = "fixed_draw",
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        super().__init__(
            m, degree=degree, k=k, simply_sampling=False, metric=metric, with_replacement=with_replacement,
            repetition=repetition, require_normalization=require_normalization, log_prob=True, seed=seed,
            eval_selection=eval_selection, preprocess=preprocess, postprocess=postprocess,
        )  # fmt: skip
