"""Combinatorial expansions: the feature subsets of sizes 1..d, gathered through a precomputed index.

Subsets come in the lexicographic order of ``itertools.combinations`` (or
``combinations_with_replacement``), r-major: all 1-subsets, then all 2-subsets, and so on. The
index tables are non-persistent buffers built once in ``__init__`` (they follow from the config),
so ``forward`` is a single gather with no loop over the batch.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import Tensor

from ..base import Expansion
from ..errors import ConfigError
from ..functional.combinatorial import combination_count, combination_index, log_normal_subsets
from ..registry import register
from ..validation import check_int

__all__ = ["Combinatorial", "CombinatorialNormal"]


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def _warn_if_huge(name: str, D: int) -> None:
    if D > 10**7:
        warnings.warn(f"{name}: D = {D:,} features per sample; consider a lower degree", stacklevel=3)


@register("expansion", "combinatorial", aliases=["combinatorial_expansion"])
class Combinatorial(Expansion):
    """The r-combinations of the features for r = 1..d, each tuple's r values side by side.

    kappa(x) = [x_{S_1}, x_{S_2}, ...] over the r-subsets S (lexicographic, r-major), so
    D = sum_r r C(m, r), or sum_r r C(m + r - 1, r) with replacement (repeated features allowed).
    Example: m = 3, d = 2 gives [x0, x1, x2, x0, x1, x0, x2, x1, x2]. The reference returns a
    Python list of per-row tensors, ignores ``with_replacement`` and reports a D that ignores it;
    here the output is one tensor and D is exact.

    Args:
        degree: d, the largest subset size (>= 1).
        with_replacement: allow a feature to repeat inside a tuple.

    Shape:
        (..., m) -> (..., D)

    Example:
        >>> import torch
        >>> Combinatorial(3, degree=2)(torch.tensor([1.0, 2.0, 3.0]))
        tensor([1., 2., 3., 1., 2., 1., 3., 2., 3.])
    """

    param_aliases = {"d": "degree"}

    def __init__(
        self, m: int, degree: int = 2, with_replacement: bool = False, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        self.degree = check_int(degree, "degree")
        self.with_replacement = _check_bool(with_replacement, "with_replacement")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        _warn_if_huge("combinatorial", self.D)
        index = torch.cat(
            [combination_index(self.m, r, self.with_replacement).reshape(-1) for r in range(1, self.degree + 1)]
        )
        self.register_buffer("index", index, persistent=False)

    def output_dim(self, m: int) -> int:
        return sum(r * combination_count(m, r, self.with_replacement) for r in range(1, self.degree + 1))

    def transform(self, x: Tensor) -> Tensor:
        return x.index_select(-1, self.index)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.degree}, with_replacement={self.with_replacement}"


@register("expansion", "combinatorial_normal", aliases=["combinatorial_normal_expansion"])
class CombinatorialNormal(Expansion):
    """log N_r(x_S; 0, I_r) = -(r/2) log(2 pi) - |x_S|^2 / 2 for every r-subset S, r = 1..d.

    One column per subset, r-major and lexicographic within r: D = sum_r C(m, r), or
    sum_r C(m + r - 1, r) with replacement (a repeated feature counts once per repetition in
    |x_S|^2). Computed as one gather of x^2 through a (D, d) index table padded with a pointer to
    a zero column (the reference loops over the batch, on the CPU, and breaks with replacement).

    Args:
        degree: d, the largest subset size (>= 1).
        with_replacement: allow a feature to repeat inside a subset.

    Shape:
        (..., m) -> (..., D)
    """

    finite_domain = (
        "a normal log-density -|x_S|^2 / 2: finite while |x_S| < sqrt(2 * dtype max) (float32: about 2.6e19)"
    )

    param_aliases = {"d": "degree"}

    def __init__(
        self, m: int, degree: int = 1, with_replacement: bool = False, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        self.degree = check_int(degree, "degree")
        self.with_replacement = _check_bool(with_replacement, "with_replacement")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        _warn_if_huge("combinatorial_normal", self.D)
        rows, offsets = [], []
        for r in range(1, self.degree + 1):
            block = combination_index(self.m, r, self.with_replacement)
            rows.append(torch.nn.functional.pad(block, (0, self.degree - r), value=self.m))
            offsets.append(torch.full((block.shape[0],), -0.5 * r * math.log(2 * math.pi), dtype=torch.float64))
        self.register_buffer("index", torch.cat(rows).T.contiguous().T, persistent=False)  # columns contiguous
        self.register_buffer("offset", torch.cat(offsets), persistent=False)

    def output_dim(self, m: int) -> int:
        return sum(combination_count(m, r, self.with_replacement) for r in range(1, self.degree + 1))

    def transform(self, x: Tensor) -> Tensor:
        return log_normal_subsets(x, self.index, self.offset)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.degree}, with_replacement={self.with_replacement}"
