"""Reconciliations built on frozen random matrices: random matrix adaption and hypernetworks.

All random matrices are buffers drawn in ``__init__`` from a ``torch.Generator`` seeded with
``seed`` (None: torch's global generator), so they are saved with the model and follow ``.to()``.
The reference system drew them lazily as plain tensors, so a reloaded model got different ones.
The default ``seed=0`` gives every layer of a model the *same* frozen matrices (as VeRA shares one
pair across layers); give layers different seeds, or ``seed: null``, for independent draws.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Reconciliation, check_rank, positive_int
from ..functional.reconciliation import scaled_lowrank_matvec
from ..registry import register
from .basic import seeded_generator

__all__ = ["RandomMatrixAdaption", "RandomMatrixHypernet", "Hypernet"]

#: E[sigmoid(g)**2] for g ~ N(0, 1), used to scale hypernetwork outputs at initialisation.
SIGMOID_SECOND_MOMENT = 0.2933790358580929


@register("reconciliation", "random_matrix_adaption", aliases=["random_matrix_adaption_reconciliation"])
class RandomMatrixAdaption(Reconciliation):
    """VeRA-like W = diag(lambda1) A diag(lambda2) B.T; only lambda1 (n) and lambda2 (r) learn: l = n + r.

    A in R^{n x r} and B in R^{D x r} are frozen N(0, 1) buffers. Applied as
    ``((z @ B) * lambda2) @ A.T * lambda1``, O(r (n + D)) per row; W is never built in forward.

    Initialisation: lambda1 = 1 and lambda2 = gain / sqrt(r D), so the entries of the fabricated W
    have variance r * lambda2**2 = gain**2 / D over the draw of A and B.

    Args:
        rank: r, the inner width of the frozen factors.
        seed: seed of A and B (None: torch's global generator).

    Example:
        >>> psi = RandomMatrixAdaption(4, 10, rank=3)
        >>> psi.l
        7
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(
        self, n: int, D: int, rank: int = 2, seed: int | None = 0, bias: bool = False, gain: float = 1.0
    ) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.rank = check_rank(rank, {"n": self.n, "D": self.D})
        self.seed = seed
        generator = seeded_generator(seed)
        self.register_buffer("A", torch.randn(self.n, self.rank, generator=generator))
        self.register_buffer("B", torch.randn(self.D, self.rank, generator=generator))
        self.lambda1 = nn.Parameter(torch.empty(self.n))
        self.lambda2 = nn.Parameter(torch.empty(self.rank))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.ones_(self.lambda1)
        nn.init.constant_(self.lambda2, self.gain / math.sqrt(self.rank * self.D))

    def weight(self) -> Tensor:
        return (self.lambda1[:, None] * self.A * self.lambda2) @ self.B.T

    def product(self, z: Tensor) -> Tensor:
        return scaled_lowrank_matvec(z, self.A, self.B, self.lambda1, self.lambda2)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", rank={self.rank}"


@register("reconciliation", "random_matrix_hypernet", aliases=["random_matrix_hypernet_reconciliation"])
class RandomMatrixHypernet(Reconciliation):
    """W = scale * reshape(sigmoid(w P Q.T) S T.T, (n, D)) with frozen random P, Q, S, T; l learnable numbers.

    w in R^l is the only learnable tensor. P (l x r), Q (h x r), S (h x r) and T (nD x r) are frozen
    buffers; ``scale`` is a fixed buffer set by :meth:`reset_parameters`.

    Differences from the reference system (where P, Q, S, T are N(0, 1) and unscaled): P, Q and S
    are drawn with fan-in variances (1/l, 1/r, 1/h) so that the sigmoid's inputs are about N(0, 1)
    instead of saturating at std sqrt(l r); T stays N(0, 1); and ``scale = gain / (sqrt(D) |u0|)``,
    with u0 = sigmoid(w P Q.T) S at initialisation, makes the entries of the initial W exactly
    N(0, gain**2 / D) over the draw of T.

    Cost: the product forms W = T u (u = sigmoid(w P Q.T) S in R^r) and then z @ W.T, i.e.
    O(n D r + b n D). Avoiding W (``einsum`` of z with T viewed as (n, D, r)) would cost O(b n D r),
    r times more, and W is r times smaller than the buffer T it is built from, so materialising it
    is the cheaper order in time and memory.

    Args:
        l: length of the learnable vector w (the number of learnable numbers).
        hidden_dim: h, the width of the hidden code sigmoid(w P Q.T).
        rank: r, the inner width of the frozen factorisations.
        seed: seed of P, Q, S, T (None: torch's global generator).

    Example:
        >>> psi = RandomMatrixHypernet(4, 10, l=16)
        >>> psi.l, psi.weight().shape
        (16, torch.Size([4, 10]))
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(
        self,
        n: int,
        D: int,
        l: int = 64,
        hidden_dim: int = 128,
        rank: int = 2,
        seed: int | None = 0,
        bias: bool = False,
        gain: float = 1.0,
    ) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.latent_dim = positive_int(l, "l")
        self.hidden_dim = positive_int(hidden_dim, "hidden_dim")
        self.rank = positive_int(rank, "rank")
        self.seed = seed
        generator = seeded_generator(seed)
        h, r = self.hidden_dim, self.rank
        self.register_buffer("P", torch.randn(self.latent_dim, r, generator=generator) / math.sqrt(self.latent_dim))
        self.register_buffer("Q", torch.randn(h, r, generator=generator) / math.sqrt(r))
        self.register_buffer("S", torch.randn(h, r, generator=generator) / math.sqrt(h))
        self.register_buffer("T", torch.randn(self.n * self.D, r, generator=generator))
        self.register_buffer("scale", torch.ones(()))
        self.w = nn.Parameter(torch.empty(self.latent_dim))
        self.reset_parameters()

    def hidden(self) -> Tensor:
        """The hidden code sigmoid(w P Q.T) in R^h."""
        return torch.sigmoid((self.w @ self.P) @ self.Q.T)

    def code(self) -> Tensor:
        """u = sigmoid(w P Q.T) S in R^r: W is ``scale * reshape(T @ u, (n, D))``."""
        return self.hidden() @ self.S

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.normal_(self.w)
        with torch.no_grad():
            norm = self.code().norm().clamp_min(torch.finfo(self.w.dtype).tiny)
            self.scale.copy_(self.gain / (math.sqrt(self.D) * norm))

    def weight(self) -> Tensor:
        return (self.T @ (self.code() * self.scale)).reshape(self.n, self.D)

    def product(self, z: Tensor) -> Tensor:
        return F.linear(z, self.weight())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", hidden_dim={self.hidden_dim}, rank={self.rank}"


@register("reconciliation", "hypernet", aliases=["hypernet_reconciliation"])
class Hypernet(Reconciliation):
    """W = reshape(W2 sigmoid(W1 w + b1) + b2, (n, D)): a two-layer network maps w in R^l to W.

    The network Linear(l -> h), Sigmoid, Linear(h -> n D) is built in ``__init__``. With
    ``static=True`` (the reference system's default) its weights are frozen buffers drawn from
    ``seed`` and only w learns (l numbers); with ``static=False`` they are parameters too and
    ``l = l + h (l + 1) + n D (h + 1)``. (The reference built the network lazily in the first
    forward, so an optimizer created earlier never saw its parameters.)

    The network *outputs* W, so the product has to materialise it: the no-W rule of the structured
    reconciliations cannot apply here. Cost O(n D h + b n D) per forward, and the second layer
    alone holds n D h numbers.

    Initialisation (the reference used N(0, 1) everywhere, which gives huge W): w ~ N(0, 1),
    W1 ~ N(0, 1/l) so the sigmoid's inputs are about N(0, 1), b1 = b2 = 0, and
    W2 ~ N(0, gain**2 / (D h E[sigmoid(g)**2])), so the entries of W have variance about gain**2 / D.

    Args:
        l: length of the learnable input vector w.
        hidden_dim: h, the hidden width of the network.
        static: freeze the network (buffers) and learn only w.
        seed: seed of the frozen network when static (None: torch's global generator); a trainable
            network is drawn from torch's global generator by :meth:`reset_parameters`.

    Example:
        >>> Hypernet(4, 10, l=8, hidden_dim=16).l, Hypernet(4, 10, l=8, hidden_dim=16, static=False).l
        (8, 832)
    """

    param_aliases = {"r": "rank", "enable_bias": "bias"}

    def __init__(
        self,
        n: int,
        D: int,
        l: int = 64,
        hidden_dim: int = 128,
        static: bool = True,
        seed: int | None = 0,
        bias: bool = False,
        gain: float = 1.0,
    ) -> None:
        super().__init__(n, D, bias=bias, gain=gain)
        self.latent_dim = positive_int(l, "l")
        self.hidden_dim = positive_int(hidden_dim, "hidden_dim")
        self.static = bool(static)
        self.seed = seed
        shapes = {
            "hidden_weight": (self.hidden_dim, self.latent_dim),
            "hidden_bias": (self.hidden_dim,),
            "out_weight": (self.n * self.D, self.hidden_dim),
            "out_bias": (self.n * self.D,),
        }
        if self.static:
            generator = seeded_generator(seed)
            for name, shape in shapes.items():
                self.register_buffer(name, torch.zeros(shape))
            with torch.no_grad():
                self.hidden_weight.normal_(0.0, self._hidden_std(), generator=generator)
                self.out_weight.normal_(0.0, self._out_std(), generator=generator)
        else:
            for name, shape in shapes.items():
                setattr(self, name, nn.Parameter(torch.empty(shape)))
        self.w = nn.Parameter(torch.empty(self.latent_dim))
        self.reset_parameters()

    def _hidden_std(self) -> float:
        return 1.0 / math.sqrt(self.latent_dim)

    def _out_std(self) -> float:
        return self.gain / math.sqrt(self.D * self.hidden_dim * SIGMOID_SECOND_MOMENT)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.normal_(self.w)
        if not self.static:
            nn.init.normal_(self.hidden_weight, std=self._hidden_std())
            nn.init.zeros_(self.hidden_bias)
            nn.init.normal_(self.out_weight, std=self._out_std())
            nn.init.zeros_(self.out_bias)

    def hidden(self) -> Tensor:
        """The hidden activations sigmoid(W1 w + b1) in R^h."""
        return torch.sigmoid(F.linear(self.w, self.hidden_weight, self.hidden_bias))

    def weight(self) -> Tensor:
        return F.linear(self.hidden(), self.out_weight, self.out_bias).reshape(self.n, self.D)

    def product(self, z: Tensor) -> Tensor:
        return F.linear(z, self.weight())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", hidden_dim={self.hidden_dim}, static={self.static}"
