"""Cases of the compression catalogue (src/rpnkit/compression)."""

from . import Case


def fit(module, x):
    """Fit a fit-once compression on the (batch, m) test input."""
    module.fit(x.reshape(-1, x.shape[-1]))


def C(spec, dims, **kw):
    """A compression case; compressions have no parameters of their own."""
    kw.setdefault("grad_params", False)
    return Case("compression", spec, dims, **kw)


METRICS = ["max", "min", "sum", "mean", "prod", "median"]
DISTS = ["uniform", "normal", "cauchy", "chi2", "exponential", "gamma", "laplace"]
GRID = {"h": 3, "w": 4}  # one channel of 3 x 4 cells, m = 12

CASES = [
    # elementwise
    C("identity", {"m": 3}),
    C({"name": "reciprocal", "eps": 1e-6}, {"m": 3}),
    C({"name": "linear", "c": -1.5}, {"m": 3}),
    # metric reductions
    *[C({"name": "metric", "metric": metric}, {"m": 5}, id=f"compression/metric-{metric}") for metric in METRICS],
    *[C(metric, {"m": 5}) for metric in METRICS],
    # geometric pooling
    C({"name": "cuboid", "metric": "mean", "h": 4, "w": 5, "p_h": 1}, {"m": 40}, id="compression/cuboid-2ch-mean"),
    C(
        {
            "name": "cuboid",
            "metric": "max",
            "h": 4,
            "w": 4,
            "p_h": 0,
            "p_h_prime": 1,
            "p_w": 0,
            "p_w_prime": 1,
            "cd_h": 2,
            "cd_w": 2,
        },
        {"m": 16},
        id="compression/cuboid-maxpool2x2",
    ),
    C(
        {
            "name": "cylinder",
            "metric": "min",
            "h": 4,
            "w": 4,
            "d": 2,
            "p_r": 1,
            "p_d": 1,
            "p_d_prime": 0,
            "packing": "sparse_square",
        },
        {"m": 32},
    ),
    C(
        {"name": "sphere", "metric": "mean", "h": 3, "w": 3, "d": 3, "p_r": 1, "packing": "non_overlapping"},
        {"m": 54},
        id="compression/sphere-2ch",
    ),
    *[
        C({"name": f"{shape}_{metric}", **GRID}, {"m": 12})
        for shape in ["cuboid", "cylinder", "sphere"]
        for metric in ["max", "min", "mean"]
    ],
    C(
        {
            "name": "cuboid_max",
            "h": 4,
            "w": 4,
            "p_h": 0,
            "p_h_prime": 1,
            "cd_h": 2,
            "cd_w": 2,
            "preprocess": "layer_norm",
            "postprocess": ["tanh"],
        },
        {"m": 16},
        grad_params=True,
        id="compression/cuboid_max+processing",
    ),
    # sampling (eval mode is deterministic, so gradcheck runs on the gathered values)
    C({"name": "naive_probabilistic", "k": 3, "dist": "normal"}, {"m": 6}),
    C(
        {
            "name": "naive_probabilistic",
            "k": 2,
            "dist": "gamma",
            "dist_params": {"concentration": 2.0},
            "simply_sampling": False,
            "log_prob": True,
            "metric": "square",
        },
        {"m": 6},
        id="compression/naive_probabilistic-gamma-logprob",
    ),
    C(
        {
            "name": "naive_probabilistic",
            "k": 4,
            "dist": "laplace",
            "simply_sampling": False,
            "require_normalization": False,
            "eval_selection": "top_k",
        },
        {"m": 6},
        id="compression/naive_probabilistic-laplace-topk",
    ),
    *[C({"name": f"naive_{dist}_probabilistic", "k": 3, "seed": 3}, {"m": 6}) for dist in DISTS],
    C({"name": "combinatorial", "d": 2, "k": 2}, {"m": 5}),
    C(
        {"name": "combinatorial", "d": 3, "k": 2, "simply_sampling": False, "repetition": True},
        {"m": 4},
        id="compression/combinatorial-repetition-s",
    ),
    C({"name": "combinatorial_probabilistic", "d": 2, "k": 3, "metric": "abs"}, {"m": 5}),
    # fit-once
    C({"name": "incremental_pca", "k": 3}, {"m": 5}, batch=12, needs_fit=fit),
    C(
        {"name": "incremental_pca", "k": 2, "whiten": True, "batch_size": 5, "preprocess": "layer_norm"},
        {"m": 5},
        batch=12,
        needs_fit=fit,
        grad_params=True,
        id="compression/incremental_pca-whiten+processing",
    ),
    C({"name": "random_projection", "k": 3}, {"m": 6}),
    C(
        {"name": "random_projection", "k": 3, "kind": "sparse", "density": 0.5, "seed": 2},
        {"m": 6},
        needs_fit=fit,
        id="compression/random_projection-sparse",
    ),
    C({"name": "variance_threshold", "k": 2}, {"m": 5}, batch=8, needs_fit=fit),
    C({"name": "feature_clustering", "k": 3}, {"m": 6}, batch=8, needs_fit=fit),
    C(
        {"name": "feature_clustering", "k": 2, "method": "kmeans"},
        {"m": 6},
        batch=8,
        needs_fit=fit,
        id="compression/feature_clustering-kmeans",
    ),
    C({"name": "isomap", "k": 2}, {"m": 12}, batch=12, needs_fit=fit),
    C({"name": "lle", "k": 2, "n_neighbors": 6}, {"m": 12}, batch=12, needs_fit=fit),
    C({"name": "mds", "k": 2}, {"m": 12}, batch=13, needs_fit=fit),
    C({"name": "spectral_embedding", "k": 2, "n_neighbors": 5}, {"m": 12}, batch=12, needs_fit=fit),
    C({"name": "tsne", "k": 2, "perplexity": 3.0, "max_iter": 250}, {"m": 12}, batch=12, needs_fit=fit),
    # composite
    C(
        {"name": "nested", "functions": [{"name": "linear", "c": 0.5}, {"name": "cuboid_mean", "h": 2, "w": 3}]},
        {"m": 6},
    ),
    C(
        {"name": "nested", "functions": [{"name": "taylor", "degree": 2}, {"name": "incremental_pca", "k": 3}]},
        {"m": 3},
        batch=16,
        needs_fit=fit,
        id="compression/nested-taylor-pca",
    ),
    C({"name": "extended", "functions": ["max", {"name": "taylor", "degree": 2}, "identity"]}, {"m": 3}),
]
