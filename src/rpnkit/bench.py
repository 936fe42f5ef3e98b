"""rpnkit's benchmark suite (``rpnkit bench``): training-step time and peak memory, as ratios.

Every case is measured beside two baselines *in the same run, on the same machine*:

* the **materialise baseline**, written here: the reference system's method -- build the full
  kappa(x), build the dense W = psi(w) from the *same* parameters, then ``F.linear``;
* the **floor**: an ``nn.Linear`` MLP of the same dims (or ``F.conv2d`` / pykan's per-edge spline
  evaluation for the grid and KAN cases);
* for the RPN 2 heads, the torch kernels they stand for: ``nn.Conv2d`` for the grid head (32x32x3 images
  -> 16 channels, 3x3, batch 64), four ``nn.Linear`` + ``F.scaled_dot_product_attention`` for the
  bilinear head (512 tokens of width 64, 4 heads, batch 8), and for the graph head (64 -> 64 on a
  generated graph: 100,000 nodes / 1,000,000 edges, 20,000 / 200,000 with ``--quick``) a bare CSR
  product of the normalised adjacency (``torch.sparse.mm``) and torch_geometric's ``GCNConv``
  (default and ``cached=True``; skipped when torch_geometric is not installed).

Time is the median of repeated training steps (forward, backward, SGD step). Peak memory is the rise
of the process's resident set (VmHWM, reset before the step) during one training step, measured in a
fresh subprocess per case with glibc's mmap threshold fixed at 64 KiB, so that every tensor larger
than that is mapped on allocation and unmapped on free and the resident set follows the live tensors
(timings come from a separate subprocess whose allocator is tuned by
:func:`rpnkit.runtime.tune_cpu_allocator`, as in ``rpnkit train``; ``--default-allocator`` keeps
glibc's defaults, under which temporaries page-fault on every step).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["main", "CASES", "materialised_forward", "run_case"]

MNIST_DIMS = [784, 64, 64, 10]


# --- the baselines ------------------------------------------------------------------------------------


def materialised_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The reference method: full kappa(x), dense W from the same parameters, F.linear."""
    for layer in model.layers:
        outs = []
        for head in layer.heads:
            h = head.input_processing(x) if head.input_processing is not None else x
            z = head.transform(h)  # builds kappa(x)
            ys = [F.linear(z, psi.weight(), psi.bias) for psi in head.reconciliations]
            y = head.fusion(ys)
            if not head.remainder.is_zero:
                y = y + head.remainder(h)
            if head.output_processing is not None:
                y = head.output_processing(y)
            outs.append(y)
        x = layer.fusion(outs)
    return x


class Materialised(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        return materialised_forward(self.model, x)


def mlp(dims: list[int]) -> nn.Module:
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class PerEdgeKAN(nn.Module):
    """pykan's spline evaluation: a (batch, in, out) tensor of per-edge curves, then a sum over inputs."""

    def __init__(self, m: int, n: int, t: int = 5, d: int = 3) -> None:
        super().__init__()
        from .functional.spline import uniform_knots

        self.register_buffer("knots", uniform_knots(-1.0, 1.0, t, d).float())
        self.d = d
        self.coef = nn.Parameter(torch.randn(m, n, t + d) * (m * (t + d)) ** -0.5)

    def forward(self, x):
        from .functional.spline import bspline_basis

        basis = bspline_basis(x, self.knots, self.d)  # (b, in, K)
        curves = torch.einsum("bik,iok->bio", basis, self.coef)  # (b, in, out): one curve per edge
        return curves.sum(1)


class Conv(nn.Module):
    def __init__(self, h: int, w: int, c_in: int, c_out: int, k: int, bias: bool = False) -> None:
        super().__init__()
        self.shape = (c_in, h, w)
        self.conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)

    def forward(self, x):
        return self.conv(x.view(-1, *self.shape)).flatten(1)


