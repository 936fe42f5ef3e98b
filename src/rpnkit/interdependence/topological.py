"""Topological interdependences: chains and graphs, their normalisations, hops, and series.

Convention (as :mod:`rpnkit.functional.topology`): ``A[i, j]`` is the weight of the edge i -> j, and
node j of the output receives ``sum_i M[i, j] * input_i`` where M is the interdependence matrix (A, a
power or series of A, ...). The instance kind mixes rows (axis -2, each leading index separately); the
attribute kind mixes columns.

**Nodes and layouts.** The instance kind has one node per row: a chain's ``length`` (or a graph's
``num_nodes``) must equal the number of rows, else a ``ShapeError`` names both; a chain without a
length runs over however many rows the batch has. The attribute kind has L nodes over the m columns:
L = m (one feature per node), or L divides m and node t owns the d = m / L columns
``[t * d, (t + 1) * d)`` (step-major: a sequence of L steps of d features flattened as (b, L * d)),
and the mix is M applied over the steps to every feature (M kron I_d).

**Storage and speed.** A chain is a function of its hyperparameters and is not stored; a graph keeps
its edge list as buffers ``edge_index`` (2, E), ``edge_weight`` (E,) and ``num_nodes`` (saved in the
state_dict, moved by ``.to()``). The operator (:meth:`TopologicalInterdependence.operator`: A^T and
its transpose A, both CSR) is built lazily per (nodes, device, dtype) and cached outside the state;
every product, forward or backward, is one CSR product (:func:`~rpnkit.functional.topology.csr_mix`),
so any head that holds a topological xi gets the fast backward. ``mix`` never builds a dense matrix
except where the maths is dense: A is applied by a sparse product, hops and truncated series
(``terms: K``) by Horner's rule with K sparse products; only the exact inverse,
exponential and PageRank (``terms: null``) are dense (n, n), computed once and cached. On the meta
device (shape inference) the operator is a placeholder of the right shape.

**Graph from data.** ``adjacency`` is an edge list in the config (``[[0, 1], [1, 2]]``, or
``[src, dst, weight]`` triples), a file (``.csv``/``.txt``/``.tsv``/``.npy`` edge list of 2 or 3
columns, or ``.npz`` with ``edge_index`` (2, E) [+ ``weights``, ``num_nodes``] or a square dense
``adjacency``; nothing is unpickled), or ``"data"``: the dataset supplies it through
:meth:`GraphInterdependence.set_graph` (or :func:`attach_graph` on a whole model), and a saved model
reloads with its graph (``load_state_dict`` accepts edge buffers of another size).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..base import Interdependence
from ..errors import ConfigError, ShapeError
from ..functional import topology as ft
from ..registry import register
from ..validation import check_bool, check_choice, check_int, check_real, child_path, config_path
from ._common import check_b, check_kind, mix_axis, plain_config
from .fixed import load_array

__all__ = [
    "TopologicalInterdependence",
    "ChainInterdependence",
    "MultihopChainInterdependence",
    "InverseApproxMultihopChainInterdependence",
    "ExponentialApproxMultihopChainInterdependence",
    "GraphInterdependence",
    "MultihopGraphInterdependence",
    "PageRankInterdependence",
    "attach_graph",
]

#: Normalisation modes of A (see :func:`rpnkit.functional.topology.normalize_adjacency`).
NORMALIZATIONS = ("none", "row", "column", "symmetric")

#: Cached operators per module (different node counts, devices or dtypes).
_CACHE_SIZE = 4


def _check_normalization(value: Any) -> str:
    return "none" if value is None else check_choice(value, "normalization", list(NORMALIZATIONS))


class _Hops:
    """The multi-hop series: M = A^h, or the cumulative ``sum_{k=k0}^{h} A^k`` (k0 = 0 with the identity, else 1)."""

    def _init_hops(self, hops: Any, cumulative: Any, include_identity: Any) -> None:
        self.hops = check_int(hops, "hops", minimum=0)
        self.cumulative = check_bool(cumulative, "cumulative")
        self.include_identity = check_bool(include_identity, "include_identity")

    def _coefficients(self) -> list[float]:
        if self.cumulative:
            return [1.0 if self.include_identity else 0.0] + [1.0] * self.hops
        return [0.0] * self.hops + [1.0]


class TopologicalInterdependence(Interdependence):
    """Base of the chain and graph interdependences (see the module docstring for the conventions).

    Public API (used by the RPN 2 graph and chain heads, and by anyone who needs the operator):

    * :meth:`node_count` -- the number of nodes for a batch (checked against the rows of the instance kind);
    * :meth:`structure` -- the sparse COO adjacency A of n nodes before normalisation;
    * :meth:`operator` -- the cached :class:`~rpnkit.functional.topology.MixOperator` of M (the
      normalised A, its hops or series, or the dense exact matrix function), whose ``apply(Z)`` is
      ``M^T @ Z`` through CSR products with a cached transpose (one CSR product backward).

    Subclasses implement :meth:`node_count` and :meth:`structure`, and may override
    ``_coefficients()`` (a series ``sum_i c_i A^i``; None: A itself) or ``_exact(A)`` (a dense matrix
    function of A, or None).
    """

    param_aliases = {
        "interdependence_type": "kind",
        "m_prime": "m_out",
        "b_prime": "b_out",
        "chain_length": "length",
        "bi_directional": "bidirectional",
        "h": "hops",
        "accumulative": "cumulative",
    }

    def _init_topology(self, m: int, kind: str, b: Any, normalization: Any) -> None:
        self.normalization = _check_normalization(normalization)
        self.b_out = b
        super().__init__(m, kind=kind, b=b)
        self._ops: dict[tuple, ft.MixOperator] = {}

    # --- the matrix function ------------------------------------------------------------------------

    def structure(self, n: int | None = None, device: Any = None, dtype: torch.dtype | None = None) -> Tensor:
        """A of n nodes (default :meth:`node_count`) before normalisation, sparse COO, on ``device`` (cpu)."""
        raise NotImplementedError

    def _coefficients(self) -> list[float] | None:
        return None

    def _exact(self, A: Tensor) -> Tensor | None:
        return None

    def node_count(self, rows: int | None = None) -> int:
        """The number of nodes: instance kind, for a batch of ``rows`` rows (a mismatch with a fixed
        count is a ``ShapeError``); attribute kind, the fixed L (``rows`` is ignored)."""
        raise NotImplementedError

    # --- operators ----------------------------------------------------------------------------------

    def operator(self, n: int | None = None, device: Any = None, dtype: torch.dtype | None = None) -> ft.MixOperator:
        """The operator of M for n nodes (default :meth:`node_count`), cached per (n, device, dtype).

        Built once without autograd (the structure is fixed); on the meta device it is a dense
        placeholder of the right shape.
        """
        n = self.node_count() if n is None else n
        device = torch.device("cpu") if device is None else torch.device(device)
        dtype = torch.get_default_dtype() if dtype is None else dtype
        key = (n, str(device), dtype)
        op = self._ops.get(key)
        if op is None:
            with torch.inference_mode(False), torch.no_grad():
                op = self._build_operator(n, device, dtype)
            if len(self._ops) >= _CACHE_SIZE:
                self._ops.pop(next(iter(self._ops)))
            self._ops[key] = op
        return op

    def _build_operator(self, n: int, device: torch.device, dtype: torch.dtype) -> ft.MixOperator:
        if device.type == "meta":  # shape inference only: no values exist
            return ft.MixOperator("dense", torch.zeros(n, n, device=device, dtype=dtype))
        A = ft.normalize_adjacency(self.structure(n, device, dtype), self.normalization)
        exact = self._exact(A)
        return ft.mix_operator(A, exact=exact) if exact is not None else ft.mix_operator(A, self._coefficients())

    # --- Interdependence API ------------------------------------------------------------------------

    def matrix(self, x: Tensor) -> Tensor:
        if self.kind == "instance":
            n = self.node_count(x.shape[-2])
            return self.operator(n, x.device, x.dtype).dense()
        n = self.node_count()
        M = self.operator(n, x.device, x.dtype).dense()
        d = self.m // n
        return M if d == 1 else torch.kron(M, torch.eye(d, dtype=M.dtype, device=M.device))

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        if self.kind == "instance":
            if data.dim() < 2:
                raise ShapeError(f"interdependence {self.registry_name}: expected (..., b, D), got {tuple(data.shape)}")
            op = self.operator(self.node_count(data.shape[-2]), data.device, data.dtype)
            return mix_axis(op.apply, data, -2)
        n = self.node_count()
        op = self.operator(n, data.device, data.dtype)
        d = self.m // n
        if d == 1:
            return mix_axis(op.apply, data, -1)
        steps = data.unflatten(-1, (n, d))
        return mix_axis(op.apply, steps, -2).flatten(-2)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_ops"] = {}
        return state


# ------------------------------------------------------------------------------------------------ chains


class _ChainBase(TopologicalInterdependence):
    """The chain structure 0 -> 1 -> ... -> L-1 (see :class:`ChainInterdependence` for the arguments)."""

    def _init_chain(
        self,
        m: int,
        kind: Any,
        length: Any,
        bidirectional: Any,
        self_dependence: Any,
        self_scaling: Any,
        normalization: Any,
        b: Any,
    ) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        length = check_int(length, "length", allow_none=True)
        self.bidirectional = check_bool(bidirectional, "bidirectional")
        self.self_dependence = check_bool(self_dependence, "self_dependence")
        self.self_scaling = check_real(self_scaling, "self_scaling")
        if kind == "attribute":
            length = m if length is None else length
            if m % length:
                raise ConfigError(
                    f"length={length} must divide m={m} for the attribute kind (L steps of m/L features, "
                    f"step-major); valid lengths: {[d for d in range(1, m + 1) if m % d == 0]}",
                    child_path("length"),
                )
        else:
            if b is not None and length is not None and b != length:
                raise ConfigError(
                    f"length={length} must equal b={b} for the instance kind (one node per row)", child_path("length")
                )
            length = b if length is None else length
        self.length = length
        self._init_topology(m, kind, b, normalization)

    def node_count(self, rows: int | None = None) -> int:
        if self.kind == "attribute" or rows is None and self.length is not None:
            return self.length
        if rows is None:
            raise ShapeError(
                f"interdependence {self.registry_name}: the chain has no fixed length (it runs over the rows of "
                "each batch); give the number of rows"
            )
        if self.length is not None and rows != self.length:
            raise ShapeError(
                f"interdependence {self.registry_name}: the chain has length={self.length} nodes (one per row) "
                f"but the data has {rows} rows"
            )
        return rows

    def structure(self, n: int | None = None, device: Any = None, dtype: torch.dtype | None = None) -> Tensor:
        n = self.node_count() if n is None else n
        return ft.chain_adjacency(
            n, self.bidirectional, self.self_dependence, self.self_scaling, dtype=dtype, device=device
        )


@register("interdependence", "chain", aliases=["chain_interdependence"])
class ChainInterdependence(_ChainBase):
    """Chain interdependence: A[t, t+1] = 1 (+ A[t+1, t] = 1 bidirectional) (+ s I with self-dependence).

    Output node t receives ``s * input_t + input_{t-1}`` (+ ``input_{t+1}`` bidirectional), after the
    chosen degree normalisation of A; applied by a sparse product (or, with ``length`` dividing m, over
    the step axis of the step-major layout; see the module docstring).

    Args:
        kind: ``instance`` (default, as in the reference: one node per row) or ``attribute``.
        length: L, the number of nodes: instance kind: the number of rows (default b, or the rows of
            each batch when neither is given); attribute kind: m (default) or a divisor of m.
        bidirectional: add the backward edges (a path graph).
        self_dependence: add s I (the reference's default: on).
        self_scaling: s.
        normalization: ``none``, ``row`` (D_out^-1 A), ``column`` (A D_in^-1: every output is an
            average of its inputs) or ``symmetric`` (D^-1/2 A D^-1/2).
        b: instance kind: the fixed number of rows (optional).

    Shape:
        instance (..., b, D) -> (..., b, D); attribute (..., b, m) -> (..., b, m).
    """

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        length: int | None = None,
        bidirectional: bool = False,
        self_dependence: bool = True,
        self_scaling: float = 1.0,
        normalization: str = "none",
        b: int | None = None,
    ) -> None:
        self._init_chain(m, kind, length, bidirectional, self_dependence, self_scaling, normalization, b)


@register("interdependence", "multihop_chain", aliases=["multihop_chain_interdependence"])
class MultihopChainInterdependence(_Hops, _ChainBase):
    """Multi-hop chain: M = A^h, or the cumulative ``sum_{k=k0}^{h} A^k`` (k0 = 0 with the identity, else 1).

    A is the (normalised) chain of :class:`ChainInterdependence`; M is applied by Horner's rule with h
    sparse products, never formed. The reference ignored ``self_scaling`` here and column-normalised
    the cumulative bidirectional chain implicitly; here the normalisation is the argument's.

    Args:
        hops: h >= 0.
        cumulative: sum the hops 1..h (0..h with ``include_identity``) instead of A^h alone.
        include_identity: start the cumulative sum at A^0 = I.
        (others as :class:`ChainInterdependence`)

    Shape:
        instance (..., b, D) -> (..., b, D); attribute (..., b, m) -> (..., b, m).
    """

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        length: int | None = None,
        hops: int = 1,
        cumulative: bool = False,
        include_identity: bool = False,
        bidirectional: bool = False,
        self_dependence: bool = True,
        self_scaling: float = 1.0,
        normalization: str = "none",
        b: int | None = None,
    ) -> None:
        self._init_hops(hops, cumulative, include_identity)
        self._init_chain(m, kind, length, bidirectional, self_dependence, self_scaling, normalization, b)


def _check_terms(terms: Any) -> int | None:
    return check_int(terms, "terms", minimum=0, allow_none=True)


def _solve_error(err: Exception) -> ConfigError:
    return ConfigError(f"I - alpha A is singular ({err}); use a smaller alpha", child_path("alpha") or "alpha")


class _SeriesChain(_ChainBase):
    """A matrix function of the chain, ``sum_k c_k (alpha A)^k``: subclasses give ``_coefficients`` and ``_exact``.

    Args:
        alpha: the scale of A.
        terms: None for the exact matrix function (dense (L, L), computed once per device/dtype), or K
            >= 0 for the series truncated after K sparse products.
        (others as :class:`ChainInterdependence`; self dependence is off by default)

    Shape:
        instance (..., b, D) -> (..., b, D); attribute (..., b, m) -> (..., b, m).
    """

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        length: int | None = None,
        alpha: float = 1.0,
        terms: int | None = None,
        bidirectional: bool = False,
        self_dependence: bool = False,
        self_scaling: float = 1.0,
        normalization: str = "none",
        b: int | None = None,
    ) -> None:
        self.alpha = check_real(alpha, "alpha")
        self.terms = _check_terms(terms)
        self._init_chain(m, kind, length, bidirectional, self_dependence, self_scaling, normalization, b)


@register("interdependence", "inverse_approx_multihop_chain", aliases=["inverse_approx_multihop_chain_interdependence"])
class InverseApproxMultihopChainInterdependence(_SeriesChain):
    """All-hop chain: M = (I - alpha A)^-1 = sum_k (alpha A)^k (arguments and shapes: see the base ``_SeriesChain``).

    ``terms: null`` is the exact inverse; ``terms: K`` the truncated series (exact for the directed
    chain without self-dependence when K >= L - 1: the upper-triangular matrix of alpha powers). The
    series converges when the spectral radius of alpha A is below 1 (a bidirectional chain: alpha < 1/2
    is enough). Self dependence is off by default (with it, I - A is singular at alpha = 1); the
    reference ignored it.
    """

    def _coefficients(self) -> list[float]:
        return [self.alpha**i for i in range(self.terms + 1)]

    def _exact(self, A: Tensor) -> Tensor | None:
        if self.terms is not None:
            return None
        try:
            return ft.inverse_multihop(A, self.alpha)
        except RuntimeError as err:  # torch.linalg.LinAlgError
            raise _solve_error(err) from err


@register(
    "interdependence",
    "exponential_approx_multihop_chain",
    aliases=["exponential_approx_multihop_chain_interdependence"],
)
class ExponentialApproxMultihopChainInterdependence(_SeriesChain):
    """Exponential (heat-kernel) chain: M = exp(alpha A) = sum_k (alpha A)^k / k!.

    Arguments and shapes: see the base ``_SeriesChain``.

    ``terms: null`` is ``torch.linalg.matrix_exp`` (the reference stored this dense result as a sparse
    matrix); ``terms: K`` the truncated Taylor series.
    """

    def _coefficients(self) -> list[float]:
        return [self.alpha**i / math.factorial(i) for i in range(self.terms + 1)]

    def _exact(self, A: Tensor) -> Tensor | None:
        return None if self.terms is not None else ft.exponential_multihop(A, self.alpha)


# ------------------------------------------------------------------------------------------------ graphs


def _as_int_ids(values: np.ndarray, where: str) -> np.ndarray:
    if values.size and (not np.all(np.isfinite(values)) or np.any(values != np.round(values))):
        raise ConfigError("node ids must be integers", where)
    return values.astype(np.int64)


def _edge_rows(rows: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(2, E) ids and optional (E,) weights from an (E, 2) or (E, 3) table."""
    if rows.size == 0:
        return np.zeros((2, 0), dtype=np.int64), None
    if rows.ndim != 2 or rows.shape[1] not in (2, 3):
        raise ConfigError(
            f"an edge list has rows [source, target] or [source, target, weight], got shape {tuple(rows.shape)}", where
        )
    ids = _as_int_ids(rows[:, :2], where).T
    weights = rows[:, 2].astype(np.float64) if rows.shape[1] == 3 else None
    return np.ascontiguousarray(ids), weights


def _read_adjacency(value: Any, where: str) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    """(edge_index (2, E), weights (E,) or None, num_nodes or None) from a literal, tensor or file."""
    if isinstance(value, Tensor):
        t = value.detach().cpu()
        if t.dim() != 2 or t.shape[0] != 2 or t.is_floating_point():
            raise ConfigError(f"an edge_index tensor must be (2, E) integer ids, got {t.dtype} {tuple(t.shape)}", where)
        return t.long().numpy(), None, None
    if isinstance(value, (str, os.PathLike)):
        arrays = load_array(value, where)
        if "" in arrays:
            return (*_edge_rows(np.asarray(arrays[""], dtype=np.float64), where), None)
        n = int(arrays["num_nodes"]) if "num_nodes" in arrays else None
        if "adjacency" in arrays:
            dense = np.asarray(arrays["adjacency"], dtype=np.float64)
            if dense.ndim != 2 or dense.shape[0] != dense.shape[1]:
                raise ConfigError(f"a dense adjacency must be square (n, n), got shape {tuple(dense.shape)}", where)
            src, dst = np.nonzero(dense)
            return np.stack([src, dst]).astype(np.int64), dense[src, dst], dense.shape[0]
        if "edge_index" not in arrays:
            raise ConfigError(
                f"{str(value)!r} needs an 'edge_index' (2, E) or 'adjacency' (n, n) array, has {sorted(arrays)}", where
            )
        ids = np.asarray(arrays["edge_index"])
        if ids.ndim != 2 or ids.shape[0] != 2:
            raise ConfigError(f"edge_index must have shape (2, E), got {tuple(ids.shape)}", where)
        weights = arrays.get("weights", arrays.get("edge_weight"))
        return (
            _as_int_ids(ids.astype(np.float64), where),
            None if weights is None else np.asarray(weights, np.float64),
            n,
        )
    if isinstance(value, (list, tuple)):
        if not all(isinstance(r, (list, tuple)) for r in value):
            raise ConfigError(f"an edge list is a list of [source, target(, weight)] rows, got {value!r}", where)
        try:
            rows = np.asarray(value, dtype=np.float64).reshape(len(value), -1) if value else np.zeros((0, 2))
        except ValueError as err:
            raise ConfigError(f"an edge list needs rows of equal length, got {value!r}", where) from err
        return (*_edge_rows(rows, where), None)
    raise ConfigError(
        f"adjacency must be an edge list, a file path or 'data', got {type(value).__name__} {value!r}", where
    )


def _check_ids(index: Tensor, n: int, where: str) -> None:
    if index.numel() == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < 0 or hi >= n:
        raise ConfigError(f"node ids must be in [0, {n - 1}] for num_nodes={n}, got ids in [{lo}, {hi}]", where)


class _GraphBase(TopologicalInterdependence):
    """The graph structure from an edge list (see :class:`GraphInterdependence` for the arguments)."""

    def _init_graph(
        self,
        m: int,
        kind: Any,
        adjacency: Any,
        num_nodes: Any,
        directed: Any,
        self_dependence: Any,
        normalization: Any,
        b: Any,
    ) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        num_nodes = check_int(num_nodes, "num_nodes", allow_none=True)
        self.directed = check_bool(directed, "directed")
        self.self_dependence = check_bool(self_dependence, "self_dependence")
        where = child_path("adjacency")
        self._init_topology(m, kind, b, normalization)
        self._path = config_path()
        self._expected_nodes = num_nodes
        self._from_tensor = isinstance(adjacency, Tensor)
        self.register_buffer("edge_index", torch.zeros(2, 0, dtype=torch.long))
        self.register_buffer("edge_weight", torch.zeros(0))
        self.register_buffer("num_nodes", torch.zeros((), dtype=torch.long))
        self._n = 0
        if isinstance(adjacency, str) and adjacency == "data":
            return
        if adjacency is None:
            raise ConfigError(
                "graph needs adjacency: an edge list [[source, target], ...], a file path, or 'data' "
                "(supplied by the dataset)",
                where,
            )
        ids, weights, stored_n = _read_adjacency(adjacency, where)
        index = torch.from_numpy(ids)
        n = num_nodes if num_nodes is not None else stored_n
        if n is None:
            n = m if kind == "attribute" else (b if b is not None else (int(index.max()) + 1 if index.numel() else 0))
        if n < 1:
            raise ConfigError("an empty edge list needs num_nodes", child_path("num_nodes"))
        _check_ids(index, n, where)
        self._install(index, n, None if weights is None else torch.from_numpy(weights), where)

    def _install(self, index: Tensor, n: int, weights: Tensor | None, where: str) -> None:
        """Check the node count against the kind and store the graph in the buffers."""
        if self._expected_nodes is not None and n != self._expected_nodes:
            raise ConfigError(f"the graph has {n} nodes but num_nodes={self._expected_nodes}", where)
        if self.kind == "attribute" and self.m % n:
            raise ConfigError(
                f"the attribute kind needs a node count that divides m={self.m} (m/n features per node), got {n} nodes",
                where,
            )
        if self.kind == "instance" and self.b is not None and n != self.b:
            raise ConfigError(f"the graph has {n} nodes but b={self.b} (instance kind: one node per row)", where)
        E = index.shape[1]
        if weights is not None:
            if weights.shape != (E,) or not torch.isfinite(weights).all():
                raise ConfigError(f"expected {E} finite edge weights, got shape {tuple(weights.shape)}", where)
        device = self.edge_index.device
        self.edge_index = index.to(device=device, dtype=torch.long).contiguous()
        w = torch.ones(E) if weights is None else weights
        self.edge_weight = w.to(device=device, dtype=self.edge_weight.dtype)
        self.num_nodes = torch.tensor(n, dtype=torch.long, device=device)
        self._n = n
        self._ops.clear()

    def set_graph(
        self, edge_index: Tensor | Sequence[Sequence[int]], num_nodes: int, weights: Tensor | None = None
    ) -> None:
        """Use the graph (edge_index (2, E) of source/target ids, optional (E,) weights) from now on.

        Called by the data pipeline for ``adjacency: data`` (any graph module accepts it). Node ids
        outside [0, num_nodes) or a node count the kind cannot use is a ``ConfigError``.
        """
        where = f"{self._path}.adjacency" if self._path else "adjacency"
        index = torch.as_tensor(edge_index)
        if index.dim() != 2 or index.shape[0] != 2 or index.is_floating_point():
            raise ConfigError(
                f"set_graph: edge_index must be (2, E) integer ids, got {index.dtype} {tuple(index.shape)}", where
            )
        n = check_int(num_nodes, "num_nodes", path=where)
        _check_ids(index, n, where)
        w = None if weights is None else torch.as_tensor(weights).detach().to(torch.float64)
        self._install(index.detach().long().cpu(), n, None if w is None else w.cpu(), where)

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        # a graph supplied by the data may have any size: resize the edge buffers to the saved ones
        for name in ("edge_index", "edge_weight"):
            key = prefix + name
            if key in state_dict and state_dict[key].shape != self._buffers[name].shape:
                self._buffers[name] = self._buffers[name].new_empty(state_dict[key].shape)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        if self.num_nodes.device.type != "meta":
            self._n = int(self.num_nodes)
        self._ops.clear()

    def node_count(self, rows: int | None = None) -> int:
        if self._n == 0:
            raise ConfigError(
                f"interdependence {self.registry_name} has no graph yet (adjacency: data): call set_graph(edge_index, "
                "num_nodes) or rpnkit.interdependence.attach_graph(model, ...) with the dataset's graph",
                self._path,
            )
        if self.kind == "instance" and rows is not None and rows != self._n:
            raise ShapeError(
                f"interdependence {self.registry_name}: the graph has num_nodes={self._n} but the data has "
                f"{rows} rows (instance kind: feed all nodes at once)"
            )
        return self._n

    def structure(self, n: int | None = None, device: Any = None, dtype: torch.dtype | None = None) -> Tensor:
        n = self.node_count() if n is None else n
        device = self.edge_index.device if device is None else device
        dtype = torch.get_default_dtype() if dtype is None else dtype
        return ft.graph_adjacency(
            self.edge_index.to(device),
            n,
            weights=self.edge_weight.to(device=device, dtype=dtype),
            directed=self.directed,
            self_loops=self.self_dependence,
            dtype=dtype,
        )

    def to_config(self) -> dict[str, Any]:
        if not self._from_tensor:
            return super().to_config()
        config = plain_config(self, skip=("adjacency",))
        rows = self.edge_index.T.tolist()
        weights = self.edge_weight.tolist()
        weighted = any(w != 1 for w in weights)
        config["adjacency"] = [[s, t, w] for (s, t), w in zip(rows, weights)] if weighted else rows
        config["num_nodes"] = self._n
        return config


@register("interdependence", "graph", aliases=["graph_interdependence"])
class GraphInterdependence(_GraphBase):
    """Graph interdependence: A = the (weighted) adjacency of a given graph, degree-normalised.

    Output node j receives ``sum_i A_norm[i, j] * input_i`` over its in-neighbours i (edges i -> j).
    ``normalization: column`` makes that an average (A D_in^-1); ``symmetric`` is GCN's
    D^-1/2 A D^-1/2; ``row`` divides by the source's out-degree (the reference's only mode, whose
    output is therefore *not* the neighbour mean). Undirected graphs use max(A, A^T).

    Args:
        kind: ``instance`` (default: one node per row; full-graph training feeds all nodes at once)
            or ``attribute`` (nodes are features, or blocks of m / n features).
        adjacency: an edge list, a file, a tensor, or ``"data"`` (see the module docstring).
        num_nodes: n (default: from the file, else m for the attribute kind, else b or largest id + 1).
        directed: False symmetrises A.
        self_dependence: add I (self loops) before normalising.
        normalization: ``none``, ``row``, ``column`` or ``symmetric``.
        b: instance kind: the fixed number of rows (must equal n).

    Shape:
        instance (..., n, D) -> (..., n, D); attribute (..., b, m) -> (..., b, m).
    """

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        adjacency: Any = None,
        num_nodes: int | None = None,
        directed: bool = True,
        self_dependence: bool = False,
        normalization: str = "none",
        b: int | None = None,
    ) -> None:
        self._init_graph(m, kind, adjacency, num_nodes, directed, self_dependence, normalization, b)


