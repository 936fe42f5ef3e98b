"""rpnkit's fit + refine path against pykan's on pykan's tutorial functions: time to reach pykan's RMSE.

For every function both libraries get the same data (``rk.data.from_function``, 1,000 training and
1,000 test rows, inputs uniform in [-1, 1]) and the same schedule: a B-spline network of the same
widths, fitted by L-BFGS (50 steps of up to 20 iterations, strong Wolfe, history 10: pykan's
``fit(opt="LBFGS")``) on grid 5, then refined to grid 10 and 20 and fitted again each time (pykan's
``refine``; rpnkit's :func:`rpnkit.explain.refine` with ``grid_range="data"``, so every input of
every layer gets a grid over what it covers). rpnkit's heads are pykan's edges: a SiLU base plus a
B-spline (the ``extended`` expansion), and, as pykan's ``fit(update_grid=True)``, the grids follow
the data during the first steps of every fit (:func:`rpnkit.explain.update_grid` before every 5th of
the first 50 steps); ``--path plain`` runs the earlier path (B-spline heads with a linear remainder,
one grid range per layer, no grid updates). Reported: pykan's final test RMSE and total time; rpnkit's RMSE after
each stage and the time at which its test RMSE first reached pykan's final one (test RMSE checked
after every L-BFGS step, the checks not timed), and that time's ratio to pykan's total (the issue's
target: at most 1/3).

Functions (pykan's tutorials): exp(sin(pi x) + y^2) on [2, 5, 1]; x y on [2, 5, 1]; exp((sin(pi (x1^2 +
x2^2)) + sin(pi (x3^2 + x4^2))) / 2) on [4, 4, 2, 1].

pykan is a bench-only extra (``pip install 'rpnkit[bench]'``); without it rpnkit's numbers are printed
alone. Run: ``python benchmarks/bench_explain.py [--threads N] [--steps S] [--only NAME] [--seeds 0,1,2]
[--path kan|plain]`` (every seed seeds both libraries).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time

import torch

import rpnkit as rk
from rpnkit.data import from_function
from rpnkit.explain import refine, update_grid


def _sin_pi_sq(a, b):
    return torch.sin(torch.pi * (a**2 + b**2))


FUNCTIONS = {
    "exp_sin_sq": (lambda x: torch.exp(torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2), [2, 5, 1]),
    "xy": (lambda x: x[:, 0] * x[:, 1], [2, 5, 1]),
    "compose4": (
        lambda x: torch.exp(0.5 * (_sin_pi_sq(x[:, 0], x[:, 1]) + _sin_pi_sq(x[:, 2], x[:, 3]))),
        [4, 4, 2, 1],
    ),
}
GRIDS = (5, 10, 20)


def _data(name: str):
    f, dims = FUNCTIONS[name]
    data = from_function(f, [(-1, 1)] * dims[0], train=1000, test=1000, seed=0)
    return data.x_train, data.y_train, data.x_test, data.y_test


def _rmse(model, x, y) -> float:
    with torch.no_grad():
        out = model(x)
        out = out[0] if isinstance(out, tuple) else out
        return float(((out - y) ** 2).mean().sqrt())


def run_pykan(name: str, steps: int, seed: int = 0) -> dict | None:
    try:
        from kan import KAN
    except ImportError:
        return None
    x, y, xt, yt = _data(name)
    dims = list(FUNCTIONS[name][1])  # pykan rewrites its width list in place
    dataset = {"train_input": x, "train_label": y, "test_input": xt, "test_label": yt}
    quiet = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):  # pykan writes its history into ./model
        os.makedirs("model")
        start = time.perf_counter()
        model = KAN(width=dims, grid=GRIDS[0], k=3, seed=seed, auto_save=False)
        stages = []
        for g in GRIDS:
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):  # its progress and saves
                if g != GRIDS[0]:
                    model = model.refine(g)
                model.fit(dataset, opt="LBFGS", steps=steps, log=10**9)
            stages.append((g, _rmse(model, xt, yt), time.perf_counter() - start))
    return {"stages": stages, "rmse": stages[-1][1], "time": stages[-1][2]}


def _lbfgs(model, x, y, scale: float = 1e6):
    """pykan's L-BFGS settings and the closure of one step on (x, y); the objective is scaled as in
    :func:`rpnkit.explain.fit`, so that torch's y.s > 1e-10 test keeps curvature pairs at small losses."""
    opt = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=20,
        history_size=10,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-32,
        tolerance_change=1e-32,
    )

    def closure():
        opt.zero_grad()
        loss = scale * ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    return opt, closure


