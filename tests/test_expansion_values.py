"""Values of the expansion catalogue against numpy/scipy references and explicit loops."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
import torch
from numpy.polynomial import chebyshev as npcheb
from numpy.polynomial import hermite_e as npherme
from numpy.polynomial import legendre as npleg
from scipy.interpolate import BSpline as ScipyBSpline

import rpnkit as rk
from rpnkit.functional import polynomial as F_poly
from rpnkit.functional import wavelet as W
from rpnkit.functional.spline import uniform_knots

from .cases.expansions import CASES as EXPANSION_CASES

F64 = torch.float64


def expand(spec, m: int, x, dtype=F64) -> np.ndarray:
    module = rk.build("expansion", spec, m=m).to(dtype)
    out = module(torch.as_tensor(x, dtype=dtype))
    assert out.shape[-1] == module.D
    return out.detach().numpy()


def grid(m: int, b: int = 5, low: float = -1.0, high: float = 1.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=(b, m))


def feature_major(columns: list[np.ndarray]) -> np.ndarray:
    """Stack per-order arrays (b, m) into the feature-major layout (b, m*K)."""
    return np.stack(columns, axis=-1).reshape(columns[0].shape[0], -1)


def block_major(blocks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(blocks, axis=-1)


def input_grad(spec, m: int, x, dtype=F64) -> torch.Tensor:
    module = rk.build("expansion", spec, m=m).to(dtype)
    xt = torch.as_tensor(x, dtype=dtype).clone().requires_grad_()
    module(xt).sum().backward()
    return xt.grad


# ---------------------------------------------------------------------------------------------
# D formulas
# ---------------------------------------------------------------------------------------------

D_CASES = [
    ("identity", 7, 7),
    ("reciprocal", 7, 7),
    ("linear", 7, 7),
    ({"name": "taylor", "degree": 3}, 5, 5 + 25 + 125),
    ("fourier", 7, 2 * 7 * 5),
    ({"name": "fourier", "N": 3}, 4, 24),
    ("trigonometric", 7, 21),
    ("hyperbolic", 7, 21),
    ("arc_trigonometric", 7, 21),
    ("arc_hyperbolic", 7, 21),
    ("gaussian_rbf", 7, 70),
    ({"name": "inverse_quadratic_rbf", "num_interval": 3}, 7, 21),
    ({"name": "bspline", "t": 4, "d": 2}, 3, 18),
    *[
        (name, 7, 14)
        for name in [
            "chebyshev",
            "jacobi",
            "legendre",
            "hermite",
            "laguerre",
            "gegenbauer",
            "bessel",
            "reverse_bessel",
            "fibonacci",
            "lucas",
        ]
    ],
    *[({"name": name, "degree": 5}, 3, 15) for name in ["jacobi", "legendre", "lucas"]],
    ("haar_wavelet", 7, 7),
    ({"name": "meyer_wavelet", "s": 2, "t": 3}, 4, 24),
    ({"name": "shannon_wavelet", "s": 2, "t": 3, "degree": 2}, 2, 12 + 144),
    ({"name": "dog_wavelet", "degree": 3}, 2, 2 + 4 + 8),
    *[
        (name, 7, 7)
        for name in ["naive_normal", "naive_cauchy", "naive_chi2", "naive_gamma", "naive_laplace", "naive_exponential"]
    ],
    *[(name, 7, 42) for name in ["normal", "cauchy", "gamma", "laplace", "exponential", "hybrid_probabilistic"]],
    ("chi2", 7, 14),
    ({"name": "combinatorial", "degree": 1}, 6, 6),
    ("combinatorial", 6, 6 + 2 * 15),
    ({"name": "combinatorial", "degree": 3}, 6, 6 + 2 * 15 + 3 * 20),
    ({"name": "combinatorial", "degree": 3, "with_replacement": True}, 6, 6 + 2 * 21 + 3 * 56),
    ({"name": "combinatorial", "degree": 4}, 3, 3 + 2 * 3 + 3 * 1 + 0),
    ("combinatorial_normal", 6, 6),
    ({"name": "combinatorial_normal", "degree": 3}, 6, 6 + 15 + 20),
    ({"name": "combinatorial_normal", "degree": 3, "with_replacement": True}, 6, 6 + 21 + 56),
    ("cuboid_patch", 784, 9 * 784),
    ({"name": "cuboid_patch", "cd_h": 2, "cd_w": 2}, 784, 9 * 14 * 14),
    ({"name": "cuboid_patch", "h": 5, "w": 7, "cd_h": 2, "cd_w": 3}, 35, 9 * 3 * 3),
    (
        {"name": "cuboid_patch", "h": 4, "w": 4, "d": 3, "channels": 2, "p_d": 1, "p_h_prime": 0},
        96,
        2 * (2 * 3 * 3) * 48,
    ),
    ({"name": "cylinder_patch", "p_r": 2}, 36, 13 * 36),
    ({"name": "cylinder_patch", "h": 3, "w": 3, "d": 4, "p_r": 1, "p_d": 2, "p_d_prime": 1}, 36, 5 * 4 * 36),
    ({"name": "sphere_patch", "h": 3, "w": 3, "d": 3, "p_r": 1}, 27, 7 * 27),
    ({"name": "sphere_patch", "h": 3, "w": 3, "d": 3, "p_r": 2, "cd_d": 2}, 27, 33 * 18),
    ({"name": "nested", "functions": ["chebyshev", {"name": "taylor", "degree": 2}]}, 3, 6 + 36),
    ({"name": "extended", "functions": ["chebyshev", {"name": "taylor", "degree": 2}, "normal"]}, 3, 6 + 12 + 18),
]


@pytest.mark.parametrize("spec,m,D", D_CASES, ids=lambda v: str(v) if not isinstance(v, dict) else v["name"])
def test_output_width_formula(spec, m, D):
    module = rk.build("expansion", spec, m=m)
    assert module.D == D
    assert module(torch.zeros(2, m)).shape == (2, D)


# ---------------------------------------------------------------------------------------------
# basic
# ---------------------------------------------------------------------------------------------


def test_taylor_reference_example():
    out = expand({"name": "taylor", "degree": 2}, 2, [[1.0, 2.0]])
    np.testing.assert_array_equal(out, [[1, 2, 1, 2, 2, 4]])


@pytest.mark.parametrize("degree", [2, 3, 4])
@pytest.mark.parametrize("lead", [(), (5,), (2, 3)])
def test_taylor_written_in_place_equals_the_differentiable_form(degree, lead):
    """Without autograd the orders are written into the output by out= products; with it, by cat."""
    x = torch.randn(*lead, 4, dtype=F64)
    with torch.no_grad():
        fast = F_poly.taylor(x, degree)
    slow = F_poly.taylor(x.clone().requires_grad_(), degree)
    assert slow.requires_grad and not fast.requires_grad
    assert torch.equal(fast, slow.detach())
    powers = [x]
    for _ in range(degree - 1):  # explicit outer products, most significant index first
        powers.append(torch.einsum("...i,...j->...ij", powers[-1], x).reshape(*lead, -1))
    assert torch.equal(fast, torch.cat(powers, -1))


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, F64])
def test_interleave_matches_stack_and_passes_gradients(k, dtype):
    terms = [torch.randn(2, 3, 5).to(dtype) for _ in range(k)]
    assert torch.equal(F_poly.interleave(terms), torch.stack(terms, -1))
    if dtype == F64:
        inputs = tuple(t.clone().requires_grad_() for t in terms)
        assert torch.autograd.gradcheck(lambda *ts: F_poly.interleave(list(ts)), inputs)


def test_reciprocal_values_and_clamp_without_touching_the_input():
    x = torch.tensor([[2.0, -4.0, 0.0, 5e-7, -5e-7, 1e-6, -1e-6, -2e-6]], dtype=F64)
    before = x.clone()
    out = rk.build("expansion", "reciprocal", m=8)(x)
    assert torch.equal(x, before)
    np.testing.assert_allclose(out.numpy(), [[0.5, -0.25, 1e6, 1e6, -1e6, 1e6, -1e6, -5e5]])
    out = rk.build("expansion", {"name": "reciprocal", "eps": 0.1}, m=3)(torch.tensor([0.05, -0.05, 0.2]))
    np.testing.assert_allclose(out.numpy(), [10.0, -10.0, 5.0])


def test_reciprocal_gradient_is_finite_at_zero():
    g = input_grad("reciprocal", 4, [[0.0, 1e-7, -1e-7, 2.0]])
    assert torch.isfinite(g).all()
    np.testing.assert_allclose(g.numpy(), [[0.0, 0.0, 0.0, -0.25]])


def test_linear_values():
    x = grid(3)
    C = [[1.0, 2.0, 0.0], [0.0, 1.0, 0.5], [0.1, 0.0, 1.0]]
    np.testing.assert_allclose(expand({"name": "linear", "c": 2.5}, 3, x), 2.5 * x)
    np.testing.assert_allclose(expand({"name": "linear", "c": -0.5, "post_C": C}, 3, x), -0.5 * x @ np.array(C))
    np.testing.assert_allclose(expand("linear", 3, x), x)


def test_linear_rejects_a_wrong_matrix():
    with pytest.raises(rk.ConfigError, match=r"post_C must be m x m = 3 x 3, got shape \(2, 3\)"):
        rk.build("expansion", {"name": "linear", "post_C": [[1, 2, 3], [4, 5, 6]]}, m=3)


# ---------------------------------------------------------------------------------------------
# polynomial families
# ---------------------------------------------------------------------------------------------


def test_fourier_block_major_values():
    x = grid(3, low=-4, high=4)
    P, N = 3.5, 4
    blocks = []
    for k in range(1, N + 1):
        blocks += [np.cos(2 * np.pi * k * x / P), np.sin(2 * np.pi * k * x / P)]
    np.testing.assert_allclose(expand({"name": "fourier", "P": P, "N": N}, 3, x), block_major(blocks), atol=1e-12)
    x = grid(2)
    blocks = [f(2 * np.pi * k * x / 10) for k in range(1, 6) for f in (np.cos, np.sin)]
    np.testing.assert_allclose(expand("fourier", 2, x), block_major(blocks), atol=1e-12)


@pytest.mark.parametrize("dtype", [F64, torch.float32])
def test_fourier_recurrence_is_as_accurate_as_direct_evaluation(dtype):
    """Harmonics follow by angle addition, re-anchored every 16: over 40 harmonics the error stays
    within 3x that of evaluating cos(2 pi k x / P) directly in the same dtype (whose argument
    rounding grows with k as well)."""
    x = torch.linspace(-6, 6, 101, dtype=F64).reshape(1, -1)
    P, N = 3.0, 40
    ref = block_major([f(2 * np.pi * k * x.numpy() / P) for k in range(1, N + 1) for f in (np.cos, np.sin)])
    xd = x.to(dtype)
    direct = block_major(
        [f(xd * (2 * math.pi / P) * k).double().numpy() for k in range(1, N + 1) for f in (torch.cos, torch.sin)]
    )
    bound = 3 * np.abs(direct - ref).max() + 1e-14
    module = rk.build("expansion", {"name": "fourier", "P": P, "N": N}, m=101).to(dtype)
    with torch.no_grad():
        fast = module(xd)  # written into the output in place
    slow = module(xd.clone().requires_grad_())  # autograd path
    assert np.abs(fast.double().numpy() - ref).max() <= bound
    assert np.abs(slow.detach().double().numpy() - ref).max() <= bound


def _vander(fn, x: np.ndarray, degree: int) -> np.ndarray:
    """Feature-major orders 1..degree from a numpy *vander function."""
    return fn(x, degree)[..., 1:].reshape(x.shape[0], -1)


@pytest.mark.parametrize("degree", [1, 2, 5])
def test_classical_families_match_numpy(degree):
    x = grid(3)
    np.testing.assert_allclose(
        expand({"name": "chebyshev", "degree": degree}, 3, x), _vander(npcheb.chebvander, x, degree), atol=1e-12
    )
    np.testing.assert_allclose(
        expand({"name": "legendre", "degree": degree}, 3, x), _vander(npleg.legvander, x, degree), atol=1e-12
    )
    xh = grid(3, low=-3, high=3)
    np.testing.assert_allclose(
        expand({"name": "hermite", "degree": degree}, 3, xh), _vander(npherme.hermevander, xh, degree), atol=1e-10
    )


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, -0.3), (-0.5, 2.0), (0.0, 0.0)])
def test_jacobi_matches_scipy(alpha, beta):
    x = grid(3)
    out = expand({"name": "jacobi", "degree": 5, "alpha": alpha, "beta": beta}, 3, x)
    ref = feature_major([sp.eval_jacobi(n, alpha, beta, x) for n in range(1, 6)])
    np.testing.assert_allclose(out, ref, atol=1e-12)


@pytest.mark.parametrize("alpha", [1.0, 0.0, 2.5, -0.5])
def test_laguerre_matches_scipy_with_the_correct_first_order(alpha):
    x = grid(3, low=0, high=5)
    out = expand({"name": "laguerre", "degree": 5, "alpha": alpha}, 3, x)
    ref = feature_major([sp.eval_genlaguerre(n, alpha, x) for n in range(1, 6)])
    np.testing.assert_allclose(out, ref, atol=1e-10)
    # L_1 = 1 + alpha - x (the reference's x + 1 + alpha is wrong)
    np.testing.assert_allclose(out[:, 0::5], 1 + alpha - x, atol=1e-14)
    if alpha == 0.0:
        from numpy.polynomial import laguerre as nplag

        np.testing.assert_allclose(out, _vander(nplag.lagvander, x, 5), atol=1e-10)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0, -0.25])
def test_gegenbauer_matches_scipy(alpha):
    x = grid(3)
    out = expand({"name": "gegenbauer", "degree": 5, "alpha": alpha}, 3, x)
    ref = feature_major([sp.eval_gegenbauer(n, alpha, x) for n in range(1, 6)])
    np.testing.assert_allclose(out, ref, atol=1e-12)


def _bessel_explicit(n: int, x: np.ndarray, reverse: bool) -> np.ndarray:
    total = np.zeros_like(x)
    for k in range(n + 1):
        c = math.factorial(n + k) / (math.factorial(n - k) * math.factorial(k) * 2**k)
        total = total + c * (x ** (n - k) if reverse else x**k)
    return total


def _fibonacci_explicit(n: int, x: np.ndarray) -> np.ndarray:
    return sum(math.comb(n - k - 1, k) * x ** (n - 2 * k - 1) for k in range((n - 1) // 2 + 1))


def _lucas_explicit(n: int, x: np.ndarray) -> np.ndarray:
    return sum(n / (n - k) * math.comb(n - k, k) * x ** (n - 2 * k) for k in range(n // 2 + 1))


def test_bessel_family_and_fibonacci_lucas_match_closed_forms():
    x = grid(3, low=-1.5, high=1.5)
    np.testing.assert_allclose(
        expand({"name": "bessel", "degree": 5}, 3, x),
        feature_major([_bessel_explicit(n, x, False) for n in range(1, 6)]),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        expand({"name": "reverse_bessel", "degree": 5}, 3, x),
        feature_major([_bessel_explicit(n, x, True) for n in range(1, 6)]),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        expand({"name": "fibonacci", "degree": 6}, 3, x),
        feature_major([_fibonacci_explicit(n, x) for n in range(1, 7)]),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        expand({"name": "lucas", "degree": 6}, 3, x),
        feature_major([_lucas_explicit(n, x) for n in range(1, 7)]),
        atol=1e-12,
    )


def test_polynomial_families_follow_float64_exactly():
    # a float32 downcast would show up at ~1e-8 relative error
    x = torch.tensor([[0.1234567890123, -0.987654321]], dtype=F64)
    out = rk.build("expansion", {"name": "legendre", "degree": 3}, m=2)(x)
    assert out.dtype == F64
    ref = _vander(npleg.legvander, x.numpy(), 3)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-15, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# trigonometric and hyperbolic
# ---------------------------------------------------------------------------------------------


def test_trigonometric_and_hyperbolic_values():
    x = grid(3, low=-1.5, high=1.5)
    np.testing.assert_allclose(expand("trigonometric", 3, x), block_major([np.sin(x), np.cos(x), np.tan(x)]))
    np.testing.assert_allclose(expand("hyperbolic", 3, x), block_major([np.sinh(x), np.cosh(x), np.tanh(x)]))
    x = grid(3, low=-6, high=6)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(
        expand("arc_trigonometric", 3, x), block_major([np.arcsin(0.99 * s), np.arccos(0.99 * s), np.arctan(s)])
    )
    np.testing.assert_allclose(
        expand("arc_hyperbolic", 3, x), block_major([np.arcsinh(s), np.arccosh(s + 1.01), np.arctanh(0.99 * s)])
    )


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_tan_is_clamped_near_its_poles(dtype):
    x = torch.tensor([math.pi / 2, -math.pi / 2, 3 * math.pi / 2, math.pi / 2 - 1e-3], dtype=dtype)
    module = rk.build("expansion", "trigonometric", m=4).to(dtype)
    xg = x.clone().requires_grad_()
    out = module(xg)
    tan = out[8:]
    assert torch.isfinite(out).all() and (tan.abs() <= 1e6).all()
    assert abs(tan[3].item() - math.tan(math.pi / 2 - 1e-3)) < 1e-2  # inside the bound: the plain tan
    out.sum().backward()
    assert torch.isfinite(xg.grad).all()
    bounded = rk.build("expansion", {"name": "trigonometric", "tan_bound": 10.0}, m=4).to(dtype)(x)
    np.testing.assert_allclose(bounded[8:].abs().numpy(), 10.0)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_hyperbolic_does_not_overflow(dtype):
    x = torch.tensor([1000.0, -1000.0, 15.0], dtype=dtype).requires_grad_()
    out = rk.build("expansion", "hyperbolic", m=3).to(dtype)(x)
    assert torch.isfinite(out).all()
    np.testing.assert_allclose(
        out.detach()[[0, 1, 3, 4]].double().numpy(),
        [math.sinh(20), -math.sinh(20), math.cosh(20), math.cosh(20)],
        rtol=1e-6,
    )
    np.testing.assert_allclose(out.detach()[[2, 5]].double().numpy(), [math.sinh(15), math.cosh(15)], rtol=1e-6)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_arc_functions_are_finite_with_finite_gradients_everywhere():
    x = torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=torch.float32)
    for name in ("arc_trigonometric", "arc_hyperbolic"):
        g = input_grad(name, 5, x, torch.float32)
        out = expand(name, 5, x, torch.float32)
        assert np.isfinite(out).all() and torch.isfinite(g).all()


# ---------------------------------------------------------------------------------------------
# rbf and spline
# ---------------------------------------------------------------------------------------------


def test_inverse_quadratic_rbf_values():
    x = grid(3)
    c = np.linspace(-2, 1, 5).astype(np.float32).astype(np.float64)
    out = expand({"name": "inverse_quadratic_rbf", "base_range": [-2, 1], "num_interval": 5, "epsilon": 1.5}, 3, x)
    ref = 1 / (1 + (1.5 * (x[..., None] - c)) ** 2)
    np.testing.assert_allclose(out, ref.reshape(5, -1), rtol=1e-6)


@pytest.mark.parametrize("t,d", [(5, 3), (4, 2), (3, 0), (6, 1)])
def test_bspline_matches_scipy_design_matrix(t, d):
    low, high = -1.0, 2.0
    x = grid(3, b=7, low=low, high=high - 1e-9)
    out = expand({"name": "bspline", "grid_range": [low, high], "t": t, "d": d}, 3, x)
    knots = uniform_knots(low, high, t, d).numpy().astype(np.float32).astype(np.float64)
    ref = ScipyBSpline.design_matrix(x.reshape(-1), knots, d).toarray()  # (b*m, t+d)
    np.testing.assert_allclose(out, ref.reshape(7, -1), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# wavelets
# ---------------------------------------------------------------------------------------------


def _np_haar(t):
    return np.where((t >= 0) & (t < 0.5), 1.0, np.where((t >= 0.5) & (t < 1), -1.0, 0.0))


def _np_shannon(t):
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.sin(2 * np.pi * t) - np.sin(np.pi * t)) / (np.pi * t)


def _np_meyer(t):
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.sin(2 * np.pi * t / 3) + 4 / 3 * t * np.cos(4 * np.pi * t / 3)) / (np.pi * t - 16 * np.pi / 9 * t**3)


def _np_ricker(t, sigma=1.0):
    return 2 * (1 - (t / sigma) ** 2) / (np.sqrt(3 * sigma) * np.pi**0.25) * np.exp(-(t**2) / (2 * sigma**2))


def _np_dog(t, s1=1.0, s2=2.0):
    return st.norm.pdf(t, scale=s1) - st.norm.pdf(t, scale=s2)


def _np_beta(t, alpha=2.0, beta=2.0):
    return st.beta.pdf(sp.expit(t), alpha, beta)


def _wavelet_loops(psi, x: np.ndarray, S: int, T: int, a: float, b: float) -> np.ndarray:
    """Explicit loops: column j*S*T + s*T + t = a^{-s/2} psi(x_j / a^s - t b)."""
    rows, m = x.shape
    out = np.zeros((rows, m * S * T))
    for j in range(m):
        for s in range(S):
            for t in range(T):
                out[:, j * S * T + s * T + t] = a ** (-s / 2) * psi(x[:, j] / a**s - t * b)
    return out


def _np_taylor(z: np.ndarray, degree: int) -> np.ndarray:
    blocks, power = [z], z
    for _ in range(degree - 1):
        power = np.einsum("bi,bj->bij", power, z).reshape(z.shape[0], -1)
        blocks.append(power)
    return np.concatenate(blocks, axis=-1)


WAVELETS = [
    ("haar_wavelet", {}, _np_haar),
    ("shannon_wavelet", {}, _np_shannon),
    ("meyer_wavelet", {}, _np_meyer),
    ("ricker_wavelet", {}, _np_ricker),
    ("ricker_wavelet", {"sigma": 0.6}, lambda t: _np_ricker(t, 0.6)),
    ("dog_wavelet", {}, _np_dog),
    ("dog_wavelet", {"sigma_1": 0.5, "sigma_2": 1.5}, lambda t: _np_dog(t, 0.5, 1.5)),
    ("beta_wavelet", {}, _np_beta),
    ("beta_wavelet", {"alpha": 3.0, "beta": 1.5}, lambda t: _np_beta(t, 3.0, 1.5)),
]


@pytest.mark.parametrize("name,params,psi", WAVELETS, ids=[f"{w[0]}{w[1] or ''}" for w in WAVELETS])
@pytest.mark.parametrize("S,T,a,b", [(1, 1, 1.0, 1.0), (3, 2, 2.0, 0.5), (2, 3, 1.5, 0.25)])
def test_wavelet_values_and_layout(name, params, psi, S, T, a, b):
    x = grid(3, b=6, low=-2.3, high=2.3, seed=S + T)
    out = expand({"name": name, "s": S, "t": T, "a": a, "b": b, **params}, 3, x)
    np.testing.assert_allclose(out, _wavelet_loops(psi, x, S, T, a, b), rtol=1e-9, atol=1e-12)


def test_wavelet_degree_gives_tensor_powers():
    x = grid(2, b=4)
    spec = {"name": "ricker_wavelet", "s": 2, "t": 2, "a": 2.0, "b": 0.5}
    z = _wavelet_loops(_np_ricker, x, 2, 2, 2.0, 0.5)
    np.testing.assert_allclose(expand({**spec, "degree": 3}, 2, x), _np_taylor(z, 3), rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_wavelets_are_finite_at_their_removable_singularities(dtype):
    points = [0.0, 0.75, -0.75, 1e-8, 0.75 + 1e-7, -0.75 - 1e-7]
    x = torch.tensor(points, dtype=dtype)
    shannon = expand("shannon_wavelet", 6, x, dtype)
    meyer = expand("meyer_wavelet", 6, x, dtype)
    assert np.isfinite(shannon).all() and np.isfinite(meyer).all()
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    assert abs(shannon[0] - 1.0) < tol
    np.testing.assert_allclose(meyer[[0, 3]], 2 / 3 + 4 / (3 * np.pi), atol=tol * 10)
    np.testing.assert_allclose(meyer[[1, 2]], 2 / (3 * np.pi), atol=tol * 10)
    np.testing.assert_allclose(meyer[[4, 5]], 2 / (3 * np.pi), atol=1e-6)  # |psi'(3/4)| ~ 1.5, 1e-7 away
    for name in ("shannon_wavelet", "meyer_wavelet"):
        assert torch.isfinite(input_grad(name, 6, x, dtype)).all()


def test_wavelet_gradients_at_singular_points_match_finite_differences():
    h = 1e-5
    for fn in (W.shannon, W.meyer):
        for p in (0.0, 0.75, -0.75):
            x = torch.tensor([p], dtype=F64, requires_grad=True)
            (g,) = torch.autograd.grad(fn(x).sum(), x)
            # the quotient form is fine a little away from the singular point
            fd = (_np_meyer if fn is W.meyer else _np_shannon)(np.array([p + h, p - h]))
            np.testing.assert_allclose(g.item(), (fd[0] - fd[1]) / (2 * h), atol=1e-5)
    assert torch.autograd.gradcheck(W.meyer, (torch.tensor([0.0, 0.75, -0.75], dtype=F64, requires_grad=True),))
    assert torch.autograd.gradcheck(W.shannon, (torch.tensor([0.0, 1e-9], dtype=F64, requires_grad=True),))


def test_meyer_agrees_with_the_quotient_form_away_from_singularities():
    t = torch.linspace(-6, 6, 2001, dtype=F64)
    keep = (t.abs() > 1e-3) & ((t.abs() - 0.75).abs() > 1e-3)
    np.testing.assert_allclose(W.meyer(t)[keep].numpy(), W.meyer_direct(t)[keep].numpy(), atol=1e-12)


def test_beta_wavelet_uses_a_fixed_rule_not_a_batch_switch():
    module = rk.build("expansion", "beta_wavelet", m=1).to(F64)
    inside = torch.tensor([[0.3]], dtype=F64)
    mixed = torch.tensor([[0.3], [5.0]], dtype=F64)
    assert torch.equal(module(inside)[0], module(mixed)[0])  # a row's features do not depend on the batch
    extreme = module(torch.tensor([[-1e4], [1e4]], dtype=torch.float32).double())
    assert torch.isfinite(extreme).all()


def test_haar_stays_in_the_graph_with_zero_gradient():
    g = input_grad("haar_wavelet", 4, [[-0.5, 0.25, 0.75, 1.5]])
    np.testing.assert_array_equal(g.numpy(), 0.0)


# ---------------------------------------------------------------------------------------------
# probabilistic
# ---------------------------------------------------------------------------------------------


def _sig(x):
    return sp.expit(x)


NAIVE = [
    ("naive_normal", lambda x: st.norm.logpdf(x)),
    ("naive_cauchy", lambda x: st.cauchy.logpdf(x)),
    ("naive_chi2", lambda x: st.chi2.logpdf(_sig(x) + 0.001, 1)),
    ("naive_gamma", lambda x: st.gamma.logpdf(0.99 * _sig(x) + 0.001, 0.5, scale=1.0)),
    ("naive_laplace", lambda x: st.laplace.logpdf(x)),
    ("naive_exponential", lambda x: st.expon.logpdf(0.99 * _sig(x) + 0.001, scale=1 / 0.5)),
]


@pytest.mark.parametrize("name,ref", NAIVE, ids=[n for n, _ in NAIVE])
def test_naive_probabilistic_matches_scipy(name, ref):
    x = grid(4, b=6, low=-4, high=4)
    np.testing.assert_allclose(expand(name, 4, x), ref(x), rtol=1e-12, atol=1e-12)


def _s99(x):
    return 0.99 * _sig(x) + 0.001


FAMILIES = [
    (
        "normal",
        [
            lambda x, mu=mu, s=s: st.norm.logpdf(x, mu, s)
            for mu, s in [(0, 1), (1, 1), (-1, 1), (0, 0.1), (1, 0.1), (-1, 0.1)]
        ],
    ),
    (
        "cauchy",
        [
            lambda x, l=l, s=s: st.cauchy.logpdf(x, l, s)
            for l, s in [(0, 1), (0, 0.5), (1, 1), (1, 0.5), (-1, 1), (-1, 0.5)]
        ],
    ),
    ("chi2", [lambda x, k=k: st.chi2.logpdf(_sig(x) + 0.001, k) for k in (1, 2)]),
    (
        "gamma",
        [
            lambda x, a=a, r=r: st.gamma.logpdf(_s99(x), a, scale=1 / r)
            for a, r in [(0.5, 1), (0.5, 2), (1, 1), (1, 2), (2, 1), (2, 2)]
        ],
    ),
    (
        "laplace",
        [lambda x, l=l, s=s: st.laplace.logpdf(x, l, s) for l, s in [(0, 1), (0, 2), (1, 1), (1, 2), (-1, 1), (-1, 2)]],
    ),
    ("exponential", [lambda x, r=r: st.expon.logpdf(_s99(x), scale=1 / r) for r in (0.5, 0.75, 1, 2, 3, 5)]),
    (
        "hybrid_probabilistic",
        [
            st.norm.logpdf,
            st.cauchy.logpdf,
            lambda x: st.chi2.logpdf(_s99(x), 1),
            lambda x: st.gamma.logpdf(_s99(x), 0.5),
            st.laplace.logpdf,
            lambda x: st.expon.logpdf(_s99(x)),
        ],
    ),
]


@pytest.mark.parametrize("name,refs", FAMILIES, ids=[n for n, _ in FAMILIES])
def test_probabilistic_families_match_scipy_block_major(name, refs):
    x = grid(3, b=5, low=-4, high=4)
    np.testing.assert_allclose(expand(name, 3, x), block_major([f(x) for f in refs]), rtol=1e-12, atol=1e-12)


def test_probabilistic_custom_parameters_and_errors():
    x = grid(2, low=-3, high=3)
    out = expand({"name": "gamma", "parameters": [[3.0, 0.5]]}, 2, x)
    np.testing.assert_allclose(out, st.gamma.logpdf(_s99(x), 3.0, scale=2.0), rtol=1e-12)
    with pytest.raises(rk.ConfigError, match=r"sigma must be > 0, got \[0.0, -1.0\]"):
        rk.build("expansion", {"name": "normal", "parameters": [[0.0, -1.0]]}, m=2)
    with pytest.raises(rk.ConfigError, match=r"non-empty list of \(loc, scale\) values"):
        rk.build("expansion", {"name": "laplace", "parameters": [[0.0, 1.0, 2.0]]}, m=2)


def test_probabilistic_gradients_are_finite_for_extreme_inputs():
    x = torch.tensor([-80.0, -5.0, 0.0, 5.0, 80.0])
    for name in [*(n for n, _ in NAIVE), *(n for n, _ in FAMILIES)]:
        out = expand(name, 5, x, torch.float32)
        assert np.isfinite(out).all(), name
        assert torch.isfinite(input_grad(name, 5, x, torch.float32)).all(), name


# ---------------------------------------------------------------------------------------------
# combinatorial
# ---------------------------------------------------------------------------------------------


def _subsets(m: int, r: int, replacement: bool):
    return (itertools.combinations_with_replacement if replacement else itertools.combinations)(range(m), r)


@pytest.mark.parametrize("degree,replacement", [(1, False), (2, False), (3, False), (2, True), (3, True)])
def test_combinatorial_matches_itertools(degree, replacement):
    m = 5
    x = grid(m, b=3)
    out = expand({"name": "combinatorial", "degree": degree, "with_replacement": replacement}, m, x)
    ref = np.array(
        [[row[i] for r in range(1, degree + 1) for S in _subsets(m, r, replacement) for i in S] for row in x]
    )
    np.testing.assert_array_equal(out, ref)
    count = sum(r * (math.comb(m + r - 1, r) if replacement else math.comb(m, r)) for r in range(1, degree + 1))
    assert out.shape == (3, count)


@pytest.mark.parametrize("degree,replacement", [(1, False), (2, False), (3, False), (2, True), (3, True)])
def test_combinatorial_normal_matches_scipy(degree, replacement):
    m = 4
    x = grid(m, b=3, low=-2, high=2)
    out = expand({"name": "combinatorial_normal", "degree": degree, "with_replacement": replacement}, m, x)
    ref = np.array(
        [
            [
                st.multivariate_normal.logpdf(row[list(S)], mean=np.zeros(r), cov=np.eye(r))
                for r in range(1, degree + 1)
                for S in _subsets(m, r, replacement)
            ]
            for row in x
        ]
    )
    np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_combinatorial_rejects_bad_flags():
    with pytest.raises(rk.ConfigError, match="with_replacement must be true or false, got 'yes'"):
        rk.build("expansion", {"name": "combinatorial", "with_replacement": "yes"}, m=3)


# ---------------------------------------------------------------------------------------------
# geometric patches
# ---------------------------------------------------------------------------------------------


def _patch_loops(x: np.ndarray, shape, channels: int, offsets, strides) -> np.ndarray:
    """Explicit loops over channels, offsets and patch centres; output column (c*ps + k)*P + p."""
    h, w, d = shape
    grid_x = x.reshape(x.shape[0], channels, h, w, d)
    centres = [
        (i, j, k) for i in range(0, h, strides[0]) for j in range(0, w, strides[1]) for k in range(0, d, strides[2])
    ]
    P, ps = len(centres), len(offsets)
    out = np.zeros((x.shape[0], channels * ps * P))
    for c in range(channels):
        for k, (di, dj, dk) in enumerate(offsets):
            for p, (i, j, l) in enumerate(centres):
                a, b_, e = i + di, j + dj, l + dk
                if 0 <= a < h and 0 <= b_ < w and 0 <= e < d:
                    out[:, (c * ps + k) * P + p] = grid_x[:, c, a, b_, e]
    return out


def _box(hr, wr, dr):
    return [
        (i, j, k) for i in range(hr[0], hr[1] + 1) for j in range(wr[0], wr[1] + 1) for k in range(dr[0], dr[1] + 1)
    ]


GEOMETRIC = [
    ({"name": "cuboid_patch"}, (4, 4, 1), 1, _box((-1, 1), (-1, 1), (0, 0)), (1, 1, 1)),
    (
        {
            "name": "cuboid_patch",
            "h": 5,
            "w": 4,
            "d": 3,
            "channels": 2,
            "p_h": 1,
            "p_w": 0,
            "p_d": 1,
            "p_w_prime": 2,
            "p_d_prime": 0,
            "cd_h": 2,
            "cd_w": 3,
            "cd_d": 2,
        },
        (5, 4, 3),
        2,
        _box((-1, 1), (0, 2), (-1, 0)),
        (2, 3, 2),
    ),
    (
        {"name": "cuboid_patch", "h": 6, "w": 6, "p_h": 2, "p_w": 2, "cd_h": 2, "cd_w": 2},
        (6, 6, 1),
        1,
        _box((-2, 2), (-2, 2), (0, 0)),
        (2, 2, 1),
    ),
    (
        {"name": "cylinder_patch", "h": 4, "w": 5, "d": 3, "p_r": 1, "p_d": 1, "p_d_prime": 0},
        (4, 5, 3),
        1,
        [o for o in _box((-1, 1), (-1, 1), (-1, 0)) if o[0] ** 2 + o[1] ** 2 <= 1],
        (1, 1, 1),
    ),
    (
        {
            "name": "cylinder_patch",
            "h": 5,
            "w": 5,
            "d": 2,
            "channels": 3,
            "p_r": 2,
            "p_d": 0,
            "p_d_prime": 1,
            "cd_w": 2,
        },
        (5, 5, 2),
        3,
        [o for o in _box((-2, 2), (-2, 2), (0, 1)) if o[0] ** 2 + o[1] ** 2 <= 4],
        (1, 2, 1),
    ),
    (
        {"name": "sphere_patch", "h": 4, "w": 3, "d": 4, "channels": 2, "p_r": 1, "cd_d": 2},
        (4, 3, 4),
        2,
        [o for o in _box((-1, 1), (-1, 1), (-1, 1)) if sum(v * v for v in o) <= 1],
        (1, 1, 2),
    ),
    (
        {"name": "sphere_patch", "h": 5, "w": 5, "d": 5, "p_r": 2},
        (5, 5, 5),
        1,
        [o for o in _box((-2, 2), (-2, 2), (-2, 2)) if sum(v * v for v in o) <= 4],
        (1, 1, 1),
    ),
]


@pytest.mark.parametrize("spec,shape,channels,offsets,strides", GEOMETRIC, ids=[g[0]["name"] for g in GEOMETRIC])
def test_patch_expansions_match_explicit_loops(spec, shape, channels, offsets, strides):
    m = channels * math.prod(shape)
    x = grid(m, b=3, seed=m)
    out = expand(spec, m, x)
    ref = _patch_loops(x, shape, channels, offsets, strides)
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)


def test_cylinder_honours_p_d():
    # depth range [-p_d, p_d'] = [-2, 0] gives 3 depth layers (the reference would use [0, 0])
    module = rk.build(
        "expansion", {"name": "cylinder_patch", "h": 3, "w": 3, "d": 3, "p_r": 0, "p_d": 2, "p_d_prime": 0}, m=27
    )
    assert module.patch_size == 3


def test_patch_expansion_grid_errors():
    with pytest.raises(rk.ConfigError, match="give h and w"):
        rk.build("expansion", "cuboid_patch", m=12)
    with pytest.raises(rk.ConfigError, match=r"m = 12 must equal channels \* h \* w \* d = 1 \* 5 \* 2 \* 1"):
        rk.build("expansion", {"name": "cuboid_patch", "h": 5, "w": 2}, m=12)


# ---------------------------------------------------------------------------------------------
# composite
# ---------------------------------------------------------------------------------------------


def test_nested_and_extended_values():
    x = torch.tensor(grid(3), dtype=F64)
    cheb = rk.build("expansion", {"name": "chebyshev", "degree": 2}, m=3).double()
    tay = rk.build("expansion", {"name": "taylor", "degree": 2}, m=6).double()
    nested = rk.build(
        "expansion",
        {"name": "nested", "functions": [{"name": "chebyshev", "degree": 2}, {"name": "taylor", "degree": 2}]},
        m=3,
    ).double()
    assert torch.equal(nested(x), tay(cheb(x)))
    tay3 = rk.build("expansion", {"name": "taylor", "degree": 2}, m=3).double()
    extended = rk.build(
        "expansion",
        {"name": "extended", "functions": [{"name": "chebyshev", "degree": 2}, {"name": "taylor", "degree": 2}]},
        m=3,
    )
    assert torch.equal(extended.double()(x), torch.cat([cheb(x), tay3(x)], dim=-1))


def test_composite_children_are_registered_and_configs_are_full():
    spec = {
        "name": "extended",
        "functions": [
            "identity",
            {
                "name": "nested",
                "functions": [{"name": "taylor", "degree": 2, "preprocess": "layer_norm"}, "naive_normal"],
            },
        ],
    }
    module = rk.build("expansion", spec, m=3)
    assert isinstance(module.functions, torch.nn.ModuleList)
    names = [n for n, _ in module.named_parameters()]
    assert names == [
        "functions.1.functions.0.preprocess.0.norm.weight",
        "functions.1.functions.0.preprocess.0.norm.bias",
    ]
    config = module.to_config()
    assert config == {
        "name": "extended",
        "functions": [
            {"name": "identity"},
            {
                "name": "nested",
                "functions": [
                    {
                        "name": "taylor",
                        "degree": 2,
                        "preprocess": [{"name": "layer_norm", "eps": 1e-5, "elementwise_affine": True}],
                    },
                    {"name": "naive_normal"},
                ],
            },
        ],
    }
    rebuilt = rk.build("expansion", config, m=3)
    assert rebuilt.to_config() == config
    # a built module as a child is written as its config, too
    child = rk.build("expansion", {"name": "legendre", "degree": 3}, m=3)
    assert rk.build("expansion", {"name": "nested", "functions": [child]}, m=3).to_config()["functions"] == [
        {"name": "legendre", "degree": 3}
    ]


def test_composite_errors_name_the_path():
    with pytest.raises(rk.ConfigError, match=r"functions\[1\]: unknown expansion/compression 'tayler'"):
        rk.build("expansion", {"name": "nested", "functions": ["identity", "tayler"]}, m=3)
    with pytest.raises(rk.ConfigError, match="nested needs `functions`"):
        rk.build("expansion", "nested", m=3)


def test_nested_children_see_the_previous_width():
    module = rk.build("expansion", {"name": "nested", "functions": ["chebyshev", "fourier", "naive_normal"]}, m=2)
    assert [f.m for f in module.functions] == [2, 4, 40]
    assert module.D == 40


# ---------------------------------------------------------------------------------------------
# every case of the catalogue: inputs untouched, device followed, hyperparameters validated
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", EXPANSION_CASES, ids=lambda c: c.label())
def test_input_is_never_written(case):
    module = rk.build("expansion", case.spec, **case.dims).double()
    x = case.make_input().requires_grad_()
    before = x.detach().clone()
    module(x).sum().backward()
    assert torch.equal(x.detach(), before) and x._version == 0


@pytest.mark.parametrize("case", EXPANSION_CASES, ids=lambda c: c.label())
def test_forward_follows_the_device_of_the_input(case):
    # the meta device has no data: any host round trip, numpy call or CPU constant fails here
    module = rk.build("expansion", case.spec, **case.dims).to("meta")
    y = module(torch.empty(3, case.dims["m"], device="meta"))
    assert y.device.type == "meta" and y.shape == (3, module.D)


BAD_SPECS = [
    ({"name": "reciprocal", "eps": 0.0}, "eps must be > 0.0, got 0.0"),
    ({"name": "fourier", "P": -1.0}, "period must be > 0.0"),
    ({"name": "fourier", "N": 0}, "harmonics must be an int >= 1, got 0"),
    ({"name": "trigonometric", "tan_bound": 0}, "tan_bound must be > 0.0"),
    ({"name": "hyperbolic", "input_bound": True}, "input_bound must be a finite number, got True"),
    ({"name": "legendre", "degree": 0}, "degree must be an int >= 1, got 0"),
    ({"name": "jacobi", "alpha": -1.0}, "alpha must be > -1.0, got -1.0"),
    ({"name": "laguerre", "alpha": -2}, "alpha must be > -1.0"),
    ({"name": "gegenbauer", "alpha": 0.0}, "alpha must be != 0"),
    ({"name": "gegenbauer", "alpha": -0.5}, "alpha must be > -0.5"),
    ({"name": "meyer_wavelet", "a": 0.0}, "a must be > 0.0"),
    ({"name": "haar_wavelet", "s": 0}, "s must be an int >= 1, got 0"),
    ({"name": "beta_wavelet", "alpha": 0}, "alpha must be > 0.0"),
    ({"name": "ricker_wavelet", "sigma": float("nan")}, "sigma must be a finite number"),
    ({"name": "cuboid_patch", "p_h": -1}, "p_h must be an int >= 0, got -1"),
    ({"name": "cylinder_patch", "cd_w": 0}, "cd_w must be an int >= 1, got 0"),
    ({"name": "combinatorial", "degree": 0}, "degree must be an int >= 1, got 0"),
    ({"name": "extended", "functions": []}, "extended needs `functions`"),
]


@pytest.mark.parametrize("spec,message", BAD_SPECS, ids=[s["name"] + "-" + m.split()[0] for s, m in BAD_SPECS])
def test_invalid_hyperparameters_are_clear_errors(spec, message):
    with pytest.raises(rk.ConfigError, match=re.escape(message)):
        rk.build("expansion", spec, m=16)
