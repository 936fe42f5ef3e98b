"""RPN 2 models against their classic twins of the same shape: one training step, as ratios in one run.

A training step is zero_grad + forward + cross-entropy + backward + Adam step. Pairs (same widths,
same parameter counts):

* ``cnn`` (28x28x1 images, convs [32, 64] 3x3 'same', 2x2 max pools, fc [128], 10 classes, batch 64)
  vs an ``nn.Conv2d`` / ``nn.MaxPool2d`` / ``nn.Linear`` stack; target: ratio <= 1.5;
* ``gcn`` (a 2,708-node graph with ~10,500 edges like Cora, 1,433 -> 16 -> 7) vs a 2-layer
  ``torch_geometric`` ``GCNConv`` network (skipped without torch_geometric), also against
  ``GCNConv(cached=True)``; target: ratio <= 1 against the default GCNConv;
* ``transformer`` (64 tokens, width 64, 4 heads, 2 layers, ff 256, batch 32, mean pooling) vs an
  ``nn.Linear`` embedding + positions + ``nn.TransformerEncoder`` + mean + ``nn.Linear``; target:
  ratio <= 2;
* ``kan`` (rpnkit's :class:`~rpnkit.models.rpn1.KAN` layer, B-splines + SiLU base branch) vs pykan's
  ``KANLayer`` of the same in/out widths, grid size 5 and spline order 3: 64 -> 64 at batch 256 and
  784 -> 64 at batch 64, a training step (zero_grad + forward + MSE + backward + Adam step) and a
  forward under ``no_grad``; target: ratio <= 0.5 (at least 2x faster). pykan is a bench-only extra
  (``pip install 'rpnkit[bench]'``); without it the comparison is skipped.

Run: ``python benchmarks/bench_models.py [--threads N] [--repeats R] [--cpu-time] [--only NAME]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import paired_medians, use_cpu_time  # noqa: E402

from rpnkit.interdependence import attach_graph  # noqa: E402
from rpnkit.models.rpn1 import KAN  # noqa: E402
from rpnkit.models.rpn2 import CNN, GCN, Transformer  # noqa: E402


def train_step(model: nn.Module, x, y, mask=None):
    """One training step of ``model`` on (x, y) (the rows in ``mask`` only, for a graph)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run():
        opt.zero_grad(set_to_none=True)
        out = model(x)
        loss = F.cross_entropy(out if mask is None else out[mask], y if mask is None else y[mask])
        loss.backward()
        opt.step()

    return run


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def report(name: str, mine: float, theirs: float, twin: str, target: str, sizes: tuple[int, int]) -> float:
    ratio = mine / theirs
    print(
        f"{name:12s} {mine * 1e3:8.2f} ms   {twin:28s} {theirs * 1e3:8.2f} ms   ratio {ratio:5.2f}   ({target}; "
        f"parameters {sizes[0]:,} vs {sizes[1]:,})"
    )
    return ratio


# ------------------------------------------------------------------------------------------ cnn


def bench_cnn(repeats: int) -> dict[str, float]:
    b, side, classes = 64, 28, 10
    torch.manual_seed(0)
    model = CNN(in_channels=1, h=side, conv_channels=[32, 64], kernel=3, pool=2, fc_dims=[128], classes=classes)
    twin = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, classes),
    )
    x = torch.rand(b, side * side)
    y = torch.randint(0, classes, (b,))
    mine, theirs = paired_medians(
        train_step(model, x, y), train_step(twin, x.view(b, 1, side, side), y), repeats, warmup=5
    )
    return {"cnn": report("cnn", mine, theirs, "nn.Conv2d CNN", "target <= 1.5", (count(model), count(twin)))}


# ------------------------------------------------------------------------------------------ gcn


def bench_gcn(repeats: int) -> dict[str, float]:
    try:
        from torch_geometric.nn import GCNConv
    except ImportError:
        print("gcn          skipped: torch_geometric is not installed")
        return {}
    nodes, features, hidden, classes = 2708, 1433, 16, 7
    gen = torch.Generator().manual_seed(0)
    src = torch.randint(0, nodes, (5300,), generator=gen)
    dst = (src + torch.randint(1, nodes, (5300,), generator=gen)) % nodes
    edges = torch.unique(torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1), dim=1)
    x = (torch.rand(nodes, features, generator=gen) < 0.0127).float()  # sparse bag-of-words-like features
    y = torch.randint(0, classes, (nodes,), generator=gen)
    mask = torch.zeros(nodes, dtype=torch.bool)
    mask[:140] = True
    torch.manual_seed(0)
    model = GCN([features, hidden, classes], dropout=0.5)
    attach_graph(model, edges, nodes)

    class TwoLayerGCN(nn.Module):
        def __init__(self, cached: bool) -> None:
            super().__init__()
            self.conv1 = GCNConv(features, hidden, cached=cached)
            self.conv2 = GCNConv(hidden, classes, cached=cached)

        def forward(self, inputs):
            h = F.dropout(F.relu(self.conv1(inputs, edges)), 0.5, self.training)
            return self.conv2(h, edges)

    results = {}
    for cached in (False, True):
        twin = TwoLayerGCN(cached)
        mine, theirs = paired_medians(train_step(model, x, y, mask), train_step(twin, x, y, mask), repeats, warmup=5)
        label = f"GCNConv x2 (cached={cached})"
        target = "target <= 1" if not cached else "for reference"
        results["gcn" if not cached else "gcn_cached"] = report(
            "gcn", mine, theirs, label, target, (count(model), count(twin))
        )
    return results


