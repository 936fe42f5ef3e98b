"""RPN 2 graph heads: GCN-like (a graph interdependence over the nodes) and GAT-like (graph-masked attention).

Full-graph (transductive) heads: the rows of the input are the N nodes of one graph, x in R^{N x m}
(with optional leading dimensions, (..., N, m)), and the graph reaches the head through an instance
interdependence of the graph family (``adjacency: data`` by default, filled by
:func:`rpnkit.interdependence.attach_graph` with the dataset's graph; an edge list or a file works too).

* :class:`GraphHead` (``graph``, GCN-like)::

      g(X) = M^T psi(kappa(X)) + b + pi(X)

  with M the graph interdependence matrix (default: ``normalization: symmetric`` with self loops on the
  undirected graph, i.e. GCN's D^-1/2 (A + I) D^-1/2), kappa any expansion (identity: X itself) and
  psi any reconciliation (identity: a dense W). Both M^T and psi are linear, so the head picks the
  cheaper order: psi first (GCNConv's ``A_hat (X W)``) when it narrows the width and psi learns, the
  mix first when the input needs no gradient (a first layer: the mix of the fixed X then has no
  backward product at all) or when psi widens. M is a sparse CSR matrix, never an (N, N) array (except
  for the interdependences whose maths is dense, the exact PageRank and inverses); its backward is a
  product with the cached CSR of M (torch's own backward transposes the sparse matrix on every call,
  about 3x the forward).
* :class:`GraphBilinearHead` (``graph_bilinear``, GAT-like): attention restricted to the graph's
  edges (the support of the graph interdependence's A, self loops included), a softmax over every
  node's in-neighbours and an output ``sum_j alpha_ij W x_j`` per attention head, concatenated or
  averaged. The scores are GAT's additive ``LeakyReLU(a_dst^T W x_i + a_src^T W x_j)`` or bilinear
  ``(W_q x_i)^T (W_k x_j) / sqrt(C)`` (the reference's graph mask times ``X^T W X``). Everything runs
  over the edge list (gathers and ``index_add_`` / ``scatter_reduce`` segment softmax): O(E) memory.

Corrected reference defects: the graph heads forced an init scheme and used the row normalisation only
(not the neighbour mean, not GCN's); the graph-bilinear head built the dense (N, N) product of the mask
and the bilinear scores.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Interdependence, Reconciliation, Remainder, Transformation
from ..component import check_last_dim
from ..errors import ConfigError, ShapeError
from ..functional.topology import csr_mix
from ..interdependence.topological import GraphInterdependence
from ..kappa import KAPPA_KINDS
from ..processing import build_processing
from ..registry import get_class, register
from ..validation import check_bool, check_choice, check_fraction, check_int, check_real, child_path
from ._build import child
from ._rpn2 import RPN2Head

__all__ = ["GraphHead", "GraphBilinearHead", "GCN_DEFAULTS", "csr_mix", "instance_spec"]

#: What the graph heads fill in for the keys an interdependence spec leaves out (where its class takes them).
GCN_DEFAULTS: dict[str, Any] = {
    "kind": "instance",
    "adjacency": "data",
    "directed": False,
    "self_dependence": True,
    "normalization": "symmetric",
}

#: The score functions of the graph-bilinear head.
SCORES = ("additive", "bilinear")


# ------------------------------------------------------------------------------------------ helpers


def instance_spec(spec: Any, key: str, default_name: str, defaults: dict[str, Any]) -> Any:
    """An interdependence spec with ``defaults`` filled in for the keys its class accepts and it omits.

    A string is a name, a dict without ``name`` gets ``default_name``; a built module is returned as is.
    """
    if spec is None or isinstance(spec, nn.Module):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    elif isinstance(spec, dict):
        spec = {"name": default_name, **spec}
    else:
        raise ConfigError(
            f"expected an interdependence spec (a name or a dict), got {type(spec).__name__} {spec!r}", child_path(key)
        )
    cls = get_class("interdependence", spec["name"], child_path(f"{key}.name"))
    accepted = inspect.signature(cls.__init__).parameters
    for name, value in defaults.items():
        if name in accepted:
            spec.setdefault(name, value)
    return spec


# ------------------------------------------------------------------------------------------ the heads


class _NodeHead(RPN2Head):
    """Shared parts of the node heads: processing, kappa, psi, bias, remainder and the instance mix."""

    #: the config key of the instance interdependence
    xi_key = "instance_interdependence"

    def _init_parts(
        self,
        m: Any,
        n: Any,
        expansion: Any,
        reconciliation: Any,
        psi_n: int | None,
        bias: Any,
        bias_n: int | None,
        remainder: Any,
        input_processing: Any,
        output_processing: Any,
        remainder_dims: tuple[int, int] | None = None,
    ) -> None:
        self.m = check_int(m, "m")
        self.n = check_int(n, "n")
        self.input_processing = build_processing(input_processing, self.m, "input_processing")
        self.expansion = child(
            KAPPA_KINDS, expansion, "expansion", Transformation, "an Expansion or Compression", m=self._kappa_m()
        )
        self.D = self.expansion.D
        self.reconciliation = child(
            "reconciliation",
            reconciliation,
            "reconciliation",
            Reconciliation,
            "a Reconciliation",
            n=self.n if psi_n is None else psi_n,
            D=self.D,
        )
        if check_bool(bias, "bias"):
            self.bias = nn.Parameter(torch.zeros(self.n if bias_n is None else bias_n))
        else:
            self.register_parameter("bias", None)
        rm, rn = remainder_dims or (self.m, self.n)
        self.remainder = child("remainder", remainder, "remainder", Remainder, "a Remainder", m=rm, n=rn)
        self.output_processing = build_processing(output_processing, self.n, "output_processing")

    def _kappa_m(self) -> int:
        return self.m

    def _build_xi(self, spec: Any, key: str, kind: str, m: int) -> Interdependence | None:
        if spec is None:
            return None
        xi = child("interdependence", spec, key, Interdependence, "an Interdependence", m=m)
        if xi.kind != kind:
            raise ConfigError(f"{key} must be of kind {kind!r}, got {xi.kind!r}", child_path(f"{key}.kind"))
        return xi

    @property
    def l(self) -> int:  # noqa: E743
        """Learnable numbers of the reconciliation (the papers' l)."""
        return self.reconciliation.l

    @property
    def channels(self) -> int:
        return 1

    def _mix(self, xi: Interdependence, x: Tensor, data: Tensor) -> Tensor:
        """xi's instance mix M^T data over the rows (a topological xi applies M through cached CSR
        products of :func:`rpnkit.functional.topology.csr_mix`)."""
        return xi(x, data)

    def _mixed_product(self, xi: Interdependence, x: Tensor, z: Tensor) -> Tensor:
        """psi(M^T z) = M^T psi(z) (both linear), in the cheaper order.

        A mix costs its width once forward and once more backward when a gradient must pass through
        it: psi first (``A_hat (X W)``) mixes n columns and back-propagates them whenever psi learns;
        the mix first mixes D columns and back-propagates only when z itself needs a gradient (not in
        a first layer, where the mix of the fixed input is a forward product only).
        """
        psi = self.reconciliation
        grad = torch.is_grad_enabled()
        psi_grad = grad and (z.requires_grad or any(p.requires_grad for p in psi.parameters()))
        z_grad = grad and z.requires_grad
        if psi.n * (1 + psi_grad) <= self.D * (1 + z_grad):
            return self._mix(xi, x, psi.product(z))
        return psi.product(self._mix(xi, x, z))

    def _add_biases(self, y: Tensor) -> Tensor:
        """y + psi's bias + b."""
        if self.reconciliation.bias is not None:
            y = y + self.reconciliation.bias
        return y if self.bias is None else y + self.bias

    def _finish(self, y: Tensor, x: Tensor) -> Tensor:
        """+ psi's bias + b + pi(x), then the output processing."""
        return super()._finish(self._add_biases(y), x)

    @property
    def child_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        # an instance interdependence that is None was None in the spec too
        return ("expansion", "reconciliation", "remainder", self.xi_key)


@register("head", "graph", aliases=["graph_interdependence_head", "gcn"])
class GraphHead(_NodeHead):
    """GCN-like graph head: ``g(X) = M^T psi(kappa(X)) + b + pi(X)`` over the N nodes (rows) of a graph.

    With the defaults, M = D^-1/2 (A + I) D^-1/2 of the undirected graph and psi a dense W, which is
    ``torch_geometric``'s ``GCNConv`` (``lin.weight`` = W, ``bias`` = b).

    Args:
        m: node feature width.
        n: output width per node.
        instance_interdependence: the graph interdependence (kind ``instance``): a name (``graph``,
            ``multihop_graph``, ``pagerank``, ``chain``, ...) or a dict (name default ``graph``); the keys
            it omits are filled from :data:`GCN_DEFAULTS` where its class takes them (``adjacency: data``,
            ``directed: false``, ``self_dependence: true``, ``normalization: symmetric``). None: no mix
            (every node on its own; the node-features-only baseline).
        expansion: kappa spec, built with the node width m; default ``"identity"``.
        reconciliation: psi spec (n, D); default ``"identity"`` (dense W). Its bias, if any, is added
            after the mix.
        bias: a learnable b in R^n added after the mix (GCNConv's bias).
        remainder: pi spec (m, n) on the processed X; default ``"zero"`` (``linear`` is a skip connection).
        input_processing, output_processing: processing specs (widths m and n), e.g. ``dropout`` and
            ``[relu, dropout]``.

    Attributes:
        m, n, D, l.

    Shape:
        (..., N, m) -> (..., N, n); N must be the graph's node count (feed the whole graph).

    Example:
        >>> import torch
        >>> head = GraphHead(3, 2, instance_interdependence={"adjacency": [[0, 1], [1, 2]]})
        >>> head(torch.randn(3, 3)).shape
        torch.Size([3, 2])
    """

    def __init__(
        self,
        m: int,
        n: int,
        instance_interdependence: Any = "graph",
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        bias: bool = True,
        remainder: Any = "zero",
        input_processing: Any = None,
        output_processing: Any = None,
    ) -> None:
        super().__init__()
        self._init_parts(
            m, n, expansion, reconciliation, None, bias, None, remainder, input_processing, output_processing
        )
        spec = instance_spec(instance_interdependence, self.xi_key, "graph", GCN_DEFAULTS)
        self.instance_interdependence = self._build_xi(spec, self.xi_key, "instance", self.D)

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "graph head")
        if x.dim() < 2:
            raise ShapeError(f"graph head: expected the nodes as rows, (..., N, {self.m}), got {tuple(x.shape)}")
        if self.input_processing is not None:
            x = self.input_processing(x)
        z = self.expansion(x)
        psi, xi = self.reconciliation, self.instance_interdependence
        y = psi.product(z) if xi is None else self._mixed_product(xi, x, z)
        return self._finish(y, x)

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, D={self.D}, l={self.l}"


