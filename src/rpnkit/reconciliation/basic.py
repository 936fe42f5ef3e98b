"""Dense, constant, masked and padded reconciliations."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Reconciliation
from ..errors import ConfigError
from ..functional.init import scaled_orthogonal_
from ..functional.reconciliation import block_diagonal_matvec, constant_matvec, eye_matvec, tiled_matvec
from ..implicit import Block, dense_product
from ..registry import register
from ..validation import check_factor

__all__ = [
    "IdentityReconciliation",
    "ConstantReconciliation",
    "ZeroReconciliation",
    "OneReconciliation",
    "ConstantEyeReconciliation",
    "Masking",
    "DuplicatedPadding",
    "DuplicatedDiagonalPadding",
]


def seeded_generator(seed: int | None) -> torch.Generator | None:
    """A CPU generator seeded with ``seed``, or None (torch's global generator) when seed is None."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an int or null, got {seed!r}")
    return torch.Generator().manual_seed(seed)


@register("reconciliation", "identity", aliases=["identity_reconciliation"])
class IdentityReconciliation(Reconciliation):
    """W = reshape(w, (n, D)): a dense weight, l = n*D (the plain linear layer).

    Example:
        >>> import torch
        >>> psi = IdentityReconciliation(3, 5)
        >>> psi.l, psi(torch.ones(2, 5)).shape
        (15, torch.Size([2, 3]))
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(self, n: int, D: int, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.W = nn.Parameter(torch.empty(self.n, self.D))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.normal_(self.W, std=self._std())

    def weight(self) -> Tensor:
        return self.W

    def product(self, z: Tensor) -> Tensor:
        return F.linear(z, self.W)

    def supports_layout(self, layout: list[Block]) -> bool:
        return True

    def contract(self, layout: list[Block], bases: list[Tensor]) -> Tensor:
        return dense_product(self.W, layout, bases)


@register("reconciliation", "constant", aliases=["constant_reconciliation", "constant_c_reconciliation"])
class ConstantReconciliation(Reconciliation):
    """W = c 1_{n x D}, a fixed matrix of equal entries; l = 0.

    Applied as ``c * z.sum(-1)`` repeated n times (W is never built). There is nothing to learn and
    no scale to initialise: for z with unit-variance independent entries each output has variance
    c**2 * D, so ``gain`` has no effect (stacks of these grow or vanish; use them as fixed probes).

    Args:
        c: the value of every entry of W.

    Example:
        >>> import torch
        >>> ConstantReconciliation(2, 3, c=0.5)(torch.tensor([[1.0, 2.0, 3.0]]))
        tensor([[3., 3.]])
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(self, n: int, D: int, c: float = 1.0, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.c = float(c)
        # An empty buffer that follows .to(): weight() is built with the module's dtype and device.
        self.register_buffer("_like", torch.empty(0), persistent=False)
        self.reset_parameters()

    def weight(self) -> Tensor:
        return self._like.new_full((self.n, self.D), self.c)

    def product(self, z: Tensor) -> Tensor:
        return constant_matvec(z, self.c, self.n)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", c={self.c}"


@register("reconciliation", "zero", aliases=["zero_reconciliation"])
class ZeroReconciliation(ConstantReconciliation):
    """W = 0_{n x D}; l = 0. The output is zero (plus the bias, when there is one)."""

    def __init__(self, n: int, D: int, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, c=0.0, bias=bias, gain=gain)


@register("reconciliation", "one", aliases=["one_reconciliation"])
class OneReconciliation(ConstantReconciliation):
    """W = 1_{n x D}; l = 0. Every output is the sum of the row of z (variance D for unit inputs)."""

    def __init__(self, n: int, D: int, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, c=1.0, bias=bias, gain=gain)


@register("reconciliation", "constant_eye", aliases=["constant_eye_reconciliation", "eye_reconciliation"])
class ConstantEyeReconciliation(Reconciliation):
    """W = I_{n x D}, the rectangular identity (W[i, i] = 1, all else 0); l = 0.

    Applied as ``z[..., :n]`` when n <= D, or z padded with n - D zeros when n > D; no eye is built.
    It passes the first min(n, D) features unchanged (their scale is kept; ``gain`` has no effect).

    Example:
        >>> import torch
        >>> ConstantEyeReconciliation(2, 3)(torch.tensor([[1.0, 2.0, 3.0]]))
        tensor([[1., 2.]])
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(self, n: int, D: int, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.register_buffer("_like", torch.empty(0), persistent=False)
        self.reset_parameters()

    def weight(self) -> Tensor:
        return torch.eye(self.n, self.D, dtype=self._like.dtype, device=self._like.device)

    def product(self, z: Tensor) -> Tensor:
        return eye_matvec(z, self.n)


@register("reconciliation", "masking", aliases=["masking_reconciliation"])
class Masking(Reconciliation):
    """W = M * reshape(w, (n, D)) with a binary mask M (a seeded buffer); l = n*D.

    All n*D numbers are learnable (masked entries simply get no gradient), as in the reference
    system, whose documentation's p*n*D is wrong. Because M and w have the same size, the product
    forms ``M * w`` (n x D) and applies it: there is no cheaper structure to exploit.

    The entries of w are drawn with variance gain**2 / (p D), so the entries of the fabricated W have
    mean square gain**2 / D (variance preserving).

    Args:
        p: probability that an entry of W is *kept* (the reference system's meaning of p).
        fixed_mask: keep the stored mask for ever (True), or draw a fresh mask at every forward call
            in training mode (False, a DropConnect-like regulariser). Evaluation mode and
            :meth:`weight` always use the stored mask.
        seed: seed of the stored mask (the mask is saved with the model); None draws it from
            torch's global generator. With the default, equally shaped layers share one mask.
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(
        self,
        n: int,
        D: int,
        p: float = 0.5,
        fixed_mask: bool = True,
        seed: int | None = 0,
        bias: bool = False,
        gain: float = 1.0,
    ) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p <= 1.0:
            raise ConfigError(f"p (keep probability) must be in (0, 1], got {p!r}")
        self.p = float(p)
        self.fixed_mask = bool(fixed_mask)
        self.seed = seed
        generator = seeded_generator(seed)
        self.register_buffer("mask", (torch.rand(self.n, self.D, generator=generator) < self.p).float())
        self.W = nn.Parameter(torch.empty(self.n, self.D))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.normal_(self.W, std=self._std() / self.p**0.5)

    def _mask(self) -> Tensor:
        if self.fixed_mask or not self.training:
            return self.mask.to(self.W.dtype)
        return (torch.rand_like(self.W) < self.p).to(self.W.dtype)

    def weight(self) -> Tensor:
        return self.W * self.mask.to(self.W.dtype)

    def product(self, z: Tensor) -> Tensor:
        return F.linear(z, self.W * self._mask())

    def supports_layout(self, layout: list[Block]) -> bool:
        return True

    def contract(self, layout: list[Block], bases: list[Tensor]) -> Tensor:
        return dense_product(self.W * self._mask(), layout, bases)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}, fixed_mask={self.fixed_mask}"


class _Padding(Reconciliation):
    """W = M (x) B with a fixed p x q pattern M and one learned B in R^{s x t}, s = n/p, t = D/q; l = s*t."""

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(self, n: int, D: int, p: int = 2, q: int | None = None, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.p = check_factor(p, "p", self.n, "n")
        self.q = check_factor(p if q is None else q, "q", self.D, "D")
        self.s, self.t = self.n // self.p, self.D // self.q
        self.B = nn.Parameter(torch.empty(self.s, self.t))
        self.reset_parameters()

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}, q={self.q}"


@register("reconciliation", "duplicated_padding", aliases=["duplicated_padding_reconciliation"])
class DuplicatedPadding(_Padding):
    """W = 1_{p x q} (x) B with B in R^{s x t}, s = n/p, t = D/q: B tiled p x q times; l = s*t.

    Applied as: sum the q column blocks of z, multiply by B, repeat the result p times. (The reference
    system's einsum does not tile B; this is the documented intent, and equals ``torch.kron``.)

    B is drawn (semi-)orthogonal with entries of mean square gain**2 / D, the mean square of every
    entry of W (:func:`rpnkit.functional.init.scaled_orthogonal_`). Note that the p output blocks
    are copies of each other: a following layer with q > 1 sums correlated copies.

    Args:
        p: row repetitions (divides n).
        q: column repetitions (divides D); defaults to p.
    """

    def reset_parameters(self) -> None:
        super().reset_parameters()
        scaled_orthogonal_(self.B, self._std())

    def weight(self) -> Tensor:
        ones = torch.ones(self.p, self.q, dtype=self.B.dtype, device=self.B.device)
        return torch.kron(ones, self.B)

    def product(self, z: Tensor) -> Tensor:
        return tiled_matvec(z, self.B, self.p, self.q)


@register("reconciliation", "duplicated_diagonal_padding", aliases=["duplicated_diagonal_padding_reconciliation"])
class DuplicatedDiagonalPadding(_Padding):
    """W = I_{p x q} (x) B with B in R^{s x t}, s = n/p, t = D/q: B repeated on the block diagonal; l = s*t.

    I_{p x q} is the rectangular identity, so W is a p x q grid of (s x t) blocks whose block (i, i)
    is B for i < min(p, q) and every other block is zero. With p == q this is the block-diagonal
    matrix diag(B, ..., B); with p > q the last (p - q) output blocks are zero; with p < q the last
    (q - p) input blocks are ignored. Applied per block (``B @ z_i``), never materialised.

    Difference from the reference system: there W = I_n (x) w (one row vector w of length D/n per
    output) and only p = q = n works; that is the special case p = q = n here (s = 1). Here any p
    dividing n and q dividing D are accepted.

    B is drawn (semi-)orthogonal with entries of mean square gain**2 / t (t is the fan-in of each
    non-zero row of W), so each output on the diagonal keeps the input's scale, W is gain times an
    orthogonal matrix when p == q and s == t, and the entries of W have mean square gain**2 / D when
    p == q.

    Args:
        p: row blocks (divides n).
        q: column blocks (divides D); defaults to p.
    """

    def reset_parameters(self) -> None:
        super().reset_parameters()
        scaled_orthogonal_(self.B, self.gain / self.t**0.5)

    def weight(self) -> Tensor:
        eye = torch.eye(self.p, self.q, dtype=self.B.dtype, device=self.B.device)
        return torch.kron(eye, self.B)

    def product(self, z: Tensor) -> Tensor:
        return block_diagonal_matvec(z, self.B, self.p, self.q)
