"""Forward time of every registered expansion against the time of merely writing its output.

For each expansion at m = 784 (MNIST width), batch 256, float32, the benchmark takes the median
time of ``kappa(x)`` (under ``torch.no_grad``) and, in the same run, the median time of
``torch.empty(b, D).copy_(y)`` for a ready tensor y of the same size: the cost of producing the
output at memory speed. The ratio forward / write says how far an expansion is from that bound;
ratios above 2 are flagged.

Exceptions to the common setting (the output would not fit otherwise):

* taylor (degree 2) has D = 784 + 784^2 = 615,440 per row: batch 16;
* combinatorial / combinatorial_normal (degree 2) run at m = 64 (C(784, 2) = 306,936 pairs);
* the geometric patch expansions see a 28 x 28 x 1 grid with 1 channel (m = 784).

Run ``python benchmarks/bench_expansions.py`` (``--quick`` for fewer repeats). On a shared,
busy machine wall times are dominated by scheduling noise; ``--threads 1 --cpu-time`` measures
the CPU time of one thread instead, which is far more reproducible. ``--device cuda`` runs the
same comparison on a GPU (wall time, synchronised after every call), where elementwise kernels are
bound by memory traffic rather than by arithmetic.

The process first calls :func:`rpnkit.runtime.tune_cpu_allocator`, as ``rpnkit train`` does, so
that both sides run from a warm heap: with glibc's defaults large temporaries are mapped
fresh (or the freed heap is trimmed) and page-fault on each call, and the same expansion's time then varies several-fold
with the heap's history (``--default-allocator`` shows it).
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from _timing import paired_medians, use_cpu_time

import rpnkit as rk

BATCH = 256
M = 784

#: (label, spec, m, batch, note)
SETTINGS: list[tuple[str, Any, int, int, str]] = [
    ("identity", "identity", M, BATCH, ""),
    ("reciprocal", "reciprocal", M, BATCH, ""),
    ("linear", {"name": "linear", "c": 2.0}, M, BATCH, ""),
    ("taylor", {"name": "taylor", "degree": 2}, M, 16, "batch 16"),
    ("fourier", "fourier", M, BATCH, ""),
    ("chebyshev", "chebyshev", M, BATCH, ""),
    ("jacobi", "jacobi", M, BATCH, ""),
    ("legendre", "legendre", M, BATCH, ""),
    ("hermite", "hermite", M, BATCH, ""),
    ("laguerre", "laguerre", M, BATCH, ""),
    ("gegenbauer", "gegenbauer", M, BATCH, ""),
    ("bessel", "bessel", M, BATCH, ""),
    ("reverse_bessel", "reverse_bessel", M, BATCH, ""),
    ("fibonacci", "fibonacci", M, BATCH, ""),
    ("lucas", "lucas", M, BATCH, ""),
    ("trigonometric", "trigonometric", M, BATCH, ""),
    ("hyperbolic", "hyperbolic", M, BATCH, ""),
    ("arc_trigonometric", "arc_trigonometric", M, BATCH, ""),
    ("arc_hyperbolic", "arc_hyperbolic", M, BATCH, ""),
    ("gaussian_rbf", "gaussian_rbf", M, BATCH, ""),
    ("inverse_quadratic_rbf", "inverse_quadratic_rbf", M, BATCH, ""),
    ("bspline", "bspline", M, BATCH, ""),
    ("haar_wavelet", "haar_wavelet", M, BATCH, ""),
    ("beta_wavelet", "beta_wavelet", M, BATCH, ""),
    ("shannon_wavelet", "shannon_wavelet", M, BATCH, ""),
    ("ricker_wavelet", "ricker_wavelet", M, BATCH, ""),
    ("dog_wavelet", "dog_wavelet", M, BATCH, ""),
    ("meyer_wavelet", "meyer_wavelet", M, BATCH, ""),
    ("meyer_wavelet s=2,t=3", {"name": "meyer_wavelet", "s": 2, "t": 3, "a": 2.0, "b": 0.5}, M, BATCH, ""),
    ("naive_normal", "naive_normal", M, BATCH, ""),
    ("naive_cauchy", "naive_cauchy", M, BATCH, ""),
    ("naive_chi2", "naive_chi2", M, BATCH, ""),
    ("naive_gamma", "naive_gamma", M, BATCH, ""),
    ("naive_laplace", "naive_laplace", M, BATCH, ""),
    ("naive_exponential", "naive_exponential", M, BATCH, ""),
    ("normal", "normal", M, BATCH, ""),
    ("cauchy", "cauchy", M, BATCH, ""),
    ("chi2", "chi2", M, BATCH, ""),
    ("gamma", "gamma", M, BATCH, ""),
    ("laplace", "laplace", M, BATCH, ""),
    ("exponential", "exponential", M, BATCH, ""),
    ("hybrid_probabilistic", "hybrid_probabilistic", M, BATCH, ""),
    ("combinatorial", "combinatorial", 64, BATCH, "m = 64"),
    ("combinatorial_normal d=2", {"name": "combinatorial_normal", "degree": 2}, 64, BATCH, "m = 64"),
    ("cuboid_patch", "cuboid_patch", M, BATCH, "28x28x1, 3x3"),
    ("cylinder_patch", "cylinder_patch", M, BATCH, "28x28x1, r=1"),
    ("sphere_patch", "sphere_patch", M, BATCH, "28x28x1, r=1"),
    ("nested", {"name": "nested", "functions": ["chebyshev", "naive_normal"]}, M, BATCH, "chebyshev > naive_normal"),
    (
        "extended",
        {"name": "extended", "functions": ["identity", "chebyshev", "bspline"]},
        M,
        BATCH,
        "identity + chebyshev + bspline",
    ),
]


def measure(spec: Any, m: int, batch: int, repeats: int, device: str = "cpu") -> dict[str, float | int]:
    """Forward time of one expansion and, in the same run, three costs of a tensor of its output size.

    ``write``: ``torch.empty(b, D).copy_(y)`` (the bound of the issue); ``mul``: one elementwise
    product ``y * y`` (one arithmetic pass writing the output); ``exp``: ``torch.exp(y)`` (one
    transcendental pass). An expansion that needs at least one transcendental function per output
    entry cannot be faster than ``exp``. On a CUDA device every timed call ends with a synchronize.
    """
    module = rk.build("expansion", spec, m=m).eval().to(device)
    x = torch.randn(batch, m, generator=torch.Generator().manual_seed(0)).clamp(-3, 3).to(device)

    def timed(fn):
        if torch.device(device).type != "cuda":
            return fn
        return lambda: (fn(), torch.cuda.synchronize())

    with torch.no_grad():
        y = module(x)
        D = y.shape[-1]
        source = torch.randn(batch, D).clamp(-3, 3).to(device)

        def write() -> torch.Tensor:
            return torch.empty(batch, D, device=device).copy_(source)

        t_forward, t_write = paired_medians(timed(lambda: module(x)), timed(write), repeats)
        t_mul, t_exp = paired_medians(timed(lambda: source * source), timed(lambda: torch.exp(source)), repeats)
    return {"D": D, "forward_s": t_forward, "write_s": t_write, "mul_s": t_mul, "exp_s": t_exp}


def main(
    quick: bool = False,
    threads: int | None = None,
    cpu_time: bool = False,
    default_allocator: bool = False,
    device: str = "cpu",
) -> list[dict[str, Any]]:
    if cpu_time and torch.device(device).type != "cpu":
        raise SystemExit("--cpu-time measures this process's CPU time: use it with --device cpu only")
    use_cpu_time(cpu_time)
    tuned = False if default_allocator else rk.runtime.tune_cpu_allocator()
    if threads is not None:
        torch.set_num_threads(threads)
    repeats = 5 if quick else 25
    rows = []
    header = (
        f"{'expansion':<26} {'m':>4} {'b':>4} {'D':>8} {'forward ms':>11} {'write ms':>9} {'ratio':>6}"
        f" {'mul/write':>9} {'exp/write':>9}  note"
    )
    clock = "CPU time" if cpu_time else "wall time"
    allocator = "tuned allocator" if tuned else "default allocator"
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, median {clock} of {repeats}, "
        f"{allocator}, device {device}"
    )
    print(header)
    print("-" * len(header))
    for label, spec, m, batch, note in SETTINGS:
        row = measure(spec, m, batch, repeats, device)
        ratio = row["forward_s"] / row["write_s"]
        flag = "  >2" if ratio > 2 else ""
        print(
            f"{label:<26} {m:>4} {batch:>4} {row['D']:>8} {1e3 * row['forward_s']:>11.3f} {1e3 * row['write_s']:>9.3f}"
            f" {ratio:>6.2f} {row['mul_s'] / row['write_s']:>9.2f} {row['exp_s'] / row['write_s']:>9.2f}{flag}  {note}"
        )
        rows.append({"expansion": label, "m": m, "batch": batch, **row, "ratio": ratio, "note": note})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--cpu-time", action="store_true", help="measure process CPU time instead of wall time")
    parser.add_argument(
        "--default-allocator", action="store_true", help="keep glibc's malloc defaults (no tune_cpu_allocator)"
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: cpu)")
    args = parser.parse_args()
    main(args.quick, args.threads, args.cpu_time, args.default_allocator, args.device)
