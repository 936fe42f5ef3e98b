"""Reductions over the feature dimension used by the metric compressions."""

from __future__ import annotations

from torch import Tensor

__all__ = ["FEATURE_METRICS", "reduce_features"]

#: Metrics a metric compression may reduce with.
FEATURE_METRICS = ("max", "min", "sum", "mean", "prod", "median")


def reduce_features(x: Tensor, metric: str) -> Tensor:
    """phi(x) over the last dimension, kept as a column: (..., m) -> (..., 1).

    ``median`` is the *lower* median (``torch.median``): for an even count m it returns the
    (m/2)-th smallest value, not the mean of the two middle values as ``numpy.median`` does.
    ``max``/``min`` split the gradient evenly between tied extremes (``amax``/``amin``).

    Example:
        >>> import torch
        >>> reduce_features(torch.tensor([[3.0, 1.0, 4.0, 2.0]]), "median")
        tensor([[2.]])
    """
    if metric == "max":
        return x.amax(dim=-1, keepdim=True)
    if metric == "min":
        return x.amin(dim=-1, keepdim=True)
    if metric == "sum":
        return x.sum(dim=-1, keepdim=True)
    if metric == "mean":
        return x.mean(dim=-1, keepdim=True)
    if metric == "prod":
        return x.prod(dim=-1, keepdim=True)
    if metric == "median":
        return x.median(dim=-1, keepdim=True).values
    raise ValueError(f"metric must be one of {list(FEATURE_METRICS)}, got {metric!r}")
