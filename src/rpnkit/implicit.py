"""Implicit paths: heads that never build kappa(x) or W.

The reference system builds the full expansion kappa(x) and the full weight W = psi(w) at every step.
For 784 inputs and a degree-2 Taylor expansion that is D = 615,440 features per sample. When the
expansion has *structure* and the reconciliation can use it, the head contracts each block of
features with its weights directly.

**Feature layout.** An expansion that supports implicit paths describes kappa(x) as a list of
:class:`Block` s, in column order:

* ``kind="power"``: the ordered tensor power ``u^{(x) degree}`` of a base vector u of width
  ``base_width`` (the Taylor layout: index ``j_1 m^{k-1} + ... + j_k``, j_1 most significant);
* ``kind="bspline"``: B-spline features of u, feature-major (column j K + k);
* ``kind="dense"``: features that are computed explicitly (any other expansion).

``bases(x)`` returns the base tensors the blocks refer to (``Block.base`` indexes that list).
Taylor of degree d is ``[power(u, 1), ..., power(u, d)]`` with u = x; an extended expansion
concatenates its children's blocks; a nested expansion ``kappa_2 o kappa_1`` takes kappa_2's blocks
with bases computed from kappa_1(x). Post-processing of kappa(x) breaks the structure, so such
expansions have no layout (the head then takes the explicit path).

**The protocol.** Both sides declare themselves (no central tables): an expansion implements
``implicit_layout()`` (its blocks, or None) and ``implicit_bases(x)`` (the base tensors, input already
pre-processed); a reconciliation implements ``supports_layout(layout)`` and ``contract(layout, bases)``
(psi applied to kappa(x) from the bases, without the bias). The defaults on
:class:`~rpnkit.base.Transformation` and :class:`~rpnkit.base.Reconciliation` say "no implicit path".
The functions below are the head's view of that protocol; the maths lives in
:mod:`rpnkit.functional.implicit`.

**Which pairs are implicit.** identity and masking (W split by blocks; a power block is
``power_contract``, cost O(n m^k) per sample but no (b, m^k) features), lowrank (B split by blocks:
O(r m^k)), and the blockwise Kronecker family (``blockwise_hm``, ``blockwise_lphm``,
``blockwise_dual_lphm``), which factor each power block as A_i (x) B_i with B_i acting on the last
tensor factor: ``W_i u^{(x) k} = (A_i u^{(x) k-1}) (x) (B_i u)`` -- for degree 2 the outer product
``(A u) (x) (B u)``, O((p + s) m) per sample. The plain ``hm``/``lphm``/``dual_lphm`` factor the flat D
columns, which does not align with the tensor-power structure, so they take the explicit
vec-trick path (kappa(x) built, W not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from .functional.implicit import bspline_linear, power_contract, power_contract_t, taylor_linear, taylor_linear_t

__all__ = [
    "Block",
    "layout_of",
    "bases_of",
    "supports",
    "worthwhile",
    "implicit_product",
    "dense_product",
    "transposed_product",
    "block_offsets",
]


@dataclass(frozen=True)
class Block:
    """A block of kappa(x)'s columns; see the module docstring.

    Attributes:
        width: number of columns.
        kind: ``"power"``, ``"bspline"`` or ``"dense"``.
        degree: tensor-power degree for ``"power"`` blocks (else 0).
        base: index of the block's base tensor in ``bases_of(expansion, x)``.
        base_width: width of that base tensor.
        module: the B-spline expansion of a ``"bspline"`` block (its grid and degree are read from it).
    """

    width: int
    kind: str = "dense"
    degree: int = 0
    base: int = 0
    base_width: int = 0
    module: Any = None


def layout_of(expansion: nn.Module) -> list[Block] | None:
    """The block layout of an expansion, or None if it has none (or post-processing hides it)."""
    if getattr(expansion, "postprocess", None) is not None:
        return None
    declare = getattr(expansion, "implicit_layout", None)
    return None if declare is None else declare()


def bases_of(expansion: nn.Module, x: Tensor) -> list[Tensor]:
    """The base tensors of the expansion's blocks for input x (its pre-processing applied)."""
    if getattr(expansion, "preprocess", None) is not None:
        x = expansion.preprocess(x)
    return expansion.implicit_bases(x)


