"""Value tests of the compression catalogue against numpy, scipy, scikit-learn, torch pooling and loops."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import rpnkit as rk
from rpnkit.compression import (
    CombinatorialCompression,
    CuboidCompression,
    CylinderCompression,
    FeatureClusteringCompression,
    IncrementalPCACompression,
    NaiveProbabilisticCompression,
    RandomProjectionCompression,
    SphereCompression,
    VarianceThresholdCompression,
)
from rpnkit.functional.compression_sampling import log_density, squash

DTYPE = torch.float64


def compression(spec, m):
    return rk.build("compression", spec, m=m).to(DTYPE)


def rand(*shape, seed=0, low=-1.0, high=1.0):
    gen = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(*shape, generator=gen, dtype=DTYPE)


# --- elementwise --------------------------------------------------------------------------------------


def test_reciprocal_clamps_keeping_the_sign_and_never_writes_into_its_input():
    x = torch.tensor([2.0, -4.0, 0.0, 1e-9, -1e-9, -0.0], dtype=DTYPE)
    before = x.clone()
    y = compression("reciprocal", 6)(x)
    assert torch.equal(x, before)
    assert torch.allclose(y, torch.tensor([0.5, -0.25, 1e6, 1e6, -1e6, -1e6], dtype=DTYPE))  # -0 keeps its sign


def test_linear_and_identity():
    x = rand(3, 4)
    assert torch.equal(compression("identity", 4)(x), x)
    assert torch.allclose(compression({"name": "linear", "c": -2.5}, 4)(x), -2.5 * x)


# --- metric reductions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [5, 6])
@pytest.mark.parametrize("metric", ["max", "min", "sum", "mean", "prod", "median"])
def test_metric_reductions_match_numpy(metric, m):
    x = rand(2, 7, m)
    reference = {
        "max": lambda a: a.max(-1),
        "min": lambda a: a.min(-1),
        "sum": lambda a: a.sum(-1),
        "mean": lambda a: a.mean(-1),
        "prod": lambda a: a.prod(-1),
        "median": lambda a: np.sort(a, axis=-1)[..., (a.shape[-1] - 1) // 2],  # the lower median
    }[metric](x.numpy())[..., None]
    for module in (compression(metric, m), compression({"name": "metric", "metric": metric}, m)):
        assert module.D == 1
        np.testing.assert_allclose(module(x).numpy(), reference, rtol=1e-12)


def test_median_is_the_lower_median_not_numpys_average():
    y = compression("median", 4)(torch.tensor([4.0, 1.0, 3.0, 2.0]))
    assert y.item() == 2.0 and np.median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_metric_whitelist_error():
    with pytest.raises(
        rk.ConfigError,
        match=r"metric must be one of \['max', 'min', 'sum', 'mean', 'prod', "
        r"'median'\], got 'std'",
    ):
        compression({"name": "metric", "metric": "std"}, 3)


# --- geometric pooling ------------------------------------------------------------------------------------


def loop_pool(x, grid, offsets, strides, metric):
    """Slow reference: explicit loops over channels and centres, padding cells skipped."""
    b, (C, h, w, d) = x.shape[0], grid
    cube = x.reshape(b, C, h, w, d)
    outputs = []
    for c in range(C):
        for i in range(0, h, strides[0]):
            for j in range(0, w, strides[1]):
                for k in range(0, d, strides[2]):
                    cells = [
                        cube[:, c, i + a, j + bb, k + cc]
                        for a, bb, cc in offsets
                        if 0 <= i + a < h and 0 <= j + bb < w and 0 <= k + cc < d
                    ]
                    stack = torch.stack(cells, dim=-1)
                    outputs.append({"max": stack.amax(-1), "min": stack.amin(-1), "mean": stack.mean(-1)}[metric])
    return torch.stack(outputs, dim=-1)


def cuboid_spec(metric, **kw):
    return {"name": "cuboid", "metric": metric, **kw}


def test_max_2x2_stride_2_equals_max_pool2d():
    C, h, w = 3, 6, 8
    x = rand(5, C * h * w)
    pool = compression(cuboid_spec("max", h=h, w=w, p_h=0, p_h_prime=1, p_w=0, p_w_prime=1, cd_h=2, cd_w=2), C * h * w)
    expected = F.max_pool2d(x.reshape(5, C, h, w), 2).reshape(5, -1)
    assert pool.D == C * (h // 2) * (w // 2)
    assert torch.equal(pool(x), expected)
    tiled = compression(cuboid_spec("max", h=h, w=w, p_h=0, p_h_prime=1, p_w=0, p_w_prime=1,
                                    packing="non_overlapping"), C * h * w)  # fmt: skip
    assert torch.equal(tiled(x), expected)
    avg = compression({"name": "cuboid_mean", "h": h, "w": w, "p_h": 0, "p_h_prime": 1, "p_w": 0, "p_w_prime": 1,
                       "cd_h": 2, "cd_w": 2}, C * h * w)  # fmt: skip
    assert torch.allclose(avg(x), F.avg_pool2d(x.reshape(5, C, h, w), 2).reshape(5, -1))


@pytest.mark.parametrize("stride", [1, 2])
def test_3x3_pooling_excludes_padding_at_the_borders(stride):
    C, h, w = 2, 7, 6
    x = rand(4, C * h * w, low=-2.0, high=-1.0)  # all negative: zero padding would win a max
    images = x.reshape(4, C, h, w)
    offsets = list(itertools.product([-1, 0, 1], [-1, 0, 1], [0]))
    for metric in ["max", "min", "mean"]:
        pool = compression(cuboid_spec(metric, h=h, w=w, p_h=1, cd_h=stride, cd_w=stride), C * h * w)
        y = pool(x)
        assert torch.allclose(y, loop_pool(x, (C, h, w, 1), offsets, (stride, stride, 1), metric))
        grid = y.reshape(4, C, *pool.centres[:2])
        if metric == "max":
            assert torch.equal(grid, F.max_pool2d(images, 3, stride, padding=1))
            assert (y < 0).all()
        if metric == "mean":
            assert torch.allclose(grid, F.avg_pool2d(images, 3, stride, padding=1, count_include_pad=False))
        if stride == 1 and metric != "min":  # interior = unpadded torch pooling
            torch_pool = F.max_pool2d if metric == "max" else F.avg_pool2d
            assert torch.allclose(grid[..., 1:-1, 1:-1], torch_pool(images, 3, 1))


def test_3d_cuboid_matches_max_pool3d_and_asymmetric_patches_match_loops():
    C, h, w, d = 2, 4, 5, 3
    x = rand(3, C * h * w * d)
    pool = compression(cuboid_spec("max", h=h, w=w, d=d, p_h=1, p_d=1), C * h * w * d)
    expected = F.max_pool3d(x.reshape(3, C, h, w, d), 3, 1, padding=1).reshape(3, -1)
    assert torch.equal(pool(x), expected)
    asym = compression(cuboid_spec("mean", h=h, w=w, d=d, p_h=0, p_h_prime=2, p_w=1, p_w_prime=0, p_d=0,
                                   cd_h=2, cd_w=3), C * h * w * d)  # fmt: skip
    offsets = list(itertools.product(range(0, 3), range(-1, 1), [0]))
    assert torch.allclose(asym(x), loop_pool(x, (C, h, w, d), offsets, (2, 3, 1), "mean"))


def test_cylinder_and_sphere_match_loops():
    C, h, w, d = 2, 5, 4, 3
    x = rand(3, C * h * w * d)
    disk = [(i, j) for i in range(-2, 3) for j in range(-2, 3) if i * i + j * j <= 4]
    cyl_offsets = [(i, j, k) for i, j in disk for k in range(-1, 1)]  # p_d = 1, p_d' = 0
    ball = [o for o in itertools.product(range(-1, 2), repeat=3) if sum(v * v for v in o) <= 1]
    cylinder = compression({"name": "cylinder", "metric": "min", "h": h, "w": w, "d": d, "p_r": 2, "p_d": 1,
                            "p_d_prime": 0, "cd_h": 2}, C * h * w * d)  # fmt: skip
    sphere = compression({"name": "sphere_mean", "h": h, "w": w, "d": d, "p_r": 1}, C * h * w * d)
    assert cylinder.patch_size == 13 * 2 and sphere.patch_size == 7
    assert torch.allclose(cylinder(x), loop_pool(x, (C, h, w, d), cyl_offsets, (2, 1, 1), "min"))
    assert torch.allclose(sphere(x), loop_pool(x, (C, h, w, d), ball, (1, 1, 1), "mean"))


def test_geometric_dimensions_strides_and_layout():
    pool = CuboidCompression(2 * 5 * 7, h=5, w=7, p_h=1, packing="complete_square", cd_w=3)
    assert pool.strides == (2, 3, 1) and pool.centres == (3, 3, 1)
    assert pool.D == 2 * math.ceil(5 / 2) * math.ceil(7 / 3)
    # channel-major output: channel 1 of the input only moves outputs c*P + p with c = 1
    x = torch.zeros(1, 70, dtype=DTYPE)
    x[0, 35 + 0] = 5.0  # channel 1, cell (0, 0)
    y = pool(x)
    assert y[0, pool.num_patches] == 5.0 and y[0, : pool.num_patches].abs().sum() == 0
    assert CylinderCompression(16, h=4, w=4, p_r=2, packing="sparse_square").strides == (4, 4, 1)
    assert SphereCompression(27, h=3, w=3, d=3, p_r=1).D == 27
    assert CuboidCompression(784).h == 28  # one square grid inferred from m


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"h": 5, "w": 5}, r"m=12 must be channels\*h\*w\*d, but h\*w\*d = 5\*5\*1 = 25 does not divide it"),
        ({}, r"cannot infer a square grid: m=12"),
        ({"h": 3, "w": 4, "packing": "hex"}, r"packing must be one of \[.*'densest_packing'.*\], got 'hex'"),
        ({"h": 3, "w": 4, "metric": "sum"}, r"metric must be one of \['max', 'min', 'mean'\], got 'sum'"),
        ({"h": 3, "w": 4, "p_h": -1}, r"p_h must be an int >= 0, got -1"),
        ({"h": 3, "w": 4, "cd_h": 0}, r"cd_h must be an int >= 1, got 0"),
    ],
)
def test_geometric_config_errors(spec, message):
    with pytest.raises(rk.ConfigError, match=message):
        compression({"name": "cuboid", **spec}, 12)


# --- probabilistic sampling -------------------------------------------------------------------------------


@pytest.mark.parametrize("dist", ["uniform", "normal", "cauchy", "chi2", "exponential", "gamma", "laplace"])
def test_log_densities_match_scipy(dist):
    stats = pytest.importorskip("scipy.stats")
    params = {"uniform": {"low": 0.1, "high": 0.9}, "normal": {"mean": 0.3, "std": 2.0},
              "cauchy": {"loc": -0.2, "scale": 0.5}, "chi2": {"df": 3.0}, "exponential": {"rate": 1.5},
              "gamma": {"concentration": 2.5, "rate": 3.0}, "laplace": {"loc": 0.1, "scale": 0.7}}[dist]  # fmt: skip
    frozen = {
        "uniform": lambda p: stats.uniform(p["low"], p["high"] - p["low"]),
        "normal": lambda p: stats.norm(p["mean"], p["std"]),
        "cauchy": lambda p: stats.cauchy(p["loc"], p["scale"]),
        "chi2": lambda p: stats.chi2(p["df"]),
        "exponential": lambda p: stats.expon(scale=1 / p["rate"]),
        "gamma": lambda p: stats.gamma(p["concentration"], scale=1 / p["rate"]),
        "laplace": lambda p: stats.laplace(p["loc"], p["scale"]),
    }[dist](params)
    s = torch.linspace(0.15, 0.85, 11, dtype=DTYPE)
    np.testing.assert_allclose(log_density(dist, s, params).numpy(), frozen.logpdf(s.numpy()), rtol=1e-10)


def test_naive_outputs_follow_the_reference_semantics():
    x = rand(9, 6)
    raw = NaiveProbabilisticCompression(6, k=3, dist="normal").eval()
    s_mode = NaiveProbabilisticCompression(6, k=3, dist="normal", simply_sampling=False).eval()
    logp = NaiveProbabilisticCompression(6, k=3, dist="normal", simply_sampling=False, log_prob=True).eval()
    s = squash(x)
    out = raw(x)
    # each row keeps 3 of its own values, in increasing column order, and the same columns in every mode
    idx = torch.stack([torch.tensor([list(row).index(v) for v in out_row]) for row, out_row in zip(x, out)])
    assert (idx.diff(dim=-1) > 0).all()
    assert torch.equal(s_mode(x), s.gather(-1, idx))
    assert torch.allclose(logp(x), log_density("normal", s.gather(-1, idx), {"mean": 0.0, "std": 1.0}))


def test_sampling_is_deterministic_at_eval_and_independent_of_the_batch():
    x = rand(16, 10)
    for name in ["naive_uniform_probabilistic", "naive_normal_probabilistic"]:
        module = compression({"name": name, "k": 4}, 10).eval()
        y = module(x)
        assert torch.equal(y, module(x))
        assert torch.equal(module(x.flip(0)), y.flip(0))  # a row's pick does not depend on its position
        assert torch.equal(compression({"name": name, "k": 4}, 10).eval()(x), y)  # same seed, same pick


def test_uniform_eval_is_one_fixed_subset_and_training_is_random():
    x = rand(50, 10)
    module = compression({"name": "naive_uniform_probabilistic", "k": 3, "seed": 5}, 10)
    y = module.eval()(x)
    first = y[0]
    cols = [list(x[0]).index(v) for v in first]
    assert torch.equal(y, x[:, cols])  # same columns for every row
    module.train()
    picks = {tuple(torch.isin(x[i], module(x)[i]).nonzero().flatten().tolist()) for i in range(50)}
    assert len(picks) > 10


def test_training_draws_are_reproducible_from_the_seed():
    x = rand(32, 8)
    a = NaiveProbabilisticCompression(8, k=3, dist="cauchy", seed=11).train()
    b = NaiveProbabilisticCompression(8, k=3, dist="cauchy", seed=11).train()
    c = NaiveProbabilisticCompression(8, k=3, dist="cauchy", seed=12).train()
    first, second = a(x), a(x)
    assert not torch.equal(first, second)  # stochastic in training
    assert torch.equal(b(x), first) and torch.equal(b(x), second)
    assert not torch.equal(c(x), first)
    a.reseed()
    assert torch.equal(a(x), first)


def test_training_frequencies_follow_the_weights():
    # k = 1: the draw is categorical with probabilities p(s_j) / sum p(s_l)
    x = torch.tensor([[-2.0, -0.5, 0.0, 1.0, 3.0]], dtype=DTYPE).expand(40000, 5)
    module = NaiveProbabilisticCompression(5, k=1, dist="exponential", dist_params={"rate": 4.0}, seed=1).train()
    picked = module(x)[:, 0]
    freq = torch.stack([(picked == v).double().mean() for v in x[0]])
    weights = torch.softmax(log_density("exponential", squash(x[0]), {"rate": 4.0}), dim=0)
    assert torch.allclose(freq, weights, atol=0.01)


def test_top_k_eval_keeps_the_highest_weights_and_replacement_only_in_training():
    x = torch.tensor([[0.3, -2.0, 1.5, -0.1, 4.0, -3.0]], dtype=DTYPE)
    # normal(0, 1) at s = squash(x) in (0, 1) is largest for the smallest s, i.e. the smallest x
    module = NaiveProbabilisticCompression(6, k=2, dist="normal", eval_selection="top_k").eval()
    assert module(x).tolist() == [[-2.0, -3.0]]
    repl = NaiveProbabilisticCompression(3, k=3, dist="normal", with_replacement=True, seed=0)
    rows = repl.train()(rand(200, 3))
    assert any(len(set(r.tolist())) < 3 for r in rows)
    assert all(len(set(r.tolist())) == 3 for r in repl.eval()(rand(50, 3)))


def test_gradients_reach_only_the_gathered_values():
    x = rand(4, 7).requires_grad_()
    module = NaiveProbabilisticCompression(7, k=3, dist="laplace").eval()
    module(x).sum().backward()
    assert torch.equal(x.grad.sum(-1), torch.full((4,), 3.0, dtype=DTYPE))
    assert set(x.grad.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"k": 7}, r"k must be an int in \[1, m=6\], got 7"),
        ({"log_prob": True}, r"log_prob=True needs simply_sampling=False"),
        ({"dist": "gamma", "require_normalization": False}, r"dist='gamma' has support .* must be True, got False"),
        ({"dist": "normal", "dist_params": {"sigma": 2.0}}, r"unknown parameter 'sigma' for the normal distribution"),
        ({"dist": "normal", "dist_params": {"std": -1.0}}, r"normal parameter std must be > 0, got -1.0"),
        ({"dist": "beta"}, r"dist must be one of \['uniform', .*\], got 'beta'"),
        ({"eval_selection": "random"}, r"eval_selection must be one of \['fixed_draw', 'top_k'\], got 'random'"),
        ({"metric": "log"}, r"metric must be one of \['abs', 'square', 'tanh'\], got 'log'"),
    ],
)
def test_naive_probabilistic_config_errors(spec, message):
    with pytest.raises(rk.ConfigError, match=message):
        compression({"name": "naive_probabilistic", **spec}, 6)


# --- combinatorial ---------------------------------------------------------------------------------------


def reference_combinatorial(module, x):
    """Slow reference: explicit loops over rows, orders and itertools combinations."""
    s = squash(x)
    rows = []
    for b in range(x.shape[0]):
        row = []
        for r in range(1, module.d + 1):
            combos = list(itertools.combinations(range(module.m), r))
            noise = getattr(module, f"eval_noise_{r}")
            scores = [-0.5 * r * math.log(2 * math.pi) - 0.5 * sum(s[b, j] ** 2 for j in c) + noise[i]
                      for i, c in enumerate(combos)]  # fmt: skip
            best = sorted(sorted(range(len(combos)), key=lambda i: -scores[i])[: module.k])
            for i in best:
                if module.log_prob:
                    row.append(-0.5 * r * math.log(2 * math.pi) - 0.5 * sum(s[b, j] ** 2 for j in combos[i]))
                else:
                    row.extend((x if module.simply_sampling else s)[b, j] for j in combos[i])
        rows.append(torch.stack([torch.as_tensor(v, dtype=DTYPE) for v in row]))
    return torch.stack(rows)


@pytest.mark.parametrize(
    "spec",
    [
        {"d": 2, "k": 3},
        {"d": 3, "k": 2, "simply_sampling": False},
        {"d": 2, "k": 4, "simply_sampling": False, "log_prob": True},
    ],
)
def test_combinatorial_matches_a_loop_reference(spec):
    module = CombinatorialCompression(5, **spec).eval()
    x = rand(6, 5)
    d, k = spec["d"], spec["k"]
    assert module.D == (d * k if spec.get("log_prob") else k * d * (d + 1) // 2)
    assert torch.allclose(module(x), reference_combinatorial(module, x))


def test_combinatorial_probabilistic_is_log_normal_of_picked_tuples_and_seeded():
    stats = pytest.importorskip("scipy.stats")
    module = compression({"name": "combinatorial_probabilistic", "d": 2, "k": 3}, 5).eval()
    assert module.D == 6
    x = rand(4, 5)
    y = module(x)
    assert torch.allclose(y, reference_combinatorial(module, x))
    # every output is log N_2 of some pair of s values (r = 2 block)
    s = squash(x).numpy()
    pairs = {round(float(stats.multivariate_normal(np.zeros(2), np.eye(2)).logpdf(s[0, list(c)])), 10)
             for c in itertools.combinations(range(5), 2)}  # fmt: skip
    assert all(round(v, 10) in pairs for v in y[0, 3:].tolist())
    train = compression({"name": "combinatorial", "d": 2, "k": 2, "seed": 4}, 5).train()
    again = compression({"name": "combinatorial", "d": 2, "k": 2, "seed": 4}, 5).train()
    assert torch.equal(train(x), again(x))


def test_combinatorial_config_errors():
    with pytest.raises(rk.ConfigError, match=r"k must be an int in \[1, 4\] \(the fewest r-combinations\), got 5"):
        compression({"name": "combinatorial", "d": 2, "k": 5}, 4)
    with pytest.raises(rk.ConfigError, match=r"degree must be an int in \[1, m=3\] \(without repetition\), got 4"):
        compression({"name": "combinatorial", "d": 4}, 3)
    with pytest.raises(rk.ConfigError, match=r"candidate combinations .* lower degree"):
        compression({"name": "combinatorial", "d": 4}, 200)


# --- fit-once ------------------------------------------------------------------------------------------------


def test_forward_before_fit_is_a_clear_error_and_state_restores_the_fit():
    pca = compression({"name": "incremental_pca", "k": 2}, 4)
    fresh = compression({"name": "incremental_pca", "k": 2}, 4)
    fresh.load_state_dict(pca.state_dict())  # loading an unfitted state works too
    with pytest.raises(
        rk.RPNError,
        match=r"compression incremental_pca is not fitted: call fit\(X\) with training "
        r"data of shape \(N, 4\) first",
    ):
        pca(rand(3, 4))
    pca.fit(rand(20, 4))
    fresh.load_state_dict(pca.state_dict())
    assert fresh.is_fitted and torch.equal(fresh(rand(3, 4, seed=1)), pca(rand(3, 4, seed=1)))


def test_fit_input_errors():
    pca = compression({"name": "incremental_pca", "k": 3}, 4)
    with pytest.raises(rk.RPNError, match=r"fit needs at least 3 rows, got 2"):
        pca.fit(rand(2, 4))
    with pytest.raises(rk.ShapeError, match=r"expected input of shape \(\.\.\., m=4\)"):
        pca.fit(rand(10, 5))
    with pytest.raises(rk.RPNError, match=r"fit expects a 2-D tensor"):
        pca.fit(rand(2, 5, 4))
    with pytest.raises(rk.RPNError, match=r"perplexity=30.0 must be below the number of rows 20"):
        compression("tsne", 4).fit(rand(20, 4))
    with pytest.raises(rk.ConfigError, match=r"k must be an int in \[1, m=4\], got 5"):
        compression({"name": "mds", "k": 5}, 4)


def test_pca_matches_sklearn():
    from sklearn.decomposition import PCA, IncrementalPCA

    X = rand(60, 8)
    Y = rand(10, 8, seed=1)
    for whiten in (False, True):
        module = IncrementalPCACompression(8, k=3, whiten=whiten, batch_size=20).to(DTYPE).fit(X)
        ref = IncrementalPCA(3, whiten=whiten, batch_size=20).fit(X.numpy())
        np.testing.assert_allclose(module(Y).numpy(), ref.transform(Y.numpy()), rtol=1e-9, atol=1e-12)
    exact = IncrementalPCACompression(8, k=3, batch_size=60).to(DTYPE).fit(X)  # one batch: exact PCA up to signs
    expected = PCA(3).fit(X.numpy()).transform(Y.numpy())
    got = exact(Y).numpy()
    np.testing.assert_allclose(np.abs(got), np.abs(expected), rtol=1e-8)
    assert exact(Y.float()).dtype == torch.float32


def test_random_projection_is_fixed_by_its_seed():
    a = RandomProjectionCompression(400, k=50, seed=3)
    b = RandomProjectionCompression(400, k=50, seed=3)
    c = RandomProjectionCompression(400, k=50, seed=4)
    assert torch.equal(a.matrix, b.matrix) and not torch.equal(a.matrix, c.matrix)
    x = rand(5, 400)
    assert torch.equal(a(x), a(x)) and torch.equal(a.fit(x)(x), b(x))
    assert abs(a.matrix.double().var().item() * 50 - 1) < 0.05
    sparse = RandomProjectionCompression(400, k=50, kind="sparse", seed=3)
    values = sparse.matrix.double().unique()
    scale = math.sqrt(1 / ((1 / 20) * 50))  # density 1/sqrt(400)
    assert torch.allclose(values, torch.tensor([-scale, 0.0, scale], dtype=DTYPE), rtol=1e-6)
    assert abs((sparse.matrix != 0).double().mean().item() - 0.05) < 0.01


def test_variance_threshold_matches_numpy():
    X = rand(40, 7) * torch.tensor([0.1, 3.0, 0.5, 2.0, 0.01, 1.0, 0.2], dtype=DTYPE)
    module = VarianceThresholdCompression(7, k=3).fit(X)
    keep = np.sort(np.argsort(-X.numpy().var(axis=0), kind="stable")[:3])
    assert module.index.tolist() == keep.tolist() == [1, 3, 5]
    Y = rand(4, 7, seed=2)
    assert torch.equal(module(Y), Y[:, keep])


def test_feature_clustering_averages_sklearn_groups():
    from sklearn.cluster import FeatureAgglomeration

    base = rand(30, 3)
    X = torch.cat([base[:, [0]], base[:, [1]], base[:, [0]] + 0.01, base[:, [2]], base[:, [1]] * 1.01], dim=1)
    module = FeatureClusteringCompression(5, k=3).fit(X)
    ref = FeatureAgglomeration(n_clusters=3).fit(X.numpy()).labels_
    labels = module.labels.tolist()
    assert labels == [0, 1, 0, 2, 1]  # groups numbered by their lowest feature
    assert len(set(zip(labels, ref.tolist()))) == 3  # same partition as sklearn
    Y = rand(4, 5, seed=3)
    expected = torch.stack([Y[:, [0, 2]].mean(-1), Y[:, [1, 4]].mean(-1), Y[:, 3]], dim=-1)
    assert torch.allclose(module(Y), expected)


def _sklearn_embedding(name, X, k, seed=0):
    from sklearn import manifold

    if name == "isomap":
        return manifold.Isomap(n_neighbors=5, n_components=k).fit_transform(X)
    if name == "lle":
        return manifold.LocallyLinearEmbedding(n_neighbors=5, n_components=k, random_state=seed).fit_transform(X)
    if name == "spectral_embedding":
        return manifold.SpectralEmbedding(n_components=k, random_state=seed).fit_transform(X)
    if name == "mds":
        return manifold.MDS(n_components=k, n_init=1, random_state=seed, init="classical_mds").fit_transform(X)
    tsne = manifold.TSNE(n_components=k, perplexity=10.0, init="pca", method="exact", random_state=seed)
    return tsne.fit_transform(X)


@pytest.mark.parametrize("name", ["isomap", "lle", "spectral_embedding", "mds", "tsne"])
def test_manifold_training_embedding_equals_sklearn_and_the_map_is_least_squares(name):
    from sklearn.datasets import load_iris

    X = torch.as_tensor(load_iris().data[::2], dtype=DTYPE)  # 75 rows, m = 4
    spec = {"name": name, "k": 2, **({"perplexity": 10.0} if name == "tsne" else {})}
    module = compression(spec, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn: the iris neighbour graph is not connected
        embedding = module.fit_transform(X)
        expected = _sklearn_embedding(name, X.numpy(), 2)
    np.testing.assert_allclose(embedding.numpy(), expected, rtol=1e-6, atol=1e-8)
    # forward is the least-squares affine map from X to that embedding
    design = np.hstack([X.numpy(), np.ones((75, 1))])
    coef = np.linalg.lstsq(design, embedding.numpy(), rcond=None)[0]
    np.testing.assert_allclose(module(X).numpy(), design @ coef, rtol=1e-6, atol=1e-8)
    assert 0.0 <= module.fit_r2.item() <= 1.0
    if name == "mds":  # MDS of Euclidean distances is nearly affine in x
        assert module.fit_r2.item() > 0.95


def test_manifold_map_reproduces_the_embedding_when_rows_do_not_exceed_m_plus_1():
    from sklearn.datasets import load_digits

    X = torch.as_tensor(load_digits().data[:40], dtype=DTYPE)  # N = 40 rows of rank 40 <= m + 1 = 65
    assert torch.linalg.matrix_rank(X - X.mean(0)) == 39
    module = compression({"name": "isomap", "k": 3}, 64)
    embedding = module.fit_transform(X)
    assert torch.allclose(module(X), embedding, atol=1e-6)
    assert module.fit_r2.item() == pytest.approx(1.0)
    assert module.n_neighbors == 5  # not the reference's degenerate 1


def test_fitted_model_survives_save_and_load(tmp_path):
    model = rk.RPN([6, 3], head={"expansion": {"name": "incremental_pca", "k": 3}})
    pca = next(module for module in model.modules() if isinstance(module, IncrementalPCACompression))
    pca.fit(rand(40, 6).float())
    x = rand(5, 6, seed=9).float()
    rk.save(model, tmp_path / "run")
    loaded = rk.load(tmp_path / "run")
    assert torch.equal(loaded(x), model(x))


# --- composite ------------------------------------------------------------------------------------------------


def test_nested_and_extended_values_dimensions_and_config():
    x = rand(3, 6)
    nested = compression({"name": "nested", "functions": [{"name": "linear", "c": 0.5}, "reciprocal", "max"]}, 6)
    assert nested.D == 1 and torch.allclose(nested(x), (1 / (0.5 * x)).amax(-1, keepdim=True))
    extended = compression({"name": "extended", "functions": ["min", {"name": "taylor", "degree": 2}]}, 6)
    assert extended.D == 1 + 6 + 36
    assert torch.allclose(extended(x)[:, :7], torch.cat([x.amin(-1, keepdim=True), x], dim=-1))
    config = extended.to_config()
    # "extended" is also an expansion's name, so the config uses the alias only the compression answers to
    assert config == {"name": "extended_compression", "functions": [{"name": "min"}, {"name": "taylor", "degree": 2}]}
    assert rk.build("compression", config, m=6).to_config() == config
    assert isinstance(extended.functions, torch.nn.ModuleList)


def test_nested_fits_its_fit_once_children_in_order():
    nested = compression({"name": "nested", "functions": [{"name": "linear", "c": 3.0},
                                                          {"name": "incremental_pca", "k": 2}]}, 5)  # fmt: skip
    X = rand(30, 5)
    nested.fit(X)
    reference = IncrementalPCACompression(5, k=2).to(DTYPE).fit(3.0 * X)
    assert torch.allclose(nested(X), reference(3.0 * X))


def test_composite_config_errors_name_the_child_path():
    with pytest.raises(rk.ConfigError, match=r"functions must be a non-empty list"):
        compression({"name": "nested", "functions": []}, 3)
    with pytest.raises(rk.ConfigError, match=r"functions\[1\].*unknown compression/expansion 'maxx'"):
        compression({"name": "extended", "functions": ["max", "maxx"]}, 3)


def test_head_configs_rebuild_compressions_whose_names_expansions_share():
    # a head looks its kappa up among expansions first: "nested", "linear", "combinatorial" are expansions too
    spec = {"name": "nested", "functions": ["linear", {"name": "combinatorial", "d": 2, "k": 2}]}
    model = rk.RPN([6, 2], head={"expansion": {**spec, "name": "nested_compression"}}).eval()
    config = model.to_config()
    rebuilt = rk.build_model(config).eval()
    rebuilt.load_state_dict(model.state_dict())
    kappa = rebuilt.layers[0].heads[0].expansion
    assert type(kappa).__name__ == "NestedCompression"
    assert [type(child).__name__ for child in kappa.functions] == ["LinearCompression", "CombinatorialCompression"]
    assert rebuilt.to_config() == config
    x = rand(3, 6).float()
    assert torch.equal(rebuilt(x), model(x))


def test_fit_without_scikit_learn_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were not installed
    monkeypatch.setitem(sys.modules, "sklearn.decomposition", None)
    with pytest.raises(rk.RPNError, match=r"fit uses scikit-learn, which is not installed"):
        compression({"name": "incremental_pca", "k": 2}, 4).fit(rand(10, 4))
