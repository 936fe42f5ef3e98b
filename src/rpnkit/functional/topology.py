"""Structural (topological) interdependence matrices: chains, graphs, their normalisations and hops.

Convention: ``A[i, j]`` is the weight of the edge i -> j (rows are sources, columns targets), so a
chain 0 -> 1 -> ... has ``A[i, i + 1] = 1``. RPN 2's instance interdependence mixes a batch as
``A^T @ x`` (each node receives from its in-neighbours); :func:`sparse_mix` computes ``A @ Z``, so the
caller passes ``A.T`` for that.

Matrices may be dense or sparse (COO, or CSR where noted); every function accepts both, keeps a
sparse input sparse where the result is sparse by nature (normalisation, powers, truncated series)
and returns a dense matrix where it is dense by nature (exact inverse, matrix exponential). Values
keep their dtype and device and stay differentiable (sparse values included; conversions between
layouts are differentiable in torch).

Example:
    >>> A = chain_adjacency(3, dense=True)
    >>> A
    tensor([[0., 1., 0.],
            [0., 0., 1.],
            [0., 0., 0.]])
    >>> inverse_multihop(A)
    tensor([[1., 1., 1.],
            [0., 1., 1.],
            [0., 0., 1.]])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import ConfigError, ShapeError
from ..validation import config_path

__all__ = [
    "NORMALIZATIONS",
    "chain_adjacency",
    "graph_adjacency",
    "normalize_adjacency",
    "multihop",
    "matrix_series",
    "inverse_multihop",
    "exponential_multihop",
    "pagerank",
    "sparse_mix",
    "series_mix",
    "transpose_csr",
    "csr_mix",
    "MixOperator",
    "mix_operator",
]

#: Degree normalisations of :func:`normalize_adjacency` (None and "none" mean no normalisation).
NORMALIZATIONS = (None, "none", "row", "column", "symmetric")


# -------------------------------------------------------------------------------------------- helpers


def _is_sparse(A: Tensor) -> bool:
    return A.layout != torch.strided


def _as_coo(A: Tensor) -> Tensor:
    """A sparse matrix as a coalesced COO tensor (CSR/CSC/BSR are converted)."""
    if A.layout != torch.sparse_coo:
        A = A.to_sparse_coo()
    return A.coalesce()


def _like_layout(A: Tensor, like: Tensor) -> Tensor:
    """A (COO or dense) converted back to the layout of ``like`` when that is CSR."""
    if like.layout == torch.sparse_csr and A.layout == torch.sparse_coo:
        return A.to_sparse_csr()
    return A


def _square(A: Tensor, who: str) -> int:
    if A.dim() != 2 or A.shape[0] != A.shape[1]:
        raise ShapeError(f"{who}: expected a square matrix (n, n), got shape {tuple(A.shape)}")
    return A.shape[0]


def _eye_like(A: Tensor, scale: float | Tensor = 1.0) -> Tensor:
    """scale * I in A's layout (sparse COO for sparse A), dtype and device."""
    n = A.shape[0]
    if not _is_sparse(A):
        return torch.eye(n, dtype=A.dtype, device=A.device) * scale
    ar = torch.arange(n, device=A.device)
    values = torch.ones(n, dtype=A.dtype, device=A.device) * scale
    return torch.sparse_coo_tensor(torch.stack([ar, ar]), values, (n, n), is_coalesced=True, check_invariants=False)


def _matmul(A: Tensor, B: Tensor) -> Tensor:
    """A @ B for dense or sparse COO operands (sparse x sparse stays sparse)."""
    if _is_sparse(A):
        return torch.sparse.mm(A, B).coalesce() if _is_sparse(B) else torch.sparse.mm(A, B)
    return A @ B


def _safe_reciprocal(d: Tensor, power: float) -> Tensor:
    """d ** -power where d > 0, else 0 (finite gradients everywhere: no inf * 0 in backward)."""
    positive = d > 0
    safe = torch.where(positive, d, torch.ones_like(d))
    return torch.where(positive, safe.pow(-power), torch.zeros_like(d))


