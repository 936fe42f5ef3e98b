"""Callbacks: what happens around the training loop, one small class per concern.

The :class:`~rpnkit.train.Trainer` calls, in order, every callback's

* ``on_fit_start(trainer)`` once the state is set up (and restored, when resuming);
* ``on_epoch_start(trainer, epoch)``, ``on_batch_end(trainer, batch, loss)`` per training batch, and
  ``on_epoch_end(trainer, record)`` with the epoch's history record;
* ``on_train_end(trainer)`` after the last epoch, before the test split is evaluated;
* ``on_fit_end(trainer, result)`` with the :class:`~rpnkit.train.FitResult`.

A callback that holds state across a ``--resume`` names its ``state_key``: the trainer saves its
``state_dict()`` under that key in the training state and hands it back to ``load_state_dict()``.
A callback may set ``trainer.should_stop = True`` to end training after the current epoch.

The trainer installs, in this order: :class:`EarlyStopping`, :class:`BestCheckpoint` (or
:class:`BestWeights` without a run directory), :class:`LastCheckpoint`, :class:`HistoryFiles`,
:class:`ProgressBar`, :class:`EpochLog`, :class:`ResultsFile` and :class:`Plots` as its options ask,
then the user's callbacks (plain functions ``f(trainer, epoch, record)`` run after each epoch).
Callbacks with a ``state_key`` (early stopping, and the user's that keep state) run before all
others, so that the checkpoint written after an epoch holds their state after that epoch.

Under several processes (torchrun) only rank 0 installs the callbacks that print or write files;
the others keep early stopping (and receive rank 0's final weights before the test split), and
every process runs the user's callbacks.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from torch import Tensor

from ..config.io import write_text_atomic
from . import metrics as M
from .checkpoint import STATE_FILE, load_optimizer_state, load_state, load_weights, save_checkpoint
from .checks import check_monitor
from .result import FitResult, TrainingError
from .seeding import rng_state, set_rng_state

if TYPE_CHECKING:
    from .batches import Batch

#: The :class:`~rpnkit.train.Trainer` (not imported: the trainer imports this module).
_Trainer = Any
#: What ``Trainer(callbacks=...)`` takes: a :class:`Callback`, or a function ``f(trainer, epoch, record)``.
CallbackLike = Union["Callback", Callable[[_Trainer, int, dict[str, Any]], None]]
#: The layout of ``training_state.pt``.
STATE_VERSION = 1

__all__ = [
    "Callback",
    "Tracker",
    "EarlyStopping",
    "BestCheckpoint",
    "BestWeights",
    "LastCheckpoint",
    "HistoryFiles",
    "ResultsFile",
    "Plots",
    "EpochLog",
    "ProgressBar",
    "EpochFunction",
    "CallbackLike",
    "STATE_VERSION",
    "default_callbacks",
]


class Callback:
    """Hooks around the training loop; every hook does nothing unless overridden."""

    #: Where :meth:`state_dict` goes in the training state (None: the callback keeps no state).
    state_key: str | None = None

    def on_fit_start(self, trainer: _Trainer) -> None:
        pass

    def on_epoch_start(self, trainer: _Trainer, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer: _Trainer, batch: Batch, loss: Tensor) -> None:
        pass

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        pass

    def on_train_end(self, trainer: _Trainer) -> None:
        pass

    def on_fit_end(self, trainer: _Trainer, result: FitResult) -> None:
        pass

    def state_dict(self) -> Any:
        return None

    def load_state_dict(self, state: Any) -> None:
        pass


class Tracker:
    """Best value of one monitored quantity, the epochs since it improved, and whether the last one did."""

    def __init__(self, mode: str, min_delta: float = 0.0) -> None:
        self.mode, self.min_delta = mode, float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.improved = False

    def update(self, value: float, epoch: int) -> bool:
        """Record the epoch's value; True when it improved on the best by more than ``min_delta``."""
        if math.isnan(value):
            improved = False
        elif self.best is None:
            improved = True
        elif self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.bad_epochs = float(value), epoch, 0
        else:
            self.bad_epochs += 1
        self.improved = improved
        return improved

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = state["best"], state["best_epoch"], state["bad_epochs"]


