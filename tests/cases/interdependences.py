"""Cases of the interdependence catalogue (fixed, statistical, kernel, topological, bilinear, hybrid).

Instance kinds give ``b`` so that the generic shape check knows the output rows (``b_out``); the
maths of most of them does not need it.
"""

from . import Case

I = "interdependence"  # noqa: E741


def _inst(spec: dict, m: int = 3, **kw) -> Case:
    """An instance-kind case with b = 4 rows."""
    spec = {**spec, "kind": "instance", "b": 4}
    return Case(I, spec, {"m": m}, id=kw.pop("id", f"{I}/{spec['name']}-instance"), **kw)


RING = [[0, 1], [1, 2], [2, 3], [3, 0]]


def _attach_path_graph(module, x) -> None:
    module.set_graph([[0, 1, 2], [1, 2, 3]], 4, weights=None)


CASES = [
    # fixed
    Case(I, {"name": "constant", "A": [[1.0, 0.5], [0.0, -1.0], [2.0, 0.25]]}, {"m": 3}),
    _inst({"name": "constant", "A": [[1.0, 0.0, 0.5], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 2.0, 0.0]]}),
    Case(I, {"name": "constant_c", "c": 0.5, "m_out": 2}, {"m": 3}),
    _inst({"name": "constant_c", "c": -2.0, "b_out": 2}),
    Case(I, "zero", {"m": 3}),
    Case(I, "one", {"m": 3}),
    _inst({"name": "one"}),
    Case(I, {"name": "identity", "m_out": 5}, {"m": 3}, id=f"{I}/identity-rectangular"),
    _inst({"name": "identity", "b_out": 3}, id=f"{I}/identity-instance-rectangular"),
    # statistical
    Case(I, "kl_divergence", {"m": 3}),
    Case(I, {"name": "kl_divergence", "normalization": "sum"}, {"m": 3}, low=0.1, id=f"{I}/kl_divergence-sum"),
    Case(I, "pearson_correlation", {"m": 3}),
    _inst({"name": "pearson_correlation"}),
    Case(I, "rv_coefficient", {"m": 3}),
    Case(I, "mutual_information", {"m": 3}),
    _inst({"name": "mutual_information"}),
    Case(
        I,
        {"name": "statistical_kernel", "kernel": {"name": "kl_divergence", "normalization": "sum"}},
        {"m": 3},
        low=0.1,
    ),
    # numerical kernels
    Case(I, "linear_kernel", {"m": 3}),
    _inst({"name": "linear_kernel"}),
    Case(I, {"name": "polynomial_kernel", "degree": 2, "coef0": 1.0}, {"m": 3}),
    Case(I, {"name": "hyperbolic_tangent_kernel", "gamma": 0.5, "coef0": 0.1}, {"m": 3}),
    Case(I, "cosine_similarity", {"m": 3}),
    _inst({"name": "cosine_similarity"}),
    Case(I, {"name": "exponential_kernel", "gamma": 0.5, "metric": "manhattan"}, {"m": 3}),
    Case(I, {"name": "minkowski_distance", "p": 3.0}, {"m": 3}),
    Case(I, "manhattan_distance", {"m": 3}),
    Case(I, "euclidean_distance", {"m": 3}),
    _inst({"name": "euclidean_distance"}),
    Case(I, "chebyshev_distance", {"m": 3}),
    Case(I, "canberra_distance", {"m": 3}),
    Case(I, {"name": "gaussian_rbf_kernel", "sigma": 0.7}, {"m": 3}),
    _inst({"name": "gaussian_rbf_kernel", "gamma": 0.5}),
    Case(I, "laplacian_kernel", {"m": 3}),
    Case(I, {"name": "anisotropic_rbf_kernel", "length_scale": [0.5, 1.0, 2.0, 1.5], "learnable": True}, {"m": 3}),
    _inst({"name": "anisotropic_rbf_kernel", "learnable": True, "length_scale": 0.8}),
    Case(I, {"name": "numerical_kernel", "kernel": {"name": "polynomial_kernel", "degree": 2}}, {"m": 3}),
    Case(
        I,
        {"name": "hybrid_kernel", "kernels": ["gaussian_rbf_kernel", "pearson_correlation"], "learnable": True},
        {"m": 3},
    ),
    Case(
        I,
        {"name": "hybrid_kernel", "kernels": ["linear_kernel", "laplacian_kernel"], "mode": "product"},
        {"m": 3},
        id=f"{I}/hybrid_kernel-product",
    ),
    # topological: chains
    _inst({"name": "chain"}),
    Case(
        I,
        {"name": "chain", "kind": "attribute", "length": 3, "bidirectional": True, "normalization": "symmetric"},
        {"m": 6},
        id=f"{I}/chain-attribute-blocks",
    ),
    _inst(
        {"name": "multihop_chain", "hops": 2, "cumulative": True, "include_identity": True, "normalization": "column"}
    ),
    Case(I, {"name": "multihop_chain", "kind": "attribute", "hops": 2}, {"m": 4}, id=f"{I}/multihop_chain-attribute"),
    _inst({"name": "inverse_approx_multihop_chain", "alpha": 0.5}),
    Case(
        I,
        {"name": "inverse_approx_multihop_chain", "kind": "attribute", "alpha": 0.4, "terms": 3, "bidirectional": True},
        {"m": 4},
        id=f"{I}/inverse_approx_multihop_chain-series",
    ),
    _inst({"name": "exponential_approx_multihop_chain", "alpha": 0.5, "bidirectional": True}),
    Case(
        I,
        {"name": "exponential_approx_multihop_chain", "kind": "attribute", "terms": 4},
        {"m": 4},
        id=f"{I}/exponential_approx_multihop_chain-series",
    ),
    # topological: graphs
    _inst(
        {"name": "graph", "adjacency": RING, "directed": False, "self_dependence": True, "normalization": "symmetric"}
    ),
    Case(
        I,
        {"name": "graph", "kind": "attribute", "adjacency": [[0, 1, 2.0], [1, 2, 0.5]], "normalization": "row"},
        {"m": 3},
        id=f"{I}/graph-attribute",
    ),
    Case(
        I,
        {"name": "graph", "kind": "instance", "b": 4, "adjacency": "data", "normalization": "column"},
        {"m": 3},
        needs_fit=_attach_path_graph,
        id=f"{I}/graph-data",
    ),
    _inst({"name": "multihop_graph", "adjacency": RING, "hops": 2, "cumulative": True, "normalization": "row"}),
    _inst({"name": "pagerank", "adjacency": RING, "alpha": 0.2}),
    _inst({"name": "pagerank", "adjacency": RING, "terms": 5}, id=f"{I}/pagerank-series"),
    # parameterized (alias classes)
    Case(I, {"name": "lowrank_parameterized", "m_out": 2}, {"m": 4}),
    Case(I, {"name": "hm_parameterized", "reconciliation": {"name": "hm", "p": 2, "q": 2}}, {"m": 4}),
    Case(I, {"name": "lphm_parameterized", "reconciliation": {"name": "lphm", "p": 2, "q": 2, "rank": 1}}, {"m": 4}),
    Case(I, {"name": "dual_lphm_parameterized", "reconciliation": {"name": "dual_lphm", "p": 2, "q": 2}}, {"m": 4}),
    Case(I, "random_matrix_adaption_parameterized", {"m": 4}),
    # bilinear
    _inst({"name": "parameterized_bilinear"}),
    _inst(
        {"name": "parameterized_bilinear", "softmax": True, "scale": True, "causal": True},
        id=f"{I}/parameterized_bilinear-causal-softmax",
    ),
    _inst(
        {"name": "parameterized_bilinear", "causal": True, "scale": 0.5},
        id=f"{I}/parameterized_bilinear-causal",
    ),
    Case(
        I,
        {"name": "parameterized_bilinear", "kind": "attribute", "b": 4, "softmax": True},
        {"m": 3},
        id=f"{I}/parameterized_bilinear-attribute",
    ),
    _inst({"name": "lowrank_parameterized_bilinear", "reconciliation": {"name": "lowrank", "rank": 1}}, m=4),
    _inst({"name": "hm_parameterized_bilinear", "reconciliation": {"name": "hm", "p": 2, "q": 2}}, m=4),
    _inst({"name": "lphm_parameterized_bilinear", "reconciliation": {"name": "lphm", "p": 2, "q": 2, "rank": 1}}, m=4),
    _inst({"name": "dual_lphm_parameterized_bilinear", "softmax": True}, m=4),
    _inst({"name": "random_matrix_adaption_parameterized_bilinear"}, m=4),
    # geometric (channel-major grids; m = C h w d)
    Case(I, {"name": "geometric", "h": 3, "w": 3, "channels": 2}, {"m": 18}),
    Case(
        I,
        {"name": "geometric", "patch": "sphere", "mode": "aggregation", "h": 3, "w": 3, "d": 3, "p_r": 1},
        {"m": 27},
        id=f"{I}/geometric-sphere-aggregation-3d",
    ),
    Case(I, {"name": "cuboid_patch", "h": 4, "w": 3, "p_h": 0, "p_h_prime": 1, "cd_w": 2}, {"m": 12}),
    Case(
        I,
        {"name": "cuboid_patch", "mode": "aggregation", "h": 4, "w": 4, "packing": "complete_square"},
        {"m": 16},
        id=f"{I}/cuboid_patch-aggregation-strided",
    ),
    Case(I, {"name": "cuboid_patch_padding", "h": 3, "w": 3, "channels": 2}, {"m": 18}),
    Case(I, {"name": "cuboid_patch_aggregation", "h": 3, "w": 3, "channels": 2}, {"m": 18}),
    Case(I, {"name": "cylinder_patch", "h": 3, "w": 3, "d": 2, "p_d_prime": 1}, {"m": 18}),
    Case(I, {"name": "cylinder_patch_padding", "h": 3, "w": 3, "channels": 2}, {"m": 18}),
    Case(I, {"name": "cylinder_patch_aggregation", "h": 3, "w": 3, "channels": 2}, {"m": 18}),
    Case(I, {"name": "sphere_patch", "h": 3, "w": 3, "channels": 2}, {"m": 18}),
    Case(I, {"name": "sphere_patch_padding", "h": 3, "w": 3, "d": 3, "cd_d": 2}, {"m": 27}),
    Case(I, {"name": "sphere_patch_aggregation", "h": 3, "w": 3, "channels": 2}, {"m": 18}),
    # parameterized RPN (the attribute kind fixes b = the cases' batch of 4)
    Case(I, {"name": "parameterized_rpn", "b": 4, "expansion": "taylor", "m_out": 2}, {"m": 3}),
    Case(
        I,
        {"name": "parameterized_rpn", "b": 4, "reconciliation": {"name": "lowrank", "rank": 1}},
        {"m": 3},
        id=f"{I}/parameterized_rpn-lowrank",
    ),
    _inst({"name": "parameterized_rpn", "expansion": "taylor", "b_out": 2}, id=f"{I}/parameterized_rpn-instance"),
    # hybrid
    _inst(
        {
            "name": "hybrid",
            "fusion": "prod",
            "functions": [
                {"name": "graph", "adjacency": RING, "directed": False, "self_dependence": True},
                {"name": "parameterized_bilinear", "softmax": True},
            ],
        },
        id=f"{I}/hybrid-gat",
    ),
    Case(
        I,
        {"name": "hybrid", "functions": ["pearson_correlation", "linear_kernel"], "fusion": "concatenation"},
        {"m": 3},
    ),
]