@register("head", "graph_bilinear", aliases=["graph_bilinear_interdependence_head", "gat"])
class GraphBilinearHead(_NodeHead):
    """GAT-like head: attention over each node's in-neighbours in the graph (self loops included).

    For H attention heads of width C, with h_i = psi(kappa(x_i)) in R^{H C} split per head::

        e_ij = LeakyReLU(a_dst^T h_i + a_src^T h_j)          (scores: additive, GAT)
        e_ij = (W_q kappa(x_i))^T (W_k kappa(x_j)) / sqrt(C)   (scores: bilinear)
        alpha_ij = softmax over j in N(i) of e_ij           (j -> i an edge of the mask graph)
        g_i = concat_h (or mean_h) sum_j alpha_ij h_j + b + pi(x_i)

    The mask graph is the support of the graph interdependence's A (undirected unless ``directed``,
    with self loops unless ``self_dependence: false``); edge weights and normalisation do not enter.
    With the defaults this is ``torch_geometric``'s ``GATConv(heads=H, concat=...)`` (``lin.weight`` =
    W, ``att_src``, ``att_dst``, ``bias``).

    Args:
        m: node feature width.
        n: output width per node (H C with ``concat``, C without).
        heads: H.
        concat: concatenate the heads' outputs (else average them).
        scores: ``"additive"`` (GAT) or ``"bilinear"`` (query/key products).
        negative_slope: of the LeakyReLU (additive scores).
        dropout: dropout on the attention weights while training.
        instance_interdependence: a ``graph`` interdependence spec giving the mask (keys filled as in
            :class:`GraphHead`; ``adjacency: data`` by default).
        expansion: kappa spec (node width m).
        reconciliation: psi spec of W (H C, D); default ``"identity"``.
        query, key: reconciliation specs of W_q, W_k (H C, D) for bilinear scores (unused otherwise).
        bias, remainder, input_processing, output_processing: as :class:`GraphHead`.

    Shape:
        (..., N, m) -> (..., N, n).

    Example:
        >>> import torch
        >>> head = GraphBilinearHead(3, 4, heads=2, instance_interdependence={"adjacency": [[0, 1], [1, 2]]})
        >>> head(torch.randn(3, 3)).shape
        torch.Size([3, 4])
    """

    def __init__(
        self,
        m: int,
        n: int,
        heads: int = 1,
        concat: bool = True,
        scores: str = "additive",
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        instance_interdependence: Any = "graph",
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        query: Any = "identity",
        key: Any = "identity",
        bias: bool = True,
        remainder: Any = "zero",
        input_processing: Any = None,
        output_processing: Any = None,
    ) -> None:
        super().__init__()
        self.heads = check_int(heads, "heads")
        self.concat = check_bool(concat, "concat")
        self.scores = check_choice(scores, "scores", list(SCORES))
        self.negative_slope = check_real(negative_slope, "negative_slope")
        self.dropout = check_fraction(dropout, "dropout")
        n = check_int(n, "n")
        if self.concat and n % self.heads:
            raise ConfigError(
                f"with concat, n={n} must be a multiple of heads={self.heads} (n = heads * head width)",
                child_path("heads"),
            )
        self.head_width = n // self.heads if self.concat else n
        width = self.heads * self.head_width
        self._init_parts(
            m, n, expansion, reconciliation, width, bias, None, remainder, input_processing, output_processing
        )
        if self.scores == "additive":
            self.att_src = nn.Parameter(torch.empty(self.heads, self.head_width))
            self.att_dst = nn.Parameter(torch.empty(self.heads, self.head_width))
            self.query = self.key = None
        else:
            self.register_parameter("att_src", None)
            self.register_parameter("att_dst", None)
            self.query = child("reconciliation", query, "query", Reconciliation, "a Reconciliation", n=width, D=self.D)
            self.key = child("reconciliation", key, "key", Reconciliation, "a Reconciliation", n=width, D=self.D)
        spec = instance_spec(instance_interdependence, self.xi_key, "graph", GCN_DEFAULTS)
        if spec is None:
            raise ConfigError("the graph-bilinear head needs a graph (its attention mask)", child_path(self.xi_key))
        xi = self._build_xi(spec, self.xi_key, "instance", self.D)
        if not isinstance(xi, GraphInterdependence):
            raise ConfigError(
                f"the attention mask must be a 'graph' interdependence, got {type(xi).__name__}",
                child_path(self.xi_key),
            )
        self.instance_interdependence = xi
        self._edges: dict[str, tuple] = {}
        self.reset_parameters()

    @property
    def l(self) -> int:  # noqa: E743
        """Learnable numbers of W (and of W_q, W_k with bilinear scores)."""
        return sum(psi.l for psi in (self.reconciliation, self.query, self.key) if psi is not None)

    def reset_parameters(self) -> None:
        if self.att_src is not None:
            bound = math.sqrt(6.0 / (1 + self.head_width))  # glorot on (1, H, C), as GATConv
            nn.init.uniform_(self.att_src, -bound, bound)
            nn.init.uniform_(self.att_dst, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_edges"] = {}
        return state

    def edges(self, device: torch.device, n: int) -> tuple[Tensor, Tensor]:
        """(src, dst): the n-node mask graph's edges j -> i (coalesced, self loops as configured), cached."""
        xi = self.instance_interdependence
        key = str(device)
        cached = self._edges.get(key)
        if cached is not None and cached[0] is xi.edge_index and cached[1] == n:
            return cached[2], cached[3]
        with torch.inference_mode(False), torch.no_grad():
            A = xi.structure(n, device, torch.float32)
            src, dst = A.indices()
        self._edges[key] = (xi.edge_index, n, src, dst)
        return src, dst

    def _segment_softmax(self, e: Tensor, dst: Tensor, n: int) -> Tensor:
        """Softmax of the scores e (E, B, H) over the edges that share a target."""
        index = dst.view(-1, 1, 1).expand_as(e)
        with torch.no_grad():
            top = e.new_full((n, *e.shape[1:]), -math.inf).scatter_reduce(0, index, e, "amax", include_self=True)
        ex = (e - top.index_select(0, dst)).exp()
        total = ex.new_zeros((n, *e.shape[1:])).index_add_(0, dst, ex)
        return ex / total.index_select(0, dst)

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "graph_bilinear head")
        if x.dim() < 2:
            raise ShapeError(
                f"graph_bilinear head: expected the nodes as rows, (..., N, {self.m}), got {tuple(x.shape)}"
            )
        if self.input_processing is not None:
            x = self.input_processing(x)
        N = self.instance_interdependence.node_count(x.shape[-2])
        z = self.expansion(x).movedim(-2, 0)  # (N, ..., D)
        lead = z.shape[1:-1]
        z = z.reshape(N, -1, self.D)  # (N, B, D)
        H, C = self.heads, self.head_width
        h = self.reconciliation.product(z).unflatten(-1, (H, C))  # (N, B, H, C)
        if x.device.type == "meta":  # shapes only: one self loop per node
            src = dst = torch.arange(N, device=x.device)
        else:
            src, dst = self.edges(x.device, N)
        if self.scores == "additive":
            a_src = (h * self.att_src).sum(-1)
            a_dst = (h * self.att_dst).sum(-1)
            e = F.leaky_relu(a_src.index_select(0, src) + a_dst.index_select(0, dst), self.negative_slope)
        else:
            q = self.query.product(z).unflatten(-1, (H, C))
            k = self.key.product(z).unflatten(-1, (H, C))
            e = (q.index_select(0, dst) * k.index_select(0, src)).sum(-1) * (C**-0.5)
        alpha = self._segment_softmax(e, dst, N)
        if self.dropout and self.training:
            alpha = F.dropout(alpha, self.dropout, True)
        messages = h.index_select(0, src) * alpha.unsqueeze(-1)
        out = h.new_zeros(h.shape).index_add_(0, dst, messages)
        y = out.flatten(-2) if self.concat else out.mean(-2)
        y = y.reshape(N, *lead, self.n).movedim(0, -2)
        return self._finish(y, x)

    @property
    def child_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*super().child_keys, "query", "key")

    def extra_repr(self) -> str:
        return (
            f"m={self.m}, n={self.n}, heads={self.heads}, head_width={self.head_width}, concat={self.concat}, "
            f"scores={self.scores!r}, l={self.l}"
        )