# ------------------------------------------------------------------------------------ selection


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved (by more than ``min_delta``) for ``patience`` epochs."""

    state_key = "early_stopping"

    def __init__(
        self, monitor: str, mode: str, patience: int, min_delta: float = 0.0, log: Callable[[str], None] | None = None
    ) -> None:
        self.monitor, self.patience, self.log = monitor, patience, log
        self.tracker = Tracker(mode, min_delta)

    @classmethod
    def from_spec(
        cls, spec: dict[str, Any], monitor: str, has_val: bool, log: Callable[[str], None] | None = None
    ) -> EarlyStopping:
        """From a checked ``train.early_stopping`` spec; its monitor defaults to the trainer's ``monitor``."""
        monitor = check_monitor(spec["monitor"] or monitor, has_val, "train.early_stopping.monitor")
        mode = M.mode_of(monitor) if spec["mode"] == "auto" else spec["mode"]
        return cls(monitor, mode, spec["patience"], spec["min_delta"], log)

    @property
    def exhausted(self) -> bool:
        return self.tracker.bad_epochs >= self.patience

    def on_fit_start(self, trainer: _Trainer) -> None:
        if self.exhausted:  # a resumed run that had already run out of patience
            trainer.should_stop = True

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        self.tracker.update(record[self.monitor], record["epoch"])
        if self.exhausted:
            trainer.should_stop = True

    def on_train_end(self, trainer: _Trainer) -> None:
        if trainer.stopped_early and self.exhausted and self.log is not None:
            self.log(f"early stopping: {self.monitor} did not improve for {self.patience} epochs")

    def state_dict(self) -> dict[str, Any]:
        return self.tracker.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.load_state_dict(state)


class BestCheckpoint(Callback):
    """Save the model into ``folder`` whenever the monitored quantity improves; reload it at the end
    when the trainer restores the best weights."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        if trainer.best.improved:
            extra = {"epoch": record["epoch"], "monitor": trainer.monitor, "value": record[trainer.monitor]}
            save_checkpoint(self.folder, trainer.model, extra=extra)

    def on_train_end(self, trainer: _Trainer) -> None:
        if trainer.restore_best and trainer.best.best_epoch is not None and self.folder.is_dir():
            load_weights(trainer.model, self.folder)


class BestWeights(Callback):
    """Keep a copy of the best epoch's weights in memory (no run directory) and restore them at the end."""

    def __init__(self) -> None:
        self.weights: dict[str, Tensor] | None = None

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        if trainer.best.improved:
            self.weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}

    def on_train_end(self, trainer: _Trainer) -> None:
        if trainer.restore_best and trainer.best.best_epoch is not None and self.weights is not None:
            trainer.model.load_state_dict(self.weights)


# ------------------------------------------------------------------------------------ run files


