"""Values of the interdependence catalogue against independent references (float64).

Kernels against scikit-learn / scipy, statistics against numpy / scipy, chains and graphs against
explicit dense formulas (matrix_power, inv, matrix_exp), bilinear scores against W built by the
reconciliation; sparse and dense paths agree; bad inputs raise errors naming the config path.
"""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist
from scipy.stats import entropy
from sklearn.gaussian_process.kernels import RBF
from sklearn.metrics import pairwise as skp

import rpnkit as rk
from rpnkit.errors import ConfigError, ShapeError
from rpnkit.functional import geometric as G
from rpnkit.interdependence import attach_graph

D64 = torch.float64
I = "interdependence"  # noqa: E741


def _x(b: int = 6, m: int = 4, seed: int = 0, lead: tuple[int, ...] = ()) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*lead, b, m, generator=g, dtype=D64)


def _build(spec, m: int = 4, path: str | None = None):
    return rk.build(I, spec, m=m, path=path).to(D64)


def _close(actual, expected, atol: float = 1e-10) -> None:
    expected = torch.as_tensor(np.asarray(expected), dtype=D64)
    torch.testing.assert_close(actual, expected, rtol=1e-9, atol=atol)


def _check_mix(module, x, data=None) -> None:
    """mix (structured/sparse path) agrees with the dense A: data @ A or A^T @ data."""
    data = x if data is None else data
    A = module.matrix(x)
    expected = data @ A if module.kind == "attribute" else A.transpose(-1, -2) @ data
    torch.testing.assert_close(module(x, data), expected, rtol=1e-9, atol=1e-10)


# ----------------------------------------------------------------------------------------- kernels

KERNELS = [
    ("linear_kernel", {}, lambda X: skp.linear_kernel(X)),
    (
        "polynomial_kernel",
        {"degree": 3, "gamma": 0.5, "coef0": 1.5},
        lambda X: skp.polynomial_kernel(X, None, 3, 0.5, 1.5),
    ),
    ("polynomial_kernel", {}, lambda X: skp.linear_kernel(X)),  # the reference defaults: (X^T X + 0)^1
    ("hyperbolic_tangent_kernel", {"gamma": 0.3, "coef0": 0.2}, lambda X: skp.sigmoid_kernel(X, None, 0.3, 0.2)),
    ("cosine_similarity", {}, lambda X: skp.cosine_similarity(X)),
    ("euclidean_distance", {"gamma": 0.7}, lambda X: np.exp(-0.7 * cdist(X, X))),
    ("manhattan_distance", {}, lambda X: np.exp(-cdist(X, X, "cityblock"))),
    ("chebyshev_distance", {}, lambda X: np.exp(-cdist(X, X, "chebyshev"))),
    ("canberra_distance", {}, lambda X: np.exp(-cdist(X, X, "canberra"))),
    ("minkowski_distance", {"p": 3.0}, lambda X: np.exp(-cdist(X, X, "minkowski", p=3.0))),
    ("exponential_kernel", {"gamma": 0.5, "metric": "chebyshev"}, lambda X: np.exp(-0.5 * cdist(X, X, "chebyshev"))),
    ("gaussian_rbf_kernel", {"sigma": 1.5}, lambda X: skp.rbf_kernel(X, gamma=1 / (2 * 1.5**2))),
    ("gaussian_rbf_kernel", {"gamma": 0.2}, lambda X: skp.rbf_kernel(X, gamma=0.2)),
    ("laplacian_kernel", {"sigma": 2.0}, lambda X: skp.laplacian_kernel(X, gamma=0.5)),
    ("anisotropic_rbf_kernel", {"length_scale": 0.9}, lambda X: RBF(length_scale=0.9)(X)),
]


@pytest.mark.parametrize("kind", ["attribute", "instance"])
@pytest.mark.parametrize(("name", "options", "reference"), KERNELS, ids=[k[0] for k in KERNELS])
def test_kernel_matrices_match_sklearn_and_scipy(name, options, reference, kind):
    x = _x()
    module = _build({"name": name, "kind": kind, **options})
    points = x.T if kind == "attribute" else x
    _close(module.matrix(x), reference(points.numpy()))
    _check_mix(module, x)


def test_anisotropic_scales_match_sklearn_per_coordinate():
    x = _x(b=5, m=3)
    scales = [0.5, 1.0, 2.0, 1.5, 0.7]
    att = _build({"name": "anisotropic_rbf_kernel", "length_scale": scales}, m=3)  # coordinates = the 5 rows
    _close(att.matrix(x), RBF(length_scale=np.array(scales))(x.T.numpy()))
    inst = _build({"name": "anisotropic_rbf_kernel", "kind": "instance", "length_scale": [0.5, 1.0, 2.0]}, m=3)
    _close(inst.matrix(x), RBF(length_scale=np.array([0.5, 1.0, 2.0]))(x.numpy()))
    with pytest.raises(ShapeError, match=r"5 per-coordinate length scales but 4 rows in the batch"):
        att(_x(b=4, m=3))


def test_linear_and_cosine_never_build_A_but_agree_with_it():
    for name in ("linear_kernel", "cosine_similarity"):
        for kind in ("attribute", "instance"):
            module = _build({"name": name, "kind": kind})
            for b in (2, 9):  # both associations of the Gram product
                x = _x(b=b, lead=(3,))
                data = _x(b=b, m=4 if kind == "attribute" else 7, seed=1, lead=(3,))
                _check_mix(module, x, data)


def test_cosine_similarity_of_a_zero_column_is_zero():
    x = _x()
    x[:, 1] = 0
    A = _build("cosine_similarity").matrix(x)
    assert torch.isfinite(A).all() and A[1].abs().max() == 0 and A[:, 1].abs().max() == 0


def test_leading_dimensions_are_separate_batches():
    x = _x(lead=(2, 3))
    for spec in ("pearson_correlation", "gaussian_rbf_kernel", {"name": "kl_divergence", "kind": "instance"}):
        module = _build(spec)
        out = module(x)
        for i in range(2):
            for j in range(3):
                torch.testing.assert_close(out[i, j], module(x[i, j]))


