"""Run experiments: train one in a run directory (:func:`run`) or evaluate a finished run (:func:`evaluate_run`).

An experiment is one YAML (or dict) with ``model``, ``data``, ``train``, ``metrics`` and ``output``
sections; its schema lives in :mod:`rpnkit.config.experiment` and is checked against the datasets
and metrics by :func:`rpnkit.train.schema.resolve`. :func:`run` applies ``key.path=value``
overrides (:func:`rpnkit.config.apply_overrides`), validates, loads the data, builds the model with
:func:`rpnkit.build_model` (errors under ``model.``), trains it with :class:`~rpnkit.train.Trainer`
in a run directory, and returns the :class:`~rpnkit.train.FitResult`. See ``docs/experiments.md``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from ..config.experiment import (
    OUTPUT_DEFAULTS,
    SECTIONS,
    TRAIN_DEFAULTS,
    anchor_data_paths,
    embedded_configs,
    load_experiment,
)
from ..config.io import dump_yaml, write_text_atomic
from ..config.model import build_model
from ..config.optim import check_loss
from ..config.overrides import apply_overrides, parse_override
from ..errors import ConfigError
from ..io import load as load_model
from ..memory import default_limit, format_bytes, parse_bytes
from ..plugins import load_modules
from . import distributed
from . import metrics as M
from .callbacks import CallbackLike
from .checkpoint import checkpoint_dir
from .checks import default_loss, resolve_device
from .loggers import build_loggers
from .model_summary import estimate, format_summary, summary
from .schema import attach_data_graph, fill_dims, load_data, resolve
from .seeding import seed_everything
from .threads import choose_threads, threads_for
from .trainer import FitResult, Trainer

__all__ = [
    # the schema and overrides (from rpnkit.config), kept importable here
    "SECTIONS",
    "TRAIN_DEFAULTS",
    "OUTPUT_DEFAULTS",
    "embedded_configs",
    "load_experiment",
    "apply_overrides",
    "parse_override",
    "resolve",
    # running
    "run",
    "evaluate_run",
    "load_plugins",
    "prepare",
    "make_trainer",
    # the model summary (from rpnkit.train.model_summary)
    "summary",
    "format_summary",
]

RUN_CONFIG = "config.yaml"


def prepare(exp: dict[str, Any], quiet: bool, log: Callable[[str], None]) -> tuple[Any, nn.Module]:
    """Load the data, finish the checks that need it (loss, metrics, auto widths), seed and build the model."""
    data = load_data(exp)
    task = data.task
    t = exp["train"]
    t["loss"] = {"name": default_loss(task)} if t["loss"] is None else check_loss(t["loss"], task, "train.loss")
    if exp["metrics"] is None:
        exp["metrics"] = M.default_metrics(task)
    else:
        wrong = [m for m in exp["metrics"] if (m in M.REGRESSION) != (task == "regression")]
        if wrong:
            raise ConfigError(
                f"{wrong} do not apply to the {task} data {data.name!r}; use e.g. {M.default_metrics(task)}", "metrics"
            )
    exp["model"] = fill_dims(exp["model"], data)
    seed_everything(t["seed"])
    limit = parse_bytes(t.get("memory_limit"), "train.memory_limit") or default_limit()
    model = build_model(exp["model"], path="model", max_bytes=limit, option="train.memory_limit")
    attach_data_graph(model, data)
    _check_memory(model, t, limit)
    if not quiet:
        log(data.describe())
    return data, model


def _check_memory(model: nn.Module, train: dict[str, Any], limit: int) -> None:
    """Refuse a run whose estimate passes ``train.memory_limit`` before its first step: the weights, their
    gradients and two optimizer moments (4 x the parameters' bytes) plus one batch's activations
    (:func:`rpnkit.train.model_summary.estimate`)."""
    weights, activations = estimate(model, train["batch_size"])
    total = 4 * weights + activations
    if total > limit:
        raise ConfigError(
            f"this run needs about {format_bytes(total)} (weights, gradients and optimizer state "
            f"{format_bytes(4 * weights)}, activations of a batch of {train['batch_size']} "
            f"{format_bytes(activations)}); "
            f"the limit is {format_bytes(limit)}: raise train.memory_limit, lower train.batch_size or shrink the model",
            "train.memory_limit",
        )


def make_trainer(
    exp: dict[str, Any],
    model: nn.Module,
    run_dir: Path | None,
    quiet: bool,
    log: Callable[[str], None],
    callbacks: Sequence[CallbackLike] = (),
) -> Trainer:
    t = exp["train"]
    return Trainer(
        model,
        loss=t["loss"],
        optimizer=t["optimizer"],
        scheduler=t["scheduler"],
        epochs=t["epochs"],
        batch_size=t["batch_size"],
        eval_batch_size=t["eval_batch_size"],
        grad_clip=t["grad_clip"],
        early_stopping=t["early_stopping"],
        monitor=t["monitor"],
        mode=t["mode"],
        metrics=exp["metrics"],
        seed=t["seed"],
        deterministic=t["deterministic"],
        device=t["device"],
        run_dir=run_dir,
        quiet=quiet,
        plots=exp["output"]["plots"],
        restore_best=t["restore_best"],
        callbacks=callbacks,
        log=log,
        precision=t["precision"],
        compile=t["compile"],
        accumulate=t["accumulate"],
        workers=exp["data"].get("workers", 0),
    )


def _new_run_dir(base: str | None, name: str) -> Path:
    if base is not None:
        return Path(base)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
    candidate = Path("runs") / f"{safe}-{stamp}"
    i = 1
    while candidate.exists():
        candidate = Path("runs") / f"{safe}-{stamp}-{i}"
        i += 1
    return candidate


def _resumable(run_dir: Path) -> Path:
    """``run_dir`` when it is a run directory with a ``last`` checkpoint."""
    if not (run_dir / RUN_CONFIG).is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a run directory (no {RUN_CONFIG})")
    if not checkpoint_dir(run_dir / "last").is_dir():
        raise ConfigError(
            f"{str(run_dir)!r} has no checkpoint yet (it stopped before its first epoch ended); "
            f"start it again with `rpnkit train CONFIG --out {run_dir}`"
        )
    return run_dir


def _fresh_run_dir(out: str | os.PathLike | None, exp: dict[str, Any]) -> Path:
    """The run directory of a new run; it must not hold a run already."""
    run_dir = _new_run_dir(str(out) if out is not None else exp["output"]["dir"], exp["name"])
    if checkpoint_dir(run_dir / "last").exists() or (run_dir / "results.json").exists():
        raise ConfigError(
            f"{str(run_dir)!r} already holds a run; resume it with `rpnkit train --resume "
            f"{run_dir}` or choose another --out",
            "output.dir",
        )
    return run_dir


def load_plugins(
    raw: dict[str, Any], source: str | os.PathLike | dict[str, Any] | None, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """Import the experiment's ``plugins:`` modules and ``extra`` ones (``--plugin``), recorded in the result.

    Modules are looked up in the experiment file's folder, the working directory, then ``sys.path``
    (:func:`rpnkit.plugins.load_modules`).
    """
    from ..config.experiment import check_plugins

    if not extra and raw.get("plugins") is None:
        return raw
    names = check_plugins(raw.get("plugins") or [])
    extra = [n for n in check_plugins(list(extra), "--plugin") if n not in names]
    folder = Path(source).parent if isinstance(source, (str, os.PathLike)) and Path(source).is_file() else None
    search = ([folder] if folder is not None else []) + [Path.cwd()]
    load_modules(names, search)
    load_modules(extra, search, "--plugin")
    return {**raw, "plugins": names + extra}


def run(
    config: str | os.PathLike | dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    quiet: bool = False,
    log: Callable[[str], None] = print,
    callbacks: Sequence[CallbackLike] = (),
    plugins: Sequence[str] = (),
) -> FitResult:
    """Train an experiment (file path, embedded name, dict, or None for the digits default).

    Args:
        config: the experiment.
        overrides: ``key.path=value`` strings applied before validation.
        out: the run directory (default ``output.dir`` or ``runs/<name>-<timestamp>``).
        resume: an existing run directory to continue from its ``last`` checkpoint (its ``config.yaml``
            is the experiment; ``overrides`` still apply, e.g. ``train.epochs=20`` to train longer).
        quiet: no progress bars or per-epoch lines.
        callbacks: passed to the :class:`~rpnkit.train.Trainer`.
        plugins: local modules that register components (``--plugin``), loaded with the
            experiment's ``plugins:`` and recorded in the run's ``config.yaml``.
    """
    if resume is not None:
        if config is not None:
            raise ConfigError("give either a config or --resume RUN_DIR (the run's config.yaml is reused)")
        config = _resumable(Path(resume)) / RUN_CONFIG
    raw, name = load_experiment(config)
    raw = load_plugins(apply_overrides(raw, overrides), config, plugins)
    # paths from the experiment file are already absolute; those of a dict or a --set are the working directory's
    exp = resolve(anchor_data_paths(raw, Path.cwd()), name)
    world, created = distributed.init(resolve_device(exp["train"]["device"]))
    fresh: Path | None = None
    try:
        if not world.main:  # rank 0 prints and writes the run's files
            quiet, log = True, _silent
        run_dir = _shared_run_dir(out, resume, exp, world)
        fresh = run_dir if resume is None and world.main and not run_dir.exists() else None
        data, model = prepare(exp, quiet, log)
        exp["output"]["dir"] = str(run_dir)
        loggers = build_loggers(exp["output"]["loggers"], run_dir, exp) if world.main else []
        trainer = make_trainer(exp, model, run_dir, quiet, log, [*callbacks, *loggers])
        if world.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_text_atomic(run_dir / RUN_CONFIG, dump_yaml(exp))
        if not quiet:
            params = sum(p.numel() for p in model.parameters())
            verb = "resuming" if resume is not None else "training"
            procs = f" in {world.size} processes" if world.distributed else ""
            log(f"{verb} {exp['name']}: {params:,} parameters, {exp['train']['epochs']} epochs{procs} -> {run_dir}")
        threads = choose_threads(exp["train"]["threads"], model, exp["train"]["batch_size"], trainer.device)
        started = time.perf_counter()
        with threads_for(threads):  # restored after: an in-process run leaves torch's count as it found it
            result = trainer.fit(data, resume=resume is not None)
        if not quiet and world.main:
            log(end_of_run_line(time.perf_counter() - started, run_dir, trainer.device))
    except BaseException as err:
        distributed.shutdown(created, wait=False)
        if isinstance(err, ConfigError) and fresh is not None:
            _drop_unstarted(fresh)
        raise
    distributed.shutdown(created)
    return result


def end_of_run_line(seconds: float, run_dir: Path | None, device: Any = "cpu") -> str:
    """The last line of a run: wall time, peak memory (the process's resident peak, and the device's
    allocated peak on CUDA) and the run directory.

    Example:
        >>> end_of_run_line(12.34, Path("runs/x"))[:30]
        'done in 12.3 s; peak memory RS'
    """
    import resource
    import sys

    import torch

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    peak = f"RSS {format_bytes(rss if sys.platform == 'darwin' else rss * 1024)}"
    if getattr(device, "type", str(device)).startswith("cuda") and torch.cuda.is_available():
        peak += f", {device} {format_bytes(torch.cuda.max_memory_allocated(device))}"
    where = f"; run directory {run_dir}" if run_dir is not None else ""
    return f"done in {seconds:.1f} s; peak memory {peak}{where}"


def _drop_unstarted(run_dir: Path) -> None:
    """Remove a run directory this call created when a configuration error stopped it before anything but
    its config.yaml was written (a folder holding only a config is no run)."""
    try:
        if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= {RUN_CONFIG}:
            (run_dir / RUN_CONFIG).unlink(missing_ok=True)
            run_dir.rmdir()
    except OSError:
        pass


def _silent(message: str) -> None:
    pass


def _run_dir(out: str | os.PathLike | None, resume: str | os.PathLike | None, exp: dict[str, Any]) -> Path:
    if resume is None:
        return _fresh_run_dir(out, exp)
    if out is not None and Path(out) != Path(resume):
        raise ConfigError("--out cannot be combined with --resume (the run continues in its own folder)")
    return Path(resume)


def _shared_run_dir(
    out: str | os.PathLike | None, resume: str | os.PathLike | None, exp: dict[str, Any], world: distributed.World
) -> Path:
    """The run directory, chosen by rank 0 (a timestamped name could differ between processes)."""
    if not world.distributed:
        return _run_dir(out, resume, exp)
    chosen: tuple[str | None, str | None] = (None, None)
    if world.main:
        try:
            chosen = (str(_run_dir(out, resume, exp)), None)
        except ConfigError as err:
            chosen = (None, str(err))
    folder, error = distributed.broadcast_object(chosen, world)
    if error is not None:
        raise ConfigError(error)
    return Path(folder)


def evaluate_run(
    run_dir: str | os.PathLike, split: str = "test", checkpoint: str = "best", device: str | None = None
) -> dict[str, float]:
    """Load a run's checkpoint (``best`` or ``last``), reload its data, and return loss and metrics on ``split``."""
    run_dir = Path(run_dir)
    if not (run_dir / RUN_CONFIG).is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a run directory (no {RUN_CONFIG})")
    if checkpoint not in ("best", "last"):
        raise ConfigError(f"checkpoint must be 'best' or 'last', got {checkpoint!r}")
    raw, name = load_experiment(run_dir / RUN_CONFIG)
    exp = resolve(load_plugins(raw, run_dir / RUN_CONFIG), name)
    if device is not None:
        exp["train"]["device"] = device
    folder = checkpoint_dir(run_dir / checkpoint)
    if not folder.is_dir():
        raise ConfigError(f"{str(folder)!r} does not exist (the run saved no {checkpoint} checkpoint yet)")
    data = load_data(exp)
    model = load_model(folder)
    attach_data_graph(model, data)
    trainer = make_trainer(exp, model, None, True, print)
    with threads_for(choose_threads(exp["train"]["threads"], model, exp["train"]["eval_batch_size"], trainer.device)):
        return trainer.evaluate(data, split)
