"""Kronecker-structured reconciliations: hm, lphm, dual_lphm.

W = A (x) B, a *true* Kronecker product (``torch.kron``): A in R^{p x q}, B in R^{s x t} with
s = n/p and t = D/q, so ``W[i*s + j, k*t + l] = A[i, k] B[j, l]``. It is applied to z through the
vec-trick (:func:`rpnkit.functional.kron_matvec`) and never materialised in forward.

Difference from the reference system: tinyBIG computes ``einsum('pq,st->psqt')`` on the flattened
(1, pq) and (1, st) parameter rows and reshapes, which yields a rearrangement of vec(A) vec(B)^T, not
A (x) B (its HM can collapse to rank 1). Weights trained there do not map one-to-one onto these.

Initialisation: the factors are drawn (semi-)orthogonal with their entries' mean squares set so
that W = A (x) B has entries of mean square gain**2 / D exactly (A: 1/q, B: gain**2/t). When both
factors are square and full rank, W is gain times an orthogonal matrix, so deep stacks keep their
scale; low-rank factors (lphm, dual_lphm) still lose energy when the rank is below the block size.
(The reference drew every factor from U[0, 1).)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..base import Reconciliation, check_rank
from ..functional.factors import close_factor
from ..functional.init import lowrank_pair_, scaled_orthogonal_
from ..functional.kronecker import kron_matvec, kron_weight
from ..registry import register
from .basic import check_factor

__all__ = ["Kronecker", "HM", "LPHM", "DualLPHM"]


class Kronecker(Reconciliation):
    """Shared machinery of the Kronecker family: factor shapes, checks, product and weight.

    Args:
        p: rows of A (divides n); default: the largest divisor of n that is <= sqrt(n).
        q: columns of A (divides D); default: the largest divisor of D that is <= sqrt(D).
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(
        self, n: int, D: int, p: int | None = None, q: int | None = None, bias: bool = False, gain: float = 1.0
    ) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.p = check_factor(close_factor(self.n) if p is None else p, "p", self.n, "n")
        self.q = check_factor(close_factor(self.D) if q is None else q, "q", self.D, "D")
        self.s, self.t = self.n // self.p, self.D // self.q

    def factors(self) -> tuple:
        """(A, B), each a matrix or a low-rank pair (U, V) meaning U @ V.T."""
        raise NotImplementedError

    def weight(self) -> Tensor:
        return kron_weight(*self.factors())

    def product(self, z: Tensor) -> Tensor:
        return kron_matvec(z, *self.factors())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}, q={self.q}, s={self.s}, t={self.t}"


@register("reconciliation", "hm", aliases=["hm_reconciliation"])
class HM(Kronecker):
    """Hypercomplex multiplication: W = A (x) B with dense A (p x q), B (s x t); l = pq + st."""

    def __init__(
        self, n: int, D: int, p: int | None = None, q: int | None = None, bias: bool = False, gain: float = 1.0
    ) -> None:
        super().__init__(n, D, p=p, q=q, bias=bias, gain=gain)
        self.A = nn.Parameter(torch.empty(self.p, self.q))
        self.B = nn.Parameter(torch.empty(self.s, self.t))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        scaled_orthogonal_(self.A, self.q**-0.5)
        scaled_orthogonal_(self.B, self.gain * self.t**-0.5)

    def factors(self) -> tuple:
        return self.A, self.B


@register("reconciliation", "lphm", aliases=["lphm_reconciliation"])
class LPHM(Kronecker):
    """Low-rank parameterised HM: W = A (x) (S @ T.T), A (p x q) dense, S (s x r), T (t x r).

    l = pq + r (s + t).
    """

    def __init__(
        self,
        n: int,
        D: int,
        rank: int = 2,
        p: int | None = None,
        q: int | None = None,
        bias: bool = False,
        gain: float = 1.0,
    ) -> None:
        super().__init__(n, D, p=p, q=q, bias=bias, gain=gain)
        self.rank = check_rank(rank, {"s": self.s, "t": self.t})
        self.A = nn.Parameter(torch.empty(self.p, self.q))
        self.S = nn.Parameter(torch.empty(self.s, self.rank))
        self.T = nn.Parameter(torch.empty(self.t, self.rank))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        scaled_orthogonal_(self.A, self.q**-0.5)
        lowrank_pair_(self.S, self.T, self.gain * self.t**-0.5)

    def factors(self) -> tuple:
        return self.A, (self.S, self.T)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", rank={self.rank}"


@register("reconciliation", "dual_lphm", aliases=["dual_lphm_reconciliation"])
class DualLPHM(Kronecker):
    """Dual low-rank HM: W = (P @ Q.T) (x) (S @ T.T); P (p x r), Q (q x r), S (s x r), T (t x r).

    l = r (p + q + s + t). Example: n = 64, D = 615,440 (taylor degree 2 of 784 inputs), p = 8,
    q = 784, rank 5 gives l = 5 (8 + 784 + 8 + 785) = 7,925 numbers for a 39-million-entry W.
    """

    def __init__(
        self,
        n: int,
        D: int,
        rank: int = 2,
        p: int | None = None,
        q: int | None = None,
        bias: bool = False,
        gain: float = 1.0,
    ) -> None:
        super().__init__(n, D, p=p, q=q, bias=bias, gain=gain)
        self.rank = check_rank(rank, {"s": self.s, "t": self.t})
        self.P = nn.Parameter(torch.empty(self.p, self.rank))
        self.Q = nn.Parameter(torch.empty(self.q, self.rank))
        self.S = nn.Parameter(torch.empty(self.s, self.rank))
        self.T = nn.Parameter(torch.empty(self.t, self.rank))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        lowrank_pair_(self.P, self.Q, self.q**-0.5)
        lowrank_pair_(self.S, self.T, self.gain * self.t**-0.5)

    def factors(self) -> tuple:
        return (self.P, self.Q), (self.S, self.T)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", rank={self.rank}"