class Attention(nn.Module):
    """The bilinear head's maths with torch's parts: four ``nn.Linear`` projections (no bias) around
    ``F.scaled_dot_product_attention`` over the L tokens of every sample."""

    def __init__(self, length: int, width: int, heads: int) -> None:
        super().__init__()
        self.length, self.width, self.heads = length, width, heads
        self.q, self.k, self.v, self.o = (nn.Linear(width, width, bias=False) for _ in range(4))

    def forward(self, x):
        X = x.view(-1, self.length, self.width)

        def split(t):
            return t.unflatten(-1, (self.heads, -1)).transpose(1, 2)

        a = F.scaled_dot_product_attention(split(self.q(X)), split(self.k(X)), split(self.v(X)))
        return self.o(a.transpose(1, 2).flatten(-2)).flatten(1)


#: (nodes, directed edges) of the generated graphs: the full run and ``--quick``
GRAPHS = {"100k": (100_000, 1_000_000), "20k": (20_000, 200_000)}
GRAPH_WIDTH = 64


def make_graph(nodes: int, edges: int, seed: int = 0) -> torch.Tensor:
    """(2, E) undirected edge list without self loops: E / 2 random pairs in both directions."""
    gen = torch.Generator().manual_seed(seed)
    half = edges // 2
    src = torch.randint(0, nodes, (half,), generator=gen)
    dst = (src + torch.randint(1, nodes, (half,), generator=gen)) % nodes  # dst != src
    return torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)


def normalised_adjacency(edge_index: torch.Tensor, nodes: int) -> torch.Tensor:
    """A_hat^T as CSR, A_hat = D^-1/2 (A + I) D^-1/2 (GCN's normalisation)."""
    import warnings

    loops = torch.arange(nodes)
    index = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
    A = torch.sparse_coo_tensor(index, torch.ones(index.shape[1]), (nodes, nodes), check_invariants=False).coalesce()
    i, v = A.indices(), A.values()
    deg = torch.zeros(nodes).index_add_(0, i[0], v).rsqrt()
    A = torch.sparse_coo_tensor(i, deg[i[0]] * v * deg[i[1]], (nodes, nodes), check_invariants=False).coalesce()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return A.t().coalesce().to_sparse_csr()


class CSRFloor(nn.Module):
    """``A_hat (X W^T) + b`` with one bare CSR product of the normalised adjacency (``torch.sparse.mm``),
    in the order that is cheapest for a first layer (X needs no gradient): the mix of X first, forward
    only, then ``F.linear``."""

    def __init__(self, size: str) -> None:
        super().__init__()
        nodes, edges = GRAPHS[size]
        self.AT = normalised_adjacency(make_graph(nodes, edges), nodes)
        self.lin = nn.Linear(GRAPH_WIDTH, GRAPH_WIDTH)

    def forward(self, x):
        return self.lin(torch.sparse.mm(self.AT, x))


class GCN(nn.Module):
    """torch_geometric's ``GCNConv`` (64 -> 64) on the generated graph."""

    def __init__(self, size: str, cached: bool) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv

        nodes, edges = GRAPHS[size]
        self.register_buffer("edge_index", make_graph(nodes, edges))
        self.conv = GCNConv(GRAPH_WIDTH, GRAPH_WIDTH, cached=cached)

    def forward(self, x):
        return self.conv(x, self.edge_index)


def _graph_head(size: str) -> nn.Module:
    import rpnkit as rk
    from rpnkit.nn import GraphHead

    nodes, edges = GRAPHS[size]
    head = GraphHead(GRAPH_WIDTH, GRAPH_WIDTH)
    rk.interdependence.attach_graph(head, make_graph(nodes, edges), nodes)
    return head


def _rpn2_grid_head() -> nn.Module:
    from rpnkit.nn import GridHead

    return GridHead(3 * 32 * 32, in_channels=3, out_channels=16, h=32, w=32)


def _bilinear_head() -> nn.Module:
    from rpnkit.nn import BilinearHead

    return BilinearHead(512 * 64, length=512, heads=4)


def _has_torch_geometric() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch_geometric") is not None


# --- cases --------------------------------------------------------------------------------------------


def _rpn(head: dict[str, Any] | list[dict[str, Any]], dims=None):
    import rpnkit as rk

    return rk.RPN(dims or MNIST_DIMS, head=head)