@register("interdependence", "multihop_graph", aliases=["multihop_graph_interdependence"])
class MultihopGraphInterdependence(_Hops, _GraphBase):
    """Multi-hop graph: M = A^h, or the cumulative ``sum_{k=k0}^{h} A^k`` (k0 = 0 with the identity, else 1).

    A is the normalised adjacency of :class:`GraphInterdependence`; M is applied by Horner's rule with h
    sparse products, never formed.

    Args:
        hops: h >= 0.
        cumulative: sum the hops.
        include_identity: start the cumulative sum at A^0 = I.
        (others as :class:`GraphInterdependence`)

    Shape:
        instance (..., n, D) -> (..., n, D); attribute (..., b, m) -> (..., b, m).
    """

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        adjacency: Any = None,
        num_nodes: int | None = None,
        hops: int = 1,
        cumulative: bool = False,
        include_identity: bool = False,
        directed: bool = True,
        self_dependence: bool = False,
        normalization: str = "none",
        b: int | None = None,
    ) -> None:
        self._init_hops(hops, cumulative, include_identity)
        self._init_graph(m, kind, adjacency, num_nodes, directed, self_dependence, normalization, b)


@register("interdependence", "pagerank", aliases=["pagerank_multihop_graph_interdependence"])
class PageRankInterdependence(_GraphBase):
    """Personalised-PageRank graph interdependence: M = alpha (I - (1 - alpha) A_norm)^-1.

    With the default ``column`` normalisation, A_norm is column-stochastic and so is M: every output
    node is a convex combination of the inputs (mass leaks only at nodes without in-edges). The
    reference used the *unnormalised* A by default, which is not PageRank (the inverse may not even
    exist); ``normalization: none`` keeps that for a pre-normalised graph. ``self_dependence`` is
    honoured (the reference ignored it).

    Args:
        alpha: the restart probability, in (0, 1].
        terms: None for the exact inverse (dense (n, n), computed once per device/dtype), or K for
            the truncated series ``alpha sum_{k<=K} ((1 - alpha) A_norm)^k`` (K sparse products).
        (others as :class:`GraphInterdependence`)

    Shape:
        instance (..., n, D) -> (..., n, D); attribute (..., b, m) -> (..., b, m).
    """

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out", "c": "alpha"}

    def __init__(
        self,
        m: int,
        kind: str = "instance",
        adjacency: Any = None,
        num_nodes: int | None = None,
        alpha: float = 0.15,
        terms: int | None = None,
        directed: bool = True,
        self_dependence: bool = False,
        normalization: str = "column",
        b: int | None = None,
    ) -> None:
        self.alpha = check_real(alpha, "alpha", gt=0.0, le=1.0)
        self.terms = _check_terms(terms)
        self._init_graph(m, kind, adjacency, num_nodes, directed, self_dependence, normalization, b)

    def _coefficients(self) -> list[float]:
        return [self.alpha * (1.0 - self.alpha) ** i for i in range(self.terms + 1)]

    def _exact(self, A: Tensor) -> Tensor | None:
        if self.terms is not None:
            return None
        try:
            return ft.pagerank(A, self.alpha, normalization=None)
        except RuntimeError as err:  # torch.linalg.LinAlgError
            raise ConfigError(f"I - (1 - alpha) A is singular ({err}); normalise A or raise alpha", self._path) from err


def attach_graph(
    model: nn.Module, edge_index: Tensor | Sequence[Sequence[int]], num_nodes: int, weights: Tensor | None = None
) -> int:
    """Give a dataset's graph to every graph interdependence of ``model`` built with ``adjacency: data``.

    Returns the number of modules that received it.
    """
    count = 0
    for module in model.modules():
        if isinstance(module, _GraphBase) and module.hparams.get("adjacency") == "data":
            module.set_graph(edge_index, num_nodes, weights)
            count += 1
    return count
