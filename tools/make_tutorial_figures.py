"""Make the pictures of the tutorials (docs/tutorials/img/*.png) by running their experiments.

    python tools/make_tutorial_figures.py            # the tutorials' settings; commit the PNGs
    python tools/make_tutorial_figures.py --tiny --out DIR   # a seconds-long smoke run (tests/test_tutorials.py)

The experiments are those of the tutorial pages (whose code blocks the tests run); the figures are
committed rather than made at docs build time, to keep `mkdocs build` fast.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "tutorials" / "img"
#: The ranks swept per reconciliation (a dual LPHM of a 10 x 4,160 W allows ranks up to 5).
RANKS = {
    "identity": (None,),
    "lowrank": (1, 2, 4, 8),
    "dual_lphm": (1, 2, 3, 4, 5),
    "blockwise_dual_lphm": (1, 2, 3, 4, 5),
}
FAMILIES = ("identity", "lowrank", "dual_lphm", "blockwise_dual_lphm")


def _run(experiment: dict, plots: bool = False):
    from rpnkit.train import run

    experiment["output"] = {"dir": tempfile.mkdtemp(prefix="rpnkit-tutorial-"), "plots": plots}
    return run(experiment, quiet=True)


def function_fit(out: Path, tiny: bool) -> None:
    """function-fitting.md: C.13 by two degree-3 Taylor layers; the run's own fit and loss plots."""
    experiment = {
        "name": "function-c13",
        "model": {
            "dims": [2, 2, 1],
            "head": {
                "expansion": {"name": "taylor", "degree": 3},
                "reconciliation": {"name": "identity", "bias": True},
                "remainder": "linear",
            },
        },
        "data": {
            "name": "composite",
            "equation": "C.13",
            "num": 200 if tiny else 1000,
            "test_fraction": 0.5,
            "seed": 0,
        },
        "train": {
            "epochs": 2 if tiny else 10,
            "batch_size": 500,
            "loss": "mse",
            "seed": 0,
            "optimizer": {
                "name": "lbfgs",
                "lr": 1,
                "max_iter": 20,
                "history_size": 50,
                "line_search_fn": "strong_wolfe",
            },
        },
        "metrics": ["mse", "r2"],
    }
    result = _run(experiment, plots=True)
    shutil.copy(Path(result.run_dir) / "plots" / "function.png", out / "function_fit.png")
    shutil.copy(Path(result.run_dir) / "plots" / "loss.png", out / "function_loss.png")


def tabular_loss(out: Path, tiny: bool) -> None:
    """tabular.md: the one-layer quadratic model on pima_diabetes; its loss plot."""
    experiment = {
        "name": "pima",
        "model": {
            "dims": ["auto", "auto"],
            "head": {
                "expansion": {"name": "taylor", "degree": 2},
                "reconciliation": {"name": "identity", "bias": True},
            },
        },
        "data": {"name": "pima_diabetes", "test_fraction": 0.2, "val_fraction": 0.2, "seed": 0},
        "train": {
            "epochs": 2 if tiny else 40,
            "batch_size": 32,
            "optimizer": {"name": "adam", "lr": 1e-2},
            "early_stopping": {"patience": 10, "monitor": "val_loss"},
            "seed": 0,
        },
        "metrics": ["accuracy", "f1_macro"],
    }
    result = _run(experiment, plots=True)
    shutil.copy(Path(result.run_dir) / "plots" / "loss.png", out / "tabular_loss.png")


def reconciliation_tradeoff(out: Path, tiny: bool) -> dict[str, list[tuple[int, float]]]:
    """digits-reconciliation.md: test accuracy against parameters, per reconciliation and rank."""
    import rpnkit as rk

    points: dict[str, list[tuple[int, float]]] = {}
    for family in FAMILIES:
        for rank in RANKS[family][:1] if tiny else RANKS[family]:
            reconciliation = {"name": family} if rank is None else {"name": family, "rank": rank}
            model = {
                "dims": [64, 10],
                "head": {"expansion": {"name": "taylor", "degree": 2}, "reconciliation": reconciliation},
            }
            experiment = {
                "name": "digits-" + family,
                "model": model,
                "data": {"name": "digits", "test_fraction": 0.2, "seed": 0},
                "train": {
                    "epochs": 1 if tiny else 10,
                    "batch_size": 64,
                    "optimizer": {"name": "adam", "lr": 2e-3},
                    "seed": 0,
                },
                "metrics": ["accuracy"],
            }
            parameters = sum(p.numel() for p in rk.build_model(model).parameters())
            accuracy = _run(experiment).test["accuracy"]
            points.setdefault(family, []).append((parameters, accuracy))
            print(f"{family:20s} rank {rank!s:4s} {parameters:6d} parameters  accuracy {accuracy:.3f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=100)
    for family, values in points.items():
        xs, ys = zip(*values)
        ax.plot(xs, ys, marker="o", label=family)
        if family != "identity" and not tiny:
            for (x, y), rank in zip(values, RANKS[family]):
                ax.annotate(f"r={rank}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("parameters (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title("digits, one taylor(2) layer 64 -> 10, 10 epochs", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "reconciliation_tradeoff.png")
    plt.close(fig)
    return points


def gcn_curves(out: Path, tiny: bool) -> None:
    """rpn2.md: test accuracy per epoch on the SBM graph, with and without the graph interdependence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=100)
    for label, interdependence in (("gcn (graph)", "graph"), ("no graph (per-node MLP)", None)):
        curve: list[float] = []

        def record(trainer, epoch, record, curve=curve):
            curve.append(trainer.evaluate(trainer.batches.data, "test")["accuracy"])

        experiment = {
            "name": "sbm-gcn",
            "model": {"name": "gcn", "dims": ["auto", 16, "auto"], "dropout": 0.0, "interdependence": interdependence},
            "data": {"name": "sbm", "num_nodes": 300, "feature_noise": 2.0, "seed": 0},
            "train": {"epochs": 3 if tiny else 60, "optimizer": {"name": "adam", "lr": 0.02}, "seed": 0},
            "metrics": ["accuracy"],
            "output": {"dir": tempfile.mkdtemp(prefix="rpnkit-tutorial-"), "plots": False},
        }
        from rpnkit.train import run

        run(experiment, quiet=True, callbacks=[record])
        ax.plot(range(1, len(curve) + 1), curve, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("300-node SBM, 3 blocks, 20 labels per class", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gcn_sbm.png")
    plt.close(fig)


FIGURES = (function_fit, tabular_loss, reconciliation_tradeoff, gcn_curves)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the PNGs (default docs/tutorials/img)")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (few epochs, few ranks)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for figure in FIGURES:
        figure(args.out, args.tiny)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