def _dual(blockwise: bool) -> list[dict[str, Any]]:
    name = "blockwise_dual_lphm" if blockwise else "dual_lphm"
    ps = [8, 8, 2]
    qs = [784, 64, 64]
    heads = []
    for p, q in zip(ps, qs):
        rec: dict[str, Any] = {"name": name, "rank": 5, "p": p}
        if not blockwise:
            rec["q"] = q
        heads.append({"expansion": {"name": "taylor", "degree": 2}, "reconciliation": rec})
    return heads


def _taylor(rec: Any) -> dict[str, Any]:
    return {"expansion": {"name": "taylor", "degree": 2}, "reconciliation": rec}


def _grid_head():
    import rpnkit as rk

    return rk.Head(
        784,
        8 * 784,
        expansion={"name": "cuboid_patch", "h": 28, "w": 28, "p_h": 1, "p_w": 1},
        reconciliation={"name": "shared_kernel", "positions": 784},
    )


# name -> (group, builder, input shape, batch); builders return a module
CASES: dict[str, tuple[str, Callable[[], nn.Module], int, int]] = {
    "mnist/mlp-floor": ("mnist", lambda: mlp(MNIST_DIMS), 784, 64),
    "mnist/taylor+identity": ("mnist", lambda: _rpn(_taylor("identity")), 784, 64),
    "mnist/taylor+identity:materialise": ("mnist", lambda: Materialised(_rpn(_taylor("identity"))), 784, 64),
    "mnist-b256/taylor+identity": ("mnist", lambda: _rpn(_taylor("identity")), 784, 256),
    "mnist-b256/taylor+identity:materialise": (
        "mnist",
        lambda: Materialised(_rpn(_taylor("identity"))),
        784,
        256,
    ),
    "mnist/taylor+lowrank2": ("mnist", lambda: _rpn(_taylor({"name": "lowrank", "rank": 2})), 784, 64),
    "mnist/taylor+lowrank2:materialise": (
        "mnist",
        lambda: Materialised(_rpn(_taylor({"name": "lowrank", "rank": 2}))),
        784,
        64,
    ),
    "mnist/taylor+blockwise_dual_lphm5": ("mnist", lambda: _rpn(_dual(True)), 784, 64),
    "mnist/taylor+blockwise_dual_lphm5:materialise": ("mnist", lambda: Materialised(_rpn(_dual(True))), 784, 64),
    "mnist/taylor+dual_lphm5": ("mnist", lambda: _rpn(_dual(False)), 784, 64),
    "mnist/taylor+dual_lphm5:materialise": ("mnist", lambda: Materialised(_rpn(_dual(False))), 784, 64),
    "kan/bspline-layer": (
        "kan",
        lambda: _rpn({"expansion": "bspline", "reconciliation": "identity"}, [128, 128]),
        128,
        256,
    ),
    "kan/bspline-layer:explicit": (
        "kan",
        lambda: _rpn({"expansion": "bspline", "reconciliation": "identity", "implicit": False}, [128, 128]),
        128,
        256,
    ),
    "kan/bspline-layer:recompute": (
        "kan",
        lambda: _rpn({"expansion": {"name": "bspline", "recompute": True}, "reconciliation": "identity"}, [128, 128]),
        128,
        256,
    ),
    "kan/per-edge": ("kan", lambda: PerEdgeKAN(128, 128), 128, 256),
    "grid/rpn2-grid-head": ("grid", _grid_head, 784, 64),
    "grid/rpn2-grid-head:materialise": ("grid", lambda: Materialised(_wrap_head(_grid_head())), 784, 64),
    "grid/conv2d-floor": ("grid", lambda: Conv(28, 28, 1, 8, 3), 784, 64),
    # RPN 2 heads against the torch kernels they stand for
    "rpn2-grid/grid-head": ("rpn2", _rpn2_grid_head, 3 * 32 * 32, 64),
    "rpn2-grid/conv2d": ("rpn2", lambda: Conv(32, 32, 3, 16, 3, bias=True), 3 * 32 * 32, 64),
    "rpn2-bilinear/bilinear-head": ("rpn2", _bilinear_head, 512 * 64, 8),
    "rpn2-bilinear/linear+sdpa": ("rpn2", lambda: Attention(512, 64, 4), 512 * 64, 8),
}
for _size, (_nodes, _) in GRAPHS.items():
    CASES.update(
        {
            f"graph-{_size}/graph-head": ("graph", lambda s=_size: _graph_head(s), GRAPH_WIDTH, _nodes),
            f"graph-{_size}/csr-floor": ("graph", lambda s=_size: CSRFloor(s), GRAPH_WIDTH, _nodes),
            f"graph-{_size}/gcnconv": ("graph", lambda s=_size: GCN(s, cached=False), GRAPH_WIDTH, _nodes),
            f"graph-{_size}/gcnconv-cached": ("graph", lambda s=_size: GCN(s, cached=True), GRAPH_WIDTH, _nodes),
        }
    )