def supports(reconciliation: nn.Module, layout: list[Block] | None) -> bool:
    """Whether the reconciliation can apply itself to this layout implicitly."""
    check = getattr(reconciliation, "supports_layout", None)
    return layout is not None and check is not None and bool(check(layout))


def worthwhile(layout: list[Block] | None) -> bool:
    """An implicit path pays off when some block is a tensor power of degree >= 2 or a B-spline."""
    return layout is not None and any((b.kind == "power" and b.degree >= 2) or b.kind == "bspline" for b in layout)


def implicit_product(reconciliation: nn.Module, layout: list[Block], bases: list[Tensor]) -> Tensor:
    """psi(kappa(x)) (with psi's bias) computed from the bases, never building kappa(x)."""
    y = reconciliation.contract(layout, bases)
    bias = getattr(reconciliation, "bias", None)
    return y if bias is None else y + bias


def block_offsets(layout: list[Block]) -> list[int]:
    offsets, start = [], 0
    for block in layout:
        offsets.append(start)
        start += block.width
    return offsets


def apply_block(weight: Tensor, block: Block, base: Tensor) -> Tensor:
    """``features_of_block(base) @ weight.T`` for a (rows, block.width) weight."""
    if block.kind == "power":
        return power_contract(weight, base, block.degree)
    if block.kind == "bspline":
        module = block.module
        return bspline_linear(base, module.grid_on(base), module.d, weight, recompute=module.recomputes(base))
    return F.linear(base, weight)


def _taylor_blocks(layout: list[Block]) -> list[tuple[int, int]] | None:
    """(start column, degree) of every block when all are powers of degree 1 or 2 of one base, else None.

    That is the layout of Taylor expansions of degree <= 2, which the custom autograd functions
    ``taylor_linear`` / ``taylor_linear_t`` handle in one piece (weight gradient written in place).
    """
    if all(b.kind == "power" and b.degree in (1, 2) and b.base == 0 for b in layout):
        return [(start, b.degree) for b, start in zip(layout, block_offsets(layout))]
    return None


def _flat_apply(fn: Callable, u: Tensor, weight: Tensor, blocks: list[tuple[int, int]], rows: int) -> Tensor:
    lead = u.shape[:-1]
    return fn(u.reshape(-1, u.shape[-1]), weight, blocks).reshape(*lead, rows)


def _sum_over_blocks(weight: Tensor, dim: int, layout: list[Block], bases: list[Tensor], apply: Callable) -> Tensor:
    """sum over blocks of ``apply(weight's part for the block, block, its base)``.

    The weight is cut with ``split`` (not slicing): its backward concatenates the blocks' gradients
    instead of zero-filling a full-size gradient per block.
    """
    out = None
    for block, part_w in zip(layout, weight.split([b.width for b in layout], dim=dim)):
        part = apply(part_w, block, bases[block.base])
        out = part if out is None else out + part
    return out


def _apply_transposed(part_w: Tensor, block: Block, base: Tensor) -> Tensor:
    if block.kind == "power":
        return power_contract_t(part_w, base, block.degree)
    return apply_block(part_w.T, block, base)


def transposed_product(weight_t: Tensor, layout: list[Block], bases: list[Tensor]) -> Tensor:
    """``kappa(x) @ weight_t`` for a (D, rows) weight (a low-rank factor), block by block, no copies."""
    blocks = _taylor_blocks(layout)
    if blocks is not None:
        return _flat_apply(taylor_linear_t, bases[0], weight_t, blocks, weight_t.shape[1])
    return _sum_over_blocks(weight_t, 0, layout, bases, _apply_transposed)


def dense_product(weight: Tensor, layout: list[Block], bases: list[Tensor]) -> Tensor:
    """``kappa(x) @ weight.T`` for a (rows, D) weight, block by block (Taylor <= 2 in one piece)."""
    blocks = _taylor_blocks(layout)
    if blocks is not None:
        return _flat_apply(taylor_linear, bases[0], weight, blocks, weight.shape[0])
    return _sum_over_blocks(weight, 1, layout, bases, apply_block)