class LastCheckpoint(Callback):
    """After every epoch, save the model and the training state into ``folder``; :meth:`restore` resumes.

    The state (plain tensors, numbers, lists and dicts): the epoch, the optimizer and the scheduler,
    every random generator (Python, numpy, torch and the shuffling generator), the history, the
    best-epoch tracker, the elapsed time, and each callback's state under its ``state_key``.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        save_checkpoint(self.folder, trainer.model, self.state(trainer), extra={"epoch": record["epoch"]})

    @staticmethod
    def state(trainer: _Trainer) -> dict[str, Any]:
        """The training state after ``trainer.epoch``."""
        state = {
            "version": STATE_VERSION,
            "epoch": trainer.epoch,
            "optimizer": trainer.optimizer.state_dict(),
            "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
            "rng": rng_state(),
            "loader_rng": trainer.generator.get_state(),
            "history": trainer.history,
            "best": trainer.best.state_dict(),
            "early_stopping": None,
            "elapsed": trainer.elapsed,
        }
        if getattr(trainer, "rank_rng", None) is not None:  # several processes: each one's generators
            state["rank_rng"] = trainer.rank_rng
        if getattr(trainer, "scaler", None) is not None:
            state["grad_scaler"] = trainer.scaler.state_dict()
        for callback in trainer.active_callbacks:
            if callback.state_key is not None:
                state[callback.state_key] = callback.state_dict()
        return state

    def restore(self, trainer: _Trainer) -> None:
        """Load the model and the training state into ``trainer`` (its optimizer and scheduler built already)."""
        state = load_state(self.folder)
        if state.get("version") != STATE_VERSION:
            raise TrainingError(f"{self.folder}: training state version {state.get('version')} is not supported")
        load_weights(trainer.model, self.folder)
        load_optimizer_state(trainer.optimizer, state["optimizer"], self.folder / STATE_FILE)
        if trainer.scheduler is not None:
            if state["scheduler"] is None:
                raise TrainingError("the checkpoint was trained without a scheduler; remove train.scheduler to resume")
            trainer.scheduler.load_state_dict(state["scheduler"])
        trainer.history = [dict(r) for r in state["history"]]
        trainer.best.load_state_dict(state["best"])
        for callback in trainer.active_callbacks:
            if callback.state_key is not None and state.get(callback.state_key) is not None:
                callback.load_state_dict(state[callback.state_key])
        set_rng_state(state["rng"])
        world = getattr(trainer, "world", None)
        ranks = state.get("rank_rng")
        if world is not None and world.distributed and ranks is not None and len(ranks) == world.size:
            set_rng_state(ranks[world.rank])
        if getattr(trainer, "scaler", None) is not None and state.get("grad_scaler") is not None:
            trainer.scaler.load_state_dict(state["grad_scaler"])
        trainer.generator.set_state(state["loader_rng"])
        trainer.epoch = trainer.start_epoch = int(state["epoch"])
        trainer.elapsed = float(state["elapsed"])


class HistoryFiles(Callback):
    """Write ``history.json`` and ``history.csv`` (one row per epoch) into ``folder`` after every epoch."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        self.write(trainer.history)

    def write(self, history: list[dict[str, Any]]) -> None:
        write_text_atomic(self.folder / "history.json", json.dumps(history, indent=1) + "\n")
        keys: list[str] = []
        for record in history:
            keys += [k for k in record if k not in keys]
        lines = [",".join(keys)]
        for record in history:
            lines.append(",".join("" if record.get(k) is None else repr(record[k]) for k in keys))
        write_text_atomic(self.folder / "history.csv", "\n".join(lines) + "\n")


class ResultsFile(Callback):
    """Write ``results.json`` (test scores, best epoch, epochs run, time) into ``folder`` at the end."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def on_fit_end(self, trainer: _Trainer, result: FitResult) -> None:
        write_text_atomic(self.folder / "results.json", json.dumps(result.to_dict(), indent=2) + "\n")


class Plots(Callback):
    """Draw the loss and metric curves (and the fitted function of 1-2 input variables) into ``folder``."""

    def __init__(self, folder: str | Path, data: Any, log: Callable[[str], None] | None = None) -> None:
        self.folder, self.data, self.log = Path(folder), data, log

    def on_fit_end(self, trainer: _Trainer, result: FitResult) -> None:
        from . import plots

        info = getattr(self.data, "info", {})
        try:
            plots.plot_history(trainer.history, self.folder)
            if "formula" in info and len(info["variables"]) <= 2:
                plots.plot_function(trainer.model, self.data, self.folder / "function.png")
        except ImportError:
            if self.log is not None:
                self.log("plots skipped: matplotlib is not installed (pip install 'rpnkit[plot]')")


# ------------------------------------------------------------------------------------ progress


class EpochLog(Callback):
    """One line per epoch (``epoch   3/10  train_loss 0.41  val_loss 0.52 ... 1.2s  *``; ``*``: best so far)."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log

    def on_fit_start(self, trainer: _Trainer) -> None:
        if trainer.start_epoch >= trainer.epochs:
            self.log(f"nothing to do: the run already has {trainer.start_epoch} of {trainer.epochs} epochs")

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        parts = [f"epoch {record['epoch']:>3}/{trainer.epochs}"]
        for key, value in record.items():
            if key not in ("epoch", "seconds"):
                parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
        parts.append(f"{record['seconds']:.1f}s")
        self.log("  ".join(parts) + ("  *" if trainer.best.improved else ""))


