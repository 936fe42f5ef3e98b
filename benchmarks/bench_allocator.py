"""Training-step time with glibc's malloc defaults and with rpnkit.runtime.tune_cpu_allocator().

mallopt settings cannot be undone inside a process, so every measurement runs in a fresh
subprocess; the two modes alternate ``--rounds`` times so that machine noise hits both alike. Each
subprocess times the median of 60 training steps (AdamW, batch 64, after 5 warm-up steps) of a
784-64-10 RPN per expansion.

Run ``python benchmarks/bench_allocator.py`` (``--rounds 1`` for a short run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

EXPANSIONS = ["bspline", "chebyshev", "ricker_wavelet"]


def steps(tuned: bool) -> dict[str, float]:
    """Median training-step milliseconds per expansion, in this process."""
    if tuned:
        import rpnkit.runtime

        rpnkit.runtime.tune_cpu_allocator()
    import torch

    import rpnkit as rk

    torch.manual_seed(0)
    result = {}
    for name in EXPANSIONS:
        model = rk.RPN([784, 64, 10], head={"expansion": name})
        opt = torch.optim.AdamW(model.parameters(), 1e-3)
        x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))

        for _ in range(5):
            _step(model, opt, x, y)
        times = []
        for _ in range(60):
            start = time.perf_counter()
            _step(model, opt, x, y)
            times.append(time.perf_counter() - start)
        result[name] = 1e3 * statistics.median(times)
    return result


def _step(model, opt, x, y) -> None:
    import torch

    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def main(rounds: int = 3) -> None:
    print(f"{'allocator':<9}  " + "  ".join(f"{name + ' ms':>17}" for name in EXPANSIONS))
    for _ in range(rounds):
        for tuned in (False, True):
            code = f"import json, bench_allocator as b; print(json.dumps(b.steps({tuned})))"
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=sys.path[0]
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{'tuned' if tuned else 'default':<9}  " + "  ".join(f"{row[n]:>17.2f}" for n in EXPANSIONS))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating default/tuned pairs")
    main(parser.parse_args().rounds)