#: rpnkit's head and grid schedule per ``--path``: pykan's edge (SiLU base + B-spline, grids that follow
#: each input's data) or the earlier plain B-spline head with one grid range per layer
PATHS = {
    "kan": {
        "head": {
            "expansion": {
                "name": "extended",
                "functions": [
                    {"name": "identity", "postprocess": "silu"},
                    {"name": "bspline", "t": GRIDS[0], "grid_range": [-1, 1]},
                ],
            },
            "remainder": "zero",
        },
        "grid_range": "data",
        "margin": 0.0,
        "update_every": 5,
        "update_until": 50,
    },
    "plain": {
        "head": {"expansion": {"name": "bspline", "t": GRIDS[0], "grid_range": [-1, 1]}, "remainder": "linear"},
        "grid_range": "layer",
        "margin": 0.05,
        "update_every": 0,
        "update_until": 0,
    },
}


def run_rpnkit(name: str, steps: int, target: float | None, seed: int = 0, path: str = "kan") -> dict:
    x, y, xt, yt = _data(name)
    dims = FUNCTIONS[name][1]
    plan = PATHS[path]
    torch.manual_seed(seed)
    model = rk.RPN(dims, head=plan["head"])
    elapsed, reached, stages = 0.0, None, []
    for g in GRIDS:
        start = time.perf_counter()
        if g != GRIDS[0]:
            model = refine(model, g, x=x, grid_range=plan["grid_range"], margin=plan["margin"])
        opt, closure = _lbfgs(model, x, y)
        for step in range(steps):
            if plan["update_every"] and step < plan["update_until"] and step % plan["update_every"] == 0:
                update_grid(model, x, margin=plan["margin"])  # in place: the optimizer keeps its parameters
            opt.step(closure)
            elapsed += time.perf_counter() - start
            if target is not None and reached is None and _rmse(model, xt, yt) <= target:
                reached = elapsed
            start = time.perf_counter()
        elapsed += time.perf_counter() - start
        stages.append((g, _rmse(model, xt, yt), elapsed))
    best = min(s[1] for s in stages)
    return {"stages": stages, "rmse": stages[-1][1], "best": best, "time": elapsed, "reached": reached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--steps", type=int, default=50, help="L-BFGS steps per grid (pykan's tutorials: 50)")
    parser.add_argument("--only", choices=list(FUNCTIONS), default=None)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (each seeds both libraries)")
    parser.add_argument("--path", choices=list(PATHS), default="kan", help="rpnkit's head and grid schedule")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    print(
        f"torch {torch.__version__}, threads {threads}, grids {GRIDS}, {args.steps} L-BFGS steps each, "
        f"rpnkit path {args.path!r}"
    )
    for name in FUNCTIONS:
        if args.only not in (None, name):
            continue
        for seed in seeds:
            tag = f"{name:11s} s{seed}"
            theirs = run_pykan(name, args.steps, seed=seed)
            if theirs is None:
                print(f"{tag} pykan skipped: not installed (pip install 'rpnkit[bench]')")
            else:
                stages = "  ".join(f"g{g} {r:.2e} @ {t:.1f}s" for g, r, t in theirs["stages"])
                print(f"{tag} pykan   {stages}", flush=True)
            mine = run_rpnkit(name, args.steps, None if theirs is None else theirs["rmse"], seed=seed, path=args.path)
            stages = "  ".join(f"g{g} {r:.2e} @ {t:.1f}s" for g, r, t in mine["stages"])
            print(f"{tag} rpnkit  {stages}")
            if theirs is not None:
                if mine["reached"] is None:
                    print(f"{tag} rpnkit did not reach pykan's {theirs['rmse']:.2e} (best {mine['best']:.2e})")
                else:
                    ratio = mine["reached"] / theirs["time"]
                    print(
                        f"{tag} rpnkit reached pykan's {theirs['rmse']:.2e} after {mine['reached']:.1f}s vs "
                        f"{theirs['time']:.1f}s: ratio {ratio:.2f} (target <= 0.33)"
                    )
            print(flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
