"""Values, errors, round trips and learning of the RPN 2 graph, graph-bilinear and chain heads."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import rpnkit as rk
from rpnkit.data import load_sbm
from rpnkit.functional.topology import csr_mix
from rpnkit.interdependence import attach_graph
from rpnkit.nn.chain import ChainHead
from rpnkit.nn.graph import GraphBilinearHead, GraphHead

D64 = torch.float64


def random_graph(n: int, pairs: int, seed: int = 0, undirected: bool = True) -> torch.Tensor:
    """(2, E) random edges without self loops (both directions when undirected, deduplicated)."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(0, n, (pairs,), generator=gen)
    dst = (src + torch.randint(1, n, (pairs,), generator=gen)) % n
    ei = torch.stack([src, dst])
    if undirected:
        ei = torch.cat([ei, ei.flip(0)], dim=1)
    return torch.unique(ei, dim=1)


def dense_gcn_matrix(ei: torch.Tensor, n: int) -> torch.Tensor:
    """A_hat = D^-1/2 (A + I) D^-1/2 of the undirected graph, dense (explicit formula)."""
    A = torch.zeros(n, n, dtype=D64)
    A[ei[0], ei[1]] = 1.0
    A = torch.maximum(A, A.T) + torch.eye(n, dtype=D64)
    d = A.sum(1).rsqrt()
    return d[:, None] * A * d[None, :]


def graph_head(m: int, n: int, ei: torch.Tensor, nodes: int, **kw) -> GraphHead:
    head = GraphHead(m, n, **kw).to(D64)
    assert attach_graph(head, ei, nodes) == 1
    return head


# ------------------------------------------------------------------------------- graph head == GCN


