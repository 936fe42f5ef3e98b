"""Weighted sums and parameterised concatenations (fusions with fixed or learnable weights)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..base import Fusion
from ..errors import ConfigError
from ..functional.fusion import weighted_sum
from ..registry import build, child_path, register
from ..validation import check_int, check_real

__all__ = [
    "WeightedFusion",
    "ParameterizedWeightedFusion",
    "ParameterizedConcatenation",
    "LowRankParameterizedConcatenation",
    "HMParameterizedConcatenation",
    "LPHMParameterizedConcatenation",
    "DualLPHMParameterizedConcatenation",
    "RandomMatrixAdaptionParameterizedConcatenation",
]


@register("fusion", "weighted", aliases=["weighted_summation", "weighted_summation_fusion"])
class WeightedFusion(Fusion):
    """y = sum_i alpha_i x_i with fixed weights alpha (one per input); n = the common width.

    The weights live in a (non-persistent) buffer, so they follow the module's device and dtype
    (the reference system kept them as a CPU tensor); the config records them.

    Args:
        weights: k finite numbers; default all ones (the plain sum).

    Example:
        >>> import torch
        >>> WeightedFusion([2, 2], weights=[0.5, 2.0])([torch.ones(2), torch.ones(2)])
        tensor([2.5000, 2.5000])
    """

    def __init__(self, dims: Sequence[int], weights: Sequence[float] | None = None) -> None:
        super().__init__(dims)
        if weights is None:
            values = [1.0] * self.k
        else:
            if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
                raise ConfigError(f"weights must be a list of {self.k} numbers (one per input), got {weights!r}")
            values = list(weights)
            try:
                numbers = [check_real(v, path="") for v in values]
            except ConfigError:
                numbers = None
            if numbers is None or len(numbers) != self.k:
                raise ConfigError(
                    f"weights must be a list of {self.k} numbers (one per input), got {len(values)}: {weights!r}"
                )
            values = numbers
        self.weights = [float(v) for v in values]
        self.register_buffer("alpha", torch.tensor(self.weights), persistent=False)

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return weighted_sum(xs, self.alpha)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", weights={self.weights}"


@register(
    "fusion",
    "parameterized_weighted",
    aliases=["parameterized_weighted_summation", "parameterized_weighted_summation_fusion"],
)
class ParameterizedWeightedFusion(Fusion):
    """y = sum_i alpha_i x_i with learnable weights alpha in R^k (initialised to 1/k, the mean); l = k.

    alpha is a flat vector of length k. (The reference system's head supplied a (1, k) row, which
    that class rejected.)

    Example:
        >>> import torch
        >>> fusion = ParameterizedWeightedFusion([2, 2, 2])
        >>> fusion.l, fusion([torch.ones(2), torch.zeros(2), torch.full((2,), 2.0)])
        (3, tensor([1., 1.], grad_fn=<MvBackward0>))
    """

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__(dims)
        self.alpha = nn.Parameter(torch.empty(self.k))
        self.reset_parameters()

    @property
    def l(self) -> int:  # noqa: E743
        """Number of learnable numbers (k)."""
        return self.k

    def reset_parameters(self) -> None:
        nn.init.constant_(self.alpha, 1.0 / self.k)

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return weighted_sum(xs, self.alpha)


@register("fusion", "parameterized_concatenation", aliases=["parameterized_concatenation_fusion"])
class ParameterizedConcatenation(Fusion):
    """y = concat(x_1..x_k) @ W.T with W in R^{n x sum(dims)} given by a reconciliation (structured).

    Args:
        n: output width (default: dims[0] when all inputs are equally wide).
        reconciliation: spec of the reconciliation that holds W (default ``identity``; any
            registered reconciliation such as ``lowrank`` or ``dual_lphm`` works).
    """

    param_aliases = {"r": "rank"}

    def __init__(self, dims: Sequence[int], n: int | None = None, reconciliation: Any = "identity") -> None:
        dims = list(dims)
        if n is None:
            if len(set(dims)) != 1:
                raise ConfigError(f"parameterized_concatenation needs n when input widths differ (dims={dims})")
            n = dims[0]
        self.n = check_int(n, "n")
        super().__init__(dims)
        self.reconciliation = build(
            "reconciliation", reconciliation, path=child_path("reconciliation"), n=self.n, D=sum(self.dims)
        )

    @property
    def l(self) -> int:  # noqa: E743
        """Number of learnable numbers of W (the reconciliation's l)."""
        return self.reconciliation.l

    def weight(self) -> Tensor:
        """The materialised W (n x sum(dims)), for inspection and tests."""
        return self.reconciliation.weight()

    def fuse(self, xs: list[Tensor]) -> Tensor:
        return self.reconciliation(torch.cat(xs, dim=-1))

    def extra_repr(self) -> str:
        return f"dims={self.dims}, n={self.n}"

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["n"] = self.n
        return config


@register(
    "fusion",
    "lowrank_parameterized_concatenation",
    aliases=["lowrank_parameterized_concatenation_fusion", "lorr_parameterized_concatenation"],
)
class LowRankParameterizedConcatenation(ParameterizedConcatenation):
    """Parameterised concatenation whose W is ``lowrank``: W = A @ B.T; l = rank (n + sum(dims)).

    Args:
        n: output width (default: the common input width).
        rank: r.
    """

    def __init__(self, dims: Sequence[int], n: int | None = None, rank: int = 2) -> None:
        super().__init__(dims, n=n, reconciliation={"name": "lowrank", "rank": rank})


@register("fusion", "hm_parameterized_concatenation", aliases=["hm_parameterized_concatenation_fusion"])
class HMParameterizedConcatenation(ParameterizedConcatenation):
    """Parameterised concatenation whose W is ``hm``: W = A (x) B (true Kronecker product); l = pq + st.

    Args:
        n: output width (default: the common input width).
        p: rows of A, a divisor of n; q: columns of A, a divisor of sum(dims). Each defaults to the
            largest divisor at most the square root (the reference used q = p).
    """

    def __init__(self, dims: Sequence[int], n: int | None = None, p: int | None = None, q: int | None = None) -> None:
        super().__init__(dims, n=n, reconciliation={"name": "hm", "p": p, "q": q})


@register("fusion", "lphm_parameterized_concatenation", aliases=["lphm_parameterized_concatenation_fusion"])
class LPHMParameterizedConcatenation(ParameterizedConcatenation):
    """Parameterised concatenation whose W is ``lphm``: W = A (x) (S @ T.T); l = pq + r (s + t).

    Args:
        n: output width (default: the common input width).
        rank: r; p, q: the shape of A (divisors of n and sum(dims); default near their square roots).
    """

    def __init__(
        self, dims: Sequence[int], n: int | None = None, rank: int = 2, p: int | None = None, q: int | None = None
    ) -> None:
        super().__init__(dims, n=n, reconciliation={"name": "lphm", "rank": rank, "p": p, "q": q})


@register("fusion", "dual_lphm_parameterized_concatenation", aliases=["dual_lphm_parameterized_concatenation_fusion"])
class DualLPHMParameterizedConcatenation(ParameterizedConcatenation):
    """Parameterised concatenation whose W is ``dual_lphm``: W = (P @ Q.T) (x) (S @ T.T); l = r (p + q + s + t).

    Args:
        n: output width (default: the common input width).
        rank: r; p, q: the shape of the left factor (divisors of n and sum(dims)).
    """

    def __init__(
        self, dims: Sequence[int], n: int | None = None, rank: int = 2, p: int | None = None, q: int | None = None
    ) -> None:
        super().__init__(dims, n=n, reconciliation={"name": "dual_lphm", "rank": rank, "p": p, "q": q})


@register(
    "fusion",
    "random_matrix_adaption_parameterized_concatenation",
    aliases=["random_matrix_adaption_parameterized_concatenation_fusion"],
)
class RandomMatrixAdaptionParameterizedConcatenation(ParameterizedConcatenation):
    """Parameterised concatenation whose W is ``random_matrix_adaption``: diag(l1) A diag(l2) B.T; l = n + r.

    Args:
        n: output width (default: the common input width).
        rank: r; seed: seed of the frozen A and B (None: torch's global generator).
    """

    def __init__(self, dims: Sequence[int], n: int | None = None, rank: int = 2, seed: int | None = 0) -> None:
        super().__init__(dims, n=n, reconciliation={"name": "random_matrix_adaption", "rank": rank, "seed": seed})