def _check_unit(alpha: float, who: str, name: str = "alpha") -> None:
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha <= 1:
        raise ValueError(f"{who}: {name} must be a number in (0, 1], got {alpha!r}")


# ------------------------------------------------------------------------------------------- builders


def chain_adjacency(
    n: int,
    bidirectional: bool = False,
    self_loops: bool = False,
    self_weight: float = 1.0,
    *,
    dense: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Adjacency of the chain 0 -> 1 -> ... -> n-1: ``A[i, i+1] = 1``.

    ``bidirectional`` adds ``A[i+1, i] = 1`` (a path graph); ``self_loops`` adds ``self_weight * I``.

    Args:
        n: number of nodes (>= 1).
        dense: return a dense matrix instead of a coalesced sparse COO one.
        dtype, device: of the values (default dtype: torch's default).

    Shape:
        -> (n, n), with n - 1 (directed) or 2(n - 1) (bidirectional) off-diagonal entries.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"chain_adjacency: n must be an int >= 1, got {n!r}")
    dtype = dtype or torch.get_default_dtype()
    src = torch.arange(n - 1, device=device)
    rows, cols, vals = [src], [src + 1], [torch.ones(n - 1, dtype=dtype, device=device)]
    if bidirectional:
        rows.append(src + 1)
        cols.append(src)
        vals.append(vals[0])
    if self_loops:
        ar = torch.arange(n, device=device)
        rows.append(ar)
        cols.append(ar)
        vals.append(torch.full((n,), float(self_weight), dtype=dtype, device=device))
    index = torch.stack([torch.cat(rows), torch.cat(cols)])
    A = torch.sparse_coo_tensor(index, torch.cat(vals), (n, n), check_invariants=False).coalesce()
    return A.to_dense() if dense else A


def graph_adjacency(
    edge_index: Tensor | Sequence[Sequence[int]],
    num_nodes: int | None = None,
    weights: Tensor | None = None,
    directed: bool = True,
    self_loops: bool = False,
    *,
    dense: bool = False,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Adjacency of a graph given by its edge list: ``A[src, dst] = w`` for every edge src -> dst.

    Repeated edges add their weights. Undirected graphs (``directed=False``) are symmetrised as
    ``max(A, A^T)`` elementwise over the listed entries (the union of both directions: an edge listed
    both ways is not counted twice; with different weights the larger wins); this is the
    convention of the reference toolkit (and pygcn). ``self_loops`` adds I.

    Args:
        edge_index: (2, E) integer node ids, row 0 the sources and row 1 the targets.
        num_nodes: n (default: largest id + 1).
        weights: (E,) edge weights (default 1), differentiable.
        dense: return a dense matrix instead of a coalesced sparse COO one.
        dtype: of the values (default: the weights' dtype, else torch's default).

    Raises:
        ConfigError: a node id outside [0, num_nodes), or a malformed edge_index / num_nodes.

    Shape:
        edge_index (2, E), weights (E,) -> (n, n), on edge_index's device.
    """
    index = torch.as_tensor(edge_index)
    if index.dim() != 2 or index.shape[0] != 2 or index.is_floating_point() or index.is_complex():
        raise ConfigError(
            f"edge_index must be a (2, E) integer tensor of (source, target) ids, "
            f"got {index.dtype} of shape {tuple(index.shape)}",
            config_path(),
        )
    index = index.long()
    E = index.shape[1]
    lo, hi = (int(index.min()), int(index.max())) if E else (0, -1)
    if num_nodes is None:
        num_nodes = hi + 1
        if num_nodes < 1:
            raise ConfigError("graph_adjacency: an empty edge_index needs num_nodes", config_path())
    elif not isinstance(num_nodes, int) or isinstance(num_nodes, bool) or num_nodes < 1:
        raise ConfigError(f"num_nodes must be an int >= 1, got {num_nodes!r}", config_path())
    if lo < 0 or hi >= num_nodes:
        raise ConfigError(
            f"edge_index node ids must be in [0, {num_nodes - 1}] for num_nodes={num_nodes}, got ids in [{lo}, {hi}]",
            config_path(),
        )
    n = num_nodes
    if weights is None:
        values = torch.ones(E, dtype=dtype or torch.get_default_dtype(), device=index.device)
    else:
        if weights.shape != (E,):
            raise ShapeError(f"graph_adjacency: expected {E} edge weights, got shape {tuple(weights.shape)}")
        values = weights.to(dtype) if dtype is not None else weights
    A = torch.sparse_coo_tensor(index, values, (n, n), check_invariants=False).coalesce()
    if not directed:
        i, v = A.indices(), A.values()
        both = torch.cat([i, i.flip(0)], dim=1)
        linear, inverse = torch.unique(both[0] * n + both[1], return_inverse=True)
        merged = v.new_zeros(linear.shape[0]).scatter_reduce(0, inverse, torch.cat([v, v]), "amax", include_self=False)
        A = torch.sparse_coo_tensor(
            torch.stack([linear // n, linear % n]), merged, (n, n), is_coalesced=True, check_invariants=False
        )
    if self_loops:
        A = (A + _eye_like(A)).coalesce()
    return A.to_dense() if dense else A


# ------------------------------------------------------------------------------------- normalisation


def normalize_adjacency(A: Tensor, mode: str | None = "row") -> Tensor:
    """Degree normalisation of a (dense or sparse) adjacency matrix.

    With ``d_r = A 1`` (row sums, out-degrees) and ``d_c = A^T 1`` (column sums, in-degrees):

    * ``row``: ``D_r^-1 A``, every non-empty row sums to 1 (row-stochastic);
    * ``column``: ``A D_c^-1``, every non-empty column sums to 1 (column-stochastic);
    * ``symmetric``: ``D_r^-1/2 A D_r^-1/2`` (GCN's normalisation; for a symmetric A, d_r = d_c);
    * ``None`` / ``none``: A unchanged.

    Rows (columns) of zero degree stay 0 instead of dividing by zero; in ``symmetric`` mode a
    non-positive degree (possible with negative weights) is treated as zero. The reference toolkit's
    ``row_column`` mode was not D^-1/2 A D^-1/2: it divided by sqrt of the row sums, then by sqrt of
    the column sums *of the already row-scaled matrix*.

    Shape:
        (n, n') -> (n, n') in the input's layout (COO or CSR stay sparse).
    """
    if mode is None or mode == "none":
        return A
    if mode not in NORMALIZATIONS:
        raise ValueError(f"normalize_adjacency: mode must be one of {list(NORMALIZATIONS)}, got {mode!r}")
    if A.dim() != 2:
        raise ShapeError(f"normalize_adjacency: expected a matrix, got shape {tuple(A.shape)}")
    if mode == "symmetric":
        _square(A, "normalize_adjacency(symmetric)")
    sparse = _is_sparse(A)
    S = _as_coo(A) if sparse else A
    if sparse:
        i, v = S.indices(), S.values()
        rows = v.new_zeros(S.shape[0]).index_add(0, i[0], v)
        cols = v.new_zeros(S.shape[1]).index_add(0, i[1], v) if mode == "column" else None
    else:
        rows = S.sum(dim=1)
        cols = S.sum(dim=0) if mode == "column" else None
    if mode == "row":
        left, right = _safe_reciprocal(rows, 1.0), None
    elif mode == "column":
        left, right = None, _safe_reciprocal(cols, 1.0)
    else:
        left = right = _safe_reciprocal(rows, 0.5)
    if not sparse:
        if left is not None:
            S = S * left[:, None]
        return S * right[None, :] if right is not None else S
    if left is not None:
        v = v * left[i[0]]
    if right is not None:
        v = v * right[i[1]]
    out = torch.sparse_coo_tensor(i, v, S.shape, is_coalesced=True, check_invariants=False)
    return _like_layout(out, A)


# ------------------------------------------------------------------------------- powers and series


def matrix_series(A: Tensor, coefficients: Sequence[float] | Tensor) -> Tensor:
    """The matrix polynomial ``sum_{i=0}^{K} c_i A^i`` (A^0 = I), by Horner's rule (K products).

    Sparse input stays sparse (sparse x sparse products; fill-in grows with K).

    Args:
        coefficients: c_0 .. c_K, floats or a (K+1,) tensor (e.g. learnable).

    Shape:
        A (n, n) -> (n, n).
    """
    _square(A, "matrix_series")
    c = list(coefficients) if not isinstance(coefficients, Tensor) else coefficients
    if len(c) < 1:
        raise ValueError("matrix_series: expected at least one coefficient")
    B = _as_coo(A) if _is_sparse(A) else A
    S = _eye_like(B, c[-1])
    for k in range(len(c) - 2, -1, -1):
        S = _matmul(B, S)
        if isinstance(c[k], Tensor) or c[k] != 0:  # a zero coefficient adds nothing (no stored zeros)
            S = S + _eye_like(B, c[k])
        if _is_sparse(S):
            S = S.coalesce()
    return _like_layout(S, A)


def multihop(A: Tensor, hops: int, cumulative: bool = False, include_identity: bool = True) -> Tensor:
    """k-hop interdependence: ``A^k``, or the cumulative ``sum_{i=i0}^{k} A^i``.

    The cumulative sum starts at ``i0 = 0`` (so it *includes* ``A^0 = I``: every node keeps itself)
    when ``include_identity``, else at ``i0 = 1`` (the reference toolkit's "accumulative" form,
    ``sum_{i=1}^{h} A^i``). ``hops = 0`` gives I. Dense ``A^k`` uses ``torch.linalg.matrix_power``
    (repeated squaring); sparse powers stay sparse.

    Shape:
        A (n, n) -> (n, n), in A's layout.
    """
    _square(A, "multihop")
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 0:
        raise ValueError(f"multihop: hops must be an int >= 0, got {hops!r}")
    if cumulative:
        return matrix_series(A, [1.0 if (i > 0 or include_identity) else 0.0 for i in range(hops + 1)])
    if not _is_sparse(A):
        return torch.linalg.matrix_power(A, hops)
    B = _as_coo(A)
    P = _eye_like(B) if hops == 0 else B
    for _ in range(hops - 1):
        P = _matmul(B, P)
    return _like_layout(P, A)


def inverse_multihop(A: Tensor, alpha: float | Tensor = 1.0, terms: int | None = None) -> Tensor:
    """All-hop interdependence ``(I - alpha A)^-1 = sum_{i>=0} (alpha A)^i``.

    * ``terms=None``: the exact inverse by a dense solve (a sparse A is densified; O(n^3), for small n);
      defined whenever ``I - alpha A`` is invertible.
    * ``terms=K``: the truncated Neumann series ``sum_{i=0}^{K} (alpha A)^i``, sparse for sparse A;
      it converges to the inverse when the spectral radius of ``alpha A`` is below 1, and is exact
      for a nilpotent A with K >= n - 1 (the directed chain, whose inverse is the upper-triangular
      matrix of ones).

    Shape:
        A (n, n) -> (n, n): dense for ``terms=None``, else in A's layout.
    """
    n = _square(A, "inverse_multihop")
    if terms is None:
        M = A.to_dense() if _is_sparse(A) else A
        eye = torch.eye(n, dtype=M.dtype, device=M.device)
        return torch.linalg.solve(eye - M * alpha, eye)
    if not isinstance(terms, int) or isinstance(terms, bool) or terms < 0:
        raise ValueError(f"inverse_multihop: terms must be an int >= 0 or None, got {terms!r}")
    if isinstance(alpha, Tensor):
        return matrix_series(A, torch.stack([alpha**i for i in range(terms + 1)]))
    return matrix_series(A, [alpha**i for i in range(terms + 1)])


def exponential_multihop(A: Tensor, alpha: float | Tensor = 1.0, terms: int | None = None) -> Tensor:
    """Exponential (heat-kernel) interdependence ``exp(alpha A) = sum_{i>=0} (alpha A)^i / i!``.

    * ``terms=None``: ``torch.linalg.matrix_exp`` (dense; a sparse A is densified);
    * ``terms=K``: the truncated Taylor series ``sum_{i=0}^{K} (alpha A)^i / i!``, sparse for sparse A.

    Shape:
        A (n, n) -> (n, n): dense for ``terms=None``, else in A's layout.
    """
    _square(A, "exponential_multihop")
    if terms is None:
        M = A.to_dense() if _is_sparse(A) else A
        return torch.linalg.matrix_exp(M * alpha)
    if not isinstance(terms, int) or isinstance(terms, bool) or terms < 0:
        raise ValueError(f"exponential_multihop: terms must be an int >= 0 or None, got {terms!r}")
    if isinstance(alpha, Tensor):
        return matrix_series(A, torch.stack([alpha**i / math.factorial(i) for i in range(terms + 1)]))
    return matrix_series(A, [alpha**i / math.factorial(i) for i in range(terms + 1)])


def pagerank(A: Tensor, alpha: float = 0.15, normalization: str | None = "column", terms: int | None = None) -> Tensor:
    """Personalised-PageRank interdependence ``alpha (I - (1 - alpha) A_norm)^-1``.

    ``A_norm = normalize_adjacency(A, normalization)``. With the default ``column``, A_norm is
    column-stochastic (wherever a column is non-empty), and then every column of the result sums to
    1: column j is the stationary distribution of a walk that restarts at j with probability alpha and
    otherwise moves from node j to node i with probability ``A_norm[i, j]``. (For the walk along
    directed edges i -> j of this module's convention, pass ``A.T``; an undirected A is symmetric.)
    Mass leaks through empty (dangling) columns, whose result columns sum to alpha only.

    The reference toolkit computed ``c (I - (1 - c) A)^-1`` on an *unnormalised* A by default, which
    is not PageRank (its columns do not sum to 1 and the inverse may not exist); normalising is the
    default here and ``normalization=None`` keeps that behaviour for a caller that normalises itself.

    Args:
        alpha: the restart (teleport) probability, in (0, 1].
        normalization: passed to :func:`normalize_adjacency`.
        terms: None for the exact dense solve, or K for the truncated series (sparse for sparse A),
            whose error is at most (1 - alpha)^(K+1) per column for a stochastic A_norm.

    Shape:
        A (n, n) -> (n, n).
    """
    _check_unit(alpha, "pagerank")
    P = normalize_adjacency(A, normalization)
    return inverse_multihop(P, 1.0 - alpha, terms) * alpha


# ---------------------------------------------------------------------------------------------- mixing


def _mm_operand(A: Tensor, dtype: torch.dtype) -> Tensor:
    """A ready for fast products with dense matrices: CSR for sparse A (torch's fastest sparse mm)."""
    if A.dtype != dtype:
        A = A.to(dtype)
    if A.layout == torch.sparse_coo:
        return A.coalesce().to_sparse_csr()
    if A.layout not in (torch.strided, torch.sparse_csr):
        return A.to_sparse_csr()
    return A


def _apply(A: Tensor, Z: Tensor) -> Tensor:
    """A @ Z for a prepared A (:func:`_mm_operand`) and Z of shape (n', ...)."""
    if A.layout == torch.strided:
        return torch.tensordot(A, Z, dims=1) if Z.dim() != 2 else A @ Z
    flat = Z.reshape(Z.shape[0], -1)
    return torch.sparse.mm(A, flat).reshape((A.shape[0],) + Z.shape[1:])


def sparse_mix(A: Tensor, Z: Tensor) -> Tensor:
    """``A @ Z`` for a sparse (COO/CSR) or dense matrix A and a dense tensor Z.

    A sparse A is converted to CSR (several times faster than COO products on the CPU) and applied
    with ``torch.sparse.mm``; the conversion is differentiable, so gradients reach Z and, where they
    require grad, A's values. A is cast to Z's dtype. Trailing dimensions of Z are carried along.

    Shape:
        A (n, n'), Z (n', ...) -> (n, ...).
    """
    if A.dim() != 2 or Z.dim() < 1 or Z.shape[0] != A.shape[1]:
        raise ShapeError(f"sparse_mix: expected A (n, n') and Z (n', ...), got {tuple(A.shape)} and {tuple(Z.shape)}")
    return _apply(_mm_operand(A, Z.dtype), Z)


def series_mix(A: Tensor, Z: Tensor, coefficients: Sequence[float] | Tensor) -> Tensor:
    """``sum_{i=0}^{K} c_i A^i Z`` without forming any power of A (Horner's rule, K products with Z).

    The efficient way to apply a multi-hop, truncated Neumann (``c_i = alpha^i``) or Taylor
    (``c_i = alpha^i / i!``) interdependence of a large sparse A: O(K nnz(A) d) instead of the fill-in
    of the matrix series.

    Args:
        coefficients: c_0 .. c_K, floats or a (K+1,) tensor (e.g. learnable polynomial-filter weights).

    Shape:
        A (n, n), Z (n, ...) -> (n, ...).
    """
    _square(A, "series_mix")
    if Z.dim() < 1 or Z.shape[0] != A.shape[1]:
        raise ShapeError(f"series_mix: expected Z of shape ({A.shape[1]}, ...), got {tuple(Z.shape)}")
    c = list(coefficients) if not isinstance(coefficients, Tensor) else coefficients
    if len(c) < 1:
        raise ValueError("series_mix: expected at least one coefficient")
    M = _mm_operand(A, Z.dtype)
    out = Z * c[-1]
    for k in range(len(c) - 2, -1, -1):
        out = _apply(M, out) + Z * c[k]
    return out


# ------------------------------------------------------------------------- cached-transpose products


def transpose_csr(A: Tensor) -> Tensor:
    """The transpose of a sparse (COO/CSR) matrix as CSR (computed once, e.g. for a backward product).

    Shape:
        A (n, n') -> (n', n).
    """
    with warnings.catch_warnings():  # torch marks CSR as beta on every conversion
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return _as_coo(A).t().coalesce().to_sparse_csr()


class _CSRProduct(torch.autograd.Function):
    """``MT @ Z`` for a CSR matrix MT whose transpose M is also held as CSR: backward is ``M @ G``."""

    @staticmethod
    def forward(ctx, Z: Tensor, MT: Tensor, M: Tensor) -> Tensor:  # type: ignore[override]
        ctx.M = M
        return torch.sparse.mm(MT, Z)

    @staticmethod
    def backward(ctx, G: Tensor):  # type: ignore[override]
        return torch.sparse.mm(ctx.M, G), None, None


def csr_mix(MT: Tensor, M: Tensor, Z: Tensor, coefficients: Sequence[float] | None = None) -> Tensor:
    """``MT @ Z`` (or the series ``sum_i c_i MT^i Z`` by Horner's rule) with a CSR MT and its CSR transpose M.

    Torch's own backward of a sparse product transposes the sparse matrix on every call (about 3x the
    forward); here the transpose is the caller's cached M, so every product, forward or backward, is
    one CSR product (:func:`transpose_csr` makes M once). Gradients reach Z, not the sparse values
    (use :func:`sparse_mix` for learnable sparse values). MT may be rectangular without coefficients.

    Shape:
        MT (n', n), M (n, n'), Z (n, k) -> (n', k); with coefficients MT is square.

    Example:
        >>> A = chain_adjacency(3)
        >>> csr_mix(transpose_csr(A), A.to_sparse_csr(), torch.ones(3, 1)).flatten().tolist()
        [0.0, 1.0, 1.0]
    """
    if MT.dim() != 2 or Z.dim() != 2 or Z.shape[0] != MT.shape[1] or tuple(M.shape) != tuple(MT.shape)[::-1]:
        raise ShapeError(
            f"csr_mix: expected MT (n', n), M (n, n') and Z (n, k), got {tuple(MT.shape)}, {tuple(M.shape)} "
            f"and {tuple(Z.shape)}"
        )
    if coefficients is None:
        return _CSRProduct.apply(Z, MT, M)
    _square(MT, "csr_mix")
    c = list(coefficients)
    if not c:
        raise ValueError("csr_mix: expected at least one coefficient")
    out = Z * c[-1]
    for k in reversed(c[:-1]):
        out = _CSRProduct.apply(out, MT, M)
        if k:
            out = out.add(Z, alpha=k)
    return out


@dataclass(frozen=True, eq=False)
class MixOperator:
    """A topological interdependence matrix M, ready to apply as ``M^T @ Z`` (see :func:`mix_operator`).

    Attributes:
        kind: ``"dense"`` (``AT`` is M^T, dense), ``"sparse"`` (M = A; ``AT`` is A^T and ``A`` is A, both
            CSR) or ``"series"`` (M = sum_i c_i A^i, never formed; ``AT`` and ``A`` as for ``sparse``).
        AT: the operand of the forward product.
        A: the CSR transpose of ``AT`` (the backward product's operand); None for ``dense``.
        coefficients: c_0 .. c_K of the series; None otherwise.
    """

    kind: str
    AT: Tensor
    A: Tensor | None = None
    coefficients: tuple[float, ...] | None = None

    @property
    def n(self) -> int:
        """The number of nodes."""
        return int(self.AT.shape[0])

    def apply(self, Z: Tensor) -> Tensor:
        """``M^T @ Z`` for Z of shape (n, k): one dense product, or CSR products through :func:`csr_mix`."""
        if self.kind == "dense":
            return self.AT @ Z
        if self.A is None:
            return sparse_mix(self.AT, Z) if self.coefficients is None else series_mix(self.AT, Z, self.coefficients)
        return csr_mix(self.AT, self.A, Z, self.coefficients)

    def dense(self) -> Tensor:
        """M as a dense (n, n) matrix (for inspection and tests; the series is formed)."""
        if self.kind == "dense":
            return self.AT.T.contiguous()
        AT = self.AT.to_dense()
        MT = AT if self.coefficients is None else matrix_series(AT, list(self.coefficients))
        return MT.T.contiguous()


def mix_operator(A: Tensor, coefficients: Sequence[float] | None = None, exact: Tensor | None = None) -> MixOperator:
    """The :class:`MixOperator` of M = A, of the series ``sum_i c_i A^i``, or of a dense ``exact`` M.

    A sparse (or dense) A is stored as the CSR pair (A^T, A), so that both products of
    :func:`csr_mix` are CSR products; call it once per graph, device and dtype and keep the result.

    Shape:
        A (n, n) -> an operator of n nodes.
    """
    if exact is not None:
        return MixOperator("dense", exact.T.contiguous())
    _square(A, "mix_operator")
    AT = transpose_csr(A if _is_sparse(A) else A.to_sparse())
    M = transpose_csr(AT)
    if coefficients is None:
        return MixOperator("sparse", AT, M)
    return MixOperator("series", AT, M, tuple(float(c) for c in coefficients))