@pytest.mark.parametrize("m, n", [(5, 3), (3, 6)])  # psi first / the mix first
@pytest.mark.parametrize("input_grad", [False, True])
def test_graph_head_equals_gcnconv(m, n, input_grad):
    tg = pytest.importorskip("torch_geometric.nn")
    nodes = 12
    ei = random_graph(nodes, 20)
    conv = tg.GCNConv(m, n, add_self_loops=True, normalize=True).to(D64)
    head = graph_head(m, n, ei, nodes)
    with torch.no_grad():
        conv.bias.copy_(torch.randn(n, dtype=D64))
        head.reconciliation.W.copy_(conv.lin.weight)
        head.bias.copy_(conv.bias)
    x = torch.randn(nodes, m, dtype=D64, requires_grad=input_grad)
    expected, got = conv(x, ei), head(x)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(expected)
    (expected * g).sum().backward()
    (got * g).sum().backward()
    torch.testing.assert_close(head.reconciliation.W.grad, conv.lin.weight.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(head.bias.grad, conv.bias.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("m, n", [(6, 2), (2, 6)])
def test_graph_head_sparse_path_equals_dense_formula(m, n):
    nodes = 15
    ei = random_graph(nodes, 25, seed=3, undirected=False)  # the head symmetrises (directed: false)
    head = graph_head(m, n, ei, nodes)
    with torch.no_grad():
        head.bias.normal_()
    x = torch.randn(2, nodes, m, dtype=D64)  # leading dimensions: every graph copy mixed alike
    A_hat = dense_gcn_matrix(ei, nodes)
    expected = A_hat.T @ (x @ head.reconciliation.W.T) + head.bias
    torch.testing.assert_close(head(x), expected, rtol=1e-12, atol=1e-12)
    xg = x.clone().requires_grad_()
    torch.testing.assert_close(head(xg), expected, rtol=1e-12, atol=1e-12)


def test_graph_head_matches_the_dataset_adjacency_and_multihop_series():
    g = load_sbm(num_nodes=40, num_classes=2, num_val=5, num_test=5, train_per_class=5)
    A_hat = g.adjacency().to(D64)  # D^-1/2 (A + I) D^-1/2, computed in float32
    x = g.x.to(D64)
    head = graph_head(16, 4, g.edge_index, g.num_nodes)
    W = head.reconciliation.W
    torch.testing.assert_close(head(x), A_hat @ x @ W.T + head.bias, rtol=1e-5, atol=1e-6)
    hop = graph_head(16, 4, g.edge_index, g.num_nodes, instance_interdependence={"name": "multihop_graph", "hops": 3})
    W = hop.reconciliation.W
    torch.testing.assert_close(hop(x), A_hat @ A_hat @ A_hat @ x @ W.T + hop.bias, rtol=1e-5, atol=1e-6)


def test_graph_head_without_graph_is_the_node_wise_head():
    head = GraphHead(4, 3, instance_interdependence=None).to(D64)
    x = torch.randn(7, 4, dtype=D64)
    torch.testing.assert_close(head(x), x @ head.reconciliation.W.T + head.bias)
    assert head.to_config()["instance_interdependence"] is None


def test_csr_mix_gradcheck_and_series():
    nodes = 6
    ei = random_graph(nodes, 7, seed=1, undirected=False)
    A = torch.zeros(nodes, nodes, dtype=D64)
    A[ei[0], ei[1]] = torch.rand(ei.shape[1], dtype=D64)
    AT = A.T.to_sparse_csr()
    Acsr = A.to_sparse_csr()
    z = torch.randn(nodes, 3, dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: csr_mix(AT, Acsr, t), (z,))
    c = [0.5, 0.25, 2.0]
    assert torch.autograd.gradcheck(lambda t: csr_mix(AT, Acsr, t, c), (z,))
    expected = c[0] * z + c[1] * A.T @ z + c[2] * A.T @ A.T @ z
    torch.testing.assert_close(csr_mix(AT, Acsr, z, c), expected)


@pytest.mark.parametrize("m, n", [(3, 2), (2, 3)])
def test_graph_head_gradcheck(m, n):
    nodes = 5
    head = graph_head(m, n, random_graph(nodes, 6, seed=2), nodes, remainder="linear")
    x = torch.randn(nodes, m, dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(head, (x,))
    assert torch.autograd.gradgradcheck(head, (x,))


# ------------------------------------------------------------------------------- graph-bilinear == GAT


@pytest.mark.parametrize("heads, concat", [(1, True), (2, True), (2, False), (3, False)])
@pytest.mark.parametrize("directed", [False, True])
def test_graph_bilinear_head_equals_gatconv(heads, concat, directed):
    tg = pytest.importorskip("torch_geometric.nn")
    nodes, m, c = 11, 5, 3
    ei = random_graph(nodes, 20, seed=4, undirected=not directed)
    n = heads * c if concat else c
    gat = tg.GATConv(m, c, heads=heads, concat=concat).to(D64)
    head = GraphBilinearHead(m, n, heads=heads, concat=concat, instance_interdependence={"directed": directed}).to(D64)
    attach_graph(head, ei, nodes)
    with torch.no_grad():
        gat.bias.copy_(torch.randn_like(gat.bias))
        head.reconciliation.W.copy_(gat.lin.weight)
        head.att_src.copy_(gat.att_src[0])
        head.att_dst.copy_(gat.att_dst[0])
        head.bias.copy_(gat.bias)
    x = torch.randn(nodes, m, dtype=D64, requires_grad=True)
    expected, got = gat(x, ei), head(x)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(expected)
    (gx_expected,) = torch.autograd.grad((expected * g).sum(), x)
    (gx_got,) = torch.autograd.grad((got * g).sum(), x)
    torch.testing.assert_close(gx_got, gx_expected, rtol=1e-10, atol=1e-12)


def test_graph_bilinear_head_equals_dense_masked_attention():
    """Both score functions against the explicit (N, N) formula: masked softmax over the in-neighbours."""
    nodes, m, H, C = 8, 4, 2, 3
    ei = random_graph(nodes, 10, seed=5, undirected=False)
    mask = torch.zeros(nodes, nodes, dtype=torch.bool)  # mask[i, j]: j -> i (target i, source j)
    mask[ei[1], ei[0]] = True
    mask |= mask.T.clone()
    mask |= torch.eye(nodes, dtype=torch.bool)
    x = torch.randn(nodes, m, dtype=D64)
    for scores in ("additive", "bilinear"):
        head = GraphBilinearHead(m, H * C, heads=H, scores=scores).to(D64)
        attach_graph(head, ei, nodes)
        with torch.no_grad():
            head.bias.normal_()
        h = (x @ head.reconciliation.W.T).view(nodes, H, C)
        if scores == "additive":
            s_src = (h * head.att_src).sum(-1)  # (N, H)
            s_dst = (h * head.att_dst).sum(-1)
            e = F.leaky_relu(s_dst[:, None, :] + s_src[None, :, :], 0.2)  # e[i, j, h]
        else:
            q = (x @ head.query.weight().T).view(nodes, H, C)
            k = (x @ head.key.weight().T).view(nodes, H, C)
            e = torch.einsum("ihc,jhc->ijh", q, k) / C**0.5
        alpha = torch.softmax(e.masked_fill(~mask[..., None], -torch.inf), dim=1)
        expected = torch.einsum("ijh,jhc->ihc", alpha, h).reshape(nodes, H * C) + head.bias
        torch.testing.assert_close(head(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scores", ["additive", "bilinear"])
def test_graph_bilinear_head_gradcheck(scores):
    nodes = 5
    head = GraphBilinearHead(3, 4, heads=2, scores=scores).to(D64)
    attach_graph(head, random_graph(nodes, 6, seed=6), nodes)
    x = torch.randn(nodes, 3, dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(head, (x,))


# ------------------------------------------------------------------------------- graph from data, io


def test_attach_graph_reaches_every_head_and_save_load_keeps_the_graph(tmp_path):
    g = load_sbm(num_nodes=50, num_classes=2, num_val=5, num_test=5, train_per_class=5)
    model = rk.RPN(
        layers=[
            {"m": 16, "n": 8, "head": {"name": "graph", "output_processing": "relu"}},
            {"m": 8, "n": 2, "head": {"name": "graph_bilinear", "heads": 2}},
        ]
    )
    with pytest.raises(rk.ConfigError, match="attach_graph"):
        model(g.x)
    assert attach_graph(model, g.edge_index, g.num_nodes) == 2
    y = model(g.x)
    config = model.to_config()
    assert config["layers"][0]["head"]["instance_interdependence"]["adjacency"] == "data"
    rebuilt = rk.build_model(config)
    assert rebuilt.to_config() == config
    rk.save(model, tmp_path / "ckpt")
    loaded = rk.load(tmp_path / "ckpt")
    assert loaded.to_config() == config
    torch.testing.assert_close(loaded(g.x), y, rtol=0, atol=0)  # the graph came back with the weights


def test_yaml_config_with_adjacency_data():
    model = rk.build_model(
        "dims: [4, 6, 3]\n"
        "head:\n"
        "  name: graph\n"
        "  instance_interdependence: {name: graph, adjacency: data}\n"
        "  output_processing: relu\n"
    )
    ei = random_graph(9, 12)
    assert attach_graph(model, ei, 9) == 2
    assert model(torch.randn(9, 4)).shape == (9, 3)
    assert rk.build_model(model.to_config()).to_config() == model.to_config()


def test_graph_errors():
    head = graph_head(3, 2, random_graph(6, 8), 6)
    with pytest.raises(rk.ShapeError, match="num_nodes=6 but the data has 5 rows"):
        head(torch.randn(5, 3, dtype=D64))
    with pytest.raises(rk.ShapeError, match="nodes as rows"):
        head(torch.randn(3, dtype=D64))
    with pytest.raises(rk.ConfigError, match=r"head\.heads: .*multiple of heads=2"):
        rk.Layer(4, 3, head={"name": "graph_bilinear", "heads": 2})
    with pytest.raises(rk.ConfigError, match="must be a 'graph' interdependence"):
        GraphBilinearHead(3, 2, instance_interdependence={"name": "pagerank", "adjacency": [[0, 1]]})
    with pytest.raises(rk.ConfigError, match=r"head\.instance_interdependence\.kind"):
        rk.Layer(3, 2, head={"name": "graph", "instance_interdependence": {"kind": "attribute", "adjacency": [[0, 1]]}})
    with pytest.raises(rk.ConfigError, match="did you mean 'graph'"):
        GraphHead(3, 2, instance_interdependence="grapj")


# ------------------------------------------------------------------------------- chain head


def test_chain_head_attribute_kind_equals_explicit_steps():
    L, d, ns = 5, 3, 2
    x = torch.randn(4, L * d, dtype=D64)
    steps = x.view(4, L, d)
    prev = torch.cat([torch.zeros_like(steps[:, :1]), steps[:, :-1]], dim=1)
    nxt = torch.cat([steps[:, 1:], torch.zeros_like(steps[:, :1])], dim=1)
    for spec, mixed in [
        ("chain", steps + prev),
        ({"bidirectional": True, "self_scaling": 0.5}, 0.5 * steps + prev + nxt),
        (None, steps),
    ]:
        head = ChainHead(L * d, L * ns, length=L, interdependence=spec, bias=True, remainder="linear").to(D64)
        with torch.no_grad():
            head.bias.normal_()
        W, R = head.reconciliation.W, head.remainder.W
        expected = (mixed @ W.T + head.bias + steps @ R.T).flatten(1)
        torch.testing.assert_close(head(x), expected, rtol=1e-12, atol=1e-12)


def test_chain_head_instance_kind_mixes_consecutive_rows():
    head = ChainHead(3, 2, kind="instance", interdependence={"name": "chain", "bidirectional": True}).to(D64)
    x = torch.randn(6, 3, dtype=D64)
    M = torch.eye(6, dtype=D64) + torch.diag(torch.ones(5, dtype=D64), 1) + torch.diag(torch.ones(5, dtype=D64), -1)
    torch.testing.assert_close(head(x), M.T @ x @ head.reconciliation.W.T, rtol=1e-12, atol=1e-12)
    xg = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(head, (xg,))


def test_chain_head_gradcheck_and_round_trip():
    head = ChainHead(
        12, 8, length=4, interdependence={"name": "multihop_chain", "hops": 2, "cumulative": True},
        expansion={"name": "taylor", "degree": 2},
    ).to(D64)  # fmt: skip
    x = torch.randn(3, 12, dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(head, (x,))
    config = head.to_config()
    rebuilt = rk.build("head", config, m=12, n=8).to(D64)
    rebuilt.load_state_dict(head.state_dict())
    assert rebuilt.to_config() == config
    torch.testing.assert_close(rebuilt(x), head(x), rtol=0, atol=0)


def test_chain_errors_name_the_path():
    with pytest.raises(rk.ConfigError, match=r"layers\[0\]\.head\.length: length=4 must divide m=10 .*allows"):
        rk.RPN([10, 8], head={"name": "chain", "length": 4})
    with pytest.raises(rk.ConfigError, match=r"head\.length: length=4 must divide n=6"):
        rk.Layer(8, 6, head={"name": "chain", "length": 4})
    with pytest.raises(rk.ConfigError, match=r"head\.length: the attribute kind needs length"):
        rk.Layer(8, 8, head={"name": "chain"})
    with pytest.raises(rk.ConfigError, match=r"interdependence\.length"):
        ChainHead(8, 8, length=4, interdependence={"name": "chain", "length": 2})
    with pytest.raises(rk.ConfigError, match="kind must be one of"):
        ChainHead(8, 8, length=4, kind="instances")


# ------------------------------------------------------------------------------- learning


def _train_nodes(model, g, steps: int, lr: float = 0.01) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=5e-4)
    for _ in range(steps):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(g.x)[g.train_mask], g.y[g.train_mask]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(g.x).argmax(-1)
    return float((pred[g.test_mask] == g.y[g.test_mask]).float().mean())


def test_graph_rpn_beats_node_features_alone_on_sbm():
    g = load_sbm(
        num_nodes=400, num_classes=4, num_features=16, p_in=0.08, p_out=0.005, feature_noise=2.5,
        train_per_class=10, num_val=40, num_test=200, seed=0,
    )  # fmt: skip
    accuracy = {}
    for name, xi in (("graph", "graph"), ("features", None)):
        torch.manual_seed(0)
        head = {"name": "graph", "instance_interdependence": xi}
        model = rk.RPN(
            layers=[
                {"m": 16, "n": 32, "head": {**head, "output_processing": ["relu", {"name": "dropout", "p": 0.5}]}},
                {"m": 32, "n": 4, "head": head},
            ]
        )
        attach_graph(model, g.edge_index, g.num_nodes)
        accuracy[name] = _train_nodes(model, g, steps=150)
    assert accuracy["graph"] >= 0.85, accuracy
    assert accuracy["graph"] - accuracy["features"] >= 0.25, accuracy


def _adjacent_pairs(count: int, L: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of L steps (2 features: signal, noise) with exactly two 'high' steps; label 1 when the
    two are consecutive. Every step's value distribution is the same in both classes: only order tells."""
    y = torch.randint(0, 2, (count,), generator=gen)
    first = torch.randint(0, L - 1, (count,), generator=gen)
    gap = torch.randint(2, L, (count,), generator=gen)
    second = torch.where(y == 1, first + 1, (first + gap) % L)
    second = torch.where((y == 0) & ((second - first).abs() <= 1), (first + L // 2) % L, second)
    signal = torch.zeros(count, L)
    signal[torch.arange(count), first] = 1.0
    signal[torch.arange(count), second] = 1.0
    x = torch.stack([signal + 0.1 * torch.randn(count, L, generator=gen), torch.randn(count, L, generator=gen)], -1)
    adjacent = (second - first).abs() == 1
    return x.flatten(1), adjacent.long()


class _StepMean(torch.nn.Module):
    def __init__(self, L: int) -> None:
        super().__init__()
        self.L = L

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.unflatten(-1, (self.L, -1)).mean(-2)


def test_chain_rpn_beats_bag_of_steps():
    L, d, hidden = 8, 2, 16
    gen = torch.Generator().manual_seed(0)
    x_train, y_train = _adjacent_pairs(1000, L, gen)
    x_test, y_test = _adjacent_pairs(500, L, gen)
    accuracy = {}
    for name, xi in (("chain", "chain"), ("bag", None)):
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            ChainHead(L * d, L * hidden, length=L, interdependence=xi, bias=True, output_processing="relu"),
            _StepMean(L),  # the same order-free readout for both: a mean over the steps
            torch.nn.Linear(hidden, 2),
        )
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        for _ in range(150):
            opt.zero_grad()
            F.cross_entropy(model(x_train), y_train).backward()
            opt.step()
        with torch.no_grad():
            accuracy[name] = float((model(x_test).argmax(-1) == y_test).float().mean())
    assert accuracy["chain"] >= 0.9, accuracy
    assert accuracy["bag"] <= 0.65, accuracy


def test_heads_use_the_public_topology_api_only():
    """The graph and chain heads reach the interdependence through its public methods (no ``xi._x``)."""
    import inspect
    import re

    from rpnkit.nn import chain, graph

    for module in (graph, chain):
        source = inspect.getsource(module)
        assert not re.search(r"(xi|interdependence)\._[a-z]", source), module.__name__
    from rpnkit.nn.graph import csr_mix as reexported

    assert reexported is csr_mix  # the old import path keeps working


def test_generic_head_with_a_graph_mixes_through_cached_csr_products():
    """A plain Head with a graph instance interdependence gets the cached-transpose backward, and the
    same values and gradients as the dense M."""
    ei = random_graph(9, 12, seed=3)
    spec = {"name": "graph", "adjacency": ei.T.tolist(), "num_nodes": 9, "normalization": "symmetric"}
    head = rk.build("head", {"name": "rpn", "instance_interdependence": spec}, m=4, n=3)
    head = head.to(D64)
    xi = head.instance_interdependence
    op = xi.operator(9, torch.device("cpu"), D64)
    assert op.kind == "sparse" and op.A is not None and op.A.layout == torch.sparse_csr
    assert xi.operator(9, "cpu", D64) is op  # cached per (n, device, dtype)
    x = torch.randn(9, 4, dtype=D64, requires_grad=True)
    y = head(x)
    M = xi.matrix(x)
    W = head.reconciliations[0].weight()
    expected = M.T @ (x @ W.T)
    torch.testing.assert_close(y, expected)
    (g,) = torch.autograd.grad(y.sum(), x)
    (g_ref,) = torch.autograd.grad(expected.sum(), x)
    torch.testing.assert_close(g, g_ref)
    assert torch.autograd.gradcheck(lambda t: xi(t), (torch.randn(9, 2, dtype=D64, requires_grad=True),))