#: the graph size each mode runs (the other's cases are left out)
GRAPH_SIZE = {"full": "100k", "quick": "20k"}


def selected_cases(quick: bool, patterns: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(the cases this run measures, notes on the cases left out): ``--quick`` runs the small graph,
    the full run the large one; the GCNConv cases need torch_geometric."""
    size = GRAPH_SIZE["quick" if quick else "full"]
    names, notes = [], []
    tg = _has_torch_geometric()
    for name in CASES:
        if name.startswith("graph-") and not name.startswith(f"graph-{size}/"):
            continue
        if patterns and not any(c in name for c in patterns):
            continue
        if "gcnconv" in name and not tg:
            notes.append(f"{name}: skipped (torch_geometric is not installed)")
            continue
        names.append(name)
    return names, notes


def _wrap_head(head):
    import rpnkit as rk

    return rk.RPN(layers=[rk.Layer(head.m, head.n, head=head)])


# --- measurement --------------------------------------------------------------------------------------


def _vm_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def run_case(name: str, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Measure one case in this process: median step time (ms) and peak RSS rise (MB).

    With ``repeats=0`` only the peak memory is measured.
    """
    torch.manual_seed(seed)
    group, builder, width, batch = CASES[name]
    model = builder()
    x = torch.rand(batch, width) * 2 - 1 if group != "mnist" else torch.rand(batch, width)
    with torch.no_grad():
        out_dim = model(x if group == "graph" else x[:2]).shape[-1]  # a graph head needs all its nodes
    target = torch.randint(0, out_dim, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        out = model(x)
        loss = F.cross_entropy(out, target)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):  # warm-up
        step()
    import gc

    gc.collect()
    peak_mb = None
    if _reset_peak():
        before = _vm_kb("VmRSS")
        step()
        peak_mb = (_vm_kb("VmHWM") - before) / 1024
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    params = sum(p.numel() for p in model.parameters())
    return {
        "case": name,
        "group": group,
        "ms": statistics.median(times) if times else None,
        "peak_mb": peak_mb,
        "params": params,
        "batch": batch,
    }


def _run_subprocess(
    name: str, repeats: int, env: dict[str, str] | None = None, tune_allocator: bool = False
) -> dict[str, Any]:
    tune = "import rpnkit.runtime as r; r.tune_cpu_allocator(); " if tune_allocator else ""
    code = f"{tune}import json, rpnkit.bench as b; print(json.dumps(b.run_case({name!r}, {repeats})))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"case": name, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measure_in_subprocess(name: str, repeats: int, tune_allocator: bool = True) -> dict[str, Any]:
    """Time in one fresh process (allocator tuned as in ``rpnkit train``), peak memory in another."""
    timed = _run_subprocess(name, repeats, tune_allocator=tune_allocator)
    if "error" in timed:
        return timed
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}
    sized = _run_subprocess(name, 0, env)
    timed["peak_mb"] = sized.get("peak_mb")
    if "error" in sized:
        timed["peak_error"] = sized["error"]
    return timed


