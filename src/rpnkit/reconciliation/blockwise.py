"""Blockwise Kronecker reconciliations: one Kronecker factorisation per block of the feature layout.

For an expansion whose features are blocks (see :mod:`rpnkit.implicit`), W = [W_1 | W_2 | ...] with
``W_i = A_i (x) B_i``. For a tensor-power block u^{(x) k} (width m^k), A_i has shape (p, m^{k-1}) and
B_i has shape (s, m), n = p s, so that

    W_i u^{(x) k} = (A_i u^{(x) k-1}) (x) (B_i u)            (for k = 2: the outer product (A u)(B u)^T)

and the head never builds the m^k features. Other blocks (B-spline, dense) use q_i = the largest
divisor of their width that is <= its square root, like the flat Kronecker family. Built outside a
head (no layout injected), the whole of D is one dense block and these equal hm / lphm / dual_lphm.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..base import Reconciliation, positive_int
from ..errors import ConfigError
from ..functional.factors import close_factor
from ..functional.implicit import power_contract
from ..functional.init import lowrank_pair_, scaled_orthogonal_
from ..functional.kronecker import kron_matvec, kron_weight
from ..implicit import Block, block_offsets
from ..registry import register
from .basic import check_factor

__all__ = ["BlockwiseKronecker", "BlockwiseHM", "BlockwiseLPHM", "BlockwiseDualLPHM", "SharedKernel"]


class BlockwiseKronecker(Reconciliation):
    """Shared machinery: block shapes (q_i, t_i), explicit and implicit products, weight().

    Args:
        p: rows of every A_i (divides n); default: the largest divisor of n that is <= sqrt(n).
        layout: the expansion's block layout (injected by the head; not part of the config).
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    factor_names: tuple[str, ...] = ()

    def __init__(
        self, n: int, D: int, p: int | None = None, layout: Any = None, bias: bool = False, gain: float = 1.0
    ) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.p = check_factor(close_factor(self.n) if p is None else p, "p", self.n, "n")
        self.s = self.n // self.p
        blocks = list(layout) if layout is not None else [Block(self.D)]
        if sum(b.width for b in blocks) != self.D:
            raise ConfigError(f"the layout's block widths add up to {sum(b.width for b in blocks)}, not D={self.D}")
        self.blocks = blocks
        self.shapes: list[tuple[int, int]] = []
        for block in blocks:
            if block.kind == "power":
                q, t = block.base_width ** (block.degree - 1), block.base_width
            else:
                q = close_factor(block.width)
                t = block.width // q
            self.shapes.append((q, t))
        for name in self.factor_names:
            setattr(self, name, nn.ParameterList())

    def _add(self, name: str, *shape: int) -> None:
        getattr(self, name).append(nn.Parameter(torch.empty(*shape)))

    def block_factors(self, i: int) -> tuple[Any, Any]:
        raise NotImplementedError

    def weight(self) -> Tensor:
        return torch.cat([kron_weight(*self.block_factors(i)) for i in range(len(self.blocks))], dim=1)

    def product(self, z: Tensor) -> Tensor:
        out = None
        for i, (block, start) in enumerate(zip(self.blocks, block_offsets(self.blocks))):
            part = kron_matvec(z[..., start : start + block.width], *self.block_factors(i))
            out = part if out is None else out + part
        return out

    def supports_layout(self, layout: list[Block]) -> bool:
        return [(b.width, b.kind, b.degree, b.base_width) for b in layout] == [
            (b.width, b.kind, b.degree, b.base_width) for b in self.blocks
        ]

    def contract(self, layout: list[Block], bases: list[Tensor]) -> Tensor:
        out = None
        for i, block in enumerate(layout):
            A, B = self.block_factors(i)
            u = bases[block.base]
            if block.kind == "power":
                if isinstance(A, tuple):
                    left = power_contract(A[1].T, u, block.degree - 1) @ A[0].T
                else:
                    left = power_contract(A, u, block.degree - 1)
                right = (u @ B[1]) @ B[0].T if isinstance(B, tuple) else u @ B.T
                part = (left.unsqueeze(-1) * right.unsqueeze(-2)).flatten(-2)
            else:
                feats = u if block.kind == "dense" else block.module.transform(u)
                part = kron_matvec(feats, A, B)
            out = part if out is None else out + part
        return out

    def _std_a(self, q: int) -> float:
        return q**-0.5

    def _std_b(self, q: int) -> float:
        return self.gain * (q / self.D) ** 0.5

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}, s={self.s}, blocks={self.shapes}"


