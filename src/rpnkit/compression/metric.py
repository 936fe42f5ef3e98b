"""Metric compressions: one statistic of all features, D = 1."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from ..functional.compression_metric import FEATURE_METRICS, reduce_features
from ..registry import register
from ..validation import check_choice
from ._base import CompressionBase

__all__ = [
    "MetricCompression",
    "MaxCompression",
    "MinCompression",
    "SumCompression",
    "MeanCompression",
    "ProdCompression",
    "MedianCompression",
]


@register("compression", "metric", aliases=["metric_compression"])
class MetricCompression(CompressionBase):
    """kappa(x) = [phi(x)] with phi a reduction over the m features; D = 1.

    ``median`` is the lower median (``torch.median``): for an even m it is the (m/2)-th smallest value,
    not the average of the two middle values. ``prod`` under- or overflows for large m. ``max``/``min``
    give tied extremes an equal share of the gradient.

    Args:
        metric: one of ``max``, ``min``, ``sum``, ``mean``, ``prod``, ``median``.

    Shape:
        (..., m) -> (..., 1)

    Example:
        >>> import torch
        >>> MetricCompression(3, metric="sum")(torch.tensor([[1.0, 2.0, 4.0]]))
        tensor([[7.]])
    """

    def __init__(self, m: int, metric: str = "mean", preprocess: Any = None, postprocess: Any = None) -> None:
        self.metric = check_choice(metric, "metric", FEATURE_METRICS)
        self.D = 1
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def transform(self, x: Tensor) -> Tensor:
        return reduce_features(x, self.metric)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", metric={self.metric!r}"


class _FixedMetric(MetricCompression):
    """A metric compression whose metric is fixed by the class (``METRIC``)."""

    METRIC: ClassVar[str]

    def __init__(self, m: int, preprocess: Any = None, postprocess: Any = None) -> None:
        super().__init__(m, metric=self.METRIC, preprocess=preprocess, postprocess=postprocess)


@register("compression", "max", aliases=["max_compression"])
class MaxCompression(_FixedMetric):
    """kappa(x) = [max_j x_j]; D = 1.

    Shape:
        (..., m) -> (..., 1)
    """

    METRIC = "max"


@register("compression", "min", aliases=["min_compression"])
class MinCompression(_FixedMetric):
    """kappa(x) = [min_j x_j]; D = 1.

    Shape:
        (..., m) -> (..., 1)
    """

    METRIC = "min"


@register("compression", "sum", aliases=["sum_compression"])
class SumCompression(_FixedMetric):
    """kappa(x) = [sum_j x_j]; D = 1.

    Shape:
        (..., m) -> (..., 1)
    """

    METRIC = "sum"


@register("compression", "mean", aliases=["mean_compression"])
class MeanCompression(_FixedMetric):
    """kappa(x) = [(1/m) sum_j x_j]; D = 1.

    Shape:
        (..., m) -> (..., 1)
    """

    METRIC = "mean"


@register("compression", "prod", aliases=["prod_compression"])
class ProdCompression(_FixedMetric):
    """kappa(x) = [prod_j x_j]; D = 1 (under- or overflows for large m).

    Shape:
        (..., m) -> (..., 1)
    """

    METRIC = "prod"


@register("compression", "median", aliases=["median_compression"])
class MedianCompression(_FixedMetric):
    """kappa(x) = [lower median of x]: the ceil(m/2)-th smallest value (``torch.median``); D = 1.

    For an even m this is *not* ``numpy.median`` (which averages the two middle values).

    Shape:
        (..., m) -> (..., 1)
    """

    METRIC = "median"
