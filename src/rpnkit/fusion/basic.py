"""Elementwise (metric) fusions and concatenation: no learnable parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from ..base import Fusion
from ..errors import ConfigError
from ..functional.fusion import FUSION_METRICS, fuse_metric
from ..registry import register
from ..validation import check_choice

__all__ = [
    "ElementwiseFusion",
    "MetricFusion",
    "MeanFusion",
    "SumFusion",
    "MaxFusion",
    "MinFusion",
    "ProdFusion",
    "MedianFusion",
    "L1NormFusion",
    "L2NormFusion",
    "Concatenation",
]


class ElementwiseFusion(Fusion):
    """Base of the metric fusions: reduce k equally wide inputs elementwise; n = the common width.

    Subclasses fix :attr:`metric` (a key of :data:`rpnkit.functional.fusion.FUSION_METRICS`).
    """

    metric: ClassVar[str]

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__(dims)

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return fuse_metric(xs, self.metric)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", metric={self.metric!r}"


@register("fusion", "metric", aliases=["metric_fusion"])
class MetricFusion(ElementwiseFusion):
    """Elementwise ``metric`` over the k inputs, chosen by name.

    Args:
        metric: one of mean, sum, max, min, prod, median, l1_norm, l2_norm.

    Example:
        >>> import torch
        >>> MetricFusion([2, 2], metric="min")([torch.tensor([1.0, 5.0]), torch.tensor([3.0, 2.0])])
        tensor([1., 2.])
    """

    metric = "mean"

    def __init__(self, dims: Sequence[int], metric: str = "mean") -> None:
        check_choice(metric, "metric", sorted(FUSION_METRICS))
        super().__init__(dims)
        self.metric = metric


@register("fusion", "mean", aliases=["average", "average_fusion", "mean_fusion"])
class MeanFusion(ElementwiseFusion):
    """Elementwise mean of k equally wide inputs (the default channel and head fusion).

    The reference system has two classes behind these names (``average_fusion`` and the metric
    ``mean_fusion``, which shadows the other's alias); they compute the same thing, so all names
    lead here.
    """

    metric = "mean"


@register("fusion", "sum", aliases=["summation", "summation_fusion", "sum_fusion"])
class SumFusion(ElementwiseFusion):
    """Elementwise sum of k equally wide inputs."""

    metric = "sum"


@register("fusion", "max", aliases=["max_fusion"])
class MaxFusion(ElementwiseFusion):
    """Elementwise maximum of k equally wide inputs."""

    metric = "max"


@register("fusion", "min", aliases=["min_fusion"])
class MinFusion(ElementwiseFusion):
    """Elementwise minimum of k equally wide inputs."""

    metric = "min"


@register("fusion", "prod", aliases=["prod_fusion", "product"])
class ProdFusion(ElementwiseFusion):
    """Elementwise product of k equally wide inputs (the GAT-like head's fusion)."""

    metric = "prod"


@register("fusion", "median", aliases=["median_fusion"])
class MedianFusion(ElementwiseFusion):
    """Elementwise median of k equally wide inputs; the mean of the two middle values when k is even.

    (The reference system's ``torch.median`` returns the lower middle value for an even k.)
    """

    metric = "median"


@register("fusion", "l1_norm", aliases=["l1_norm_fusion"])
class L1NormFusion(ElementwiseFusion):
    """Elementwise L1 norm across the k inputs: sum_i |x_i|."""

    metric = "l1_norm"


@register("fusion", "l2_norm", aliases=["l2_norm_fusion"])
class L2NormFusion(ElementwiseFusion):
    """Elementwise L2 norm across the k inputs: sqrt(sum_i x_i**2)."""

    metric = "l2_norm"


@register("fusion", "concatenation", aliases=["concat", "concatenation_fusion"])
class Concatenation(Fusion):
    """Concatenation along the last axis; n = sum(dims).

    In a layer or head with output width n, each of the k inputs gets width n / k.
    """

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__(dims)

    @classmethod
    def input_dim(cls, n: int, k: int) -> int:
        if n % k:
            raise ConfigError(f"concatenation of {k} inputs needs an output width divisible by {k}, got n={n}")
        return n // k

    def output_dim(self, dims: list[int]) -> int:
        return sum(dims)

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return torch.cat(xs, dim=-1)
