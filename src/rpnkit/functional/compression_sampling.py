"""Densities, squashing and index selection of the probabilistic (sampling) compressions.

Everything is torch maths on the input's device and dtype. Sampling k of n candidates without
replacement with probabilities proportional to ``exp(logw)`` is done with the Gumbel-top-k trick:
``topk(logw + g, k)`` with ``g_i = -log(E_i)``, ``E_i ~ Exp(1)`` i.i.d., which has exactly the law of
successive ``torch.multinomial(..., replacement=False)`` draws, without a loop and with a chosen
``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ..validation import check_choice, check_real, did_you_mean

__all__ = [
    "DISTRIBUTIONS",
    "POSITIVE_SUPPORT",
    "ELEMENTWISE_METRICS",
    "squash",
    "apply_elementwise",
    "log_density",
    "log_std_normal",
    "gumbel_noise",
    "select_indices",
    "combination_index",
    "count_combinations",
]

#: Distributions and their default parameters (the reference system's defaults).
DISTRIBUTIONS: dict[str, dict[str, float]] = {
    "uniform": {"low": 0.0, "high": 1.0},
    "normal": {"mean": 0.0, "std": 1.0},
    "cauchy": {"loc": 0.0, "scale": 1.0},
    "chi2": {"df": 1.0},
    "exponential": {"rate": 0.5},
    "gamma": {"concentration": 1.0, "rate": 1.0},
    "laplace": {"loc": 0.0, "scale": 1.0},
}

#: Distributions whose support is not the whole real line: their inputs must be squashed into (0, 1).
POSITIVE_SUPPORT = ("uniform", "chi2", "exponential", "gamma")

#: Parameters that must be > 0.
_POSITIVE_PARAMS = ("std", "scale", "df", "rate", "concentration")

#: Elementwise maps that may be applied before squashing (they keep the column positions).
ELEMENTWISE_METRICS = ("abs", "square", "tanh")

_LOG_2PI = math.log(2 * math.pi)

#: Log-weights below this are treated as "impossible" (finite, so top-k and softmax stay defined).
_FLOOR = -1e30


def check_distribution(dist: str, params: Mapping[str, Any] | None) -> dict[str, float]:
    """Merge ``params`` into the defaults of ``dist`` and validate them; raises ValueError (or its ConfigError)."""
    check_choice(dist, "dist", list(DISTRIBUTIONS), path="")
    merged = dict(DISTRIBUTIONS[dist])
    for key, value in (params or {}).items():
        if key not in merged:
            raise ValueError(
                f"unknown parameter {key!r} for the {dist} distribution{did_you_mean(key, merged)} "
                f"(valid: {sorted(merged)})"
            )
        merged[key] = check_real(value, f"{dist} parameter {key}", path="")
    for key in _POSITIVE_PARAMS:
        if key in merged:
            check_real(merged[key], f"{dist} parameter {key}", gt=0, path="")
    if dist == "uniform" and not merged["low"] < merged["high"]:
        raise ValueError(f"uniform needs low < high, got low={merged['low']!r}, high={merged['high']!r}")
    return merged


def squash(x: Tensor) -> Tensor:
    """s = 0.99 * sigmoid(x) + 0.001, which maps R into (0.001, 0.991)."""
    return 0.99 * torch.sigmoid(x) + 0.001


def apply_elementwise(x: Tensor, metric: str | None) -> Tensor:
    """An optional elementwise map of :data:`ELEMENTWISE_METRICS` (None: x unchanged)."""
    if metric is None:
        return x
    if metric == "abs":
        return x.abs()
    if metric == "square":
        return x * x
    if metric == "tanh":
        return torch.tanh(x)
    raise ValueError(f"metric must be None or one of {list(ELEMENTWISE_METRICS)}, got {metric!r}")


def log_density(dist: str, s: Tensor, params: Mapping[str, float]) -> Tensor:
    """log p(s) of a univariate distribution, elementwise, in s's dtype (-inf outside the support).

    Example:
        >>> import torch
        >>> log_density("normal", torch.tensor([0.0]), {"mean": 0.0, "std": 1.0})
        tensor([-0.9189])
    """
    if dist == "uniform":
        low, high = params["low"], params["high"]
        inside = (s >= low) & (s <= high)
        return torch.where(inside, torch.full_like(s, -math.log(high - low)), torch.full_like(s, -math.inf))
    if dist == "normal":
        z = (s - params["mean"]) / params["std"]
        return -0.5 * z * z - math.log(params["std"]) - 0.5 * _LOG_2PI
    if dist == "cauchy":
        z = (s - params["loc"]) / params["scale"]
        return -math.log(math.pi * params["scale"]) - torch.log1p(z * z)
    if dist == "laplace":
        return -math.log(2 * params["scale"]) - (s - params["loc"]).abs() / params["scale"]
    if dist == "exponential":
        rate = params["rate"]
        value = math.log(rate) - rate * s
        return torch.where(s >= 0, value, torch.full_like(s, -math.inf))
    if dist == "chi2":
        half = params["df"] / 2
        value = (half - 1) * _safe_log(s) - s / 2 - half * math.log(2.0) - math.lgamma(half)
        return torch.where(s > 0, value, torch.full_like(s, -math.inf))
    if dist == "gamma":
        alpha, beta = params["concentration"], params["rate"]
        value = alpha * math.log(beta) + (alpha - 1) * _safe_log(s) - beta * s - math.lgamma(alpha)
        return torch.where(s > 0, value, torch.full_like(s, -math.inf))
    raise ValueError(f"dist must be one of {list(DISTRIBUTIONS)}, got {dist!r}")


def _safe_log(s: Tensor) -> Tensor:
    # log of the positive part, so that the branch torch.where discards has no NaN gradient
    return torch.log(s.clamp(min=torch.finfo(s.dtype).tiny))


def log_std_normal(sum_sq: Tensor, r: int) -> Tensor:
    """log N_r(v; 0, I_r) from ||v||^2: -(r/2) log(2 pi) - ||v||^2 / 2."""
    return -0.5 * r * _LOG_2PI - 0.5 * sum_sq


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator, like: Tensor) -> Tensor:
    """Standard Gumbel noise of ``shape`` on like's device and dtype, drawn from ``generator``."""
    e = torch.empty(shape, device=like.device, dtype=like.dtype).exponential_(generator=generator)
    return -torch.log(e)


