"""RPN 2 bilinear head: multi-head self-attention over the tokens of one sample, as an RPN head.

Each row of the input is one sequence of L tokens of width d, token-major: x in R^{L d} viewed as
X in R^{L x d} (``x.reshape(b, L, d)``). With projections held by reconciliations (psi_q, psi_k, psi_v
and psi_o)::

    A = softmax(X W_q W_k^T X^T / sqrt(d_head))        (the bilinear interdependence xi(X), per head)
    g(x) = concat_heads(A X W_v) W_o^T  (+ pi(x))       -> (L, d_out), flattened

i.e. the instance interdependence A = X W X^T of RPN 2 with W = W_q W_k^T, a row softmax and the
1/sqrt(d_head) scaling, computed by ``F.scaled_dot_product_attention``. Unlike the reference's
``bilinear_interdependence_head``, which mixed the rows of a batch (so outputs depended on the
batch's composition and the batch size was fixed), attention runs among the tokens of each sample
only.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from ..base import Reconciliation, Remainder
from ..component import check_last_dim
from ..errors import ConfigError
from ..processing import build_processing
from ..registry import register
from ..validation import check_bool, check_fraction, check_int, child_path
from ._build import child
from ._rpn2 import RPN2Head, checked_n, length_width_mismatch, token_args

__all__ = ["BilinearHead"]


@register("head", "bilinear", aliases=["bilinear_interdependence_head", "attention"])
class BilinearHead(RPN2Head):
    """Multi-head scaled dot-product self-attention over the L tokens of every sample.

    Args:
        m: input width L * d (token-major: token t is features t*d .. t*d + d - 1).
        n: output width L * d_out; computed when None, checked when given.
        length: L, the number of tokens (give ``length`` or ``width``; the other follows from m).
        width: d, the token width.
        heads: number of attention heads H (divides ``dim``).
        dim: width of the queries, keys and values, H * d_head; default d.
        out_width: d_out, the width of each output token; default d.
        query, key, value: reconciliation specs of W_q, W_k, W_v (each built with n=dim, D=d); default
            ``"identity"`` (a dense matrix; add ``{"name": "identity", "bias": true}`` for a bias, or
            use ``lowrank``, ``hm``, ... for structured projections).
        output: reconciliation spec of W_o (n=d_out, D=dim); default ``"identity"``.
        causal: token t attends to tokens <= t only.
        dropout: dropout on the attention weights while training.
        remainder: pi spec built with (m, n): ``"zero"`` (default) or ``"identity"`` (the residual
            connection, when d_out = d).
        input_processing, output_processing: processing specs on x (width m) and on the output (width n).

    Attributes:
        length, width, heads, dim, head_width, out_width, l (learnable numbers of the projections).

    Shape:
        (..., L d) -> (..., L d_out)

    Example:
        >>> import torch
        >>> head = BilinearHead(6 * 8, length=6, heads=2, out_width=4)
        >>> head.n, head(torch.randn(3, 48)).shape
        (24, torch.Size([3, 24]))
    """

    child_keys = ("query", "key", "value", "output", "remainder")

    def __init__(
        self,
        m: int,
        n: int | None = None,
        length: int | None = None,
        width: int | None = None,
        heads: int = 1,
        dim: int | None = None,
        out_width: int | None = None,
        query: Any = "identity",
        key: Any = "identity",
        value: Any = "identity",
        output: Any = "identity",
        causal: bool = False,
        dropout: float = 0.0,
        remainder: Any = "zero",
        input_processing: Any = None,
        output_processing: Any = None,
    ) -> None:
        super().__init__()
        self.m, length, width = token_args(m, length, width)
        if length is not None and width is not None and length * width != self.m:
            raise length_width_mismatch(self.m, length, width)
        given, name = (length, "length") if length is not None else (width, "width")
        if self.m % given:
            raise ConfigError(f"{name}={given} must divide m={self.m} (m = length * width)", child_path(name))
        self.length = length if length is not None else self.m // width
        self.width = width if width is not None else self.m // length
        self.heads = check_int(heads, "heads")
        self.dim = check_int(self.width if dim is None else dim, "dim")
        if self.dim % self.heads:
            raise ConfigError(f"heads={self.heads} must divide dim={self.dim}", child_path("heads"))
        self.head_width = self.dim // self.heads
        self.out_width = check_int(self.width if out_width is None else out_width, "out_width")
        formula = f"length * out_width = {self.length} * {self.out_width}"
        self.n = checked_n(n, self.length * self.out_width, formula)
        self.causal = check_bool(causal, "causal")
        self.dropout = check_fraction(dropout, "dropout")
        self.input_processing = build_processing(input_processing, self.m, "input_processing")
        for key_name, spec in (("query", query), ("key", key), ("value", value)):
            rec = child("reconciliation", spec, key_name, Reconciliation, "a Reconciliation", n=self.dim, D=self.width)
            setattr(self, key_name, rec)
        self.output = child(
            "reconciliation", output, "output", Reconciliation, "a Reconciliation", n=self.out_width, D=self.dim
        )
        self.remainder = child("remainder", remainder, "remainder", Remainder, "a Remainder", m=self.m, n=self.n)
        self.output_processing = build_processing(output_processing, self.n, "output_processing")

    @property
    def l(self) -> int:  # noqa: E743
        return sum(psi.l for psi in (self.query, self.key, self.value, self.output))

    def _split(self, t: Tensor) -> Tensor:
        """(B, L, H d_head) -> (B, H, L, d_head)."""
        return t.unflatten(-1, (self.heads, self.head_width)).transpose(1, 2)

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "bilinear head")
        if self.input_processing is not None:
            x = self.input_processing(x)
        lead = x.shape[:-1]
        X = x.reshape(-1, self.length, self.width)
        q, k, v = (self._split(psi(X)) for psi in (self.query, self.key, self.value))
        dropout = self.dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=self.causal)
        return self._finish(self.output(a.transpose(1, 2).flatten(-2)).reshape(*lead, self.n), x)

    def extra_repr(self) -> str:
        return (
            f"m={self.m}, n={self.n}, length={self.length}, width={self.width}, heads={self.heads}, "
            f"dim={self.dim}, out_width={self.out_width}, causal={self.causal}, l={self.l}"
        )
