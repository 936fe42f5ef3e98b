"""Radial basis function expansions with fixed centres (a buffer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..base import Expansion
from ..errors import ConfigError
from ..registry import register
from ..validation import check_int

__all__ = ["GaussianRBF", "InverseQuadraticRBF"]


def _check_range(value: Sequence[float], name: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a pair [low, high], got {value!r}") from None
    if not low < high:
        raise ConfigError(f"{name} must have low < high, got {value!r}")
    return low, high


@register("expansion", "gaussian_rbf", aliases=["gaussian_rbf_expansion"])
class GaussianRBF(Expansion):
    """exp(-(epsilon (x_j - c_k))^2) for K centres c = linspace(low, high, K); feature-major, D = m*K.

    Args:
        base_range: (low, high) of the centres.
        num_interval: K, the number of centres.
        epsilon: shape parameter.
    """

    def __init__(
        self,
        m: int,
        base_range: Sequence[float] = (-1.0, 1.0),
        num_interval: int = 10,
        epsilon: float = 1.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.base_range = _check_range(base_range, "base_range")
        self.num_interval = check_int(num_interval, "num_interval")
        self.epsilon = float(epsilon)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("centers", torch.linspace(*self.base_range, self.num_interval))

    def output_dim(self, m: int) -> int:
        return m * self.num_interval

    def transform(self, x: Tensor) -> Tensor:
        # in-place steps on fresh temporaries only (each new (..., m, K) buffer costs more than the maths)
        diff = (x.unsqueeze(-1) - self.centers.to(x.dtype)).mul_(self.epsilon)
        return (diff * diff).neg_().exp_().flatten(-2)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", K={self.num_interval}, epsilon={self.epsilon}"


@register("expansion", "inverse_quadratic_rbf", aliases=["inverse_quadratic_rbf_expansion"])
class InverseQuadraticRBF(GaussianRBF):
    """1 / (1 + (epsilon (x_j - c_k))^2) for K centres c = linspace(low, high, K); feature-major, D = m*K.

    Column j*K + k holds the basis of centre k for feature j. The centres are a buffer.

    Args:
        base_range: (low, high) of the centres.
        num_interval: K, the number of centres.
        epsilon: shape parameter.

    Shape:
        (..., m) -> (..., m*K)
    """

    def transform(self, x: Tensor) -> Tensor:
        diff = (x.unsqueeze(-1) - self.centers.to(x.dtype)).mul_(self.epsilon)
        return (diff * diff).add_(1).reciprocal_().flatten(-2)