def test_hybrid_kernel_weights_and_product():
    x = _x()
    rbf, lin = _build("gaussian_rbf_kernel").matrix(x), _build("linear_kernel").matrix(x)
    weighted = _build(
        {"name": "hybrid_kernel", "kernels": ["gaussian_rbf_kernel", "linear_kernel"], "weights": [2.0, -1.0]}
    )
    torch.testing.assert_close(weighted.matrix(x), 2 * rbf - lin)
    default = _build({"name": "hybrid_kernel", "kernels": ["gaussian_rbf_kernel", "linear_kernel"]})
    torch.testing.assert_close(default.matrix(x), (rbf + lin) / 2)
    product = _build({"name": "hybrid_kernel", "kernels": ["gaussian_rbf_kernel", "linear_kernel"], "mode": "product"})
    torch.testing.assert_close(product.matrix(x), rbf * lin)
    _check_mix(product, x)


def test_generic_kernel_classes_dispatch_by_name():
    x = _x()
    num = _build({"name": "numerical_kernel", "kernel": {"name": "polynomial_kernel", "degree": 2}})
    _close(num.matrix(x), skp.polynomial_kernel(x.T.numpy(), None, 2, 1.0, 0.0))
    stat = _build(
        {"name": "statistical_kernel_based_interdependence", "kernel": "pearson_correlation", "kind": "instance"}
    )
    _close(stat.matrix(x), np.corrcoef(x.numpy()))
    with pytest.raises(ConfigError, match=r"kernel must name one of .*got 'chain'"):
        _build({"name": "numerical_kernel", "kernel": "chain"})


# --------------------------------------------------------------------------------------- statistics


def test_pearson_matches_numpy_and_is_finite_for_constant_columns():
    x = _x()
    _close(_build("pearson_correlation").matrix(x), np.corrcoef(x.numpy(), rowvar=False))
    _close(_build({"name": "pearson_correlation", "kind": "instance"}).matrix(x), np.corrcoef(x.numpy()))
    x[:, 2] = 3.25
    A = _build("pearson_correlation").matrix(x)
    assert torch.isfinite(A).all() and A[2, 2] == 1 and A[2, :2].abs().max() == 0


def test_rv_coefficient_and_mutual_information_from_correlations():
    x = _x()
    rho = np.corrcoef(x.numpy(), rowvar=False)
    rv = _build("rv_coefficient").matrix(x)
    expected = rho**2
    np.fill_diagonal(expected, 1.0)
    _close(rv, expected)
    mi = _build({"name": "mutual_information", "eps": 1e-6}).matrix(x)
    np.fill_diagonal(rho, 0.0)
    expected = -0.5 * np.log(1 - rho**2)
    np.fill_diagonal(expected, -0.5 * np.log(1e-6))
    _close(mi, expected)


def test_kl_divergence_matches_scipy_entropy():
    x = _x()
    P = torch.softmax(x, dim=0).numpy()  # columns softmaxed over the rows
    expected = np.array([[entropy(P[:, i], P[:, j]) for j in range(4)] for i in range(4)])
    _close(_build("kl_divergence").matrix(x), expected)
    pos = x.abs() + 0.1
    Q = (pos / pos.sum(0)).numpy()
    expected = np.array([[entropy(Q[:, i], Q[:, j]) for j in range(4)] for i in range(4)])
    _close(_build({"name": "kl_divergence", "normalization": "sum", "eps": 1e-300}).matrix(pos), expected)


# ------------------------------------------------------------------------------------------- fixed


def test_fixed_matrices():
    x = _x()
    A = [[1.0, 2.0], [0.0, -1.0], [0.5, 0.5], [3.0, 0.0]]
    const = _build({"name": "constant", "A": A})
    torch.testing.assert_close(const(x), x @ torch.tensor(A, dtype=D64))
    assert const.m_out == 2
    c = _build({"name": "constant_c", "c": 0.5, "m_out": 3})
    torch.testing.assert_close(c(x), x @ torch.full((4, 3), 0.5, dtype=D64))
    ci = _build({"name": "constant_c", "kind": "instance", "c": 2.0, "b_out": 2})
    torch.testing.assert_close(ci(x), torch.full((6, 2), 2.0, dtype=D64).T @ x)
    _check_mix(ci, x)
    assert _build("zero")(x).abs().max() == 0
    torch.testing.assert_close(_build("one_interdependence")(x), x @ torch.ones(4, 4, dtype=D64))
    eye = _build({"name": "eye", "m_out": 6})
    torch.testing.assert_close(eye(x), x @ torch.eye(4, 6, dtype=D64))
    eye_i = _build({"name": "identity", "kind": "instance", "b_out": 3})
    torch.testing.assert_close(eye_i(x), torch.eye(6, 3, dtype=D64).T @ x)


def test_constant_matrix_from_files(tmp_path):
    A = np.arange(12.0).reshape(4, 3)
    np.savetxt(tmp_path / "a.csv", A, delimiter=",", header="c0,c1,c2", comments="")
    np.save(tmp_path / "a.npy", A)
    np.savez(tmp_path / "a.npz", A=A)
    for name in ("a.csv", "a.npy", "a.npz"):
        module = _build({"name": "constant", "A": str(tmp_path / name)})
        torch.testing.assert_close(module.A, torch.as_tensor(A))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ConfigError, match=r"head\.xi\.A: cannot read .* without unpickling"):
        _build({"name": "constant", "A": str(tmp_path / "obj.npy")}, path="head.xi")
    with pytest.raises(ConfigError, match=r"A: unsupported file type '\.pkl'"):
        _build({"name": "constant", "A": "graph.pkl"})


# ------------------------------------------------------------------------------------------- chains


def _chain(n, bidirectional=False, self_weight=0.0):
    A = torch.zeros(n, n, dtype=D64)
    idx = torch.arange(n - 1)
    A[idx, idx + 1] = 1
    if bidirectional:
        A[idx + 1, idx] = 1
    return A + self_weight * torch.eye(n, dtype=D64)


