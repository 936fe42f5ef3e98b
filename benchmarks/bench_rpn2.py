"""RPN 2 heads against the torch kernels they stand for: forward + backward times as ratios, one run.

* grid head (32x32x3 images, 16 output channels, 3x3 "same", batch 64) vs ``F.conv2d``;
* bilinear head (sequence 512, width 64, batch 8) vs ``F.scaled_dot_product_attention`` on q, k, v
  (the core alone) and vs the same projections done with ``F.linear`` + SDPA;
* the largest tensor the grid head's autograd graph keeps alive (saved tensors), against the output
  and against the dense (b, patches, patch_size) im2col copy it never builds.

Run: ``python benchmarks/bench_rpn2.py [--threads N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import paired_medians, use_cpu_time  # noqa: E402

from rpnkit.nn import BilinearHead, GridHead  # noqa: E402


def fwd_bwd(fn, *inputs):
    def run():
        for t in inputs:
            t.grad = None
        fn().sum().backward()

    return run


def largest_saved(fn, x) -> int:
    """Elements of the largest tensor saved for backward while running fn(x)."""
    sizes = [0]

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x).sum()
    return max(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--cpu-time", action="store_true", help="time with process CPU time (use with --threads 1)")
    args = parser.parse_args()
    use_cpu_time(args.cpu_time)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, median of {args.repeats}")

    # ---- grid head vs conv2d
    b, c_in, c_out, side = 64, 3, 16, 32
    head = GridHead(c_in * side * side, in_channels=c_in, out_channels=c_out, h=side, w=side)
    weight = head.kernel().detach().clone().requires_grad_()
    bias = torch.zeros(c_out, requires_grad=True)
    x = torch.randn(b, c_in * side * side, requires_grad=True)
    x4 = x.detach().view(b, c_in, side, side).clone().requires_grad_()
    t_head, t_conv = paired_medians(
        fwd_bwd(lambda: head(x), x, *head.parameters()),
        fwd_bwd(lambda: F.conv2d(x4, weight, bias, padding=1), x4, weight, bias),
        args.repeats,
    )
    out = b * head.n
    im2col = b * head.num_patches * c_in * head.patch_size
    saved = largest_saved(head, x)
    saved_conv = largest_saved(lambda t: F.conv2d(t.view(b, c_in, side, side), weight, bias, padding=1), x)
    print(f"grid head   {t_head * 1e3:8.2f} ms   F.conv2d {t_conv * 1e3:8.2f} ms   ratio {t_head / t_conv:5.2f}")
    print(
        f"  largest saved tensor: grid head {saved:,} elements, F.conv2d {saved_conv:,}; output {out:,}; "
        f"a dense (b, P, C_in ps) patch copy would be {im2col:,} ({im2col / out:.2f}x the output)"
    )

    # ---- bilinear head vs SDPA
    for heads in (1, 4):
        bench_attention(8, 512, 64, heads, args.repeats)


def bench_attention(b: int, L: int, d: int, heads: int, repeats: int) -> None:
    att = BilinearHead(L * d, length=L, heads=heads)
    x = torch.randn(b, L * d, requires_grad=True)
    X = x.detach().view(b, L, d)

    def split(t):
        return t.view(b, L, heads, d // heads).transpose(1, 2)

    q, k, v = (split(X).clone().requires_grad_() for _ in range(3))
    Ws = [psi.W.detach().clone().requires_grad_() for psi in (att.query, att.key, att.value, att.output)]
    X2 = X.clone().requires_grad_()

    def manual():
        a = F.scaled_dot_product_attention(*(split(F.linear(X2, W)) for W in Ws[:3]))
        return F.linear(a.transpose(1, 2).reshape(b, L, d), Ws[3])

    head_run = fwd_bwd(lambda: att(x), x, *att.parameters())
    t_att, t_sdpa = paired_medians(head_run, fwd_bwd(lambda: F.scaled_dot_product_attention(q, k, v), q, k, v), repeats)
    t_att2, t_manual = paired_medians(head_run, fwd_bwd(manual, X2, *Ws), repeats)
    print(
        f"bilinear head (L={L}, d={d}, heads={heads}) {t_att * 1e3:8.2f} ms   SDPA core {t_sdpa * 1e3:8.2f} ms   "
        f"ratio {t_att / t_sdpa:5.2f};   vs F.linear + SDPA {t_manual * 1e3:8.2f} ms ratio {t_att2 / t_manual:5.2f}"
    )


if __name__ == "__main__":
    main()
