"""RPN 2 graph head against torch_geometric's GCNConv and a bare CSR product: forward + backward times.

A generated undirected graph (default 100,000 nodes, 1,000,000 directed edges = 500,000 random pairs in
both directions, no self loops), node features 64 -> 64, all timed in one run as ratios to the graph head:

* the graph head (``GraphHead``: symmetric normalisation with self loops, dense W, bias; its operator
  cached after the first call);
* ``torch_geometric.nn.GCNConv`` (default ``cached=False``: it renormalises every call) and with
  ``cached=True`` (skipped cleanly without torch_geometric);
* the bare CSR product ``A_hat @ Z`` of the normalised adjacency (Z requiring grad), with torch's own
  autograd (which transposes the CSR matrix in every backward) and with the cached transpose
  (:func:`rpnkit.nn.graph.csr_mix`: the floor the head approaches);
* the order of the head's two linear maps (psi first, ``A_hat (X W)``, vs the mix first) at 64 -> 64
  and at a narrowing 128 -> 16.

Memory: the largest tensor the head's autograd graph saves, the head's cached operators, and the peak
resident memory (``ru_maxrss``) each variant adds, measured in a fresh subprocess per variant; none is
O(N^2) (an (N, N) float32 matrix would be 40 GB).

Run: ``python benchmarks/bench_graph.py [--nodes N] [--edges E] [--threads T] [--repeats R] [--no-memory]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import paired_medians, use_cpu_time  # noqa: E402

import rpnkit as rk  # noqa: E402
from rpnkit.nn.graph import GraphHead, csr_mix  # noqa: E402

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")

try:
    from torch_geometric.nn import GCNConv
except ImportError:  # pragma: no cover - optional
    GCNConv = None


def make_graph(nodes: int, edges: int, seed: int = 0) -> torch.Tensor:
    """(2, E) undirected edge list without self loops: E / 2 random pairs in both directions."""
    gen = torch.Generator().manual_seed(seed)
    half = edges // 2
    src = torch.randint(0, nodes, (half,), generator=gen)
    shift = torch.randint(1, nodes, (half,), generator=gen)  # dst != src
    dst = (src + shift) % nodes
    return torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)


def normalised_csr(edge_index: torch.Tensor, nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A_hat^T, A_hat) as CSR, A_hat = D^-1/2 (A + I) D^-1/2."""
    loops = torch.arange(nodes)
    index = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
    A = torch.sparse_coo_tensor(index, torch.ones(index.shape[1]), (nodes, nodes), check_invariants=False).coalesce()
    i, v = A.indices(), A.values()
    deg = torch.zeros(nodes).index_add_(0, i[0], v).rsqrt()
    A = torch.sparse_coo_tensor(i, deg[i[0]] * v * deg[i[1]], (nodes, nodes), check_invariants=False).coalesce()
    return A.t().coalesce().to_sparse_csr(), A.to_sparse_csr()


def fwd_bwd(fn, *leaves):
    def run():
        for t in leaves:
            t.grad = None
        fn().sum().backward()

    return run


def largest_saved(fn) -> int:
    sizes = [0]

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn().sum()
    return max(sizes)


def build(variant: str, nodes: int, edges: int, width: int, input_grad: bool):
    """(callable running one forward + backward, module or None) for one variant.

    ``input_grad``: the node features require a gradient (a hidden layer) or not (a first layer).
    """
    torch.manual_seed(0)
    ei = make_graph(nodes, edges)
    x = torch.randn(nodes, width, requires_grad=input_grad)
    leaves = [x] if input_grad else []
    if variant == "head":
        head = GraphHead(width, width)
        rk.interdependence.attach_graph(head, ei, nodes)
        return fwd_bwd(lambda: head(x), *head.parameters(), *leaves), head
    if variant.startswith("gcnconv"):
        conv = GCNConv(width, width, cached=variant.endswith("cached"))
        return fwd_bwd(lambda: conv(x, ei), *conv.parameters(), *leaves), conv
    AT, A = normalised_csr(ei, nodes)
    z = x.detach().clone().requires_grad_()
    if variant == "csr_native":
        return fwd_bwd(lambda: torch.sparse.mm(AT, z), z), None
    return fwd_bwd(lambda: csr_mix(AT, A, z), z), None