def _normalize(A, mode):
    if mode == "row":
        return A / A.sum(1, keepdim=True).clamp_min(1e-300) * (A.sum(1, keepdim=True) > 0)
    if mode == "column":
        return A / A.sum(0, keepdim=True).clamp_min(1e-300) * (A.sum(0, keepdim=True) > 0)
    d = A.sum(1)
    s = torch.where(d > 0, d.clamp_min(1e-300).rsqrt(), torch.zeros_like(d))
    return s[:, None] * A * s[None, :]


@pytest.mark.parametrize("normalization", ["none", "row", "column", "symmetric"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_chain_instance_matches_the_explicit_matrix(bidirectional, normalization):
    x = _x(b=5, lead=(2,))
    module = _build(
        {"name": "chain", "bidirectional": bidirectional, "self_scaling": 0.5, "normalization": normalization}
    )
    A = _chain(5, bidirectional, 0.5)
    A = A if normalization == "none" else _normalize(A, normalization)
    torch.testing.assert_close(module.matrix(x), A)
    torch.testing.assert_close(module(x), A.T @ x)
    if normalization == "column":  # every output is an average of its inputs
        torch.testing.assert_close(A.sum(0), torch.ones(5, dtype=D64))


def test_chain_directed_output_is_previous_plus_self():
    x = _x(b=5)
    out = _build("chain_interdependence")(x)
    torch.testing.assert_close(out[1:], x[1:] + x[:-1])
    torch.testing.assert_close(out[0], x[0])


def test_chain_attribute_step_major_blocks():
    L, d = 3, 2
    x = _x(b=4, m=L * d)
    module = _build({"name": "chain", "kind": "attribute", "length": L, "self_dependence": False}, m=L * d)
    A = _chain(L)
    torch.testing.assert_close(module.matrix(x), torch.kron(A, torch.eye(d, dtype=D64)))
    steps = x.reshape(4, L, d)  # step t owns columns [t*d, (t+1)*d)
    expected = torch.einsum("ts,bth->bsh", A, steps).reshape(4, L * d)
    torch.testing.assert_close(module(x), expected)
    full = _build({"name": "chain", "kind": "attribute", "self_dependence": False}, m=6)
    torch.testing.assert_close(full(x), x @ _chain(6))


@pytest.mark.parametrize("cumulative", [False, True])
def test_multihop_chain_matches_matrix_power(cumulative):
    x = _x(b=6)
    module = _build({"name": "multihop_chain", "hops": 3, "cumulative": cumulative, "bidirectional": True})
    A = _chain(6, True, 1.0)
    P = [torch.linalg.matrix_power(A, k) for k in range(4)]
    M = sum(P[1:]) if cumulative else P[3]
    torch.testing.assert_close(module.matrix(x), M)
    torch.testing.assert_close(module(x), M.T @ x)
    with_eye = _build({"name": "multihop_chain", "hops": 3, "cumulative": True, "include_identity": True})
    A = _chain(6, False, 1.0)
    torch.testing.assert_close(with_eye(x), sum(torch.linalg.matrix_power(A, k) for k in range(4)).T @ x)


@pytest.mark.parametrize("terms", [None, 40])
def test_inverse_and_exponential_chains(terms):
    x = _x(b=5)
    A = _chain(5, True)
    inv = _build({"name": "inverse_approx_multihop_chain", "alpha": 0.3, "bidirectional": True, "terms": terms})
    exp = _build({"name": "exponential_approx_multihop_chain", "alpha": 0.7, "bidirectional": True, "terms": terms})
    atol = 1e-10 if terms is None else 1e-5
    M_inv = torch.linalg.inv(torch.eye(5, dtype=D64) - 0.3 * A)
    M_exp = torch.linalg.matrix_exp(0.7 * A)
    torch.testing.assert_close(inv.matrix(x), M_inv, atol=atol, rtol=0)
    torch.testing.assert_close(inv(x), M_inv.T @ x, atol=atol * 10, rtol=0)
    torch.testing.assert_close(exp(x), M_exp.T @ x, atol=atol * 10, rtol=0)
    directed = _build({"name": "inverse_approx_multihop_chain", "terms": terms if terms is None else 4})
    torch.testing.assert_close(directed.matrix(x), torch.ones(5, 5, dtype=D64).triu())  # exact for the chain


def test_chain_errors():
    with pytest.raises(ConfigError, match=r"layers\[0\]\.xi\.length: length=4 must divide m=6 .*\[1, 2, 3, 6\]"):
        _build({"name": "chain", "kind": "attribute", "length": 4}, m=6, path="layers[0].xi")
    module = _build({"name": "chain", "length": 5})
    with pytest.raises(ShapeError, match=r"length=5 nodes .* but the data has 4 rows"):
        module(_x(b=4))
    with pytest.raises(ConfigError, match=r"length=3 must equal b=4"):
        _build({"name": "chain", "length": 3, "b": 4})


def test_chain_works_for_any_batch_size_and_caches_per_size():
    module = _build("chain")
    for b in (3, 5, 3):
        x = _x(b=b)
        torch.testing.assert_close(module(x), _chain(b, False, 1.0).T @ x)
    assert len(module._ops) == 2


# ------------------------------------------------------------------------------------------- graphs

EDGES = [[0, 1], [1, 2], [2, 0], [2, 3], [4, 3]]


def _graph(n, edges, directed=True, self_loops=False, weights=None):
    A = torch.zeros(n, n, dtype=D64)
    for k, (s, t) in enumerate(edges):
        A[s, t] += 1.0 if weights is None else weights[k]
    if not directed:
        A = torch.maximum(A, A.T)
    return A + torch.eye(n, dtype=D64) if self_loops else A


@pytest.mark.parametrize("normalization", ["none", "row", "column", "symmetric"])
@pytest.mark.parametrize("directed", [True, False])
def test_graph_matches_the_explicit_matrix(directed, normalization):
    x = _x(b=5, lead=(2,))
    module = _build(
        {
            "name": "graph",
            "adjacency": EDGES,
            "directed": directed,
            "self_dependence": True,
            "normalization": normalization,
        }
    )
    A = _graph(5, EDGES, directed, True)
    A = A if normalization == "none" else _normalize(A, normalization)
    torch.testing.assert_close(module.matrix(x), A)
    torch.testing.assert_close(module(x), A.T @ x)


def test_graph_symmetric_normalisation_is_gcn():
    module = _build({"name": "graph", "adjacency": EDGES, "directed": False, "normalization": "symmetric"})
    A = _graph(5, EDGES, False)
    Dm = torch.diag(A.sum(1).rsqrt())
    torch.testing.assert_close(module.matrix(_x(b=5)), Dm @ A @ Dm)


def test_weighted_graph_and_attribute_blocks():
    edges = [[0, 1, 2.0], [1, 2, 0.5], [2, 0, 1.5]]
    x = _x(b=3, m=6)
    module = _build({"name": "graph", "kind": "attribute", "adjacency": edges, "num_nodes": 3}, m=6)
    A = _graph(3, [e[:2] for e in edges], weights=[2.0, 0.5, 1.5])
    torch.testing.assert_close(module(x), x @ torch.kron(A, torch.eye(2, dtype=D64)))
    _check_mix(module, x)


@pytest.mark.parametrize("cumulative", [False, True])
def test_multihop_graph(cumulative):
    x = _x(b=5)
    module = _build({"name": "multihop_graph", "adjacency": EDGES, "hops": 2, "cumulative": cumulative})
    A = _graph(5, EDGES)
    M = A + A @ A if cumulative else A @ A
    torch.testing.assert_close(module(x), M.T @ x)


def test_pagerank_is_normalised_and_matches_the_inverse():
    x = _x(b=5)
    A = _graph(5, EDGES, directed=False)
    An = A / A.sum(0, keepdim=True)
    M = 0.15 * torch.linalg.inv(torch.eye(5, dtype=D64) - 0.85 * An)
    exact = _build({"name": "pagerank_multihop_graph_interdependence", "adjacency": EDGES, "directed": False})
    torch.testing.assert_close(exact.matrix(x), M)
    torch.testing.assert_close(M.sum(0), torch.ones(5, dtype=D64))  # every output a convex combination
    torch.testing.assert_close(exact(x), M.T @ x)
    series = _build({"name": "pagerank", "adjacency": EDGES, "directed": False, "terms": 200})
    torch.testing.assert_close(series(x), M.T @ x, atol=1e-9, rtol=0)


def test_graph_from_files(tmp_path):
    (tmp_path / "e.csv").write_text("source,target\n" + "\n".join(f"{s},{t}" for s, t in EDGES))
    (tmp_path / "e.txt").write_text("\n".join(f"{s} {t} 1.0" for s, t in EDGES))
    np.savez(tmp_path / "e.npz", edge_index=np.array(EDGES).T, num_nodes=5)
    np.savez(tmp_path / "dense.npz", adjacency=_graph(5, EDGES).numpy())
    expected = _graph(5, EDGES)
    for name in ("e.csv", "e.txt", "e.npz", "dense.npz"):
        module = _build({"name": "graph", "adjacency": str(tmp_path / name)})
        torch.testing.assert_close(module.matrix(_x(b=5)), expected)
    np.savez(tmp_path / "bad.npz", adjacency=np.ones((3, 4)))
    with pytest.raises(ConfigError, match=r"model\.xi\.adjacency: a dense adjacency must be square .*\(3, 4\)"):
        _build({"name": "graph", "adjacency": str(tmp_path / "bad.npz")}, path="model.xi")


def test_graph_errors():
    with pytest.raises(
        ConfigError, match=r"head\.xi\.adjacency: node ids must be in \[0, 3\] for num_nodes=4, got ids in \[0, 7\]"
    ):
        _build({"name": "graph", "adjacency": [[0, 1], [1, 7]], "num_nodes": 4}, path="head.xi")
    with pytest.raises(ConfigError, match=r"adjacency: node ids must be in \[0, 2\]"):
        _build({"name": "graph", "kind": "attribute", "adjacency": [[0, 3]]}, m=3)
    with pytest.raises(ConfigError, match=r"the graph has 5 nodes but b=4"):
        _build({"name": "graph", "adjacency": EDGES, "num_nodes": 5, "b": 4})
    with pytest.raises(ConfigError, match=r"node ids must be in \[0, 3\] for num_nodes=4"):  # n defaults to b
        _build({"name": "graph", "adjacency": EDGES, "b": 4})
    with pytest.raises(ConfigError, match=r"needs a node count that divides m=4"):
        _build({"name": "graph", "kind": "attribute", "adjacency": EDGES, "num_nodes": 5}, m=4)
    module = _build({"name": "graph", "adjacency": EDGES})
    with pytest.raises(ShapeError, match=r"num_nodes=5 but the data has 4 rows"):
        module(_x(b=4))
    with pytest.raises(ConfigError, match=r"node ids must be integers"):
        _build({"name": "graph", "adjacency": [[0, 1.5]]})
    pending = _build({"name": "graph", "adjacency": "data"}, path="layers[1].xi")
    with pytest.raises(ConfigError, match=r"layers\[1\]\.xi: .*no graph yet .*set_graph"):
        pending(_x(b=5))
    with pytest.raises(ConfigError, match=r"layers\[1\]\.xi\.adjacency: node ids must be in \[0, 4\]"):
        pending.set_graph(torch.tensor([[0, 1], [1, 5]]), 5)


def test_graph_from_data_round_trips_through_state_dict():
    spec = {"name": "graph", "adjacency": "data", "normalization": "symmetric", "directed": False}
    module = _build(spec)
    assert module.edge_index.shape == (2, 0)
    module.set_graph(torch.tensor(EDGES).T, 5, weights=torch.tensor([1.0, 2.0, 1.0, 0.5, 1.0]))
    x = _x(b=5)
    y = module(x)
    fresh = rk.build(I, module.to_config(), m=4).to(D64)
    fresh.load_state_dict(module.state_dict())
    torch.testing.assert_close(fresh(x), y)
    assert fresh.num_nodes == 5 and fresh.edge_index.shape == (2, 5)
    # a smaller graph replaces a larger one, and the cache follows it
    fresh.load_state_dict(
        {
            **fresh.state_dict(),
            "edge_index": torch.tensor([[0], [1]]),
            "edge_weight": torch.ones(1, dtype=D64),
            "num_nodes": torch.tensor(2),
        }
    )
    torch.testing.assert_close(fresh(_x(b=2)), _normalize(_graph(2, [[0, 1]], False), "symmetric").T @ _x(b=2))


def test_attach_graph_reaches_a_head():
    head = rk.Head(4, 2, instance_interdependence={"name": "graph", "adjacency": "data", "normalization": "column"})
    assert attach_graph(head, torch.tensor(EDGES).T, 5) == 1
    assert head(torch.randn(5, 4)).shape == (5, 2)


def test_structural_buffers_follow_dtype_and_pickle():
    module = rk.build(I, {"name": "graph", "adjacency": EDGES}, m=4)
    assert module.edge_weight.dtype == torch.float32
    x32 = _x(b=5).float()
    module(x32)  # fills the float32 operator cache
    module.to(D64)
    assert module.edge_weight.dtype == D64 and module.edge_index.dtype == torch.long
    assert module(_x(b=5)).dtype == D64
    const = rk.build(I, {"name": "constant", "A": [[1.0, 0.0], [0.0, 1.0]]}, m=2).to(D64)
    assert const.A.dtype == D64
    clone = pickle.loads(pickle.dumps(module))
    assert clone._ops == {}  # the operator cache is not pickled
    torch.testing.assert_close(clone(_x(b=5)), module(_x(b=5)))


def test_graph_from_a_tensor_writes_a_config():
    module = rk.build(I, {"name": "graph", "adjacency": [[0, 1]]}, m=2)
    tensor_built = rk.interdependence.GraphInterdependence(2, adjacency=torch.tensor([[0, 1], [1, 2]]), num_nodes=4)
    config = tensor_built.to_config()
    assert config["adjacency"] == [[0, 1], [1, 2]] and config["num_nodes"] == 4
    rebuilt = rk.build(I, config, m=2)
    torch.testing.assert_close(rebuilt.matrix(torch.zeros(4, 2)), tensor_built.matrix(torch.zeros(4, 2)))
    assert module.m_out == 2


# ----------------------------------------------------------------------------------------- bilinear


def test_bilinear_instance_scores_and_mix():
    x = _x(b=5, m=4)
    module = _build({"name": "parameterized_bilinear", "reconciliation": {"name": "lowrank", "rank": 2}})
    W = module.reconciliation.weight()
    A = x @ W @ x.T
    torch.testing.assert_close(module.matrix(x), A)
    torch.testing.assert_close(module(x), A.T @ x)
    soft = _build({"name": "parameterized_bilinear", "softmax": True, "scale": True, "causal": True})
    W = soft.reconciliation.weight()
    S = (x @ W @ x.T) / 2.0  # 1 / sqrt(d), d = 4
    keep = torch.ones(5, 5, dtype=torch.bool).triu()  # A[i, j] with i <= j
    P = torch.softmax(S.masked_fill(~keep, -torch.inf), dim=0)  # over the inputs i
    torch.testing.assert_close(soft.matrix(x), P)
    torch.testing.assert_close(P.sum(0), torch.ones(5, dtype=D64))
    torch.testing.assert_close(soft(x), P.T @ x)


def test_bilinear_mixes_tokens_within_each_sample():
    module = _build({"name": "dual_lphm_parameterized_bilinear", "softmax": True})
    x = _x(b=5, m=4, lead=(3,))  # (B, L, d)
    data = _x(b=5, m=7, seed=1, lead=(3,))
    out = module(x, data)
    assert out.shape == (3, 5, 7)
    for i in range(3):
        torch.testing.assert_close(out[i], module(x[i], data[i]))
    _check_mix(module, x, data)


def test_bilinear_attribute_kind_needs_a_fixed_batch():
    x = _x(b=4, m=3)
    module = _build({"name": "parameterized_bilinear", "kind": "attribute", "b": 4, "scale": 0.5}, m=3)
    W = module.reconciliation.weight()
    A = 0.5 * x.T @ W @ x
    torch.testing.assert_close(module.matrix(x), A)
    torch.testing.assert_close(module(x), x @ A)
    with pytest.raises(ShapeError, match=r"the batch must have b=4 rows"):
        module(_x(b=5, m=3))
    with pytest.raises(ConfigError, match=r"xi\.b: the attribute kind .* needs b"):
        _build({"name": "parameterized_bilinear", "kind": "attribute"}, path="xi")


def test_bilinear_options_and_alias_families():
    with pytest.raises(ConfigError, match=r"no bias"):
        _build({"name": "parameterized_bilinear", "reconciliation": {"name": "identity", "bias": True}})
    with pytest.raises(ConfigError, match=r"reconciliation: .*'lowrank'"):
        _build({"name": "lowrank_parameterized_bilinear_interdependence", "reconciliation": "identity"})
    module = _build({"name": "parameterized_bilinear", "d": 3}, m=5)  # scores from x (width 3), mixes data (width 5)
    x, data = _x(b=4, m=3), _x(b=4, m=5, seed=2)
    W = module.reconciliation.weight()
    torch.testing.assert_close(module(x, data), (x @ W @ x.T).T @ data)


def test_parameterized_aliases_imply_their_reconciliation():
    module = rk.build(I, {"name": "lowrank_parameterized_interdependence", "m_out": 2}, m=4)
    assert type(module).__name__ == "LowrankParameterizedInterdependence"
    assert module.reconciliation.registry_name == "lowrank"
    rma = rk.build(I, "random_matrix_adaption_parameterized_interdependence", m=4)
    assert rma.reconciliation.registry_name == "random_matrix_adaption"
    with pytest.raises(ConfigError, match=r"reconciliation: .*holds its matrix in a 'hm' reconciliation"):
        rk.build(I, {"name": "hm_parameterized", "reconciliation": "lowrank"}, m=4)


# ------------------------------------------------------------------------------------------- hybrid


def test_hybrid_gat_like_matches_the_explicit_product():
    x = _x(b=5, m=4)
    spec = {
        "name": "hybrid_interdependence",
        "kind": "instance",
        "b": 5,
        "fusion": "prod",
        "functions": [
            {"name": "graph", "adjacency": EDGES, "directed": False, "self_dependence": True},
            {"name": "parameterized_bilinear", "softmax": True},
        ],
    }
    module = _build(spec)
    mask = _graph(5, EDGES, False, True)
    W = module.functions[1].reconciliation.weight()
    A = mask * torch.softmax(x @ W @ x.T, dim=0)
    torch.testing.assert_close(module.matrix(x), A)
    torch.testing.assert_close(module(x), A.T @ x)


def test_hybrid_attribute_concatenation_and_errors():
    x = _x()
    module = _build(
        {"name": "hybrid", "functions": ["pearson_correlation", "linear_kernel"], "fusion": "concatenation"}
    )
    assert module.m_out == 8
    expected = torch.cat([torch.as_tensor(np.corrcoef(x.numpy(), rowvar=False)), x.T @ x], dim=1)
    torch.testing.assert_close(module(x), x @ expected)
    with pytest.raises(ConfigError, match=r"functions\[1\]\.kind: must be of kind 'attribute'"):
        _build({"name": "hybrid", "functions": ["linear_kernel", {"name": "chain", "kind": "instance"}]})
    with pytest.raises(ConfigError, match=r"b: the instance kind of hybrid needs b"):
        _build({"name": "hybrid", "kind": "instance", "functions": ["linear_kernel"]})


# ---------------------------------------------------------------------------------------- geometric


def _grid_x(b, C, h, w, d=1, seed=0):
    return _x(b=b, m=C * h * w * d, seed=seed)


def _centres(shape, strides):
    return list(itertools.product(*[range(0, n, s) for n, s in zip(shape, strides)]))


def _explicit_patches(x, C, shape, offsets, strides):
    """The per-patch im2col by loops: column p*C*ps + c*ps + k = channel c at centre p + offset k (0 outside)."""
    h, w, d = shape
    grid = x.reshape(x.shape[0], C, h, w, d)
    cols = []
    for i, j, k in _centres(shape, strides):
        for c in range(C):
            for di, dj, dk in offsets.tolist():
                a, bb, e = i + di, j + dj, k + dk
                inside = 0 <= a < h and 0 <= bb < w and 0 <= e < d
                cols.append(grid[:, c, a, bb, e] if inside else torch.zeros(x.shape[0], dtype=x.dtype))
    return torch.stack(cols, dim=-1)


def _explicit_sums(x, C, shape, offsets, strides):
    """Sum over each centre's neighbours by loops, channel-major: column c*P + p."""
    h, w, d = shape
    grid = x.reshape(x.shape[0], C, h, w, d)
    out = []
    for c in range(C):
        for i, j, k in _centres(shape, strides):
            total = torch.zeros(x.shape[0], dtype=x.dtype)
            for di, dj, dk in offsets.tolist():
                a, bb, e = i + di, j + dj, k + dk
                if 0 <= a < h and 0 <= bb < w and 0 <= e < d:
                    total = total + grid[:, c, a, bb, e]
            out.append(total)
    return torch.stack(out, dim=-1)


@pytest.mark.parametrize(
    "extents, strides",
    [
        ((1, 1, 0, 1, 1, 0), (1, 1)),
        ((0, 1, 0, 1, 2, 0), (1, 1)),
        ((1, 1, 0, 1, 1, 0), (2, 3)),
        ((2, 0, 0, 1, 1, 0), (1, 2)),
    ],
)
def test_cuboid_padding_is_unfold(extents, strides):
    p_h, p_w, p_d, q_h, q_w, q_d = extents
    C, h, w = 2, 5, 6
    x = _grid_x(3, C, h, w)
    spec = {"name": "cuboid_patch_padding", "h": h, "w": w, "channels": C, "p_h": p_h, "p_w": p_w, "p_d": p_d}
    spec |= {"p_h_prime": q_h, "p_w_prime": q_w, "p_d_prime": q_d, "cd_h": strides[0], "cd_w": strides[1]}
    module = _build(spec, m=C * h * w)
    padded = F.pad(x.view(3, C, h, w), (p_w, q_w, p_h, q_h))
    cols = F.unfold(padded, (p_h + q_h + 1, p_w + q_w + 1), stride=strides)  # (b, C ps, P)
    expected = cols.transpose(1, 2).reshape(3, -1)  # per patch: p*C*ps + c*ps + k
    torch.testing.assert_close(module(x), expected, rtol=0, atol=0)
    assert module.m_out == expected.shape[1] == module.num_patches * C * module.patch_size
    _check_mix(module, x)


@pytest.mark.parametrize(
    "spec, offsets, shape",
    [
        ({"name": "sphere_patch", "p_r": 1}, G.sphere_offsets(1), (4, 5, 3)),
        ({"name": "cylinder_patch", "p_r": 1, "p_d": 1, "p_d_prime": 0}, G.cylinder_offsets(1, 1, 0), (4, 5, 3)),
        (
            {"name": "geometric", "patch": "cuboid", "p_h": 1, "p_d": 1, "cd_w": 2},
            G.cuboid_offsets(1, 1, 1, 1, 1, 1),
            (4, 5, 3),
        ),
        ({"name": "geometric", "patch": "sphere", "p_r": 2}, G.sphere_offsets(2), (5, 6, 1)),  # a disk on an image
    ],
)
def test_cylinder_sphere_and_3d_padding_match_explicit_patches(spec, offsets, shape):
    C = 2
    x = _grid_x(2, C, *shape)
    m = C * shape[0] * shape[1] * shape[2]
    module = _build({**spec, "h": shape[0], "w": shape[1], "d": shape[2], "channels": C}, m=m)
    expected = _explicit_patches(x, C, shape, offsets, module.strides)
    torch.testing.assert_close(module(x), expected, rtol=0, atol=0)
    _check_mix(module, x)


@pytest.mark.parametrize(
    "spec, offsets, shape",
    [
        ({"name": "cuboid_patch_aggregation"}, G.cuboid_offsets(1, 1, 0, 1, 1, 0), (4, 5, 1)),
        (
            {"name": "cuboid_patch", "mode": "aggregation", "p_h": 2, "p_w": 0, "cd_h": 2},
            G.cuboid_offsets(2, 0, 0, 2, 0, 0),
            (5, 4, 1),
        ),
        ({"name": "sphere_patch_aggregation", "p_r": 1}, G.sphere_offsets(1), (4, 3, 3)),
        ({"name": "cylinder_patch_aggregation", "p_r": 1, "p_d_prime": 1}, G.cylinder_offsets(1, 0, 1), (3, 4, 2)),
        (
            {"name": "geometric", "patch": "cylinder", "mode": "aggregation", "packing": "sparse_square"},
            G.cylinder_offsets(1, 0, 0),
            (5, 5, 1),
        ),
    ],
)
def test_aggregation_is_the_sum_over_neighbours(spec, offsets, shape):
    C = 2
    x = _grid_x(3, C, *shape, seed=1)
    m = C * shape[0] * shape[1] * shape[2]
    module = _build({**spec, "h": shape[0], "w": shape[1], "d": shape[2], "channels": C}, m=m)
    expected = _explicit_sums(x, C, shape, offsets, module.strides)
    torch.testing.assert_close(module(x), expected)
    assert module.m_out == C * module.num_patches
    _check_mix(module, x)
    xg = x.clone().requires_grad_()
    (g,) = torch.autograd.grad((module(xg) * expected).sum(), xg)
    torch.testing.assert_close(g, expected @ module.matrix(x).T)  # backward = the cached transpose product


def test_aggregation_with_unit_strides_keeps_the_grid_and_equals_a_box_convolution():
    C, h, w = 3, 6, 5
    x = _grid_x(4, C, h, w, seed=2)
    module = _build({"name": "cuboid_patch", "mode": "aggregation", "h": h, "w": w, "channels": C}, m=C * h * w)
    assert module.m_out == C * h * w
    box = torch.ones(1, 1, 3, 3, dtype=D64)
    expected = F.conv2d(x.view(4 * C, 1, h, w), box, padding=1).view(4, -1)
    torch.testing.assert_close(module(x), expected)
    # leading dimensions and the operator cache per dtype
    x3 = _x(b=4, m=C * h * w, lead=(2,))
    torch.testing.assert_close(module(x3), torch.stack([module(x3[0]), module(x3[1])]))
    module(x.float())
    assert len(module._ops) == 2


def test_geometric_infers_a_square_grid_and_names_its_aliases():
    module = _build("cuboid_patch_based_geometric_interdependence", m=16)
    assert (module.h, module.w, module.d, module.channels, module.mode) == (4, 4, 1, 1, "padding")
    assert isinstance(_build("geometric_interdependence", m=9), rk.interdependence.GeometricInterdependence)
    for shape in ("cuboid", "cylinder", "sphere"):
        for mode in ("padding", "aggregation"):
            cls = rk.registry.get_class(I, f"{shape}_patch_{mode}_based_geometric_interdependence")
            module = _build({"name": f"{shape}_patch_{mode}", "h": 3, "w": 3}, m=9)
            assert type(module) is cls and module.mode == mode and module.patch == shape
            assert "mode" not in module.to_config()


def test_geometric_errors():
    too_tall = r"the cuboid patch is 5 cells along h \(p_h \+ p_h_prime \+ 1 = 5\), larger than the grid: .* h = 3"
    with pytest.raises(ConfigError, match=r"net\.xi\.p_h: " + too_tall):
        _build({"name": "cuboid_patch", "h": 3, "w": 4, "p_h": 2}, m=12, path="net.xi")
    with pytest.raises(ConfigError, match=r"p_r: the sphere patch is 5 cells along w .* at most w = 4"):
        _build({"name": "sphere_patch", "h": 5, "w": 4, "p_r": 2}, m=20)
    with pytest.raises(ConfigError, match=r"p_d: the cylinder patch is 3 cells along d .* at most d = 2"):
        _build({"name": "cylinder_patch", "h": 3, "w": 3, "d": 2, "p_d": 1}, m=18)
    with pytest.raises(ConfigError, match=r"m = 30 must equal channels \* h \* w \* d = 2 \* 3 \* 4 \* 1"):
        _build({"name": "cuboid_patch", "h": 3, "w": 4, "channels": 2}, m=30)
    with pytest.raises(ConfigError, match=r"cannot infer a square grid: m=12"):
        _build("cuboid_patch", m=12)
    with pytest.raises(ConfigError, match=r"kind: a geometric interdependence is of the attribute kind only"):
        _build({"name": "geometric", "kind": "instance", "h": 3, "w": 3}, m=9)
    with pytest.raises(
        ConfigError,
        match=r"mode must be one of \['padding', 'aggregation'\], got 'agregation'; did you mean 'aggregation'\?",
    ):
        _build({"name": "geometric", "mode": "agregation", "h": 3, "w": 3}, m=9)
    with pytest.raises(ConfigError, match=r"patch must be one of \['cuboid', 'cylinder', 'sphere'\], got 'cube'"):
        _build({"name": "geometric", "patch": "cube", "h": 3, "w": 3}, m=9)
    with pytest.raises(ConfigError, match=r"packing must be one of"):
        _build({"name": "sphere_patch", "packing": "dense_square", "h": 3, "w": 3}, m=9)
    with pytest.raises(ConfigError, match=r"cd_h must be an int >= 1, got 0"):
        _build({"name": "cuboid_patch", "cd_h": 0, "h": 3, "w": 3}, m=9)
    with pytest.raises(ConfigError, match=r"unknown key 'mode'"):
        _build({"name": "cuboid_patch_padding", "mode": "aggregation", "h": 3, "w": 3}, m=9)
    module = _build({"name": "cuboid_patch", "h": 3, "w": 3}, m=9)
    with pytest.raises(ShapeError, match=r"expected input of shape \(\.\.\., m=9\)"):
        module(_x(m=8))
    with pytest.raises(ConfigError, match=r"cell_operator applies to the aggregation mode"):
        module.cell_operator()


# -------------------------------------------------------------------------------- parameterized RPN


def test_parameterized_rpn_attribute_is_kappa_of_x_transposed_times_psi():
    b, m = 5, 4
    x = _x(b=b, m=m, seed=3)
    module = _build({"name": "parameterized_rpn", "b": b, "expansion": "taylor", "m_out": 3}, m=m)
    W = module.reconciliation.weight()  # (m', D) with D = kappa.D(b)
    cols = x.T  # (m, b): every column of x is one input of kappa
    features = torch.cat([cols, (cols[:, :, None] * cols[:, None, :]).reshape(m, -1)], dim=1)  # taylor degree 2
    assert W.shape == (3, features.shape[1])
    A = features @ W.T
    torch.testing.assert_close(module.matrix(x), A)
    torch.testing.assert_close(module(x), x @ A)
    data = _x(b=b, m=m, seed=4)
    torch.testing.assert_close(module(x, data), data @ A)
    # one A per leading index
    x2 = _x(b=b, m=m, seed=5, lead=(2,))
    torch.testing.assert_close(module(x2), torch.stack([module(x2[0]), module(x2[1])]))


def test_parameterized_rpn_instance_and_structured_psi():
    b, m = 6, 3
    x = _x(b=b, m=m, seed=6)
    module = _build(
        {"name": "parameterized_rpn", "kind": "instance", "b_out": 2, "reconciliation": {"name": "lowrank", "rank": 1}},
        m=m,
    )
    W = module.reconciliation.weight()  # (b', m): identity kappa
    A = x @ W.T  # (b, b')
    torch.testing.assert_close(module.matrix(x), A)
    torch.testing.assert_close(module(x), A.T @ x)
    wide = _build({"name": "parameterized_rpn", "kind": "instance", "b": b, "d": m}, m=7)
    data = _x(b=b, m=7, seed=7)
    torch.testing.assert_close(wide(x, data), (x @ wide.reconciliation.weight().T).T @ data)
    assert wide.b_out == b


def test_parameterized_rpn_in_a_head_learns():
    head = rk.build(
        "head", {"name": "rpn", "attribute_interdependence": {"name": "parameterized_rpn", "b": 4}}, m=3, n=2
    )
    x = torch.randn(4, 3)
    head(x).sum().backward()
    assert head.attribute_interdependence.reconciliation.W.grad is not None


def test_parameterized_rpn_errors():
    with pytest.raises(
        ConfigError, match=r"net\.xi\.b: the attribute kind of parameterized_rpn needs b, the fixed batch size"
    ):
        _build("parameterized_rpn", path="net.xi")
    module = _build({"name": "parameterized_rpn", "b": 5})
    with pytest.raises(
        ShapeError, match=r"expands columns of b=5 values .* x must be \(\.\.\., b=5, m=4\), got \(3, 4\)"
    ):
        module(_x(b=3))
    with pytest.raises(ConfigError, match=r"b_out applies to the instance kind only"):
        _build({"name": "parameterized_rpn", "b": 5, "b_out": 2})
    with pytest.raises(ConfigError, match=r"m_out applies to the attribute kind only"):
        _build({"name": "parameterized_rpn", "kind": "instance", "b": 5, "m_out": 2})
    with pytest.raises(ConfigError, match=r"b_out: the instance kind of parameterized_rpn needs b_out \(or b\)"):
        _build({"name": "parameterized_rpn", "kind": "instance"})
    with pytest.raises(ConfigError, match=r"reconciliation\.bias: .* takes no bias"):
        _build({"name": "parameterized_rpn", "b": 5, "reconciliation": {"name": "identity", "bias": True}})
    with pytest.raises(ConfigError, match=r"expansion: unknown expansion/compression 'taylr'; did you mean 'taylor'"):
        _build({"name": "parameterized_rpn", "b": 5, "expansion": "taylr"})
    inst = _build({"name": "parameterized_rpn", "kind": "instance", "b_out": 2, "d": 3})
    with pytest.raises(ShapeError, match=r"needs x of width d=3"):
        inst(_x(b=4, m=4))


# ---------------------------------------------------------------------------- topology public API


def test_topological_public_api():
    chain = _build({"name": "chain", "length": 5, "normalization": "row"})
    assert chain.node_count() == 5 and chain.node_count(5) == 5
    with pytest.raises(ShapeError, match=r"length=5 nodes .* but the data has 4 rows"):
        chain.node_count(4)
    free = _build("chain")
    with pytest.raises(ShapeError, match="no fixed length"):
        free.node_count()
    assert free.node_count(3) == 3
    A = chain.structure()
    assert A.layout == torch.sparse_coo and A.shape == (5, 5)
    torch.testing.assert_close(A.to_dense(), _chain(5, False, 1.0).float())
    op = chain.operator(dtype=D64)
    assert op.kind == "sparse" and op.n == 5
    M = _normalize(_chain(5, False, 1.0), "row")
    torch.testing.assert_close(op.dense(), M)
    Z = torch.randn(5, 3, dtype=D64)
    torch.testing.assert_close(op.apply(Z), M.T @ Z)
    hop = _build({"name": "multihop_graph", "adjacency": EDGES, "hops": 2, "cumulative": True})
    assert hop.node_count() == 5 and hop.operator(dtype=D64).kind == "series"
    torch.testing.assert_close(hop.operator(dtype=D64).dense(), hop.matrix(_x(b=5)))
    exact = _build({"name": "pagerank", "adjacency": EDGES})
    assert exact.operator(dtype=D64).kind == "dense" and exact.operator(dtype=D64).A is None
    graph = _build({"name": "graph", "adjacency": EDGES})
    torch.testing.assert_close(graph.structure(dtype=D64).to_dense(), _graph(5, EDGES))