def select_indices(
    logw: Tensor,
    k: int,
    noise: Tensor | None,
    generator: torch.Generator | None = None,
    with_replacement: bool = False,
    stable: bool = False,
    scratch: bool = False,
    finite: bool = False,
) -> Tensor:
    """k column indices per row, sorted ascending; (N, n) log-weights -> (N, k) long.

    Args:
        logw: log-weights (any additive constant per row is irrelevant).
        k: number of indices.
        noise: Gumbel noise broadcastable to ``logw`` (None: deterministic top-k of ``logw``).
        generator: used with ``with_replacement`` to draw ``torch.multinomial`` samples.
        with_replacement: draw k i.i.d. categorical samples instead of a k-subset (``noise`` unused).
        stable: break ties of the top-k by the lower index (deterministic) via a stable sort.
        scratch: ``logw`` is the caller's temporary and may be overwritten (saves passes over large
            candidate sets).
        finite: ``logw`` has no -inf (skips the clamp that keeps impossible candidates finite).
    """
    logw = logw.detach()
    if not finite:
        logw = logw.clamp_(min=_FLOOR) if scratch else logw.clamp(min=_FLOOR)
    if with_replacement:
        probs = torch.softmax(logw, dim=-1)
        picked = torch.multinomial(probs, k, replacement=True, generator=generator)
    else:
        if noise is None:
            scores = logw
        else:
            scores = logw.add_(noise) if scratch else logw + noise
        if stable:
            picked = torch.sort(scores, dim=-1, descending=True, stable=True).indices[..., :k]
        else:
            picked = torch.topk(scores, k, dim=-1, sorted=False).indices
    return torch.sort(picked, dim=-1).values


def count_combinations(m: int, r: int, repetition: bool = False) -> int:
    """Number of r-combinations of m items: C(m, r), or C(m + r - 1, r) with repetition."""
    return math.comb(m + r - 1, r) if repetition else math.comb(m, r)


def combination_index(m: int, r: int, repetition: bool = False) -> Tensor:
    """All r-combinations of range(m) in lexicographic order (as ``torch.combinations``); (C, r) long.

    Example:
        >>> combination_index(3, 2).tolist()
        [[0, 1], [0, 2], [1, 2]]
    """
    items = torch.arange(m)
    if r == 1:
        return items.reshape(-1, 1)
    return torch.combinations(items, r=r, with_replacement=repetition)
