"""Elementwise reductions over k equally shaped tensors (the metric fusions) and weighted sums."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["FUSION_METRICS", "fuse_metric", "weighted_sum", "median"]


def median(stack: Tensor, dim: int = 0) -> Tensor:
    """The median along ``dim``: the middle value, or the mean of the two middle values for an even count.

    (``torch.median`` returns the lower of the two middle values instead.)

    Example:
        >>> median(torch.tensor([[1.0], [4.0], [2.0], [3.0]]))
        tensor([2.5000])
    """
    k = stack.shape[dim]
    ordered = stack.sort(dim=dim).values
    upper = ordered.select(dim, k // 2)
    if k % 2:
        return upper
    return (ordered.select(dim, k // 2 - 1) + upper) / 2


#: The reductions of the metric fusions, applied over the stack axis 0 of (k, ..., d).
FUSION_METRICS: dict[str, Callable[[Tensor], Tensor]] = {
    "mean": lambda s: s.mean(dim=0),
    "sum": lambda s: s.sum(dim=0),
    "max": lambda s: s.amax(dim=0),
    "min": lambda s: s.amin(dim=0),
    "prod": lambda s: s.prod(dim=0),
    "median": median,
    "l1_norm": lambda s: torch.linalg.vector_norm(s, ord=1, dim=0),
    "l2_norm": lambda s: torch.linalg.vector_norm(s, ord=2, dim=0),
}

# Metrics for which one input is returned unchanged.
_IDEMPOTENT = frozenset({"mean", "sum", "max", "min", "prod", "median"})


def fuse_metric(xs: Sequence[Tensor], metric: str) -> Tensor:
    """Reduce k tensors of equal shape elementwise with ``metric`` (a key of :data:`FUSION_METRICS`).

    Example:
        >>> xs = [torch.tensor([1.0, -2.0]), torch.tensor([3.0, 2.0])]
        >>> fuse_metric(xs, "max"), fuse_metric(xs, "l1_norm")
        (tensor([3., 2.]), tensor([4., 4.]))
    """
    try:
        reduce = FUSION_METRICS[metric]
    except KeyError:
        raise ValueError(f"metric must be one of {sorted(FUSION_METRICS)}, got {metric!r}") from None
    if len(xs) == 1 and metric in _IDEMPOTENT:
        return xs[0]
    return reduce(torch.stack(list(xs), dim=0))


def weighted_sum(xs: Sequence[Tensor], weights: Tensor) -> Tensor:
    """sum_i weights[i] * xs[i] for k tensors of equal shape and a weight vector of length k.

    Example:
        >>> weighted_sum([torch.ones(2), torch.full((2,), 2.0)], torch.tensor([0.5, 0.25]))
        tensor([1., 1.])
    """
    return torch.stack(list(xs), dim=-1) @ weights.to(xs[0].dtype)
