"""Implicit paths: the head never builds kappa(x) (or W) and still equals the explicit path."""

from __future__ import annotations

import pytest
import torch

import rpnkit as rk
from rpnkit.functional.implicit import (
    bspline_linear,
    power_contract,
    power_contract_t,
    taylor_linear,
    taylor_linear_t,
)
from rpnkit.functional.polynomial import taylor
from rpnkit.functional.spline import bspline_basis, uniform_bspline, uniform_knots
from rpnkit.implicit import layout_of

DT = torch.float64
EXPANSIONS = [
    {"name": "taylor", "degree": 2},
    {"name": "taylor", "degree": 3},
    {"name": "taylor", "degree": 2, "preprocess": "tanh"},
    {"name": "bspline", "t": 4, "d": 3},
    {"name": "extended", "functions": [{"name": "bspline", "t": 3}, "taylor"]},
    {"name": "extended", "functions": ["gaussian_rbf", {"name": "taylor", "degree": 2}]},
    {"name": "nested", "functions": [{"name": "bspline", "t": 2, "d": 1}, "taylor"]},
]
RECONCILIATIONS = [
    "identity",
    {"name": "identity", "bias": True},
    {"name": "lowrank", "rank": 3},
    {"name": "masking", "p": 0.5},
    {"name": "blockwise_hm", "p": 2},
    {"name": "blockwise_lphm", "p": 3, "rank": 2},
    {"name": "blockwise_dual_lphm", "rank": 2, "bias": True},
]


def twins(m, n, **kw):
    implicit = rk.Head(m, n, **kw).to(DT)
    explicit = rk.Head(m, n, implicit=False, **kw).to(DT)
    explicit.load_state_dict(implicit.state_dict())
    return implicit, explicit