def _duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss`` (tqdm's style)."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def progress_postfix(samples_per_s: float, run_eta_s: float | None) -> str:
    """The progress bar's postfix: training throughput and the estimated time left for the whole run.

    Example:
        >>> progress_postfix(12345.6, 3725.0)
        '12,346 samples/s, run ETA 1:02:05'
        >>> progress_postfix(80.0, None)
        '80 samples/s, run ETA ?'
    """
    eta = "?" if run_eta_s is None or not math.isfinite(run_eta_s) else _duration(run_eta_s)
    return f"{samples_per_s:,.0f} samples/s, run ETA {eta}"


class ProgressBar(Callback):
    """A tqdm bar over an epoch's batches when stdout is a terminal and tqdm is installed (else nothing).

    Besides tqdm's batches and the epoch's ETA, the postfix shows the training samples per second of
    the epoch and the ETA of the whole run (the time since the first epoch, validation included,
    scaled by the epochs still to go). Epochs of a single batch (a whole graph) get no bar.
    """

    def __init__(self) -> None:
        self._tqdm = None
        self._bar = None
        self._run_start: float | None = None
        self._first_epoch = 0
        self._epoch = 0
        self._epoch_start = 0.0
        self._samples = 0
        if sys.stdout.isatty():
            try:
                from tqdm.auto import tqdm

                self._tqdm = tqdm
            except ImportError:
                pass

    def on_epoch_start(self, trainer: _Trainer, epoch: int) -> None:
        now = time.perf_counter()
        if self._run_start is None:  # the first epoch of this run (a resumed run starts later)
            self._run_start, self._first_epoch = now, epoch - 1
        self._epoch, self._epoch_start, self._samples = epoch, now, 0
        if self._tqdm is not None and trainer.batches.num_batches > 1:
            total = trainer.batches.num_batches
            self._bar = self._tqdm(total=total, desc=f"epoch {epoch}/{trainer.epochs}", leave=False, dynamic_ncols=True)

    def postfix(self, trainer: _Trainer, batches_done: int, total_batches: int) -> str:
        """The postfix after ``batches_done`` of the epoch's ``total_batches``."""
        now = time.perf_counter()
        rate = self._samples / max(now - self._epoch_start, 1e-9)
        done = (self._epoch - 1 - self._first_epoch) + batches_done / total_batches
        left = (trainer.epochs - self._epoch) + 1 - batches_done / total_batches
        eta = (now - (self._run_start or now)) * left / done if done > 0 else None
        return progress_postfix(rate, eta)

    def on_batch_end(self, trainer: _Trainer, batch: Batch, loss: Tensor) -> None:
        self._samples += batch.total or batch.size
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(self.postfix(trainer, self._bar.n, self._bar.total), refresh=False)
            if self._bar.n >= self._bar.total:  # gone before the validation and the epoch's line
                self._bar.close()
                self._bar = None


class EpochFunction(Callback):
    """A plain function ``f(trainer, epoch, record)`` called after each epoch (the ``callbacks=`` of old)."""

    def __init__(self, function: Callable[[_Trainer, int, dict[str, Any]], None]) -> None:
        self.function = function

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        self.function(trainer, record["epoch"], record)


def default_callbacks(
    run_dir: Path | None,
    data: Any,
    quiet: bool,
    plots: bool,
    log: Callable[[str], None],
    early_stopping: EarlyStopping | None = None,
    main: bool = True,
) -> list[Callback]:
    """The built-in callbacks for the trainer's options, in the order they run.

    ``main``: whether this process writes the run's files and prints (rank 0 under several processes).
    """
    found: list[Callback] = [] if early_stopping is None else [early_stopping]
    if not main:  # the trainer hands rank 0's final weights to the others
        return found
    found.append(BestWeights() if run_dir is None else BestCheckpoint(run_dir / "best"))
    if run_dir is not None:
        found += [LastCheckpoint(run_dir / "last"), HistoryFiles(run_dir)]
    if not quiet:
        found += [ProgressBar(), EpochLog(log)]
    if run_dir is not None:
        found.append(ResultsFile(run_dir))
        if plots:
            found.append(Plots(run_dir / "plots", data, None if quiet else log))
    return found