def _peak_kib() -> int:
    """The peak resident memory (VmHWM, KiB; ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:  # pragma: no cover
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _current_kib() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:  # pragma: no cover
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(variant: str, nodes: int, edges: int, width: int) -> None:
    run, _ = build(variant, nodes, edges, width, input_grad=True)
    try:  # reset the peak to the current resident size (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # pragma: no cover
        pass
    before = _current_kib()
    run()
    run()
    print(json.dumps({"added_mb": (_peak_kib() - before) / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cpu-time", action="store_true", help="time with process CPU time (use with --threads 1)")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-variant memory subprocesses")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args.memory_child, args.nodes, args.edges, args.width)
        return
    use_cpu_time(args.cpu_time)
    N, E, w = args.nodes, args.edges, args.width
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, median of {args.repeats}")
    print(f"graph: {N:,} nodes, {E:,} directed edges (+ {N:,} self loops), features {w} -> {w}")

    variants = ["gcnconv", "gcnconv_cached"] if GCNConv is not None else []
    variants += ["csr_native", "csr_cached_transpose"]
    if GCNConv is None:
        print("torch_geometric not installed: GCNConv skipped")
    names = {
        "gcnconv": "GCNConv (cached=False, default)",
        "gcnconv_cached": "GCNConv (cached=True)",
        "csr_native": "CSR A_hat @ Z, torch autograd",
        "csr_cached_transpose": "CSR A_hat @ Z, cached transpose",
    }
    head = None
    for input_grad in (True, False):
        where = "hidden layer: X requires grad" if input_grad else "first layer: X needs no grad"
        head_run, head = build("head", N, E, w, input_grad)
        head_run()  # builds and caches the operator
        t_head, rows = None, []
        for variant in variants:
            if variant.startswith("csr") and not input_grad:
                continue
            run, _ = build(variant, N, E, w, input_grad)
            a, b = paired_medians(head_run, run, args.repeats, warmup=2)
            t_head = a if t_head is None else min(t_head, a)
            rows.append((variant, b))
        print(f"\n{where}\n  {'graph head':<34} {t_head * 1e3:8.1f} ms")
        for variant, t in rows:
            print(f"  {names[variant]:<34} {t * 1e3:8.1f} ms   (this / head = {t / t_head:.2f}x)")

    # the order of the two linear maps
    print("\norder of psi and the mix (forward + backward):")
    AT, A = normalised_csr(make_graph(N, E), N)
    for d_in, d_out in ((w, w), (2 * w, w // 4)):
        x = torch.randn(N, d_in)
        W = torch.randn(d_out, d_in, requires_grad=True)
        psi_first = fwd_bwd(lambda: csr_mix(AT, A, F.linear(x, W)), W)  # noqa: B023
        mix_first = fwd_bwd(lambda: F.linear(csr_mix(AT, A, x), W), W)  # noqa: B023
        a, b = paired_medians(psi_first, mix_first, max(3, args.repeats // 2), warmup=1)
        print(f"  {d_in:>4} -> {d_out:<4} psi first {a * 1e3:8.1f} ms   mix first {b * 1e3:8.1f} ms")

    # memory
    saved = largest_saved(lambda: head(torch.randn(N, w)))
    op = head.instance_interdependence.operator(N, "cpu", torch.float32)
    ops = [(op.AT, op.A)]
    op_bytes = sum(
        m.values().numel() * m.values().element_size() + m.col_indices().numel() * 8 + m.crow_indices().numel() * 8
        for pair in ops
        for m in pair
    )
    print("\nmemory:")
    print(f"  largest tensor saved for backward by the head: {saved:,} elements (N * width = {N * w:,})")
    print(f"  the head's cached CSR operators (A_hat^T and A_hat): {op_bytes / 2**20:.1f} MiB")
    print(f"  a dense (N, N) float32 matrix would be {N * N * 4 / 2**30:.1f} GiB")
    if not args.no_memory:
        for variant in ["head", *variants]:
            cmd = [sys.executable, __file__, "--memory-child", variant, "--nodes", str(N), "--edges", str(E)]
            cmd += ["--width", str(w)] + (["--threads", str(args.threads)] if args.threads else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            info = json.loads(out)
            print(
                f"  peak RSS added by two forward + backward passes (X requires grad), {variant:<22} "
                f"{info['added_mb']:8.1f} MiB"
            )


if __name__ == "__main__":
    main()