def epoch_time(samples: int = 60_000, batch: int = 64) -> dict[str, Any]:
    """One epoch of a 60,000-sample MNIST-shaped run (synthetic data) of taylor + blockwise dual_lphm."""
    torch.manual_seed(0)
    model = _rpn(_dual(True))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=2e-4)
    X = torch.rand(samples, 784)
    y = torch.randint(0, 10, (samples,))
    start = time.perf_counter()
    for i in range(0, samples, batch):
        loss = F.cross_entropy(model(X[i : i + batch]), y[i : i + batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {
        "case": "epoch/taylor+blockwise_dual_lphm5",
        "seconds": time.perf_counter() - start,
        "samples": samples,
        "batch": batch,
    }


RATIOS = [
    # (label, case, reference) -> reference / case (>1: case is better) for time and memory
    ("taylor+identity vs materialise", "mnist/taylor+identity", "mnist/taylor+identity:materialise"),
    (
        "taylor+identity, batch 256, vs materialise",
        "mnist-b256/taylor+identity",
        "mnist-b256/taylor+identity:materialise",
    ),
    ("taylor+lowrank(2) vs materialise", "mnist/taylor+lowrank2", "mnist/taylor+lowrank2:materialise"),
    (
        "taylor+blockwise_dual_lphm(5) vs materialise",
        "mnist/taylor+blockwise_dual_lphm5",
        "mnist/taylor+blockwise_dual_lphm5:materialise",
    ),
    (
        "taylor+dual_lphm(5) (flat, vec-trick) vs materialise",
        "mnist/taylor+dual_lphm5",
        "mnist/taylor+dual_lphm5:materialise",
    ),
    ("bspline layer vs per-edge (pykan)", "kan/bspline-layer", "kan/per-edge"),
    ("bspline layer, recomputing backward vs per-edge", "kan/bspline-layer:recompute", "kan/per-edge"),
    ("bspline layer, recomputing vs storing the basis", "kan/bspline-layer:recompute", "kan/bspline-layer"),
    ("grid head vs materialise", "grid/rpn2-grid-head", "grid/rpn2-grid-head:materialise"),
]
FLOORS = [
    ("taylor+identity vs MLP floor", "mnist/taylor+identity", "mnist/mlp-floor"),
    ("taylor+lowrank(2) vs MLP floor", "mnist/taylor+lowrank2", "mnist/mlp-floor"),
    ("taylor+blockwise_dual_lphm(5) vs MLP floor", "mnist/taylor+blockwise_dual_lphm5", "mnist/mlp-floor"),
    ("grid head vs conv2d floor", "grid/rpn2-grid-head", "grid/conv2d-floor"),
]
#: (label, head case, baseline case): the RPN 2 heads against the torch kernels they stand for
RPN2 = [
    ("grid head vs nn.Conv2d (32x32x3 -> 16, 3x3, batch 64)", "rpn2-grid/grid-head", "rpn2-grid/conv2d"),
    (
        "bilinear head vs nn.Linear + SDPA (L 512, d 64, 4 heads, batch 8)",
        "rpn2-bilinear/bilinear-head",
        "rpn2-bilinear/linear+sdpa",
    ),
]
for _size, (_nodes, _edges) in GRAPHS.items():
    _graph = f"{_nodes // 1000}k nodes, {_edges / 1e6:g}M edges"
    RPN2 += [
        (f"graph head vs bare CSR A_hat X W ({_graph})", f"graph-{_size}/graph-head", f"graph-{_size}/csr-floor"),
        (f"graph head vs GCNConv ({_graph})", f"graph-{_size}/graph-head", f"graph-{_size}/gcnconv"),
        (
            f"graph head vs GCNConv cached=True ({_graph})",
            f"graph-{_size}/graph-head",
            f"graph-{_size}/gcnconv-cached",
        ),
    ]


def render(results: list[dict[str, Any]], epoch: dict[str, Any] | None) -> str:
    by = {r["case"]: r for r in results}
    lines = ["| case | step median (ms) | peak memory rise (MB) | parameters |", "|---|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['case']} | error: {r['error']} | | |")
            continue
        peak = "n/a" if r["peak_mb"] is None else f"{r['peak_mb']:.1f}"
        lines.append(f"| {r['case']} | {r['ms']:.2f} | {peak} | {r['params']:,} |")
    lines += ["", "| comparison | speed-up (x) | memory saving (x) |", "|---|---:|---:|"]
    for label, case, ref in RATIOS:
        a, b = by.get(case), by.get(ref)
        if not a or not b or "error" in a or "error" in b:
            continue
        if a["peak_mb"] is None or b["peak_mb"] is None:
            mem = "n/a"
        elif a["peak_mb"] < 0.1:
            mem = f"> {b['peak_mb'] / 0.1:.0f} (rise < 0.1 MB)"
        else:
            mem = f"{b['peak_mb'] / a['peak_mb']:.1f}"
        lines.append(f"| {label} | {b['ms'] / a['ms']:.1f} | {mem} |")
    lines += ["", "| comparison with the floor | slow-down (x) |", "|---|---:|"]
    for label, case, ref in FLOORS:
        a, b = by.get(case), by.get(ref)
        if a and b and "error" not in a and "error" not in b:
            lines.append(f"| {label} | {a['ms'] / b['ms']:.1f} |")
    rpn2 = []
    for label, case, ref in RPN2:
        a, b = by.get(case), by.get(ref)
        if a and b and "error" not in a and "error" not in b:
            if a["peak_mb"] is None or b["peak_mb"] is None or b["peak_mb"] < 0.1:
                mem = "n/a"
            else:
                mem = f"{a['peak_mb'] / b['peak_mb']:.2f}"
            rpn2.append(f"| {label} | {a['ms'] / b['ms']:.2f} | {mem} |")
    if rpn2:
        lines += [
            "",
            "| RPN 2 head vs the kernel it stands for | time (head / baseline) | peak memory (head / baseline) |",
            "|---|---:|---:|",
            *rpn2,
        ]
    if epoch:
        lines += [
            "",
            f"One epoch ({epoch['samples']:,} samples, batch {epoch['batch']}, AdamW) of the "
            f"MNIST-shaped taylor + blockwise dual_lphm model: **{epoch['seconds']:.1f} s**.",
        ]
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in results if "error" not in r]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * len(ok) + 1.5))
    names = [r["case"] for r in ok]
    axes[0].barh(names, [r["ms"] for r in ok])
    axes[0].set_xscale("log")
    axes[0].set_xlabel("training step, median ms (log)")
    axes[1].barh(names, [max(r["peak_mb"] or 0.0, 0.1) for r in ok])
    axes[1].set_xscale("log")
    axes[1].set_xlabel("peak memory rise, MB (log)")
    axes[1].set_yticklabels([])
    for ax in axes:
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rpnkit bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer repeats, no epoch timing, the {GRAPH_SIZE['quick']}-node graph instead of the "
        f"{GRAPH_SIZE['full']}-node one",
    )
    parser.add_argument("--cases", nargs="*", help="only these cases (substring match)")
    parser.add_argument("--out", type=Path, help="write results.json, results.md and results.png here")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="time with glibc's malloc defaults instead of rpnkit.runtime.tune_cpu_allocator()",
    )
    args = parser.parse_args(argv)
    tune = not args.default_allocator
    if tune:
        from .runtime import tune_cpu_allocator

        tune_cpu_allocator()  # for the epoch timing in this process
    repeats = args.repeats or (3 if args.quick else 30)
    names, notes = selected_cases(args.quick, args.cases)
    for note in notes:
        print(note, flush=True)
    results = []
    for name in names:
        result = _measure_in_subprocess(name, repeats, tune_allocator=tune)
        results.append(result)
        if "error" in result:
            shown = result["error"]
        else:
            peak = "n/a" if result["peak_mb"] is None else f"{result['peak_mb']:.1f} MB"
            shown = f"{result['ms']:.2f} ms, {peak}" + (
                f" (memory run: {result['peak_error']})" if "peak_error" in result else ""
            )
        print(f"{name:55s} {shown}", flush=True)
    epoch = None if args.quick or args.cases else epoch_time()
    text = render(results, epoch)
    print()
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(
            json.dumps(
                {"results": results, "epoch": epoch, "threads": torch.get_num_threads(), "torch": torch.__version__},
                indent=2,
            )
        )
        (args.out / "results.md").write_text(text + "\n")
        try:
            plot(results, args.out / "results.png")
        except ImportError:
            print("matplotlib is not installed: no plot", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    raise SystemExit(main())