@register("reconciliation", "blockwise_hm")
class BlockwiseHM(BlockwiseKronecker):
    """Blockwise hm: W_i = A_i (x) B_i with dense A_i (p x q_i), B_i (s x t_i); l = sum_i (p q_i + s t_i)."""

    factor_names = ("A", "B")

    def __init__(
        self, n: int, D: int, p: int | None = None, layout: Any = None, bias: bool = False, gain: float = 1.0
    ) -> None:
        super().__init__(n, D, p=p, layout=layout, bias=bias, gain=gain)
        for q, t in self.shapes:
            self._add("A", self.p, q)
            self._add("B", self.s, t)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for (q, _), A, B in zip(self.shapes, self.A, self.B):
            scaled_orthogonal_(A, self._std_a(q))
            scaled_orthogonal_(B, self._std_b(q))

    def block_factors(self, i: int) -> tuple[Any, Any]:
        return self.A[i], self.B[i]


@register("reconciliation", "blockwise_lphm")
class BlockwiseLPHM(BlockwiseKronecker):
    """Blockwise lphm: W_i = A_i (x) (S_i T_i^T); l = sum_i (p q_i + r (s + t_i))."""

    factor_names = ("A", "S", "T")

    def __init__(
        self,
        n: int,
        D: int,
        rank: int = 2,
        p: int | None = None,
        layout: Any = None,
        bias: bool = False,
        gain: float = 1.0,
    ) -> None:
        super().__init__(n, D, p=p, layout=layout, bias=bias, gain=gain)
        self.rank = positive_int(rank, "rank")
        for q, t in self.shapes:
            self._add("A", self.p, q)
            self._add("S", self.s, self.rank)
            self._add("T", t, self.rank)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for (q, _), A, S, T in zip(self.shapes, self.A, self.S, self.T):
            scaled_orthogonal_(A, self._std_a(q))
            lowrank_pair_(S, T, self._std_b(q))

    def block_factors(self, i: int) -> tuple[Any, Any]:
        return self.A[i], (self.S[i], self.T[i])


@register("reconciliation", "blockwise_dual_lphm")
class BlockwiseDualLPHM(BlockwiseKronecker):
    """Blockwise dual lphm: W_i = (P_i Q_i^T) (x) (S_i T_i^T); l = sum_i r (p + q_i + s + t_i).

    Example (MNIST-shaped first layer, taylor degree 2 on 784 inputs, n = 64, p = 8, rank 5): blocks
    (q, t) = (1, 784) and (784, 784), l = 5 (8 + 1 + 8 + 784) + 5 (8 + 784 + 8 + 784) = 11,925; the head
    computes (A u)(B u)^T instead of 615,440 features per sample.
    """

    factor_names = ("P", "Q", "S", "T")

    def __init__(
        self,
        n: int,
        D: int,
        rank: int = 2,
        p: int | None = None,
        layout: Any = None,
        bias: bool = False,
        gain: float = 1.0,
    ) -> None:
        super().__init__(n, D, p=p, layout=layout, bias=bias, gain=gain)
        self.rank = positive_int(rank, "rank")
        for q, t in self.shapes:
            self._add("P", self.p, self.rank)
            self._add("Q", q, self.rank)
            self._add("S", self.s, self.rank)
            self._add("T", t, self.rank)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for (q, _), P, Q, S, T in zip(self.shapes, self.P, self.Q, self.S, self.T):
            lowrank_pair_(P, Q, self._std_a(q))
            lowrank_pair_(S, T, self._std_b(q))

    def block_factors(self, i: int) -> tuple[Any, Any]:
        return (self.P[i], self.Q[i]), (self.S[i], self.T[i])


@register("reconciliation", "shared_kernel", aliases=["convolution_kernel"])
class SharedKernel(Reconciliation):
    """One kernel K shared by P positions: W = K (x) I_P, K in R^{(n/P) x (D/P)}; l = n D / P^2.

    With a geometric patch expansion, whose output column (c ps + k) P + p holds position k of
    channel c's patch around centre p, this is a convolution (the RPN 2 grid head): every patch is
    multiplied by the same (out channels x in channels * patch size) kernel. Applied as K @ Z with
    z viewed as Z in R^{(D/P) x P}; W is never built.

    Args:
        positions: P, the number of patches (divides n and D).
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(self, n: int, D: int, positions: int = 1, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.positions = positive_int(positions, "positions")
        check_factor(self.positions, "positions", self.n, "n")
        check_factor(self.positions, "positions", self.D, "D")
        self.K = nn.Parameter(torch.empty(self.n // self.positions, self.D // self.positions))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        scaled_orthogonal_(self.K, self.gain * (self.D // self.positions) ** -0.5)

    @property
    def l(self) -> int:  # noqa: E743
        return self.K.numel()

    def weight(self) -> Tensor:
        eye = torch.eye(self.positions, dtype=self.K.dtype, device=self.K.device)
        return torch.kron(self.K, eye)

    def product(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        Z = z.reshape(*lead, self.D // self.positions, self.positions)
        return (self.K @ Z).reshape(*lead, self.n)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", positions={self.positions}"
