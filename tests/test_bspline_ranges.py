"""Per-input B-spline grid ranges: values, gradients, implicit path, configs, refine / update_grid / prune."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import rpnkit as rk
from rpnkit.errors import ConfigError
from rpnkit.expansion import BSpline
from rpnkit.explain import data_ranges, fit, prune, refine, transfer_matrix, update_grid
from rpnkit.functional.implicit import bspline_linear
from rpnkit.functional.spline import bspline_basis, uniform_bspline, uniform_knots

RANGES = [[-1.0, 1.0], [0.0, 2.5], [-3.0, -0.5]]


def _x(n: int, m: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    return (torch.rand(n, m, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1) * scale


def _cox_de_boor(v: float, knots: list[float], i: int, k: int) -> float:
    """B_{i,k}(v) by the textbook recursion on one scalar."""
    if k == 0:
        return 1.0 if knots[i] <= v < knots[i + 1] else 0.0
    left = (v - knots[i]) / (knots[i + k] - knots[i]) * _cox_de_boor(v, knots, i, k - 1)
    right = (knots[i + k + 1] - v) / (knots[i + k + 1] - knots[i + 1]) * _cox_de_boor(v, knots, i + 1, k - 1)
    return left + right


@pytest.mark.parametrize("degree", [0, 1, 2, 3, 4])
def test_per_input_values_match_a_cox_de_boor_loop_per_input(degree):
    t = 4
    spline = BSpline(3, grid_range=RANGES, grid_size=t, degree=degree).double()
    assert spline.per_input and spline.knots.shape == (3, t + 2 * degree + 1)
    x = _x(40, 3, scale=3.5)  # inside, on the extension and beyond every grid
    out = spline(x).reshape(40, 3, t + degree)
    for j, (low, high) in enumerate(RANGES):
        h = (high - low) / t
        knots = [low + i * h for i in range(-degree, t + degree + 1)]
        expected = torch.tensor(
            [[_cox_de_boor(float(v), knots, i, degree) for i in range(t + degree)] for v in x[:, j]],
            dtype=torch.float64,
        )
        torch.testing.assert_close(out[:, j], expected, atol=1e-12, rtol=0)
        torch.testing.assert_close(out[:, j], bspline_basis(x[:, j], uniform_knots(low, high, t, degree), degree))
    # the (m, num_knots) knots buffer gives the same values through the recursion
    torch.testing.assert_close(out, bspline_basis(x, spline.knots.double(), degree), atol=1e-6, rtol=0)


def test_a_shared_pair_is_unchanged_and_equals_identical_per_input_rows():
    x = _x(50, 3, scale=1.5).float()
    shared = BSpline(3, grid_range=(-1.2, 0.8), grid_size=6)
    assert not shared.per_input and shared.grid_range == (-1.2, 0.8) and shared.knots.shape == (13,)
    h = 2.0 / 6
    reference = uniform_bspline(x, -1.2 - 3 * h, h, 13, 3).flatten(-2)
    assert torch.equal(shared(x), reference)  # the float path, bit for bit
    rows = BSpline(3, grid_range=[[-1.2, 0.8]] * 3, grid_size=6)
    torch.testing.assert_close(rows(x), shared(x), atol=1e-6, rtol=0)
    assert shared.to_config()["grid_range"] == [-1.2, 0.8]


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_per_input_gradients_float64(degree):
    spline = BSpline(3, grid_range=RANGES, grid_size=5, degree=degree).double()
    x = (_x(8, 3) + torch.tensor([0.0, 1.2, -1.7], dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(spline, (x,))
    W = torch.randn(2, 3 * (5 + degree), dtype=torch.float64, requires_grad=True)
    grid = spline.grid_on(x)
    assert torch.autograd.gradcheck(lambda a, w: bspline_linear(a, grid, degree, w, recompute=True), (x, W))
    assert torch.autograd.gradgradcheck(lambda a, w: bspline_linear(a, grid, degree, w, recompute=False), (x, W))
    # the analytic derivative of the local evaluation
    first, h, n = grid
    basis, derivative = uniform_bspline(x.detach(), first, h, n, degree, derivative=True)
    eps, v = 1e-6, x.detach()
    up, down = uniform_bspline(v + eps, first, h, n, degree), uniform_bspline(v - eps, first, h, n, degree)
    numeric = (up - down) / (2 * eps)
    torch.testing.assert_close(derivative, numeric, atol=1e-6, rtol=0)


@pytest.mark.parametrize("reconciliation", ["identity", {"name": "lowrank", "rank": 2}, "dual_lphm"])
def test_implicit_and_explicit_heads_agree_with_per_input_ranges(reconciliation):
    torch.manual_seed(0)
    expansion = {"name": "bspline", "t": 4, "grid_range": RANGES}
    kw = {"expansion": expansion, "reconciliation": reconciliation, "remainder": "linear", "channels": 2}
    implicit = rk.Head(3, 5, **kw).double()
    explicit = rk.Head(3, 5, implicit=False, **kw).double()
    explicit.load_state_dict(implicit.state_dict())
    assert not explicit.uses_implicit_path
    x = (_x(16, 3, scale=2.0) + torch.tensor([0.0, 1.2, -1.7], dtype=torch.float64)).requires_grad_()
    y1, y2 = implicit(x), explicit(x)
    torch.testing.assert_close(y1, y2)
    g = torch.randn_like(y1)
    for a, b in zip(
        torch.autograd.grad(y1, [x, *implicit.parameters()], g), torch.autograd.grad(y2, [x, *explicit.parameters()], g)
    ):
        torch.testing.assert_close(a, b)


def test_implicit_path_under_autocast_and_after_dtype_moves():
    head = rk.Head(3, 4, expansion={"name": "bspline", "grid_range": RANGES}, reconciliation="identity")
    assert head.uses_implicit_path
    x = _x(10, 3).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = head(x)
    assert y.dtype == torch.bfloat16
    y32 = head(x)
    y64 = head.double()(x.double())
    assert y64.dtype == torch.float64
    torch.testing.assert_close(y64.float(), y32, atol=1e-5, rtol=0)


def test_per_input_ranges_round_trip_configs_and_checkpoints(tmp_path):
    torch.manual_seed(0)
    head = {"expansion": {"name": "bspline", "t": 4, "grid_range": RANGES}, "remainder": "linear"}
    model = rk.RPN([3, 2], head=head)
    config = model.to_config()
    assert config["head"]["expansion"]["grid_range"] == RANGES
    again = rk.load(rk.save(model, tmp_path / "m"))
    assert again.layers[0].heads[0].expansion.grid_range == tuple(tuple(r) for r in RANGES)
    x = _x(20, 3).float()
    assert torch.equal(again(x), model(x))
    assert "layers.0.heads.0.expansion.knots" in model.state_dict()
    # arrays and tensors are accepted and written as plain lists
    for value in (np.array(RANGES), torch.tensor(RANGES)):
        spline = BSpline(3, grid_range=value)
        assert spline.to_config()["grid_range"] == RANGES
    assert BSpline(3, grid_range=torch.tensor([-2.0, 2.0])).to_config()["grid_range"] == [-2.0, 2.0]


@pytest.mark.parametrize(
    "bad", [[[-1, 1], [0, 1]], [[-1, 1], [0, 1], [2, 1]], [[-1, 1], [0, 1], [0]], "wide", [], [[-1, 1], [0, 1], "ab"]]
)
def test_bad_per_input_ranges_are_config_errors(bad):
    with pytest.raises(ConfigError, match="grid_range"):
        BSpline(3, grid_range=bad)


def test_set_grid_range_moves_the_grid_in_place():
    spline = BSpline(3, grid_range=(-1, 1), grid_size=5).double()
    spline.set_grid_range(RANGES)
    assert spline.per_input and spline.knots.dtype == torch.float64 and spline.knots.shape == (3, 12)
    assert spline.to_config()["grid_range"] == RANGES
    fresh = BSpline(3, grid_range=RANGES, grid_size=5).double()
    x = _x(30, 3, scale=2.0)
    assert torch.equal(spline(x), fresh(x))
    spline.set_grid_range((-2, 2))
    assert not spline.per_input and spline.knots.shape == (12,)


# ------------------------------------------------------------------------------------------- explain


def test_refine_data_gives_every_input_its_own_range_and_keeps_the_function_when_nested():
    torch.manual_seed(0)
    head = {"expansion": {"name": "bspline", "t": 5}, "reconciliation": {"name": "identity", "bias": True}}
    model = rk.RPN([3, 4, 1], head={**head, "remainder": "linear"})
    x = (_x(300, 3) * torch.tensor([1.0, 0.3, 0.6], dtype=torch.float64)).float()
    adaptive = refine(model, 5, x=x, grid_range="data")
    ranges = adaptive.layers[0].heads[0].expansion.grid_range
    for j, (low, high) in enumerate(ranges):
        lo, hi = float(x[:, j].min()), float(x[:, j].max())
        assert low < lo and high > hi and high - low < 1.2 * (hi - lo)
    assert adaptive.layers[1].heads[0].expansion.per_input
    # refining a per-input grid by a multiple of t on the same ranges keeps the function
    for reconciliation in ("identity", {"name": "lowrank", "rank": 2}):
        expansion = {"name": "bspline", "t": 4, "grid_range": RANGES}
        model = rk.RPN([3, 2], head={"expansion": expansion, "reconciliation": reconciliation})
        inside = (torch.rand(400, 3) * torch.tensor([2.0, 2.5, 2.5]) + torch.tensor([-1.0, 0.0, -3.0])).float()
        finer = refine(model, 12, x=inside)
        assert finer.layers[0].heads[0].expansion.grid_range == model.layers[0].heads[0].expansion.grid_range
        with torch.no_grad():
            assert (finer(inside) - model(inside)).abs().max() <= 1e-5


def test_transfer_matrix_shapes_and_per_input_exactness():
    old = BSpline(3, grid_range=RANGES, grid_size=4)
    T = transfer_matrix(old, {"grid_range": [list(r) for r in RANGES], "t": 8, "d": 3})
    assert T.shape == (3, 11, 7)
    x = _x(200, 3) * 0.999
    x = (x + 1) / 2 * torch.tensor([r[1] - r[0] for r in RANGES], dtype=torch.float64) + torch.tensor(
        [r[0] for r in RANGES], dtype=torch.float64
    )
    B_old = old.double()(x).reshape(200, 3, 7)
    B_new = BSpline(3, grid_range=RANGES, grid_size=8).double()(x).reshape(200, 3, 11)
    torch.testing.assert_close(torch.einsum("njp,jpo->njo", B_new, T), B_old, atol=1e-9, rtol=0)
    shared = transfer_matrix(BSpline(3, grid_size=4), {"grid_range": [-1.0, 1.0], "t": 8, "d": 3})
    assert shared.shape == (11, 7)


def test_update_grid_moves_ranges_in_place_and_fit_follows_the_data(tmp_path):
    torch.manual_seed(0)
    f = lambda x: torch.exp(torch.sin(torch.pi * x[:, :1]) + x[:, 1:] ** 2)  # noqa: E731
    x = _x(400, 2).float()
    y = f(x)
    head = {"expansion": {"name": "bspline", "t": 5}, "remainder": "linear"}
    model = rk.RPN([2, 3, 1], head=head)
    fit(model, x, y, steps=5)
    before = copy.deepcopy(model)
    update_grid(model, x, margin=0.0)
    for k, ranges in enumerate(data_ranges(inputs, 0.0) for inputs in _layer_inputs(before, x)[:2]):
        assert model.layers[k].heads[0].expansion.grid_range == tuple(tuple(r) for r in ranges)
    with torch.no_grad():  # kept up to the fit of the old spline on the new (non-nested) knots
        assert (model(x) - before(x)).abs().max() < 0.02 * y.abs().max()
    plain, following = copy.deepcopy(before), copy.deepcopy(before)
    rmse_plain = fit(plain, x, y, steps=10)
    rmse_following = fit(following, x, y, steps=10, update_grid_every=2, update_grid_until=6, grid_margin=0.0)
    assert following.layers[1].heads[0].expansion.per_input
    assert rmse_following < 2 * rmse_plain
    again = rk.load(rk.save(following, tmp_path / "following"))
    assert torch.equal(again(x), following(x))
    with pytest.raises(ConfigError, match="update_grid_every"):
        fit(plain, x, y, steps=1, update_grid_every=-1)


def _layer_inputs(model, x):
    from rpnkit.explain.units import layer_inputs

    return layer_inputs(copy.deepcopy(model).double(), x)


def test_refine_and_update_grid_handle_the_kan_extended_expansion():
    torch.manual_seed(0)
    expansion = {
        "name": "extended",
        "functions": [{"name": "identity", "postprocess": "silu"}, {"name": "bspline", "t": 5}],
    }
    for reconciliation in ("identity", {"name": "lowrank", "rank": 2}):
        model = rk.RPN([3, 4, 2], head={"expansion": expansion, "reconciliation": reconciliation})
        x = (_x(300, 3) * 0.95).float()
        finer = refine(model, 10, x=x)
        assert finer.layers[0].heads[0].expansion.functions[1].t == 10
        with torch.no_grad():
            assert (finer(x) - model(x)).abs().max() <= 1e-5
        adaptive = refine(model, 10, x=x, grid_range="data")
        assert adaptive.layers[1].heads[0].expansion.functions[1].per_input
        update_grid(model, x)
        assert model.layers[0].heads[0].expansion.functions[1].per_input


def test_prune_keeps_the_ranges_of_the_kept_inputs():
    torch.manual_seed(0)
    head = {
        "expansion": {"name": "bspline", "t": 5},
        "reconciliation": {"name": "identity", "bias": True},
        "remainder": "linear",
    }
    x = _x(256, 4).float()
    y = torch.sin(torch.pi * x[:, :1]) + x[:, 1:2] ** 2
    model = rk.RPN([4, 3, 1], head=head)
    fit(model, x, y, steps=20, lamb=0.01)
    model = refine(model, 5, x=x, grid_range="data")
    fit(model, x, y, steps=10, lamb=0.01)
    result = prune(model, x, threshold=0.05)
    assert result.inputs == [0, 1]
    old = model.layers[0].heads[0].expansion.grid_range
    new = result.model.layers[0].heads[0].expansion.grid_range
    assert new == tuple(old[j] for j in result.inputs)
    kept = result.kept[1]
    assert result.model.layers[1].heads[0].expansion.grid_range == tuple(
        model.layers[1].heads[0].expansion.grid_range[j] for j in kept
    )
    with torch.no_grad():
        assert (result.model(x[:, result.inputs]) - model(x)).abs().max() <= result.max_change + 1e-6