@pytest.mark.parametrize("expansion", EXPANSIONS, ids=lambda e: f"{e['name']}{e.get('degree', '')}")
@pytest.mark.parametrize("reconciliation", RECONCILIATIONS, ids=str)
def test_implicit_head_equals_explicit_head_values_and_gradients(expansion, reconciliation):
    torch.manual_seed(0)
    implicit, explicit = twins(4, 6, expansion=expansion, reconciliation=reconciliation, channels=2, remainder="linear")
    assert implicit.uses_implicit_path and not explicit.uses_implicit_path
    x = (torch.rand(2, 5, 4, dtype=DT) * 1.8 - 0.9).requires_grad_()
    y1, y2 = implicit(x), explicit(x)
    torch.testing.assert_close(y1, y2, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y1)
    grads1 = torch.autograd.grad(y1, [x, *implicit.parameters()], g)
    grads2 = torch.autograd.grad(y2, [x, *explicit.parameters()], g)
    for a, b in zip(grads1, grads2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reconciliation", ["identity", "lowrank", "blockwise_dual_lphm"])
def test_implicit_head_gradcheck(reconciliation):
    head = rk.Head(3, 4, expansion="taylor", reconciliation=reconciliation).to(DT)
    assert head.uses_implicit_path
    x = torch.randn(4, 3, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(head, (x,))


def test_implicit_path_never_builds_the_features(monkeypatch):
    head = rk.Head(50, 8, expansion="taylor", reconciliation="lowrank")
    monkeypatch.setattr(type(head.expansion), "transform", lambda self, x: pytest.fail("kappa(x) was built"))
    assert head(torch.randn(3, 50)).shape == (3, 8)


def test_the_head_picks_the_path_automatically():
    assert rk.Head(4, 3, expansion="taylor").uses_implicit_path
    assert rk.Head(4, 3, expansion="bspline", reconciliation="lowrank").uses_implicit_path
    assert not rk.Head(4, 3, expansion="identity").uses_implicit_path  # nothing to gain
    assert not rk.Head(4, 3, expansion="taylor", reconciliation="dual_lphm").uses_implicit_path  # flat Kronecker
    assert not rk.Head(4, 3, expansion={"name": "taylor", "postprocess": "layer_norm"}).uses_implicit_path
    assert not rk.Head(4, 3, expansion="taylor", instance_interdependence={"name": "identity"}).uses_implicit_path
    assert not rk.Head(4, 3, expansion="taylor", implicit=False).uses_implicit_path


def test_requiring_an_unsupported_implicit_path_is_a_clear_error():
    with pytest.raises(
        rk.ConfigError, match=r"implicit: no implicit path for expansion Taylor with reconciliation DualLPHM"
    ):
        rk.Head(4, 3, expansion="taylor", reconciliation="dual_lphm", implicit=True)


def test_layout_of_composites_concatenates_or_composes_blocks():
    extended = rk.build("expansion", {"name": "extended", "functions": ["gaussian_rbf", "taylor", "bspline"]}, m=3)
    layout = layout_of(extended)
    assert [(b.kind, b.degree, b.base) for b in layout] == [
        ("dense", 0, 0),
        ("power", 1, 1),
        ("power", 2, 1),
        ("bspline", 0, 2),
    ]
    assert sum(b.width for b in layout) == extended.D
    nested = rk.build("expansion", {"name": "nested", "functions": ["chebyshev", "taylor"]}, m=3)
    assert [(b.kind, b.degree, b.base_width) for b in layout_of(nested)] == [("power", 1, 6), ("power", 2, 6)]


def test_layout_of_taylor_and_bspline():
    layout = layout_of(rk.build("expansion", {"name": "taylor", "degree": 3}, m=5))
    assert [(b.kind, b.degree, b.width) for b in layout] == [("power", 1, 5), ("power", 2, 25), ("power", 3, 125)]
    assert [b.kind for b in layout_of(rk.build("expansion", "bspline", m=2))] == ["bspline"]
    assert layout_of(rk.build("expansion", "gaussian_rbf", m=2)) is None


def test_power_contract_and_taylor_linear_match_the_features():
    u = torch.randn(6, 5, dtype=DT)
    for k in (1, 2, 3):
        M = torch.randn(4, 5**k, dtype=DT)
        torch.testing.assert_close(power_contract(M, u, k), taylor(u, k)[:, -(5**k) :] @ M.T)
        torch.testing.assert_close(power_contract_t(M.T.contiguous(), u, k), taylor(u, k)[:, -(5**k) :] @ M.T)
    W = torch.randn(4, 30, dtype=DT, requires_grad=True)
    u.requires_grad_()
    Mt = torch.randn(30, 3, dtype=DT, requires_grad=True)
    torch.testing.assert_close(taylor_linear_t(u, Mt, [(0, 1), (5, 2)]), taylor(u, 2) @ Mt)
    assert torch.autograd.gradcheck(lambda a, b: taylor_linear_t(a, b, [(0, 1), (5, 2)]), (u, Mt))
    torch.testing.assert_close(taylor_linear(u, W, [(0, 1), (5, 2)]), taylor(u, 2) @ W.T)
    assert torch.autograd.gradcheck(lambda a, b: taylor_linear(a, b, [(0, 1), (5, 2)]), (u, W))


@pytest.mark.parametrize("degree", [1, 2, 3, 4])
def test_uniform_bspline_equals_the_cox_de_boor_recursion(degree):
    knots = uniform_knots(-1.0, 1.0, 5, degree)
    h = 0.4
    x = torch.rand(300, 2, dtype=DT) * 5 - 2.5  # inside, near and outside the grid
    basis, derivative = uniform_bspline(x, -1.0 - degree * h, h, len(knots), degree, derivative=True)
    torch.testing.assert_close(basis, bspline_basis(x, knots, degree), rtol=0, atol=1e-12)
    # d/dx B_{i,k} = (B_{i,k-1} - B_{i+1,k-1}) / h on the same knots
    lower = bspline_basis(x, knots, degree - 1)
    torch.testing.assert_close(derivative, (lower[..., :-1] - lower[..., 1:]) / h, rtol=0, atol=1e-10)


def test_bspline_linear_recomputes_the_basis_and_has_exact_gradients():
    knots = uniform_knots(-1.0, 1.0, 5, 3)
    grid = (-1.0 - 3 * 0.4, 0.4, len(knots))
    x = (torch.rand(7, 3, dtype=DT) * 1.8 - 0.9).requires_grad_()
    W = torch.randn(4, 3 * 8, dtype=DT, requires_grad=True)
    torch.testing.assert_close(bspline_linear(x, grid, 3, W), bspline_basis(x, knots, 3).flatten(-2) @ W.T)
    assert torch.autograd.gradcheck(lambda a, b: bspline_linear(a, grid, 3, b), (x, W))
    y = bspline_linear(x, grid, 3, W)
    saved = [t for t in y.grad_fn.saved_tensors]
    assert {tuple(t.shape) for t in saved} == {(7, 3), (4, 24)}  # x and W only: no basis kept


def test_taylor_linear_in_row_chunks_matches(monkeypatch):
    import rpnkit.functional.implicit as implicit_functional

    original = implicit_functional._row_chunks
    monkeypatch.setattr(implicit_functional, "_row_chunks", lambda rows, m, b: original(rows, m, b, budget=m * b * 2))
    assert len(implicit_functional._row_chunks(7, 4, 5)) == 4
    u = torch.randn(5, 4, dtype=DT, requires_grad=True)
    W = torch.randn(7, 20, dtype=DT, requires_grad=True)
    torch.testing.assert_close(taylor_linear(u, W, [(0, 1), (4, 2)]), taylor(u, 2) @ W.T)
    assert torch.autograd.gradcheck(lambda a, b: taylor_linear(a, b, [(0, 1), (4, 2)]), (u, W))


def test_bspline_recompute_policy():
    small = rk.Head(4, 3, expansion="bspline")
    assert not small.expansion.recomputes(torch.zeros(8, 4))
    big = torch.zeros(1 << 20, 4)
    assert small.expansion.recomputes(big)
    forced = rk.Head(4, 3, expansion={"name": "bspline", "recompute": True}).to(DT)
    stored = rk.Head(4, 3, expansion={"name": "bspline", "recompute": False}).to(DT)
    stored.load_state_dict(forced.state_dict())
    x = torch.rand(6, 4, dtype=DT) * 1.8 - 0.9
    y1, y2 = forced(x), stored(x)
    torch.testing.assert_close(y1, y2)
    assert type(y1.grad_fn).__name__ != type(y2.grad_fn).__name__
    g1 = torch.autograd.grad(y1.sum(), forced.reconciliation.W)[0]
    g2 = torch.autograd.grad(y2.sum(), stored.reconciliation.W)[0]
    torch.testing.assert_close(g1, g2)
    with pytest.raises(rk.ConfigError, match="recompute must be true, false or null"):
        rk.Head(4, 3, expansion={"name": "bspline", "recompute": "yes"})


def test_blockwise_weight_is_a_kronecker_product_per_block():
    head = rk.Head(4, 6, expansion="taylor", reconciliation={"name": "blockwise_dual_lphm", "rank": 2, "p": 3}).to(DT)
    psi = head.reconciliation
    assert psi.shapes == [(1, 4), (4, 4)]
    parts = [torch.kron(P @ Q.T, S @ T.T) for P, Q, S, T in zip(psi.P, psi.Q, psi.S, psi.T)]
    torch.testing.assert_close(psi.weight(), torch.cat(parts, dim=1))
    assert psi.l == sum(2 * (3 + q + 2 + t) for q, t in psi.shapes)
    z = torch.randn(5, head.D, dtype=DT)
    torch.testing.assert_close(psi(z), z @ psi.weight().T)


def test_blockwise_on_one_dense_block_equals_the_flat_kronecker_family():
    flat = rk.build("reconciliation", {"name": "dual_lphm", "rank": 2, "p": 2, "q": 3}, n=4, D=9).to(DT)
    block = rk.build("reconciliation", {"name": "blockwise_dual_lphm", "rank": 2, "p": 2}, n=4, D=9).to(DT)
    with torch.no_grad():
        block.P[0].copy_(flat.P), block.Q[0].copy_(flat.Q), block.S[0].copy_(flat.S), block.T[0].copy_(flat.T)
    torch.testing.assert_close(block.weight(), flat.weight())


def test_mnist_shaped_blockwise_layer_parameter_count():
    head = rk.Head(784, 64, expansion="taylor", reconciliation={"name": "blockwise_dual_lphm", "rank": 5, "p": 8})
    assert head.D == 615_440 and head.l == 11_925 and head.uses_implicit_path
    assert head(torch.rand(2, 784)).shape == (2, 64)


def test_blockwise_models_round_trip_through_save_and_load(tmp_path):
    model = rk.RPN([5, 6, 3], head={"expansion": "taylor", "reconciliation": {"name": "blockwise_lphm", "rank": 2}})
    rk.save(model, tmp_path / "m")
    loaded = rk.load(tmp_path / "m")
    x = torch.randn(4, 5)
    assert torch.equal(model(x), loaded(x))
    assert "layout" not in str(model.to_config())


@pytest.mark.slow
@pytest.mark.parametrize(
    "head",
    [
        {"expansion": "taylor", "reconciliation": "identity"},
        {"expansion": "taylor", "reconciliation": {"name": "lowrank", "rank": 2}},
        {"expansion": "taylor", "reconciliation": {"name": "blockwise_dual_lphm", "rank": 2}},
        {"expansion": "taylor", "reconciliation": {"name": "dual_lphm", "rank": 2}},
        {"expansion": "bspline", "reconciliation": "identity", "remainder": "linear"},
        {"expansion": "chebyshev", "reconciliation": "hm", "input_processing": "layer_norm"},
    ],
    ids=lambda h: f"{h['expansion']}+{h['reconciliation']}",
)
def test_torch_compile_fullgraph(head):
    torch._dynamo.reset()
    module = rk.Head(6, 4, **head)
    compiled = torch.compile(module, fullgraph=True)
    x = torch.rand(5, 6) * 1.8 - 0.9
    torch.testing.assert_close(compiled(x), module(x), rtol=1e-5, atol=1e-5)
    compiled(x).sum().backward()
    assert all(p.grad is not None for p in module.parameters())


def test_shared_kernel_is_k_kron_identity_and_a_convolution_of_patches():
    psi = rk.build("reconciliation", {"name": "shared_kernel", "positions": 4}, n=8, D=12).to(DT)
    torch.testing.assert_close(psi.weight(), torch.kron(psi.K, torch.eye(4, dtype=DT)))
    z = torch.randn(3, 12, dtype=DT)
    torch.testing.assert_close(psi(z), z @ psi.weight().T)
    assert psi.l == 2 * 3
    # patches laid out as (c*ps + k) * P + p: the product is the same kernel at every position p
    Z = z.reshape(3, 3, 4)
    for p in range(4):
        torch.testing.assert_close(psi(z).reshape(3, 2, 4)[:, :, p], Z[:, :, p] @ psi.K.T)


@pytest.mark.parametrize("reconciliation", ["identity", "lowrank", "blockwise_dual_lphm"])
@pytest.mark.parametrize("expansion", ["taylor", "bspline"])
def test_implicit_head_accepts_non_contiguous_input(expansion, reconciliation):
    head = rk.Head(4, 6, expansion=expansion, reconciliation=reconciliation).to(DT)
    x = torch.rand(5, 4, dtype=DT) * 1.8 - 0.9
    strided = torch.stack([x, torch.zeros_like(x)], dim=-1).flatten(-2)[..., ::2]
    assert not strided.is_contiguous()
    torch.testing.assert_close(head(strided), head(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(head(x.T.contiguous().T), head(x), rtol=1e-12, atol=1e-12)


def test_implicit_path_after_an_attribute_interdependence():
    spec = {"name": "parameterized", "m_out": 3, "reconciliation": "lowrank"}
    implicit, explicit = twins(5, 4, expansion="taylor", reconciliation="lowrank", attribute_interdependence=spec)
    assert implicit.uses_implicit_path and implicit.D == 3 + 9
    x = torch.randn(6, 5, dtype=DT)
    torch.testing.assert_close(implicit(x), explicit(x), rtol=1e-12, atol=1e-12)
