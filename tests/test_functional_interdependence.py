"""Values of the interdependence maths (rpnkit.functional kernels / statistics / topology / attention).

References: scikit-learn's pairwise kernels, scipy's cdist/softmax/entropy, numpy's corrcoef, explicit
dense formulas (matrix_power, inv, matrix_exp, degree scaling), a PageRank power iteration and
torch's scaled_dot_product_attention. All in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist
from scipy.special import softmax as sp_softmax
from scipy.stats import entropy
from sklearn.gaussian_process.kernels import RBF
from sklearn.metrics import pairwise as skp

from rpnkit.errors import ConfigError, ShapeError
from rpnkit.functional import attention as fa
from rpnkit.functional import kernels as fk
from rpnkit.functional import statistics as fs
from rpnkit.functional import topology as ft

D64 = torch.float64


def _data(n: int = 7, d: int = 4, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=D64)


def _close(actual: torch.Tensor, expected, atol: float = 1e-10) -> None:
    actual = actual.to_dense() if actual.layout != torch.strided else actual
    expected = torch.as_tensor(np.asarray(expected), dtype=actual.dtype)
    torch.testing.assert_close(actual, expected, rtol=1e-9, atol=atol)


# ------------------------------------------------------------------------------------------ kernels

X, Y = _data(7, 4, 0), _data(5, 4, 1)
Xn, Yn = X.numpy(), Y.numpy()


@pytest.mark.parametrize("with_y", [False, True])
def test_inner_product_kernels_match_sklearn(with_y):
    Yt, Ya = (Y, Yn) if with_y else (None, None)
    _close(fk.linear_kernel(X, Yt), skp.linear_kernel(Xn, Ya))
    _close(fk.polynomial_kernel(X, Yt, degree=3, gamma=0.3, coef0=0.7), skp.polynomial_kernel(Xn, Ya, 3, 0.3, 0.7))
    _close(fk.polynomial_kernel(X, Yt), skp.polynomial_kernel(Xn, Ya))  # gamma = 1 / d by default
    _close(fk.sigmoid_kernel(X, Yt, gamma=0.2, coef0=-0.5), skp.sigmoid_kernel(Xn, Ya, gamma=0.2, coef0=-0.5))
    _close(fk.hyperbolic_tangent_kernel(X, Yt), skp.sigmoid_kernel(Xn, Ya))
    _close(fk.cosine_similarity(X, Yt), skp.cosine_similarity(Xn, Ya))


def test_cosine_similarity_is_safe_at_zero_vectors():
    Z = X.clone()
    Z[2] = 0.0
    K = fk.cosine_similarity(Z)
    _close(K, skp.cosine_similarity(Z.numpy()))
    assert K[2].abs().sum() == 0
    Zg = Z.clone().requires_grad_()
    fk.cosine_similarity(Zg).sum().backward()
    assert torch.isfinite(Zg.grad).all()


@pytest.mark.parametrize("with_y", [False, True])
def test_distances_match_sklearn_and_scipy(with_y):
    Yt, Ya = (Y, Yn) if with_y else (None, Xn)
    _close(fk.euclidean_distances(X, Yt), skp.euclidean_distances(Xn, Ya))
    _close(fk.squared_euclidean_distances(X, Yt), skp.euclidean_distances(Xn, Ya, squared=True))
    _close(fk.manhattan_distances(X, Yt), skp.manhattan_distances(Xn, Ya))
    _close(fk.chebyshev_distances(X, Yt), cdist(Xn, Ya, "chebyshev"))
    _close(fk.minkowski_distances(X, Yt, p=3), cdist(Xn, Ya, "minkowski", p=3))
    _close(fk.minkowski_distances(X, Yt, p=2), cdist(Xn, Ya, "euclidean"))
    _close(fk.pairwise_distances(X, Yt, "minkowski", p=1.5), cdist(Xn, Ya, "minkowski", p=1.5))


def test_canberra_counts_zero_over_zero_as_zero():
    A = X.clone()
    A[0, :2] = 0.0
    A[3, 1] = 0.0
    B = Y.clone()
    B[1, 0:3] = 0.0
    _close(fk.canberra_distances(A, B), cdist(A.numpy(), B.numpy(), "canberra"))
    _close(fk.canberra_distances(A), cdist(A.numpy(), A.numpy(), "canberra"))


def test_squared_euclidean_is_clamped_and_exact_on_the_diagonal():
    base = _data(6, 5, 2) * 1e-3 + 1e4  # large offset, tiny spread: the Gram trick's worst case
    Z = torch.cat([base, base[:2] + 1e-13])  # near-duplicates of rows 0 and 1
    D2 = fk.squared_euclidean_distances(Z)
    assert (D2 >= 0).all()
    assert (D2.diagonal() == 0).all() and (fk.euclidean_distances(Z).diagonal() == 0).all()
    _close(D2, cdist(Z.numpy(), Z.numpy(), "sqeuclidean"), atol=1e-12)


def test_distance_kernels_match_sklearn():
    for Yt, Ya in ((None, None), (Y, Yn)):
        _close(fk.gaussian_rbf_kernel(X, Yt, gamma=0.3), skp.rbf_kernel(Xn, Ya, gamma=0.3))
        _close(fk.gaussian_rbf_kernel(X, Yt, sigma=1.7), skp.rbf_kernel(Xn, Ya, gamma=1 / (2 * 1.7**2)))
        _close(fk.gaussian_rbf_kernel(X, Yt), skp.rbf_kernel(Xn, Ya, gamma=0.5))  # sigma = 1
        _close(fk.laplacian_kernel(X, Yt, gamma=0.4), skp.laplacian_kernel(Xn, Ya, gamma=0.4))
        _close(fk.laplacian_kernel(X, Yt, sigma=2.0), skp.laplacian_kernel(Xn, Ya, gamma=0.5))
        Yc = Xn if Ya is None else Ya
        _close(fk.exponential_kernel(X, Yt, gamma=0.7), np.exp(-0.7 * cdist(Xn, Yc)))
        _close(fk.exponential_kernel(X, Yt, metric="canberra"), np.exp(-cdist(Xn, Yc, "canberra")))
        _close(fk.exponential_kernel(X, Yt, metric="chebyshev"), np.exp(-cdist(Xn, Yc, "chebyshev")))
    with pytest.raises(ValueError, match="give sigma or gamma, not both"):
        fk.gaussian_rbf_kernel(X, sigma=1.0, gamma=1.0)
    with pytest.raises(ValueError, match="metric must be one of"):
        fk.exponential_kernel(X, metric="cosine")


def test_anisotropic_rbf_matches_sklearn_gp_kernel():
    ls = np.array([0.5, 1.0, 2.0, 3.0])
    ref = RBF(length_scale=ls)
    _close(fk.anisotropic_rbf_kernel(X, length_scale=torch.tensor(ls)), ref(Xn))
    _close(fk.anisotropic_rbf_kernel(X, Y, length_scale=torch.tensor(ls)), ref(Xn, Yn))
    _close(fk.anisotropic_rbf_kernel(X, Y, weights=torch.tensor(0.5 / ls**2)), ref(Xn, Yn))
    _close(fk.anisotropic_rbf_kernel(X, Y, length_scale=1.3), RBF(1.3)(Xn, Yn))
    with pytest.raises(ShapeError, match="expected 4 per-feature scales"):
        fk.anisotropic_rbf_kernel(X, weights=torch.ones(3, dtype=D64))


def test_hybrid_kernel_modes():
    K1, K2 = fk.linear_kernel(X), fk.gaussian_rbf_kernel(X)
    _close(fk.hybrid_kernel([K1, K2]), (K1 + K2) / 2)
    _close(fk.hybrid_kernel([K1, K2], "sum"), K1 + K2)
    _close(fk.hybrid_kernel([K1, K2], "product"), K1 * K2)
    _close(fk.hybrid_kernel([K1, K2], weights=[0.2, 3.0]), 0.2 * K1 + 3.0 * K2)
    with pytest.raises(ShapeError, match="kernel 1 has shape"):
        fk.hybrid_kernel([K1, K2[:3]])


def test_kernel_shape_errors():
    with pytest.raises(ShapeError, match=r"Y must be a matrix \(n', d=4\)"):
        fk.linear_kernel(X, Y[:, :3])


def test_kernels_follow_dtype():
    X32 = X.float()
    for fn in (fk.euclidean_distances, fk.cosine_similarity, fk.canberra_distances, fk.anisotropic_rbf_kernel):
        assert fn(X32).dtype == torch.float32


# --------------------------------------------------------------------------------------- statistics

B = _data(12, 5, 3)


def test_pearson_matches_numpy():
    _close(fs.pearson_correlation(B), np.corrcoef(B.numpy(), rowvar=False), atol=1e-12)


def test_pearson_constant_columns_are_finite():
    C = B.clone()
    C[:, 1] = 0.1  # 0.1 is not exact in binary: a plain mean leaves rounding noise
    C[:, 3] = -7.0
    R = fs.pearson_correlation(C)
    assert torch.isfinite(R).all()
    assert (R.diagonal() == 1).all()
    for j in (1, 3):
        off = torch.cat([R[j, :j], R[j, j + 1 :]])
        assert (off == 0).all() and (R[:, j].sum() == 1)
    keep = [0, 2, 4]
    _close(R[keep][:, keep], np.corrcoef(C[:, keep].numpy(), rowvar=False), atol=1e-12)


def test_kl_divergence_softmax_and_sum():
    P = sp_softmax(B.numpy(), axis=0)
    ref = np.array([[entropy(P[:, i], P[:, j]) for j in range(5)] for i in range(5)])
    _close(fs.kl_divergence(B), ref, atol=1e-12)
    Nn = B.abs()
    Nn[0, 0] = 0.0
    eps = 1e-9
    Q = (Nn.numpy() + eps) / (Nn.numpy() + eps).sum(0)
    ref = np.array([[entropy(Q[:, i], Q[:, j]) for j in range(5)] for i in range(5)])
    K = fs.kl_divergence(Nn, "sum", eps=eps)
    _close(K, ref, atol=1e-12)
    assert (K.diagonal() == 0).all()


def _rv_reference(Xb: np.ndarray, groups: list[int]) -> np.ndarray:
    Xc = Xb - Xb.mean(0)
    edges = np.cumsum([0, *groups])
    S = [Xc[:, a:b] @ Xc[:, a:b].T for a, b in zip(edges[:-1], edges[1:])]
    return np.array([[np.trace(Si @ Sj) / np.sqrt(np.trace(Si @ Si) * np.trace(Sj @ Sj)) for Sj in S] for Si in S])


def test_rv_coefficient_columns_and_blocks():
    R = fs.rv_coefficient(B)
    _close(R, np.corrcoef(B.numpy(), rowvar=False) ** 2, atol=1e-12)
    assert (R.diagonal() == 1).all()
    _close(fs.rv_coefficient(B, groups=[2, 1, 2]), _rv_reference(B.numpy(), [2, 1, 2]), atol=1e-12)
    _close(fs.rv_coefficient(B, groups=[1] * 5), _rv_reference(B.numpy(), [1] * 5), atol=1e-12)
    with pytest.raises(ValueError, match="summing to m=5"):
        fs.rv_coefficient(B, groups=[2, 2])


def test_gaussian_mutual_information_caps_the_diagonal():
    rho = np.corrcoef(B.numpy(), rowvar=False)
    np.fill_diagonal(rho, 0.0)
    ref = -0.5 * np.log(1 - rho**2)
    np.fill_diagonal(ref, -0.5 * math.log(1e-6))
    _close(fs.gaussian_mutual_information(B), ref, atol=1e-12)
    C = torch.cat([B, B[:, :1] * 2 + 1], dim=1)  # a perfectly correlated pair also sits at the cap
    I = fs.gaussian_mutual_information(C, eps=1e-4)
    assert torch.isfinite(I).all() and I[0, 5] == pytest.approx(-0.5 * math.log(1e-4))


# ----------------------------------------------------------------------------------------- topology


def _dense(A: torch.Tensor) -> torch.Tensor:
    return A.to_dense() if A.layout != torch.strided else A


def test_chain_adjacency():
    A = ft.chain_adjacency(4, dtype=D64)
    assert A.layout == torch.sparse_coo and A.is_coalesced()
    _close(A, np.eye(4, k=1))
    _close(ft.chain_adjacency(4, bidirectional=True, dtype=D64), np.eye(4, k=1) + np.eye(4, k=-1))
    _close(
        ft.chain_adjacency(4, self_loops=True, self_weight=0.5, dense=True, dtype=D64), np.eye(4, k=1) + 0.5 * np.eye(4)
    )
    _close(ft.chain_adjacency(1, bidirectional=True, self_loops=True, dtype=D64), np.eye(1))


EDGES = torch.tensor([[0, 1, 1, 2, 0, 3], [1, 2, 0, 3, 1, 3]])  # (0, 1) listed twice, 1 -> 0 back-edge, a self loop


def test_graph_adjacency_directed_and_undirected():
    w = torch.tensor([1.0, 2.0, 0.5, 3.0, 4.0, 1.5], dtype=D64)
    ref = np.zeros((5, 5))
    for (s, t), v in zip(EDGES.T.tolist(), w.tolist()):
        ref[s, t] += v
    _close(ft.graph_adjacency(EDGES, 5, w), ref)
    _close(ft.graph_adjacency(EDGES, 5, w, directed=False), np.maximum(ref, ref.T))
    _close(ft.graph_adjacency(EDGES, 5, w, self_loops=True, dense=True), ref + np.eye(5))
    U = ft.graph_adjacency(EDGES, dtype=D64, directed=False)  # num_nodes = 4 from the ids
    assert U.shape == (4, 4)
    _close(U, np.maximum(_counts(4), _counts(4).T))


def _counts(n: int) -> np.ndarray:
    out = np.zeros((n, n))
    for s, t in EDGES.T.tolist():
        out[s, t] += 1
    return out


def test_graph_adjacency_rejects_out_of_range_ids():
    with pytest.raises(ConfigError, match=r"node ids must be in \[0, 2\] for num_nodes=3, got ids in \[0, 3\]"):
        ft.graph_adjacency(EDGES, num_nodes=3)
    with pytest.raises(ConfigError, match=r"got ids in \[-1, 1\]"):
        ft.graph_adjacency(torch.tensor([[0, -1], [1, 1]]), num_nodes=3)
    with pytest.raises(ConfigError, match=r"\(2, E\) integer tensor"):
        ft.graph_adjacency(torch.zeros(3, 2, dtype=torch.long))


def _weighted_graph() -> torch.Tensor:
    """A (6, 6) non-negative matrix with an isolated node 4 (zero row and column) and a sink 5."""
    g = torch.Generator().manual_seed(4)
    A = torch.rand(6, 6, generator=g, dtype=D64) * (torch.rand(6, 6, generator=g, dtype=D64) < 0.6)
    A[4] = 0.0
    A[:, 4] = 0.0
    A[5] = 0.0
    A[0, 5] = 0.7
    return A


def test_normalizations_match_explicit_degree_scaling():
    A = _weighted_graph()
    r, c = A.sum(1), A.sum(0)

    def inv(d, p=1.0):
        return torch.where(d > 0, d.clamp_min(1e-300) ** -p, torch.zeros_like(d))

    expected = {
        "row": torch.diag(inv(r)) @ A,
        "column": A @ torch.diag(inv(c)),
        "symmetric": torch.diag(inv(r, 0.5)) @ A @ torch.diag(inv(r, 0.5)),
        None: A,
    }
    for mode, ref in expected.items():
        _close(ft.normalize_adjacency(A, mode), ref)
        out = ft.normalize_adjacency(A.to_sparse(), mode)
        assert out.layout == torch.sparse_coo
        _close(out, ref)
        out = ft.normalize_adjacency(A.to_sparse_csr(), mode)
        assert out.layout == torch.sparse_csr
        _close(out, ref)
    S = ft.normalize_adjacency(A, "row")
    assert torch.allclose(S.sum(1), (r > 0).to(D64))
    with pytest.raises(ValueError, match="mode must be one of"):
        ft.normalize_adjacency(A, "row_column")


def test_multihop_dense_and_sparse():
    A = ft.normalize_adjacency(_weighted_graph(), "row")
    eye = torch.eye(6, dtype=D64)
    for k in (0, 1, 3):
        ref = torch.linalg.matrix_power(A, k)
        _close(ft.multihop(A, k), ref)
        _close(ft.multihop(A.to_sparse(), k), ref)
    cum = eye + A + A @ A + A @ A @ A
    _close(ft.multihop(A, 3, cumulative=True), cum)
    _close(ft.multihop(A.to_sparse(), 3, cumulative=True), cum)
    _close(ft.multihop(A.to_sparse(), 3, cumulative=True, include_identity=False), cum - eye)


def test_inverse_and_exponential_multihop():
    A = ft.normalize_adjacency(_weighted_graph(), "column")
    eye = torch.eye(6, dtype=D64)
    inv = torch.linalg.inv(eye - 0.5 * A)
    _close(ft.inverse_multihop(A, 0.5), inv)
    _close(ft.inverse_multihop(A.to_sparse(), 0.5), inv)
    _close(ft.inverse_multihop(A.to_sparse(), 0.5, terms=60), inv, atol=1e-12)
    _close(ft.inverse_multihop(A, 0.5, terms=60), inv, atol=1e-12)
    chain = ft.chain_adjacency(5, dtype=D64)
    _close(ft.inverse_multihop(chain), np.triu(np.ones((5, 5))))
    _close(ft.inverse_multihop(chain, terms=4), np.triu(np.ones((5, 5))))
    ref = torch.linalg.matrix_exp(0.8 * A)
    _close(ft.exponential_multihop(A, 0.8), ref)
    _close(ft.exponential_multihop(A.to_sparse(), 0.8, terms=25), ref, atol=1e-12)
    assert ft.exponential_multihop(A.to_sparse(), 0.8, terms=3).layout == torch.sparse_coo


def _connected_graph() -> torch.Tensor:
    """:func:`_weighted_graph` with edges 0 -> 4 -> 0 added, so that no column is empty."""
    A = _weighted_graph()
    A[4, 0] = 0.3
    A[0, 4] = 0.2
    return A


def test_pagerank_matches_power_iteration_and_columns_sum_to_one():
    A = _connected_graph()
    alpha = 0.15
    P = A / A.sum(0)
    Pi = torch.eye(6, dtype=D64)
    for _ in range(400):  # every seed at once: Pi <- alpha I + (1 - alpha) P Pi
        Pi = alpha * torch.eye(6, dtype=D64) + (1 - alpha) * P @ Pi
    R = ft.pagerank(A, alpha)
    _close(R, Pi, atol=1e-12)
    _close(R.sum(0), np.ones(6), atol=1e-12)
    _close(ft.pagerank(A.to_sparse(), alpha, terms=300), Pi, atol=1e-12)
    with pytest.raises(ValueError, match=r"alpha must be a number in \(0, 1\]"):
        ft.pagerank(A, 0.0)


def test_sparse_mix_and_series_mix():
    A = ft.normalize_adjacency(_weighted_graph(), "symmetric")
    Z = _data(6, 3, 5)
    for M in (A, A.to_sparse(), A.to_sparse_csr()):
        _close(ft.sparse_mix(M, Z), A @ Z)
        _close(ft.sparse_mix(M, Z[:, 0]), A @ Z[:, 0])
        coeffs = [0.5, -1.0, 0.25, 2.0]
        _close(ft.series_mix(M, Z, coeffs), ft.matrix_series(A, coeffs) @ Z)
    _close(ft.sparse_mix(A.float().to_sparse(), Z), A @ Z, atol=1e-6)  # A is cast to Z's dtype
    with pytest.raises(ShapeError, match="sparse_mix: expected A"):
        ft.sparse_mix(A, Z[:4])


# ---------------------------------------------------------------------------------------- attention


def test_bilinear_scores():
    g = torch.Generator().manual_seed(6)
    Q, K = torch.randn(2, 4, 3, generator=g, dtype=D64), torch.randn(2, 9, 5, generator=g, dtype=D64)
    W = torch.randn(3, 5, generator=g, dtype=D64)
    _close(fa.bilinear_scores(Q, K, W), Q @ W @ K.transpose(-1, -2))
    _close(fa.bilinear_scores(Q, K, W, scale=True), Q @ W @ K.transpose(-1, -2) / math.sqrt(5))
    _close(fa.bilinear_scores(K, Q, W.T, scale=0.3), 0.3 * K @ W.T @ Q.transpose(-1, -2))  # other association
    _close(fa.bilinear_scores(Q, Q), Q @ Q.transpose(-1, -2))
    with pytest.raises(ShapeError, match=r"W must have shape \(3, 5\)"):
        fa.bilinear_scores(Q, K, W.T)


def test_masked_softmax_zero_for_fully_masked_rows():
    s = _data(3, 4, 7).requires_grad_()
    mask = torch.tensor([[True, False, True, True], [False] * 4, [True] * 4])
    p = fa.masked_softmax(s, mask)
    assert (p[1] == 0).all()
    _close(p[0, [0, 2, 3]], torch.softmax(s[0, [0, 2, 3]], 0).detach())
    _close(p[2], torch.softmax(s[2], 0).detach())
    assert p[0, 1] == 0
    p.square().sum().backward()
    assert torch.isfinite(s.grad).all() and (s.grad[1] == 0).all()


def test_scaled_dot_attention_matches_torch():
    g = torch.Generator().manual_seed(8)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=g, dtype=D64) for _ in range(3))
    mask = torch.rand(5, 5, generator=g) < 0.7
    mask[:, 0] = True
    additive = torch.randn(5, 5, generator=g, dtype=D64)
    _close(fa.scaled_dot_attention(q, k, v), F.scaled_dot_product_attention(q, k, v))
    _close(fa.scaled_dot_attention(q, k, v, mask), F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    _close(
        fa.scaled_dot_attention(q, k, v, mask, scale=0.3),
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3),
    )
    _close(fa.scaled_dot_attention(q, k, v, additive), F.scaled_dot_product_attention(q, k, v, attn_mask=additive))
    mask[2] = False
    out = fa.scaled_dot_attention(q, k, v, mask)
    assert (out[..., 2, :] == 0).all() and torch.isfinite(out).all()


# ------------------------------------------------------------------------------------------ gradients


def _g(*shape: int, seed: int = 9) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=D64).requires_grad_()


def test_gradcheck_kernels_and_statistics():
    Xg, Yg = _g(5, 3), _g(4, 3, seed=10)
    torch.autograd.gradcheck(lambda a, b: fk.euclidean_distances(a, b), (Xg, Yg))
    torch.autograd.gradcheck(lambda a: fk.gaussian_rbf_kernel(a, sigma=1.5), (Xg,))
    torch.autograd.gradcheck(lambda a, b: fk.canberra_distances(a, b), (Xg, Yg))
    w = (torch.rand(3, dtype=D64) + 0.1).requires_grad_()
    torch.autograd.gradcheck(lambda a, ww: fk.anisotropic_rbf_kernel(a, weights=ww), (Xg, w))
    Cg = _g(6, 4, seed=11)
    torch.autograd.gradcheck(fs.pearson_correlation, (Cg,))
    torch.autograd.gradcheck(lambda a: fs.rv_coefficient(a, groups=[1, 3]), (Cg,))
    torch.autograd.gradcheck(fs.kl_divergence, (Cg,))
    torch.autograd.gradcheck(fs.gaussian_mutual_information, (Cg,))


def test_gradcheck_topology_and_attention():
    A = _weighted_graph()
    idx = A.to_sparse().indices()
    vals = A.to_sparse().values().clone().requires_grad_()

    def sparse_normalised_mix(v, Z):
        M = torch.sparse_coo_tensor(idx, v, (6, 6), check_invariants=True).coalesce()
        return ft.sparse_mix(ft.normalize_adjacency(M, "symmetric"), Z)

    torch.autograd.gradcheck(sparse_normalised_mix, (vals, _g(6, 2)))
    w = (torch.rand(EDGES.shape[1], dtype=D64) + 0.5).requires_grad_()
    torch.autograd.gradcheck(lambda ww: ft.graph_adjacency(EDGES, 5, ww, directed=False, dense=True), (w,))
    Ad = _connected_graph().requires_grad_()  # no empty column: the normalisation is smooth around A
    torch.autograd.gradcheck(lambda a: ft.pagerank(a, 0.2), (Ad,))
    torch.autograd.gradcheck(lambda a, Z: ft.series_mix(a, Z, [1.0, 0.5, 0.25]), (Ad, _g(6, 2)))
    Q, K, W = _g(2, 4, 3), _g(2, 5, 3, seed=12), _g(3, 3, seed=13)
    torch.autograd.gradcheck(lambda q, k, w: fa.bilinear_scores(q, k, w, scale=True), (Q, K, W))
    mask = torch.tensor([[True, False, True, True, False]] * 3 + [[False] * 5])
    torch.autograd.gradcheck(lambda q, k: fa.masked_softmax(fa.bilinear_scores(q, k), mask), (Q, K))


# ------------------------------------------------------------------ cached-transpose CSR products


def test_transpose_csr_and_rectangular_csr_mix():
    gen = torch.Generator().manual_seed(0)
    dense = torch.rand(4, 6, generator=gen, dtype=D64) * (torch.rand(4, 6, generator=gen, dtype=D64) > 0.5)
    for A in (dense.to_sparse(), dense.to_sparse_csr()):
        T = ft.transpose_csr(A)
        assert T.layout == torch.sparse_csr and T.shape == (6, 4)
        torch.testing.assert_close(T.to_dense(), dense.T)
    MT, M = dense.to_sparse_csr(), ft.transpose_csr(dense)  # MT (4, 6) @ Z (6, k)
    z = torch.randn(6, 3, dtype=D64, requires_grad=True)
    torch.testing.assert_close(ft.csr_mix(MT, M, z), dense @ z)
    assert torch.autograd.gradcheck(lambda t: ft.csr_mix(MT, M, t), (z,))
    with pytest.raises(ShapeError, match=r"csr_mix: expected MT \(n', n\), M \(n, n'\) and Z \(n, k\)"):
        ft.csr_mix(MT, M, torch.randn(4, 3, dtype=D64))
    with pytest.raises(ShapeError, match="csr_mix: expected a square matrix"):
        ft.csr_mix(MT, M, z, [1.0, 2.0])


@pytest.mark.parametrize("coefficients", [None, [0.0, 1.0], [1.0, 0.5, 0.25]])
def test_mix_operator_applies_m_transposed(coefficients):
    A = ft.normalize_adjacency(ft.graph_adjacency(EDGES, dtype=D64, directed=False, self_loops=True), "symmetric")
    op = ft.mix_operator(A, coefficients)
    assert op.kind == ("sparse" if coefficients is None else "series")
    M = A.to_dense() if coefficients is None else ft.matrix_series(A.to_dense(), coefficients)
    torch.testing.assert_close(op.dense(), M)
    z = torch.randn(A.shape[0], 2, dtype=D64, requires_grad=True)
    torch.testing.assert_close(op.apply(z), M.T @ z)
    assert torch.autograd.gradcheck(op.apply, (z,))
    exact = ft.mix_operator(A, exact=ft.pagerank(A, 0.2))
    assert exact.kind == "dense" and exact.A is None
    torch.testing.assert_close(exact.apply(z), ft.pagerank(A, 0.2).T @ z)
    dense_in = ft.mix_operator(A.to_dense(), coefficients)  # a dense A is stored sparse too
    torch.testing.assert_close(dense_in.apply(z), M.T @ z)
