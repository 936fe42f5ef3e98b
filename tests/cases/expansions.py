"""Cases of the expansion catalogue (one or more per registered expansion).

``low``/``high`` is each function's documented domain (or a representative part of it).
"""

from . import Case


def E(spec, m, **kw) -> Case:
    return Case("expansion", spec, {"m": m}, **kw)


CASES = [
    # basic
    E("reciprocal", 3, low=0.2, high=2.0),
    E({"name": "reciprocal", "eps": 1e-3}, 3, low=-2.0, high=-0.2, id="expansion/reciprocal-negative"),
    E({"name": "linear", "c": 2.0}, 3),
    E(
        {"name": "linear", "c": -0.5, "post_C": [[1.0, 2.0, 0.0], [0.0, 1.0, 0.5], [0.1, 0.0, 1.0]]},
        3,
        id="expansion/linear+post_C",
    ),
    # polynomial
    E("fourier", 2),
    E({"name": "fourier", "P": 3.0, "N": 2}, 3, low=-3.0, high=3.0, id="expansion/fourier-P3N2"),
    E({"name": "jacobi", "degree": 4, "alpha": 0.5, "beta": -0.3}, 2),
    E({"name": "legendre", "degree": 4}, 2),
    E({"name": "hermite", "degree": 4}, 2, low=-3.0, high=3.0),
    E({"name": "laguerre", "degree": 4, "alpha": 0.5}, 2, low=0.0, high=4.0),
    E({"name": "gegenbauer", "degree": 4, "alpha": 1.5}, 2),
    E({"name": "bessel", "degree": 3}, 2),
    E({"name": "reverse_bessel", "degree": 3}, 2),
    E({"name": "fibonacci", "degree": 4}, 2),
    E({"name": "lucas", "degree": 4}, 2),
    # trigonometric / hyperbolic
    E("trigonometric", 3, low=-1.5, high=1.5),
    E({"name": "trigonometric", "tan_bound": None}, 2, id="expansion/trigonometric-raw-tan"),
    E("hyperbolic", 3, low=-3.0, high=3.0),
    E("arc_trigonometric", 3, low=-5.0, high=5.0),
    E("arc_hyperbolic", 3, low=-5.0, high=5.0),
    # rbf
    E({"name": "inverse_quadratic_rbf", "num_interval": 4, "epsilon": 2.0}, 2),
    # wavelets (haar is piecewise constant: its gradient is 0 except at the jumps, so no gradcheck)
    E("haar_wavelet", 3, low=-0.5, high=1.5, gradcheck=False),
    E(
        {"name": "haar_wavelet", "s": 2, "t": 2, "a": 2.0, "b": 0.5, "degree": 2},
        2,
        low=-0.5,
        high=1.5,
        gradcheck=False,
        id="expansion/haar_wavelet-grid",
    ),
    E("beta_wavelet", 3, low=-4.0, high=4.0),
    E(
        {"name": "beta_wavelet", "alpha": 3.0, "beta": 1.5, "s": 2, "a": 1.5},
        2,
        low=-4.0,
        high=4.0,
        id="expansion/beta_wavelet-3-1.5",
    ),
    E("shannon_wavelet", 3, low=-2.0, high=2.0),
    E(
        {"name": "shannon_wavelet", "s": 2, "t": 3, "a": 2.0, "b": 0.5},
        2,
        low=-2.0,
        high=2.0,
        id="expansion/shannon_wavelet-grid",
    ),
    E({"name": "ricker_wavelet", "sigma": 0.7, "t": 2}, 3, low=-3.0, high=3.0),
    E({"name": "dog_wavelet", "s": 2, "a": 2.0}, 3, low=-3.0, high=3.0),
    E("meyer_wavelet", 3, low=-2.0, high=2.0),
    E(
        {"name": "meyer_wavelet", "degree": 2, "s": 2, "a": 1.5},
        2,
        low=-2.0,
        high=2.0,
        id="expansion/meyer_wavelet-degree2",
    ),
    # probabilistic
    E("naive_normal", 3, low=-3.0, high=3.0),
    E("naive_cauchy", 3, low=-3.0, high=3.0),
    E("naive_chi2", 3, low=-3.0, high=3.0),
    E("naive_gamma", 3, low=-3.0, high=3.0),
    E("naive_laplace", 3, low=-3.0, high=3.0),
    E("naive_exponential", 3, low=-3.0, high=3.0),
    E("normal", 3, low=-3.0, high=3.0),
    E({"name": "normal", "parameters": [[0.5, 2.0], [-1.0, 0.5]]}, 2, low=-3.0, high=3.0, id="expansion/normal-custom"),
    E("cauchy", 3, low=-3.0, high=3.0),
    E("chi2", 3, low=-3.0, high=3.0),
    E("gamma", 3, low=-3.0, high=3.0),
    E("laplace", 3, low=-3.0, high=3.0),
    E("exponential", 3, low=-3.0, high=3.0),
    E("hybrid_probabilistic", 3, low=-3.0, high=3.0),
    # combinatorial
    E("combinatorial", 4),
    E({"name": "combinatorial", "degree": 3, "with_replacement": True}, 3, id="expansion/combinatorial-replacement"),
    E({"name": "combinatorial_normal", "degree": 3}, 4),
    E(
        {"name": "combinatorial_normal", "degree": 2, "with_replacement": True},
        3,
        id="expansion/combinatorial_normal-replacement",
    ),
    # geometric patches (channel-major grids)
    E("cuboid_patch", 16),
    E(
        {
            "name": "cuboid_patch",
            "h": 3,
            "w": 3,
            "d": 2,
            "channels": 2,
            "p_h": 1,
            "p_w": 0,
            "p_d": 1,
            "p_w_prime": 1,
            "p_d_prime": 0,
            "cd_h": 2,
            "cd_w": 1,
            "cd_d": 2,
        },
        36,
        id="expansion/cuboid_patch-3d",
    ),
    E({"name": "cylinder_patch", "h": 3, "w": 4, "d": 3, "p_r": 1, "p_d": 1, "p_d_prime": 0}, 36),
    E({"name": "sphere_patch", "h": 3, "w": 3, "d": 3, "channels": 2, "p_r": 1, "cd_h": 2}, 54),
    # composite
    E({"name": "nested", "functions": [{"name": "chebyshev", "degree": 2}, {"name": "taylor", "degree": 2}]}, 2),
    E(
        {
            "name": "extended",
            "functions": [
                "identity",
                {"name": "bspline", "t": 3, "d": 2},
                {"name": "taylor", "degree": 2, "postprocess": "tanh"},
            ],
        },
        2,
        low=-0.9,
        high=0.9,
    ),
    E(
        {
            "name": "extended",
            "functions": [{"name": "nested", "functions": ["identity", "legendre"]}, "naive_normal"],
            "preprocess": "layer_norm",
        },
        3,
        id="expansion/extended-of-nested+processing",
    ),
]