# ------------------------------------------------------------------------------------------ transformer


class EncoderTwin(nn.Module):
    """nn.Linear embedding + learned positions + nn.TransformerEncoder + mean over tokens + nn.Linear."""

    def __init__(self, length: int, width: int, heads: int, layers: int, ff: int, classes: int) -> None:
        super().__init__()
        self.length, self.width = length, width
        self.embed = nn.Linear(width, width)
        self.position = nn.Parameter(torch.randn(length, width))
        layer = nn.TransformerEncoderLayer(width, heads, ff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(width, classes)

    def forward(self, x):
        tokens = self.embed(x.view(-1, self.length, self.width)) + self.position
        return self.out(self.encoder(tokens).mean(1))


def bench_transformer(repeats: int) -> dict[str, float]:
    b, length, width, heads, layers, ff, classes = 32, 64, 64, 4, 2, 256, 10
    torch.manual_seed(0)
    model = Transformer(length=length, width=width, heads=heads, layers=layers, ff_dim=ff, classes=classes)
    twin = EncoderTwin(length, width, heads, layers, ff, classes)
    x = torch.randn(b, length * width)
    y = torch.randint(0, classes, (b,))
    mine, theirs = paired_medians(train_step(model, x, y), train_step(twin, x, y), repeats, warmup=5)
    sizes = (count(model), count(twin))
    return {"transformer": report("transformer", mine, theirs, "nn.TransformerEncoder", "target <= 2", sizes)}


# ------------------------------------------------------------------------------------------ kan

#: (inputs, outputs, batch) of the kan comparisons
KAN_SHAPES = ((64, 64, 256), (784, 64, 64))


class _FirstOutput(nn.Module):
    """pykan's ``KANLayer`` returns (y, preacts, postacts, postspline); keep y."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)[0]


def regression_step(model: nn.Module, x, y):
    """One training step of ``model`` on (x, y) with the mean squared error."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)

    def run():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    return run


def forward_only(model: nn.Module, x):
    def run():
        with torch.no_grad():
            model(x)

    return run


def bench_kan(repeats: int) -> dict[str, float]:
    try:
        from kan import KANLayer
    except ImportError:
        print("kan          skipped: pykan is not installed (pip install 'rpnkit[bench]')")
        return {}
    results = {}
    grid, order = 5, 3
    for m, n, b in KAN_SHAPES:
        torch.manual_seed(0)
        model = KAN([m, n], grid_size=grid, spline_order=order)
        twin = _FirstOutput(KANLayer(in_dim=m, out_dim=n, num=grid, k=order))
        x = torch.rand(b, m) * 2 - 1
        y = torch.randn(b, n)
        sizes = (count(model), sum(p.numel() for p in twin.parameters() if p.requires_grad))
        label = f"KANLayer {m}->{n} b{b}"
        mine, theirs = paired_medians(regression_step(model, x, y), regression_step(twin, x, y), repeats, warmup=5)
        results[f"kan_{m}_{n}"] = report("kan step", mine, theirs, label, "target <= 0.5", sizes)
        mine, theirs = paired_medians(forward_only(model, x), forward_only(twin, x), repeats, warmup=5)
        results[f"kan_{m}_{n}_forward"] = report("kan forward", mine, theirs, label, "target <= 0.5", sizes)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (e.g. 1)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--cpu-time", action="store_true", help="time with process CPU time (use with --threads 1)")
    parser.add_argument("--only", choices=["cnn", "gcn", "transformer", "kan"], default=None)
    args = parser.parse_args()
    use_cpu_time(args.cpu_time)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, training steps, median of {args.repeats}")
    ratios: dict[str, float] = {}
    for name, bench in (("cnn", bench_cnn), ("gcn", bench_gcn), ("transformer", bench_transformer), ("kan", bench_kan)):
        if args.only in (None, name):
            ratios.update(bench(args.repeats))
    limits = {"cnn": 1.5, "gcn": 1.0, "transformer": 2.0}
    limits.update({key: 0.5 for key in ratios if key.startswith("kan_")})
    failed = [k for k, v in ratios.items() if k in limits and v > limits[k]]
    print("all ratios within their targets" if not failed else f"over target: {', '.join(failed)}")


if __name__ == "__main__":
    main()
