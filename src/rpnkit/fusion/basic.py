"""Elementwise fusions, concatenation and parameterised concatenation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..base import Fusion, positive_int
from ..errors import ConfigError
from ..registry import build, child_path, register

__all__ = ["MeanFusion", "SumFusion", "MaxFusion", "Concatenation", "ParameterizedConcatenation"]


@register("fusion", "mean", aliases=["average", "average_fusion", "mean_fusion"])
class MeanFusion(Fusion):
    """Elementwise mean of k equally wide inputs."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__(dims)

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return xs[0] if len(xs) == 1 else torch.stack(xs, dim=0).mean(dim=0)


@register("fusion", "sum", aliases=["summation", "summation_fusion", "sum_fusion"])
class SumFusion(Fusion):
    """Elementwise sum of k equally wide inputs."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__(dims)

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return xs[0] if len(xs) == 1 else torch.stack(xs, dim=0).sum(dim=0)


@register("fusion", "max", aliases=["max_fusion"])
class MaxFusion(Fusion):
    """Elementwise maximum of k equally wide inputs."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__(dims)

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return xs[0] if len(xs) == 1 else torch.stack(xs, dim=0).amax(dim=0)


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


@register("fusion", "parameterized_concatenation", aliases=["parameterized_concatenation_fusion"])
class ParameterizedConcatenation(Fusion):
    """y = concat(x_1..x_k) @ W.T with W in R^{n x sum(dims)} given by a reconciliation (structured).

    Args:
        n: output width (default: dims[0] when all inputs are equally wide).
        reconciliation: spec of the reconciliation that holds W (default ``identity``; any
            registered reconciliation such as ``lowrank`` or ``dual_lphm`` works).
    """

    def __init__(self, dims: Sequence[int], n: int | None = None, reconciliation: Any = "identity") -> None:
        dims = list(dims)
        if n is None:
            if len(set(dims)) != 1:
                raise ConfigError(f"parameterized_concatenation needs n when input widths differ (dims={dims})")
            n = dims[0]
        self.n = positive_int(n, "n")
        super().__init__(dims)
        self.reconciliation = build("reconciliation", reconciliation, path=child_path("reconciliation"), n=self.n, D=sum(self.dims))

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return self.reconciliation(torch.cat(xs, dim=-1))

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["n"] = self.n
        return config
