"""The ``rpnkit`` command: train, evaluate, summary, components, explain, bench.

    rpnkit train [CONFIG] [--set key.path=value ...] [--resume RUN_DIR] [--out DIR] [--quiet] [--nproc N]
                 [--no-tune-allocator]
    rpnkit convert REFERENCE_YAML [-o OUT_YAML]    (a reference tinyBIG config; `train` also reads one)
    rpnkit evaluate RUN_DIR [--split test|val|train] [--checkpoint best|last] [--no-tune-allocator]
    rpnkit summary CONFIG [--batch-size N]
    rpnkit components [KIND]         (train, evaluate, summary, components, explain: [--plugin MODULE ...])
    rpnkit explain RUN_DIR [--plot] [--readout] [--prune] [--symbolic] [--checkpoint best|last]
    rpnkit bench [--quick] ...

Configuration errors print one line (the config path and what to change) and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import ConfigError, RPNError
from .validation import check_int, did_you_mean

__all__ = ["main", "build_parser"]

EXIT_CONFIG = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="rpnkit",
        description="Reconciled Polynomial Networks: g(x|w) = <kappa_xi(x), psi(w)> + pi(x).",
    )
    parser.add_argument("--version", action="version", version=f"rpnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train an experiment (default: the embedded digits example)",
        description="Train an experiment. CONFIG is a YAML/JSON file or the name of an embedded example "
        "(default, iris, function); without CONFIG the embedded default (digits) runs.",
    )
    train.add_argument("config", nargs="?", help="experiment file or embedded example name")
    train.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.epochs=3 --set model.dims[1]=32 (values are YAML)",
    )
    train.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from RUN_DIR/last")
    train.add_argument("--out", metavar="DIR", help="run directory (default: runs/<name>-<timestamp>)")
    train.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    train.add_argument(
        "--nproc",
        type=int,
        default=None,
        metavar="N",
        help="train data-parallel in N processes on this machine: runs `python -m torch.distributed.run "
        "--standalone --nproc-per-node N -m rpnkit train ...` (one GPU each on CUDA, gloo on CPU)",
    )
    _allocator_flag(train)
    _plugin_flag(train)

    convert = sub.add_parser(
        "convert",
        help="convert a reference (tinyBIG) YAML experiment to rpnkit's schema",
        description="Write the rpnkit experiment equivalent to a reference `configurations:` YAML, with a comment "
        "wherever rpnkit's semantics differ (see docs/migration.md).",
    )
    convert.add_argument("reference", metavar="REFERENCE_YAML")
    convert.add_argument("-o", "--out", metavar="OUT_YAML", help="write here (default: print)")

    evaluate = sub.add_parser("evaluate", help="evaluate a run's best checkpoint on its test split")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("--split", default="test", choices=["test", "val", "train"])
    evaluate.add_argument("--checkpoint", default="best", choices=["best", "last"])
    _allocator_flag(evaluate)
    _plugin_flag(evaluate)

    summary = sub.add_parser("summary", help="per-layer m, D, n, l, parameters and activation memory")
    summary.add_argument("config", metavar="CONFIG", help="experiment or bare model config (file or embedded name)")
    summary.add_argument("--batch-size", type=int, default=None, help="batch size of the memory estimate")
    _plugin_flag(summary)

    components = sub.add_parser("components", help="list registered components with their formulas")
    components.add_argument("kind", nargs="?", metavar="KIND", help="expansion, reconciliation, remainder, ...")
    _plugin_flag(components)

    explain = sub.add_parser(
        "explain",
        help="see what a run's model learned (rpnkit.explain), written into RUN_DIR/explain",
        description="Unit plots, exact polynomial readout, pruning and symbolic units of a run's model on its "
        "training inputs; without flags: --plot --readout.",
    )
    explain.add_argument("run_dir", metavar="RUN_DIR")
    for flag, text in (
        ("--plot", "one grid of unit plots per layer (or a Taylor layer's coefficients)"),
        ("--readout", "the exact polynomial of a Taylor/polynomial model (readout.txt, readout.tex)"),
        ("--prune", "a pruned model (explain/pruned) without negligible inputs and hidden units"),
        ("--symbolic", "fit every unit by a primitive and write the formula (needs sympy)"),
    ):
        explain.add_argument(flag, action="store_true", help=text)
    explain.add_argument("--checkpoint", default="best", choices=["best", "last"])
    _plugin_flag(explain)

    bench = sub.add_parser("bench", help="run the benchmark suite (rpnkit.bench)", add_help=False)
    bench.add_argument("args", nargs=argparse.REMAINDER)
    reproduce = sub.add_parser(
        "reproduce", help="run the offline examples/ over seeds and write REPRODUCTION.md", add_help=False
    )
    reproduce.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _allocator_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-tune-allocator",
        dest="tune_allocator",
        action="store_false",
        help="keep glibc's default malloc settings (by default freed tensor memory is kept for reuse, "
        "see rpnkit.runtime)",
    )


def _plugin_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plugin",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a local module that registers components (by module name, looked up in the working "
        "directory and on sys.path; repeatable); installed plugins (entry points) load by themselves",
    )


def _load_plugins(args: argparse.Namespace) -> None:
    """Report installed plugins that failed at import, then import the ``--plugin`` modules."""
    import os

    from . import plugins

    plugins.check()
    if getattr(args, "plugins", None):
        plugins.load_modules(args.plugins, [os.getcwd()], "--plugin")


def _error(message: str) -> None:
    print(f"rpnkit: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 bad configuration, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _ARGV[:] = argv
    if argv and argv[0] == "bench":
        return _bench(argv[1:])
    if argv and argv[0] == "reproduce":
        return _reproduce(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_CONFIG
    if getattr(args, "tune_allocator", False):
        from .runtime import tune_cpu_allocator

        tune_cpu_allocator()
    try:
        if args.command in ("train", "evaluate", "summary", "components", "explain"):
            _load_plugins(args)
        return _COMMANDS[args.command](args)
    except ConfigError as err:
        _error(str(err))
        return EXIT_CONFIG
    except KeyboardInterrupt:
        _error("interrupted" + (f"; continue with `rpnkit train --resume {_RUN[0]}`" if _RUN else ""))
        return EXIT_INTERRUPTED
    except (RPNError, OSError) as err:
        _error(str(err))
        return EXIT_FAILED


_RUN: list[str] = []
#: This command's arguments (``train --nproc N`` passes them on to torchrun).
_ARGV: list[str] = []


def _torchrun_command(argv: Sequence[str], nproc: int) -> list[str]:
    """The torchrun command that runs ``rpnkit`` with ``argv`` (less ``--nproc``) in ``nproc`` processes."""
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    return command + ["-m", "rpnkit", *rest]


def _launch(args: argparse.Namespace) -> int:
    """``--nproc N``: start torchrun (N processes on this machine) and wait for it."""
    import os
    import subprocess

    if os.environ.get("WORLD_SIZE") not in (None, "", "1"):
        raise ConfigError("--nproc cannot be used inside torchrun (it starts torchrun itself); drop it", "--nproc")
    try:
        return subprocess.run(_torchrun_command(_ARGV, args.nproc), check=False).returncode
    except KeyboardInterrupt:  # torchrun forwards the interrupt to its workers, which print how to resume
        return EXIT_INTERRUPTED


def _train(args: argparse.Namespace) -> int:
    from .train.experiment import run

    if args.nproc is not None:
        check_int(args.nproc, "--nproc", 1, path="")
        if args.nproc > 1:
            return _launch(args)

    def remember(trainer, epoch, record) -> None:
        if not _RUN and trainer.run_dir is not None:
            _RUN.append(str(trainer.run_dir))

    _RUN.clear()
    from .compat import experiment_or_source

    config = experiment_or_source(args.config)  # a reference (tinyBIG) YAML is read into an rpnkit experiment
    result = run(
        config,
        overrides=args.overrides,
        out=args.out,
        resume=args.resume,
        quiet=args.quiet,
        callbacks=[remember],
        plugins=args.plugins,
    )
    if _rank() > 0:  # under torchrun rank 0 reports
        return 0
    scores = "  ".join(f"{k} {v:.4g}" for k, v in result.test.items() if k != "loss")
    loss = result.test.get("loss")
    best = f"best epoch {result.best_epoch} ({result.monitor} {result.best_value:.4g})" if result.best_epoch else ""
    print(f"test {scores}" + (f"  loss {loss:.4g}" if loss is not None else ""))
    print(f"{best}; {result.epochs_run} epochs in {result.seconds:.1f}s; run: {result.run_dir}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from .compat import convert

    text = convert(args.reference, out=args.out)
    if args.out is None:
        print(text, end="")
    else:
        print(f"wrote {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .train.experiment import evaluate_run

    scores = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint)
    width = max(len(k) for k in scores) if scores else 0
    print(f"{args.run_dir} ({args.checkpoint} checkpoint, {args.split} split)")
    for key, value in scores.items():
        print(f"  {key.ljust(width)}  {value:.6g}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from .train.model_summary import format_summary, summary

    if args.batch_size is not None:
        check_int(args.batch_size, "--batch-size", 1, path="")
    print(format_summary(summary(args.config, batch_size=args.batch_size)))
    return 0


def _components(args: argparse.Namespace) -> int:
    from . import plugins, registry

    kinds = registry.kinds()
    if args.kind is not None and args.kind not in kinds:
        raise ConfigError(f"unknown kind {args.kind!r}{did_you_mean(args.kind, kinds)} (kinds: {', '.join(kinds)})")
    for kind in [args.kind] if args.kind else kinds:
        names = registry.names(kind)
        print(f"{kind} ({len(names)})")
        width = max((len(n) for n in names), default=0)
        for name in names:
            cls = registry.get_class(kind, name)
            aliases = registry.aliases_of(kind, name)
            doc = (cls.__doc__ or "").strip().splitlines()
            line = f"  {name.ljust(width)}  {doc[0].strip() if doc else ''}"
            line += f"  [aliases: {', '.join(aliases)}]" if aliases else ""
            package = plugins.origin(kind, name)
            print(line + (f"  [plugin: {package}]" if package else ""))
    return 0


def _explain(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config.experiment import load_experiment
    from .explain import explain_model
    from .io import load
    from .train.checkpoint import checkpoint_dir
    from .train.experiment import load_plugins
    from .train.schema import load_data, resolve

    run_dir = Path(args.run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a run directory (no config.yaml)")
    folder = checkpoint_dir(run_dir / args.checkpoint)
    if not folder.is_dir():
        raise ConfigError(f"{str(folder)!r} does not exist (the run saved no {args.checkpoint} checkpoint yet)")
    raw, name = load_experiment(run_dir / "config.yaml")
    data = load_data(resolve(load_plugins(raw, run_dir / "config.yaml"), name))
    parts = {k: getattr(args, k) for k in ("plot", "readout", "prune", "symbolic")}
    if not any(parts.values()):
        parts.update(plot=True, readout=True)
    names = getattr(data, "feature_names", None)
    report = explain_model(load(folder), data.x_train, run_dir / "explain", variables=names, **parts)
    for key, value in report.items():
        print(f"{key}: {value['skipped'] if isinstance(value, dict) and 'skipped' in value else value}")
    print(f"written to {run_dir / 'explain'}")
    return 0


def _bench(argv: list[str]) -> int:
    try:
        bench = importlib.import_module("rpnkit.bench")
    except ModuleNotFoundError as err:
        if err.name not in ("rpnkit.bench",):
            raise
        _error("the benchmark suite (rpnkit.bench) is not available in this installation")
        return EXIT_CONFIG
    try:
        status = bench.main(argv)
    except ConfigError as err:
        _error(str(err))
        return EXIT_CONFIG
    return int(status or 0)


def _reproduce(argv: list[str]) -> int:
    # imported by name, as rpnkit.bench: rpnkit.reproduce is cli's sibling (docs/architecture.md)
    reproduce = importlib.import_module("rpnkit.reproduce")
    try:
        return int(reproduce.main(argv) or 0)
    except ConfigError as err:
        _error(str(err))
        return EXIT_CONFIG
    except (RPNError, OSError) as err:
        _error(str(err))
        return EXIT_FAILED


def _rank() -> int:
    import os

    try:
        return int(os.environ.get("RANK") or 0)
    except ValueError:
        return 0


_COMMANDS = {
    "train": _train,
    "convert": _convert,
    "evaluate": _evaluate,
    "summary": _summary,
    "components": _components,
    "explain": _explain,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
