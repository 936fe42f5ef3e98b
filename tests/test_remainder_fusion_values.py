"""Values of the remainders and fusions against explicit formulas (numpy for the metrics), and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import rpnkit as rk
from rpnkit import registry
from rpnkit.fusion import MeanFusion, MetricFusion

TOL = {"rtol": 1e-12, "atol": 1e-12}


def x_of(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def remainder(spec, m, n):
    return rk.build("remainder", spec, m=m, n=n).double()


# --- remainders ---------------------------------------------------------------------------------------


def test_zero_one_and_constant_remainders():
    x = x_of(2, 5, 3)
    zero = remainder("zero", 3, 4)
    assert zero.is_zero and torch.equal(zero(x), torch.zeros(2, 5, 4, dtype=torch.float64))
    torch.testing.assert_close(remainder("one", 3, 4)(x), torch.ones(2, 5, 4, dtype=torch.float64), **TOL)
    torch.testing.assert_close(
        remainder({"name": "one", "activation": "tanh"}, 3, 4)(x),
        torch.full((2, 5, 4), np.tanh(1.0), dtype=torch.float64),
        **TOL,
    )
    torch.testing.assert_close(
        remainder({"name": "constant", "c": -0.25, "activation": "exp"}, 3, 2)(x),
        torch.full((2, 5, 2), np.exp(-0.25), dtype=torch.float64),
        **TOL,
    )
    assert registry.get_class("remainder", "one_remainder").__name__ == "OneRemainder"


def test_identity_remainder_and_its_width_error():
    x = x_of(4, 3)
    torch.testing.assert_close(remainder("identity", 3, 3)(x), x, **TOL)
    torch.testing.assert_close(remainder({"name": "identity", "activation": "silu"}, 3, 3)(x), F.silu(x), **TOL)
    with pytest.raises(rk.ConfigError, match=r"the identity remainder needs m == n, got m=3, n=2; use 'linear'"):
        rk.build("remainder", "identity", m=3, n=2)
    with pytest.raises(rk.ConfigError, match=r"remainder.*the identity remainder needs m == n, got m=4, n=3"):
        rk.RPN([4, 3], head={"remainder": "identity"})


def test_linear_and_nonlinear_remainders():
    x = x_of(5, 4)
    linear = remainder({"name": "linear", "bias": True}, 4, 3)
    with torch.no_grad():
        linear.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    torch.testing.assert_close(linear(x), x @ linear.W.T + linear.bias, **TOL)

    nonlinear = remainder("nonlinear", 4, 3)
    assert nonlinear.to_config() == {"name": "nonlinear", "bias": False, "activation": [{"name": "silu"}]}
    torch.testing.assert_close(nonlinear(x), F.silu(x @ nonlinear.W.T), **TOL)
    chained = remainder({"name": "nonlinear", "bias": True, "activation": ["tanh", "relu"]}, 4, 3)
    torch.testing.assert_close(chained(x), torch.relu(torch.tanh(x @ chained.W.T + chained.bias)), **TOL)
    with pytest.raises(rk.ConfigError, match=r"the nonlinear remainder needs an activation .*use 'linear' for none"):
        rk.build("remainder", {"name": "nonlinear", "activation": None}, m=4, n=3)


def test_skip_remainder_is_identity_or_a_learned_projection():
    x = x_of(5, 4)
    same = remainder("skip", 4, 4)
    assert list(same.parameters()) == []
    torch.testing.assert_close(same(x), x, **TOL)
    projected = remainder({"name": "skip", "activation": "tanh"}, 4, 6)
    assert projected.W.shape == (6, 4)
    torch.testing.assert_close(projected(x), torch.tanh(x @ projected.W.T), **TOL)
    model = rk.RPN([4, 6, 6], head={"remainder": "skip"})
    assert model.layers[0].heads[0].remainder.W is not None and model.layers[1].heads[0].remainder.W is None


def test_learned_remainders_are_variance_preserving_at_init():
    for spec in ["linear", "nonlinear", "skip"]:
        W = rk.build("remainder", spec, m=400, n=300).W
        assert W.pow(2).mean().item() == pytest.approx(1 / 400, rel=0.05)


# --- metric fusions -----------------------------------------------------------------------------------

NUMPY_METRICS = {
    "mean": lambda s: s.mean(0),
    "sum": lambda s: s.sum(0),
    "max": lambda s: s.max(0),
    "min": lambda s: s.min(0),
    "prod": lambda s: s.prod(0),
    "median": lambda s: np.median(s, axis=0),
    "l1_norm": lambda s: np.abs(s).sum(0),
    "l2_norm": lambda s: np.sqrt((s**2).sum(0)),
}


def inputs(k, width=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 3, width, dtype=torch.float64, generator=gen) for _ in range(k)]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("metric", sorted(NUMPY_METRICS))
def test_metric_fusions_match_numpy(metric, k):
    xs = inputs(k)
    expected = torch.from_numpy(NUMPY_METRICS[metric](np.stack([x.numpy() for x in xs])))
    named = rk.build("fusion", metric, dims=[5] * k)
    generic = rk.build("fusion", {"name": "metric", "metric": metric}, dims=[5] * k)
    torch.testing.assert_close(named(xs), expected, **TOL)
    torch.testing.assert_close(generic(xs), expected, **TOL)
    assert named.n == 5 and generic.n == 5


def test_even_median_is_the_mean_of_the_two_middle_values():
    xs = [
        torch.tensor([[1.0, 8.0]]),
        torch.tensor([[4.0, 2.0]]),
        torch.tensor([[3.0, 6.0]]),
        torch.tensor([[2.0, 4.0]]),
    ]
    torch.testing.assert_close(rk.build("fusion", "median", dims=[2] * 4)(xs), torch.tensor([[2.5, 5.0]]))


def test_metric_fusion_whitelist_and_aliases():
    with pytest.raises(
        rk.ConfigError, match=r"metric must be one of \['l1_norm', 'l2_norm', 'max', 'mean', 'median', "
    ):
        rk.build("fusion", {"name": "metric", "metric": "softmax"}, dims=[3, 3])
    with pytest.raises(
        rk.ConfigError, match=r"^fusion\.metric: metric must be one of .*got 'maxx'; did you mean 'max'"
    ):
        rk.build("fusion", {"name": "metric", "metric": "maxx"}, dims=[3, 3], path="fusion")
    assert registry.get_class("fusion", "metric_fusion") is MetricFusion
    for alias in ["mean", "average", "average_fusion", "mean_fusion"]:
        assert registry.get_class("fusion", alias) is MeanFusion
    for alias, name in [
        ("prod_fusion", "prod"),
        ("median_fusion", "median"),
        ("min_fusion", "min"),
        ("l1_norm_fusion", "l1_norm"),
        ("l2_norm_fusion", "l2_norm"),
        ("sum_fusion", "sum"),
        ("summation", "sum"),
        ("max_fusion", "max"),
    ]:
        assert registry.get_class("fusion", alias).registry_name == name
    with pytest.raises(rk.ConfigError, match=r"needs inputs of equal width, got dims=\[3, 4\]"):
        rk.build("fusion", "median", dims=[3, 4])


# --- weighted fusions ---------------------------------------------------------------------------------


def test_weighted_fusion_values_default_and_dtype():
    xs = inputs(3)
    fusion = rk.build("fusion", {"name": "weighted", "weights": [0.5, -2.0, 3]}, dims=[5, 5, 5])
    torch.testing.assert_close(fusion(xs), 0.5 * xs[0] - 2.0 * xs[1] + 3.0 * xs[2], **TOL)
    assert fusion.to_config() == {"name": "weighted", "weights": [0.5, -2.0, 3]}
    assert fusion.state_dict() == {}
    default = rk.build("fusion", "weighted_summation_fusion", dims=[5, 5, 5])
    torch.testing.assert_close(default(xs), xs[0] + xs[1] + xs[2], **TOL)
    assert fusion.float()([x.float() for x in xs]).dtype == torch.float32


@pytest.mark.parametrize(
    "weights,message",
    [
        ([1.0, 2.0], r"weights must be a list of 3 numbers \(one per input\), got 2: \[1.0, 2.0\]"),
        ([1.0, 2.0, 3.0, 4.0], r"weights must be a list of 3 numbers \(one per input\), got 4"),
        ([1.0, "a", 3.0], r"weights must be a list of 3 numbers"),
        ([1.0, float("nan"), 3.0], r"weights must be a list of 3 numbers"),
        ([1.0, True, 3.0], r"weights must be a list of 3 numbers"),
        (2.0, r"weights must be a list of 3 numbers \(one per input\), got 2.0"),
    ],
)
def test_weighted_fusion_length_and_type_errors(weights, message):
    with pytest.raises(rk.ConfigError, match=message):
        rk.build("fusion", {"name": "weighted", "weights": weights}, dims=[4, 4, 4])


def test_parameterized_weighted_fusion_starts_as_the_mean_and_learns_a_flat_vector():
    xs = inputs(3)
    fusion = rk.build("fusion", "parameterized_weighted_summation_fusion", dims=[5, 5, 5]).double()
    assert fusion.alpha.shape == (3,) and fusion.l == 3
    torch.testing.assert_close(fusion(xs), (xs[0] + xs[1] + xs[2]) / 3, rtol=1e-7, atol=1e-7)  # 1/3 in float32
    with torch.no_grad():
        fusion.alpha.copy_(torch.tensor([1.0, -1.0, 0.5]))
    torch.testing.assert_close(fusion(xs), xs[0] - xs[1] + 0.5 * xs[2], **TOL)
    fusion(xs).sum().backward()
    assert fusion.alpha.grad.shape == (3,)
    torch.testing.assert_close(fusion.alpha.grad, torch.stack([x.sum() for x in xs]), **TOL)


@pytest.mark.parametrize(
    "fusion",
    [
        "parameterized_weighted",
        {"name": "weighted", "weights": [1.0, 0.0, -1.0]},
        "median",
        "prod",
        "l2_norm",
        "lowrank_parameterized_concatenation",
    ],
)
def test_fusions_work_as_channel_fusion_in_a_head(fusion):
    head = rk.Head(4, 6, channels=3, fusion=fusion)
    y = head(torch.randn(5, 4))
    assert y.shape == (5, 6) and torch.isfinite(y).all()
    outputs = head.channel_outputs(torch.randn(5, 4))
    assert len(outputs) == 3
