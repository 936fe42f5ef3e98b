"""rpnkit.explain: exact readout, units, plots, pruning, refined grids, symbolic units; data.from_function."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rpnkit as rk
from rpnkit.data import Formula, from_function
from rpnkit.errors import ConfigError
from rpnkit.explain import (
    fit,
    fit_unit,
    model_units,
    plot_units,
    prune,
    readout,
    refine,
    symbolic_formula,
    unit_penalty,
    unit_scales,
)


@pytest.fixture(autouse=True)
def _one_thread():
    # the tests train tiny models: one thread avoids oversubscribing shared cores
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _x(n: int, m: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, m, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1


# ------------------------------------------------------------------------------------------- readout

READOUT_MODELS = [
    ([3, 2], {"expansion": {"name": "taylor", "degree": 3}}, 1),
    (
        [3, 4, 2],
        {
            "expansion": {"name": "taylor", "degree": 2},
            "reconciliation": {"name": "lowrank", "rank": 2},
            "remainder": "linear",
        },
        2,
    ),
    (
        [2, 3, 3, 1],
        {
            "expansion": {"name": "taylor", "degree": 2},
            "reconciliation": {"name": "identity", "bias": True},
            "remainder": "skip",
            "channels": 2,
            "fusion": "sum",
        },
        1,
    ),
    (
        [3, 3, 1],
        [
            {"expansion": {"name": "taylor", "degree": 2}, "remainder": "identity"},
            {
                "expansion": "identity",
                "reconciliation": {"name": "dual_lphm", "rank": 1},
                "remainder": {"name": "constant", "c": 0.5},
            },
        ],
        2,
    ),
    ([2, 2, 1], {"expansion": {"name": "chebyshev", "degree": 3}, "remainder": "linear"}, 1),
]


@pytest.mark.parametrize("dims, head, width", READOUT_MODELS)
def test_readout_equals_model_in_float64(dims, head, width):
    model = rk.RPN(dims, head=head, width=width).double()
    poly = readout(model)
    x = _x(200, dims[0], 1) * 1.5
    with torch.no_grad():
        want = model(x)
    got = poly(x)
    assert got.shape == want.shape
    assert (got - want).abs().max() <= 1e-10 * max(1.0, float(want.abs().max()))


def test_readout_sympy_expression_and_latex():
    sympy = pytest.importorskip("sympy")
    model = rk.RPN([2, 3, 1], head={"expansion": {"name": "taylor", "degree": 2}, "remainder": "linear"}).double()
    poly = readout(model, variables=["u", "v"])
    (expr,) = poly.expressions()
    assert {s.name for s in expr.free_symbols} == {"u", "v"}
    assert sympy.Poly(expr, *poly.symbols()).total_degree() == 4
    f = sympy.lambdify(poly.symbols(), expr, "numpy")
    x = _x(100, 2, 2)
    with torch.no_grad():
        want = model(x)[:, 0].numpy()
    assert np.abs(f(x[:, 0].numpy(), x[:, 1].numpy()) - want).max() <= 1e-10
    assert "u" in poly.latex()[0] and "^{" in poly.latex()[0]


@pytest.mark.parametrize(
    "head, culprit",
    [
        ({"expansion": "bspline"}, r"layers\[0\]\.heads\[0\]\.expansion: expansion 'bspline' is not a polynomial"),
        (
            {"expansion": "taylor", "remainder": "nonlinear"},
            r"heads\[0\]\.remainder: remainder 'nonlinear' is not affine",
        ),
        ({"expansion": "taylor", "output_processing": "relu"}, r"heads\[0\]\.output_processing"),
        ({"expansion": "taylor", "channels": 2, "fusion": "max"}, r"heads\[0\]\.fusion: fusion 'max' is not affine"),
    ],
)
def test_readout_refuses_what_is_not_polynomial(head, culprit):
    with pytest.raises(ConfigError, match=culprit):
        readout(rk.RPN([2, 2], head=head))


# ------------------------------------------------------------------------------------------- units and plots

PER_INPUT = [
    {"expansion": {"name": "bspline", "t": 4}, "remainder": "linear"},
    {"expansion": {"name": "chebyshev", "degree": 3}, "reconciliation": "lowrank"},
    {"expansion": "gaussian_rbf", "channels": 2},
    {"expansion": {"name": "fourier", "N": 2}},
    {"expansion": {"name": "ricker_wavelet", "s": 2, "t": 2}},
    {"expansion": {"name": "taylor", "degree": 1}, "remainder": "skip"},
]


@pytest.mark.parametrize("head", PER_INPUT)
def test_units_sum_to_the_layer_output(head):
    model = rk.RPN([3, 4, 2], head=head, width=2, fusion="sum").double()
    x = _x(64, 3)
    units = model_units(model, x)
    h = x
    for u in units:
        with torch.no_grad():
            out = model.layers[u.index](h)
        assert torch.allclose(u.evaluate(h).sum(-1) + u.form.b, out, atol=1e-10)
        assert u.importance.shape == (u.n, u.m) and (u.importance >= 0).all()
        h = out


def test_units_refuse_mixing_expansions():
    with pytest.raises(ConfigError, match=r"expansion 'taylor' mixes inputs"):
        model_units(rk.RPN([3, 2], head={"expansion": {"name": "taylor", "degree": 2}}), _x(8, 3))


@pytest.mark.parametrize(
    "head, files",
    [
        ({"expansion": {"name": "bspline", "t": 4}}, ["units_layer0.png", "units_layer1.png"]),
        ({"expansion": "chebyshev"}, ["units_layer0.png", "units_layer1.png"]),
        ({"expansion": "gaussian_rbf"}, ["units_layer0.png", "units_layer1.png"]),
        ({"expansion": "haar_wavelet"}, ["units_layer0.png", "units_layer1.png"]),
        ({"expansion": {"name": "taylor", "degree": 2}}, ["coefficients_layer0.png", "coefficients_layer1.png"]),
    ],
)
def test_plot_units_renders_every_layer(tmp_path, head, files):
    pytest.importorskip("matplotlib")
    model = rk.RPN([2, 3, 1], head=head)
    written = plot_units(model, _x(50, 2).float(), tmp_path, variables=["a", "b"])
    assert [p.name for p in written] == files
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 1000


# ------------------------------------------------------------------------------------------- pruning


def _train(model, x, y, steps, penalty=0.0, lr=0.02):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        if penalty:
            loss = loss + penalty * unit_penalty(model, x)
        loss.backward()
        opt.step()
    return model


def _lbfgs(model, x, y, steps=100):
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    return model


def _rmse(model, x, y):
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean().sqrt())


def test_prune_drops_the_dead_inputs_and_keeps_the_function(tmp_path):
    torch.manual_seed(0)
    data = from_function(
        lambda x: torch.exp(torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2), [(-1, 1)] * 4, train=256, test=256, seed=1
    )
    head = {"expansion": {"name": "bspline", "t": 5, "grid_range": [-2, 2]}, "remainder": "linear"}
    model = _train(rk.RPN([4, 5, 1], head=head), data.x_train, data.y_train, 400, penalty=1e-2)
    before = _rmse(model, data.x_test, data.y_test)
    result = prune(model, data.x_train, threshold=0.05)
    assert result.inputs == [0, 1]
    assert result.dims_after[0] == 2 and result.dims_after[-1] == 1
    after = _rmse(result.model, data.x_test[:, result.inputs], data.y_test)
    assert after <= 1.5 * before + 1e-3, (before, after)
    assert type(result.model) is type(model)
    config = result.model.to_config()
    assert config["head"] == model.to_config()["head"] and config["dims"] == result.dims_after
    again = rk.load(rk.save(result.model, tmp_path / "pruned"))
    x = data.x_test[:5, result.inputs]
    assert torch.equal(again(x), result.model(x))


def test_prune_is_exact_for_zero_units_and_folds_their_constant():
    torch.manual_seed(0)
    head = {
        "expansion": {"name": "bspline", "t": 4},
        "reconciliation": {"name": "identity", "bias": True},
        "remainder": {"name": "linear", "bias": True},
    }
    model = rk.RPN([3, 4, 2], head=head).double()
    K = 4 + 3
    with torch.no_grad():
        # input 1 only adds a constant (B-splines sum to one on the grid), hidden unit 2 feeds nothing
        model.layers[0].heads[0].reconciliations[0].W[:, K : 2 * K] = 0.7
        model.layers[0].heads[0].remainder.W[:, 1] = 0.0
        model.layers[1].heads[0].reconciliations[0].W[:, 2 * K : 3 * K] = 0.0
        model.layers[1].heads[0].remainder.W[:, 2] = 0.0
    x = _x(100, 3, 5) * 0.9
    result = prune(model, x)
    assert result.inputs == [0, 2] and result.kept[1] == [0, 1, 3]
    assert result.dims_after == [2, 3, 2]
    assert result.max_change < 1e-12 and result.unfolded == 0.0


def test_prune_refuses_unsupported_reconciliations():
    model = rk.RPN([3, 2], head={"expansion": "bspline", "reconciliation": "dual_lphm"})
    with pytest.raises(ConfigError, match=r"layers\[0\]\.heads\[0\]\.reconciliation: pruning supports"):
        prune(model, _x(10, 3).float())


def test_unit_penalty_pykan_terms():
    torch.manual_seed(0)
    head = {"expansion": {"name": "bspline", "t": 4}, "remainder": "linear"}
    model = rk.RPN([3, 4, 1], head=head).double()
    x = _x(64, 3)
    scales = unit_scales(model, x, relative=True)
    assert [tuple(s.shape) for s in scales] == [(4, 3), (1, 4)]
    # relative scales: std of the unit (spline + remainder share) over std of its input + 0.1
    units = model_units(model, x)
    want = units[0].importance / (x.std(0) + 0.1)
    assert torch.allclose(scales[0], want * (64 / 63) ** 0.5, rtol=1e-9)
    l1 = unit_penalty(model, x, l1=1.0, entropy=0.0, relative=True)
    both = unit_penalty(model, x, l1=1.0, entropy=2.0)
    assert torch.isclose(l1, sum(s.sum() for s in scales)) and both > l1
    both.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    # one unit per node has zero entropy: the entropy term is smallest for a sparse layer
    sparse = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    dense = torch.tensor([[0.5, 0.5], [0.5, 0.5]])

    def entropy(s):
        p_row, p_col = s / (s.sum(1, keepdim=True) + 1), s / (s.sum(0, keepdim=True) + 1)
        return -(p_row * torch.log2(p_row + 1e-4)).sum(1).mean() - (p_col * torch.log2(p_col + 1e-4)).sum(0).mean()

    assert entropy(sparse) < entropy(dense)


def test_fit_is_pykans_lbfgs():
    torch.manual_seed(0)
    data = from_function(lambda x: torch.sin(3 * x[:, 0]) + x[:, 1], [(-1, 1)] * 2, train=200, test=200, seed=2)
    model = rk.RPN([2, 1], head={"expansion": {"name": "bspline", "t": 5}, "remainder": "linear"})
    rmse = fit(model, data.x_train, data.y_train, steps=3)
    assert rmse < 1e-2 and abs(rmse - _rmse(model, data.x_train, data.y_train)) < 1e-6
    with pytest.raises(ConfigError, match="lamb"):
        fit(model, data.x_train, data.y_train, lamb=-1.0)


def _exp_sin_square(train=1000, test=1000):
    f = lambda x: torch.exp(torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2)  # noqa: E731
    return from_function(f, [(-1, 1)] * 2, train=train, test=test, seed=0)


#: the [2, 5, 1] of the pykan tutorial as an RPN: B-splines on [-2, 2], linear remainder, biases
EXP_SIN_HEAD = {
    "expansion": {"name": "bspline", "t": 5, "grid_range": [-2, 2]},
    "reconciliation": {"name": "identity", "bias": True},
    "remainder": "linear",
}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 3])
def test_pykan_tutorial_workflow_prune_and_formula(seed):
    """exp(sin(pi x) + y^2): [2, 5, 1] -> sparse fit -> prune to [2, 1, 1] -> refit -> exp(sin + square)."""
    pytest.importorskip("sympy")
    data = _exp_sin_square()
    torch.manual_seed(seed)
    model = rk.RPN([2, 5, 1], head=EXP_SIN_HEAD)
    fit(model, data.x_train, data.y_train, steps=50, lamb=0.01)
    before = _rmse(model, data.x_test, data.y_test)
    result = prune(model, data.x_train, threshold=0.03)
    assert result.dims_after[0] == 2 and result.dims_after[1] <= 2, result.dims_after
    assert _rmse(result.model, data.x_test, data.y_test) <= 2 * before
    small = result.model
    fit(small, data.x_train, data.y_train, steps=50)
    assert _rmse(small, data.x_test, data.y_test) < before
    sym, fits = symbolic_formula(small, data.x_train, data.y_train, threshold=0.99)
    primitives = {f.primitive for layer in fits for row in layer for f in row if f.primitive != "0"}
    assert primitives == {"sin", "x^2", "exp"}, primitives
    with torch.no_grad():
        rmse = float(((sym(data.x_test) - data.y_test.double()) ** 2).mean().sqrt())
    assert rmse <= 1e-2, rmse
    (expr,) = sym.formula()
    text = str(expr).replace(" ", "")
    assert "exp(" in text and "sin(" in text and "x2**2" in text


def test_symbolic_model_of_a_model_with_biases_fine_tunes():
    # the biases of the layers are constants of the symbolic model, not a graph into the RPN
    pytest.importorskip("sympy")
    torch.manual_seed(0)
    data = from_function(lambda x: torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2, [(-1, 1)] * 2, train=300, test=300)
    head = {**EXP_SIN_HEAD, "expansion": {"name": "bspline", "t": 8}}
    model = rk.RPN([2, 1], head=head)
    fit(model, data.x_train, data.y_train, steps=5)
    sym, fits = symbolic_formula(model, data.x_train, data.y_train, threshold=0.99, fine_tune_steps=20)
    assert [f.primitive for f in fits[0][0]] == ["sin", "x^2"]
    sym.fine_tune(data.x_train, data.y_train, steps=5)  # a second fine-tuning works too
    (expr,) = sym.formula(digits=3)
    assert "x2**2" in str(expr).replace(" ", "") and "1.0*" not in str(expr)


# ------------------------------------------------------------------------------------------- refined grids


@pytest.mark.parametrize("reconciliation", ["identity", {"name": "lowrank", "rank": 2}])
@pytest.mark.parametrize("t", [10, 20])
def test_refine_keeps_the_function_on_the_grid(tmp_path, reconciliation, t):
    torch.manual_seed(0)
    heads = [
        {"expansion": {"name": "bspline", "t": 5}, "reconciliation": reconciliation, "remainder": "linear"},
        {"expansion": {"name": "bspline", "t": 5, "grid_range": [-6, 6]}, "reconciliation": reconciliation},
    ]
    model = rk.RPN([3, 4, 2], head=heads, width=2)
    x = _x(300, 3).float()
    finer = refine(model, t, x=x)
    assert [h.expansion.t for layer in finer.layers for h in layer.heads] == [t] * 4
    assert finer.layers[1].heads[0].expansion.grid_range == (-6.0, 6.0)
    with torch.no_grad():
        assert (finer(x) - model(x)).abs().max() <= 1e-5
    again = rk.load(rk.save(finer, tmp_path / "finer"))
    assert torch.equal(again(x), finer(x))


def test_refine_follows_the_data_and_warns_outside_the_grid():
    torch.manual_seed(0)
    model = rk.RPN([2, 3, 1], head={"expansion": {"name": "bspline", "t": 5}, "remainder": "linear"})
    x = _x(200, 2).float() * 3  # beyond the grid [-1, 1]
    with pytest.warns(UserWarning, match="beyond the grid range"):
        refine(model, 10, x=x)
    adaptive = refine(model, 10, x=x, grid_range="data")  # one range per input
    for j, (low, high) in enumerate(adaptive.layers[0].heads[0].expansion.grid_range):
        assert low < float(x[:, j].min()) and high > float(x[:, j].max())
    layer = refine(model, 10, x=x, grid_range="layer")  # one range per layer
    low, high = layer.layers[0].heads[0].expansion.grid_range
    assert low < float(x.min()) and high > float(x.max())
    with pytest.raises(ConfigError, match="grid_range"):
        refine(model, 10, grid_range="percentile")


def test_refined_model_trains_to_a_lower_error():
    torch.manual_seed(0)
    data = from_function(lambda x: torch.sin(4 * x[:, 0]) + x[:, 1] ** 2, [(-1, 1)] * 2, train=400, test=400)
    model = _lbfgs(rk.RPN([2, 1], head={"expansion": {"name": "bspline", "t": 3}}), data.x_train, data.y_train)
    coarse = _rmse(model, data.x_test, data.y_test)
    finer = refine(model, 12, x=data.x_train)
    assert abs(_rmse(finer, data.x_test, data.y_test) - coarse) < 1e-5
    fine = _lbfgs(finer, data.x_train, data.y_train)
    assert _rmse(fine, data.x_test, data.y_test) < coarse / 5


# ------------------------------------------------------------------------------------------- symbolic units


def test_fit_unit_recovers_a_primitive():
    x = torch.linspace(-1, 1, 101, dtype=torch.float64)
    fits = fit_unit(x, 0.5 * torch.sin(2.0 * x + 0.3) - 1.0)
    assert fits["sin"].r2 > 1 - 1e-6
    assert fits["x"].r2 < 0.999


def test_symbolic_formula_of_an_additive_model():
    pytest.importorskip("sympy")
    torch.manual_seed(0)
    data = from_function(lambda x: torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2, [(-1, 1)] * 2, train=300, test=300)
    model = _lbfgs(
        rk.RPN([2, 1], head={"expansion": {"name": "bspline", "t": 8}, "remainder": "linear"}),
        data.x_train,
        data.y_train,
    )
    sym, fits = symbolic_formula(model, data.x_train, data.y_train, threshold=0.99)
    assert [f.primitive for f in fits[0][0]] == ["sin", "x^2"]
    with torch.no_grad():
        rmse = float(((sym(data.x_test) - data.y_test.double()) ** 2).mean().sqrt())
    assert rmse < 1e-2
    (expr,) = sym.formula()
    assert "sin" in str(expr) and "x2**2" in str(expr).replace(" ", "")
    with pytest.raises(ConfigError, match="units fit no primitive"):
        symbolic_formula(model, data.x_train, threshold=1.0 + 1e-9)


# ------------------------------------------------------------------------------------------- datasets


def test_from_function_samples_ranges_and_names():
    data = from_function(lambda x: x[:, 0] * x[:, 1], [(0, 2), (-3, -1)], train=50, test=20, seed=3, variables="ab")
    assert data.x_train.shape == (50, 2) and data.x_test.shape == (20, 2) and data.y_train.shape == (50, 1)
    assert float(data.x_train[:, 0].min()) >= 0 and float(data.x_train[:, 1].max()) <= -1
    assert torch.allclose(data.y_train[:, 0], data.x_train[:, 0] * data.x_train[:, 1], atol=1e-5)
    assert data.feature_names == ["a", "b"]
    same = from_function(lambda x: x[:, 0] * x[:, 1], [(0, 2), (-3, -1)], train=50, test=20, seed=3)
    assert torch.equal(same.x_train, data.x_train)
    with pytest.raises(ConfigError, match="ranges"):
        from_function(lambda x: x[:, 0], [(1, 0)])


def test_special_functions_in_formulas_match_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.array([[0.3, 1.2], [2.5, 0.7], [7.0, 3.3]])
    f = Formula("j0(x) + 2*j1(y) - y0(x) + erf(y - 1) + gamma(x) + erfc(x/4)", ["x", "y"])
    a, b = x[:, 0], x[:, 1]
    want = (
        special.j0(a) + 2 * special.j1(b) - special.y0(a) + special.erf(b - 1) + special.gamma(a) + special.erfc(a / 4)
    )
    assert np.allclose(f(x), want, rtol=1e-10, atol=1e-12)
    assert np.isnan(Formula("gamma(x)", ["x"])(np.array([[-2.0]])))[0]
    # a variable may carry a special function's name (the Feynman tables' gamma and y1); a call is the function
    named = Formula("gamma * y1 + gamma(y1)", ["gamma", "y1"])(np.array([[2.0, 3.0]]))
    assert np.allclose(named, 2.0 * 3.0 + special.gamma(3.0))
    assert np.allclose(Formula("gamma(x)", ["x"])(np.array([[-1.5]])), special.gamma(-1.5))
