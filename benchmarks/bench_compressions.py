"""Forward time of every registered compression beside the time of merely writing its output.

Setting: m = 784 (MNIST width; the geometric ones see one 28 x 28 x 1 grid), batch 256, float32,
eval mode, ``torch.no_grad``. For each compression the benchmark takes the median time of
``kappa(x)`` and, interleaved in the same run, the median time of ``torch.empty(b, D).copy_(y)``
(writing an output of the same size at memory speed). Their ratio says how far a compression is from
that bound; a compression with D much smaller than m does real work per output (it reads all m
inputs), so large ratios are expected there and are reported, not judged.

The fit-once compressions are fitted first on 1000 rows (manifold methods on 300) of the same
distribution; the fit time is reported but not part of the forward time. Rows in parentheses at the
end time plain torch operations of the same size (``F.max_pool2d``, ``torch.median``, ...) for
comparison.

Run ``python benchmarks/bench_compressions.py`` (``--quick`` for fewer repeats).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
import torch.nn.functional as F
from _timing import paired_medians, use_cpu_time

import rpnkit as rk

BATCH = 256
M = 784
GRID = {"h": 28, "w": 28}
POOL_2X2 = {**GRID, "p_h": 0, "p_h_prime": 1, "p_w": 0, "p_w_prime": 1, "cd_h": 2, "cd_w": 2}

#: (label, spec, rows to fit on or 0, note)
SETTINGS: list[tuple[str, Any, int, str]] = [
    ("identity", "identity", 0, ""),
    ("reciprocal", "reciprocal", 0, ""),
    ("linear", {"name": "linear", "c": 2.0}, 0, ""),
    *[(name, name, 0, "") for name in ["max", "min", "sum", "mean", "prod", "median"]],
    ("metric (median)", {"name": "metric", "metric": "median"}, 0, ""),
    ("cuboid max 3x3 s1", {"name": "cuboid", "metric": "max", **GRID}, 0, "densest packing (default)"),
    ("cuboid_max 2x2 s2", {"name": "cuboid_max", **POOL_2X2}, 0, "= F.max_pool2d(x, 2)"),
    ("cuboid_min 2x2 s2", {"name": "cuboid_min", **POOL_2X2}, 0, ""),
    ("cuboid_mean 3x3 s2", {"name": "cuboid_mean", **GRID, "cd_h": 2, "cd_w": 2}, 0, "borders padded"),
    *[
        (f"{shape}_{metric} r=1 s2", {"name": f"{shape}_{metric}", **GRID, "cd_h": 2, "cd_w": 2}, 0, "")
        for shape in ["cylinder", "sphere"]
        for metric in ["max", "min", "mean"]
    ],
    ("cylinder mean r=2 s1", {"name": "cylinder", "metric": "mean", **GRID, "p_r": 2}, 0, "13-cell disks"),
    ("sphere max r=1 s1", {"name": "sphere", "metric": "max", **GRID}, 0, ""),
    ("naive_probabilistic k=100", {"name": "naive_probabilistic", "k": 100, "dist": "normal"}, 0, "fixed draw"),
    *[
        (f"naive_{dist} k=100", {"name": f"naive_{dist}_probabilistic", "k": 100}, 0, "")
        for dist in ["uniform", "normal", "cauchy", "chi2", "exponential", "gamma", "laplace"]
    ],
    (
        "naive_normal k=100 top_k",
        {"name": "naive_normal_probabilistic", "k": 100, "eval_selection": "top_k"},
        0,
        "stable sort",
    ),  # fmt: skip
    ("combinatorial d=1 k=50", {"name": "combinatorial", "d": 1, "k": 50}, 0, ""),
    ("combinatorial d=2 k=50", {"name": "combinatorial", "d": 2, "k": 50}, 0, "306,936 pairs scored per row"),
    ("combinatorial_prob d=2 k=50", {"name": "combinatorial_probabilistic", "d": 2, "k": 50}, 0, ""),
    ("incremental_pca k=50", {"name": "incremental_pca", "k": 50}, 1000, ""),
    ("random_projection k=100", {"name": "random_projection", "k": 100}, 0, "gaussian"),
    ("random_projection sparse", {"name": "random_projection", "k": 100, "kind": "sparse"}, 0, "dense storage"),
    ("variance_threshold k=100", {"name": "variance_threshold", "k": 100}, 1000, ""),
    ("feature_clustering k=49", {"name": "feature_clustering", "k": 49}, 1000, "agglomerative"),
    ("isomap k=2", {"name": "isomap", "k": 2}, 300, "linear out-of-sample map"),
    ("lle k=2", {"name": "lle", "k": 2}, 300, "linear out-of-sample map"),
    ("mds k=2", {"name": "mds", "k": 2}, 300, "linear out-of-sample map"),
    ("spectral_embedding k=2", {"name": "spectral_embedding", "k": 2, "n_neighbors": 10}, 300, "linear map"),
    ("tsne k=2", {"name": "tsne", "k": 2}, 300, "linear out-of-sample map"),
    (
        "nested",
        {"name": "nested", "functions": [{"name": "linear", "c": 0.5}, {"name": "cuboid_max", **POOL_2X2}]},
        0,
        "linear > 2x2 max pool",
    ),  # fmt: skip
    (
        "extended",
        {"name": "extended", "functions": ["max", "mean", {"name": "cuboid_max", **POOL_2X2}]},
        0,
        "max + mean + 2x2 max pool",
    ),  # fmt: skip
]

_R = torch.randn(100, M, generator=torch.Generator().manual_seed(1))

#: Plain torch operations of the same size, timed the same way, to read the rows above against.
REFERENCES: list[tuple[str, Any, str]] = [
    ("F.max_pool2d 2x2 s2", lambda x: F.max_pool2d(x.view(-1, 1, 28, 28), 2).flatten(1), "vs cuboid_max 2x2 s2"),
    ("F.max_pool2d 3x3 s1 pad 1", lambda x: F.max_pool2d(x.view(-1, 1, 28, 28), 3, 1, 1).flatten(1),
     "vs cuboid max 3x3 s1"),
    ("F.avg_pool2d 3x3 s2 pad 1", lambda x: F.avg_pool2d(x.view(-1, 1, 28, 28), 3, 2, 1, count_include_pad=False)
     .flatten(1), "vs cuboid_mean 3x3 s2"),
    ("torch.median(x, -1)", lambda x: x.median(dim=-1, keepdim=True).values, "vs median"),
    ("torch.topk(x, 100)", lambda x: torch.topk(x, 100, dim=-1, sorted=False).values, "vs naive_* k=100"),
    ("x @ R.T (100 x 784)", lambda x: x @ _R.T, "vs random_projection"),
]  # fmt: skip


def measure(spec: Any, fit_rows: int, repeats: int) -> dict[str, Any]:
    """Time one compression (``spec`` may also be a plain callable x -> y, for the references)."""
    gen = torch.Generator().manual_seed(0)
    module = spec if callable(spec) else rk.build("compression", spec, m=M).eval()
    fit_s = 0.0
    if fit_rows:
        data = torch.rand(fit_rows, M, generator=gen)
        start = time.perf_counter()
        module.fit(data)
        fit_s = time.perf_counter() - start
    x = torch.rand(BATCH, M, generator=gen)
    with torch.no_grad():
        y = module(x)
        D = y.shape[-1]
        source = torch.randn(BATCH, D, generator=gen)

        def write() -> torch.Tensor:
            return torch.empty(BATCH, D).copy_(source)

        t_forward, t_write = paired_medians(lambda: module(x), write, repeats)
    return {"D": D, "forward_s": t_forward, "write_s": t_write, "ratio": t_forward / t_write, "fit_s": fit_s}


def main(quick: bool = False, threads: int | None = None, cpu_time: bool = False) -> list[dict[str, Any]]:
    """Measure every setting, print a table and return its rows."""
    use_cpu_time(cpu_time)
    if threads is not None:
        torch.set_num_threads(threads)
    repeats = 5 if quick else 25
    clock = "CPU time" if cpu_time else "wall time"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, m={M}, batch={BATCH}, "
          f"median {clock} of {repeats}")  # fmt: skip
    header = (
        f"| {'compression':<28} | {'D':>6} | {'forward ms':>10} | {'write ms':>8} | {'ratio':>7} | {'fit s':>6} | note"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|------")
    rows = []
    settings = SETTINGS + [(f"({label})", fn, 0, note) for label, fn, note in REFERENCES]
    for label, spec, fit_rows, note in settings:
        row = {"compression": label, **measure(spec, fit_rows, repeats), "note": note}
        fit = f"{row['fit_s']:>6.2f}" if fit_rows else f"{'-':>6}"
        print(f"| {label:<28} | {row['D']:>6} | {1e3 * row['forward_s']:>10.3f} | {1e3 * row['write_s']:>8.3f} | "
              f"{row['ratio']:>7.1f} | {fit} | {note}")  # fmt: skip
        rows.append(row)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--cpu-time", action="store_true", help="measure process CPU time instead of wall time")
    args = parser.parse_args()
    main(args.quick, args.threads, args.cpu_time)
