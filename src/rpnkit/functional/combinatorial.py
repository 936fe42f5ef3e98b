"""Index tables for combinations of features, built once (vectorised) and applied with a gather.

The order is the lexicographic order of ``itertools.combinations`` (and of
``itertools.combinations_with_replacement``), which is also ``torch.combinations``' order.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["combination_count", "combination_index", "log_normal_subsets"]


def combination_count(m: int, r: int, with_replacement: bool = False) -> int:
    """C(m, r), or C(m + r - 1, r) with replacement: the number of r-subsets (multisets) of m features."""
    return math.comb(m + r - 1, r) if with_replacement else math.comb(m, r)


def combination_index(m: int, r: int, with_replacement: bool = False) -> Tensor:
    """All r-combinations of range(m) as a (C, r) int64 tensor, in lexicographic order."""
    if r > m and not with_replacement:
        return torch.empty(0, r, dtype=torch.long)
    if r == 1:
        return torch.arange(m).unsqueeze(-1)
    return torch.combinations(torch.arange(m), r, with_replacement=with_replacement)


def log_normal_subsets(x: Tensor, index: Tensor, offset: Tensor) -> Tensor:
    """log N_r(x_S; 0, I_r) for the subsets S in the rows of ``index``.

    Args:
        x: (..., m) input.
        index: (K, R) int64 rows of feature indices, padded with m (which points at an appended
            zero column) for subsets shorter than R.
        offset: (K,) the constant -(r/2) log(2 pi) of each row's subset size r.

    Shape:
        (..., m) -> (..., K)
    """
    sq = torch.nn.functional.pad(x.square(), (0, 1))
    # one gather per column of the table (a loop over the subset size, not the batch): summing
    # a (..., K, R) gather over its short last axis is several times slower.
    total = sq.index_select(-1, index[:, 0])
    for r in range(1, index.shape[1]):
        total = total + sq.index_select(-1, index[:, r])
    return torch.add(offset.to(x.dtype), total, alpha=-0.5)
