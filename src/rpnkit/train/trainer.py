"""The training loop: fit with validation, best-epoch selection, early stopping, checkpoints and resume.

:class:`Trainer` trains any model that maps (..., m) to logits or predictions (no softmax inside)
on a :class:`~rpnkit.data.Dataset` (mini-batches) or a :class:`~rpnkit.data.GraphDataset`
(transductive: one full-graph batch per epoch, the loss on the training mask).

With a ``run_dir`` it writes ``best/`` and ``last/`` checkpoints (``rk.save`` + the training state),
``history.json`` / ``history.csv`` after every epoch, ``results.json`` and plots at the end.
``fit(data, resume=True)`` continues from ``run_dir/last`` at the next epoch with the optimizer,
scheduler and every random generator (Python, numpy, torch, the shuffling generator) restored, so
an interrupted run ends with the same weights, bit for bit, as one that was not interrupted.
"""

from __future__ import annotations

import difflib
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from ..config.io import write_text_atomic
from ..data.base import Dataset, GraphDataset
from ..errors import ConfigError, RPNError
from . import metrics as M
from .checkpoint import load_state, load_weights, save_checkpoint
from .optim import (
    build_loss,
    build_optimizer,
    build_scheduler,
    check_loss,
    check_optimizer,
    check_scheduler,
)
from .seeding import deterministic_mode, rng_state, seed_everything, set_rng_state

__all__ = ["Trainer", "FitResult", "TrainingError", "resolve_device", "check_early_stopping"]

STATE_VERSION = 1


class TrainingError(RPNError):
    """Training cannot go on (the loss diverged, a checkpoint does not match)."""


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` returns."""

    history: list[dict[str, Any]]
    best_epoch: int | None
    best_value: float | None
    monitor: str
    test: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False
    epochs_run: int = 0
    seconds: float = 0.0
    run_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "monitor": self.monitor,
            "test": self.test,
            "stopped_early": self.stopped_early,
            "epochs_run": self.epochs_run,
            "seconds": round(self.seconds, 3),
        }


def resolve_device(device: Any, path: str = "train.device") -> torch.device:
    """``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``; unavailable ones are errors."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}", path) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA is not available on this machine; use 'cpu' or 'auto'", path)
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ConfigError("MPS is not available on this machine; use 'cpu' or 'auto'", path)
    return dev


def check_early_stopping(spec: Any, path: str = "train.early_stopping") -> dict[str, Any] | None:
    """Validate ``{patience, monitor, mode, min_delta}`` (None or false: no early stopping)."""
    if spec is None or spec is False:
        return None
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = {"patience": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"expected a mapping {{patience, monitor, mode, min_delta}} or null, got {spec!r}", path)
    valid = {"patience", "monitor", "mode", "min_delta"}
    for key in spec:
        if key not in valid:
            close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown key {key!r}{hint} (valid keys: {sorted(valid)})", f"{path}.{key}")
    out = {"patience": 10, "monitor": None, "mode": "auto", "min_delta": 0.0, **spec}
    p = out["patience"]
    if isinstance(p, bool) or not isinstance(p, int) or p < 1:
        raise ConfigError(f"expected an int >= 1, got {p!r}", f"{path}.patience")
    if out["mode"] not in ("auto", "min", "max"):
        raise ConfigError(f"expected 'auto', 'min' or 'max', got {out['mode']!r}", f"{path}.mode")
    d = out["min_delta"]
    if isinstance(d, bool) or not isinstance(d, (int, float)) or d < 0:
        raise ConfigError(f"expected a number >= 0, got {d!r}", f"{path}.min_delta")
    return out


class _Tracker:
    """Best value of one monitored quantity and the epochs since it improved."""

    def __init__(self, mode: str, min_delta: float = 0.0) -> None:
        self.mode, self.min_delta = mode, float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    def update(self, value: float, epoch: int) -> bool:
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
        return improved

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = state["best"], state["best_epoch"], state["bad_epochs"]


class _Progress:
    """A tqdm bar over batches when stdout is a terminal and tqdm is installed; otherwise nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stdout.isatty()
        self._tqdm = None
        if self.enabled:
            try:
                from tqdm.auto import tqdm

                self._tqdm = tqdm
            except ImportError:
                self.enabled = False

    def wrap(self, iterable, total: int, desc: str):
        if not self.enabled:
            return iterable
        return self._tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


class Trainer:
    """Train a model with named optimizers, schedulers and losses; validate, checkpoint, resume.

    Args:
        model: maps (..., m) to logits (classification) or predictions (regression).
        loss: ``cross_entropy``, ``bce_with_logits``, ``mse``, ``l1``, ``huber`` (a name or a dict with
            options); default: cross_entropy for classification data, mse for regression data.
        optimizer: ``{"name": adam|adamw|sgd|lbfgs, "lr": ..., ...}``.
        scheduler: ``{"name": exponential|step|cosine|plateau, ...}`` stepped once per epoch, or None.
        epochs: number of epochs.
        batch_size, eval_batch_size: mini-batch sizes (graphs train on the whole graph).
        grad_clip: maximum gradient norm, or None.
        early_stopping: ``{"patience": 10, "monitor": ..., "mode": "auto", "min_delta": 0}`` or None.
        monitor: quantity that selects the best epoch: ``val_loss``, ``val_<metric>`` or ``train_loss``
            (default ``val_loss`` when there is a validation split, else ``train_loss``).
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the monitor's name).
        metrics: metric names (default: accuracy and f1_macro, or mse, mae and r2).
        seed: seeds Python, numpy and torch at the start, and the shuffling generator.
        deterministic: run under ``torch.use_deterministic_algorithms(True)``.
        device: ``"cpu"``, ``"cuda"``, ``"auto"``...
        run_dir: where checkpoints, history, results and plots go (None: keep the best weights in memory).
        quiet: no progress bars and no per-epoch lines.
        plots: draw loss/metric curves (and the fitted function of 1-2 input variables) into ``run_dir/plots``.
        restore_best: load the best epoch's weights at the end (before the test evaluation).
        callbacks: functions ``f(trainer, epoch, record)`` called after each epoch (after checkpoints).

    Example:
        >>> import torch, rpnkit as rk
        >>> from rpnkit.data import load
        >>> data = load("iris", val_fraction=0.2)
        >>> model = rk.RPN([4, 3], head={"expansion": "taylor"})
        >>> result = Trainer(model, epochs=3, optimizer={"name": "adam", "lr": 0.05}, quiet=True).fit(data)
        >>> sorted(result.test)
        ['accuracy', 'f1_macro', 'loss']
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        loss: Any = None,
        optimizer: Any = None,
        scheduler: Any = None,
        epochs: int = 10,
        batch_size: int = 64,
        eval_batch_size: int = 1024,
        grad_clip: float | None = None,
        early_stopping: Any = None,
        monitor: str | None = None,
        mode: str = "auto",
        metrics: Sequence[str] | None = None,
        seed: int = 0,
        deterministic: bool = False,
        device: Any = "cpu",
        run_dir: str | Path | None = None,
        quiet: bool = False,
        plots: bool = False,
        restore_best: bool = True,
        callbacks: Sequence[Callable[[Trainer, int, dict[str, Any]], None]] = (),
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.model = model
        self.loss_spec = loss
        self.optimizer_spec = check_optimizer(optimizer)
        self.scheduler_spec = scheduler
        self.epochs = _int(epochs, "train.epochs", 1)
        self.batch_size = _int(batch_size, "train.batch_size", 1)
        self.eval_batch_size = _int(eval_batch_size, "train.eval_batch_size", 1)
        if grad_clip is not None:
            if isinstance(grad_clip, bool) or not isinstance(grad_clip, (int, float)) or grad_clip <= 0:
                raise ConfigError(
                    f"expected a number > 0 (max gradient norm) or null, got {grad_clip!r}", "train.grad_clip"
                )
        self.grad_clip = grad_clip
        self.early_stopping = check_early_stopping(early_stopping)
        self.monitor_name = monitor
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"expected 'auto', 'min' or 'max', got {mode!r}", "train.mode")
        self.mode = mode
        self.metric_names = None if metrics is None else M.check_metric_names(metrics)
        self.seed = _int(seed, "train.seed", 0)
        self.deterministic = bool(deterministic)
        self.device = resolve_device(device)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.quiet = quiet
        self.plots = plots
        self.restore_best = restore_best
        self.callbacks = list(callbacks)
        self._log = log or print
        self.history: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ set-up

    def _setup(self, data: Dataset | GraphDataset) -> None:
        self.task = data.task
        self.graph = isinstance(data, GraphDataset)
        default_loss = "cross_entropy" if self.task == "classification" else "mse"
        self.loss_cfg = check_loss(self.loss_spec if self.loss_spec is not None else default_loss, self.task)
        self.loss_fn = build_loss(self.loss_cfg)
        names = self.metric_names if self.metric_names is not None else M.default_metrics(self.task)
        wrong = [n for n in names if (n in M.REGRESSION) != (self.task == "regression")]
        if wrong:
            raise ConfigError(
                f"metrics {wrong} do not apply to a {self.task} task (use {M.default_metrics(self.task)})", "metrics"
            )
        self.metrics = list(names)
        monitor = self.monitor_name or ("val_loss" if data.has_val else "train_loss")
        self.monitor = self._check_monitor(monitor, data, "train.monitor")
        self.monitor_mode = M.mode_of(self.monitor) if self.mode == "auto" else self.mode
        self.best = _Tracker(self.monitor_mode)
        self.stopper = None
        if self.early_stopping is not None:
            es = self.early_stopping
            es_monitor = self._check_monitor(es["monitor"] or self.monitor, data, "train.early_stopping.monitor")
            es_mode = M.mode_of(es_monitor) if es["mode"] == "auto" else es["mode"]
            self.stopper = (es_monitor, _Tracker(es_mode, es["min_delta"]), es["patience"])
        self.scheduler_cfg = check_scheduler(self.scheduler_spec, self.epochs, self.monitor_mode)
        self._check_widths(data)

    def _check_monitor(self, name: str, data: Any, path: str) -> str:
        if not isinstance(name, str):
            raise ConfigError(f"expected a name such as 'val_loss' or 'val_accuracy', got {name!r}", path)
        split, _, quantity = name.partition("_")
        valid = ["train_loss"] + (["val_loss"] + [f"val_{m}" for m in M.METRICS] if data.has_val else [])
        if name in valid:
            if split == "val" and quantity != "loss" and quantity not in self.metrics:
                self.metrics.append(quantity)
            return name
        if split == "val" and not data.has_val:
            raise ConfigError(
                f"{name!r} needs a validation split: set data.val_fraction > 0, or monitor 'train_loss'", path
            )
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"cannot monitor {name!r}{hint} (use train_loss, val_loss or val_<metric>)", path)

    def _check_widths(self, data: Any) -> None:
        m, n = getattr(self.model, "m", None), getattr(self.model, "n", None)
        x = data.x if self.graph else data.x_train
        if isinstance(m, int) and x.dim() >= 2 and x.shape[-1] != m:
            raise ConfigError(
                f"the model takes {m} input features but the data {data.name!r} have {x.shape[-1]}; "
                f"set the first width to {x.shape[-1]}",
                "model.dims[0]",
            )
        if not isinstance(n, int):
            return
        if self.task == "classification":
            k = data.num_classes
            ok = n == k or (self.loss_cfg["name"] == "bce_with_logits" and n == 1 and k == 2)
            if not ok:
                raise ConfigError(
                    f"the model has {n} outputs but the data {data.name!r} have {k} classes; set the last width to {k}",
                    "model.dims[-1]",
                )
        elif n != data.out_features:
            raise ConfigError(
                f"the model has {n} outputs but the data {data.name!r} have {data.out_features} "
                f"target column(s); set the last width to {data.out_features}",
                "model.dims[-1]",
            )

    # ------------------------------------------------------------------ pieces

    def targets(self, y: Tensor, n_out: int) -> Tensor:
        """The loss target for labels / values ``y`` and a model with ``n_out`` outputs."""
        name = self.loss_cfg["name"]
        if name == "cross_entropy":
            return y
        if name == "bce_with_logits":
            if n_out == 1:
                return y.float().reshape(-1, 1)
            return nn.functional.one_hot(y, n_out).float()
        return y

    def predictions(self, output: Tensor) -> Tensor:
        """Class ids (argmax of the logits, or logit > 0 for one binary output) or the regression values."""
        if self.task == "classification":
            if output.shape[-1] == 1:
                return (output[..., 0] > 0).long()
            return output.argmax(-1)
        return output

    def _loader(self, x: Tensor, y: Tensor, generator: torch.Generator) -> DataLoader:
        sampler = BatchSampler(RandomSampler(range(len(x)), generator=generator), self.batch_size, drop_last=False)
        return DataLoader(TensorDataset(x, y), sampler=sampler, batch_size=None, generator=generator)

    @torch.no_grad()
    def _outputs(self, x: Tensor) -> Tensor:
        self.model.eval()
        if self.graph:
            return self.model(x)
        chunks = [self.model(x[i : i + self.eval_batch_size]) for i in range(0, len(x), self.eval_batch_size)]
        return torch.cat(chunks) if chunks else torch.zeros(0)

    def _score(self, output: Tensor, y: Tensor, prefix: str = "") -> dict[str, float]:
        if len(y) == 0:
            return {}
        loss = self.loss_fn(output, self.targets(y, output.shape[-1])).item()
        scores = M.compute(self.metrics, y, self.predictions(output))
        return {f"{prefix}loss": loss, **{f"{prefix}{k}": v for k, v in scores.items()}}

    def evaluate(self, data: Dataset | GraphDataset, split: str = "test") -> dict[str, float]:
        """Loss and metrics of the current model on one split (``train``, ``val``, ``test``)."""
        if not hasattr(self, "loss_fn"):
            self._setup(data)
        self.model.to(self.device)
        if isinstance(data, GraphDataset):
            mask = data.mask(split).to(self.device)
            output = self._outputs(data.x.to(self.device))
            return self._score(output[mask], data.y.to(self.device)[mask])
        x, y = data.split(split)
        return self._score(self._outputs(x.to(self.device)), y.to(self.device))

    # ------------------------------------------------------------------ fit

    def fit(self, data: Dataset | GraphDataset, resume: bool = False) -> FitResult:
        """Train for ``epochs`` (from ``run_dir/last`` when ``resume``), then evaluate the test split."""
        with deterministic_mode(self.deterministic):
            return self._fit(data, resume)

    def _fit(self, data: Dataset | GraphDataset, resume: bool) -> FitResult:
        self._setup(data)
        if resume and self.run_dir is None:
            raise ConfigError("resume needs a run_dir")
        model = self.model
        if not resume:
            seed_everything(self.seed)
        model.to(self.device)
        optimizer = build_optimizer(self.optimizer_spec, model.parameters())
        scheduler = build_scheduler(self.scheduler_cfg, optimizer, self.epochs, self.monitor_mode)
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        start_epoch, elapsed = 0, 0.0
        self.history = []
        best_weights: dict[str, Tensor] | None = None
        if resume:
            start_epoch, elapsed = self._restore(optimizer, scheduler, generator)
        if self.graph:
            x_all, y_all = data.x.to(self.device), data.y.to(self.device)
            train_mask = data.train_mask.to(self.device)
            val_mask = data.val_mask.to(self.device)
            n_train = int(train_mask.sum())
        else:
            x_train, y_train = data.x_train.to(self.device), data.y_train.to(self.device)
            n_train = len(x_train)
            loader = self._loader(x_train, y_train, generator)
            x_val = data.x_val.to(self.device) if data.has_val else None
            y_val = data.y_val.to(self.device) if data.has_val else None
        progress = _Progress(not self.quiet)
        stopped_early = False
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        if start_epoch >= self.epochs and not self.quiet:
            self._log(f"nothing to do: the run already has {start_epoch} of {self.epochs} epochs")
        for epoch in range(start_epoch + 1, self.epochs + 1):
            if self._exhausted():
                stopped_early = True
                break
            started = time.perf_counter()
            model.train()
            total = torch.zeros((), device=self.device, dtype=torch.float64)
            if self.graph:
                batches = [(x_all, y_all)]
            else:
                batches = progress.wrap(loader, total=len(loader), desc=f"epoch {epoch}/{self.epochs}")
            for xb, yb in batches:
                loss = optimizer.step(self._closure(optimizer, xb, yb, train_mask if self.graph else None))
                total += loss.detach().double() * (n_train if self.graph else len(xb))
            train_loss = (total / max(n_train, 1)).item()
            if not math.isfinite(train_loss):
                raise TrainingError(
                    f"training diverged at epoch {epoch}: the training loss is {train_loss}; lower "
                    "train.optimizer.lr or set train.grad_clip"
                )
            record: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss}
            if self.graph:
                if data.has_val:
                    out = self._outputs(x_all)
                    record.update(self._score(out[val_mask], y_all[val_mask], "val_"))
            elif x_val is not None:
                record.update(self._score(self._outputs(x_val), y_val, "val_"))
            record["lr"] = optimizer.param_groups[0]["lr"]
            if scheduler is not None:
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(record[self.monitor])
                else:
                    scheduler.step()
            elapsed += time.perf_counter() - started
            record["seconds"] = round(elapsed, 4)
            self.history.append(record)
            improved = self.best.update(record[self.monitor], epoch)
            if self.stopper is not None:
                self.stopper[1].update(record[self.stopper[0]], epoch)
            if improved:
                if self.run_dir is not None:
                    save_checkpoint(
                        self.run_dir / "best",
                        model,
                        extra={"epoch": epoch, "monitor": self.monitor, "value": record[self.monitor]},
                    )
                else:
                    best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if self.run_dir is not None:
                state = self._state(epoch, optimizer, scheduler, generator, elapsed)
                save_checkpoint(self.run_dir / "last", model, state, extra={"epoch": epoch})
                self._write_history()
            if not self.quiet:
                self._log(self._line(record, improved))
            for callback in self.callbacks:
                callback(self, epoch, record)
            if self._exhausted() and epoch < self.epochs:
                stopped_early = True
                break
        if stopped_early and not self.quiet:
            self._log(f"early stopping: {self.stopper[0]} did not improve for {self.stopper[2]} epochs")
        if self.restore_best and self.best.best_epoch is not None:
            if self.run_dir is not None and (self.run_dir / "best").is_dir():
                load_weights(model, self.run_dir / "best")
            elif best_weights is not None:
                model.load_state_dict(best_weights)
        test = self.evaluate(data, "test") if self._has_test(data) else {}
        result = FitResult(
            history=self.history,
            best_epoch=self.best.best_epoch,
            best_value=self.best.best,
            monitor=self.monitor,
            test=test,
            stopped_early=stopped_early,
            epochs_run=self.history[-1]["epoch"] if self.history else start_epoch,
            seconds=elapsed,
            run_dir=None if self.run_dir is None else str(self.run_dir),
        )
        if self.run_dir is not None:
            write_text_atomic(self.run_dir / "results.json", json.dumps(result.to_dict(), indent=2) + "\n")
            if self.plots:
                self._plot(data)
        return result

    def _exhausted(self) -> bool:
        return self.stopper is not None and self.stopper[1].bad_epochs >= self.stopper[2]

    @staticmethod
    def _has_test(data: Any) -> bool:
        if isinstance(data, GraphDataset):
            return bool(data.test_mask.any())
        return data.x_test is not None and len(data.x_test) > 0

    def _closure(self, optimizer: torch.optim.Optimizer, xb: Tensor, yb: Tensor, mask: Tensor | None):
        def closure() -> Tensor:
            optimizer.zero_grad(set_to_none=True)
            out = self.model(xb)
            y = yb
            if mask is not None:
                out, y = out[mask], yb[mask]
            loss = self.loss_fn(out, self.targets(y, out.shape[-1]))
            loss.backward()
            if self.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            return loss

        return closure

    def _line(self, record: dict[str, Any], improved: bool) -> str:
        parts = [f"epoch {record['epoch']:>3}/{self.epochs}"]
        for key, value in record.items():
            if key in ("epoch", "seconds"):
                continue
            parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
        parts.append(f"{record['seconds']:.1f}s")
        return "  ".join(parts) + ("  *" if improved else "")

    # ------------------------------------------------------------------ state

    def _state(self, epoch: int, optimizer, scheduler, generator: torch.Generator, elapsed: float) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "epoch": epoch,
            "optimizer": optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "rng": rng_state(),
            "loader_rng": generator.get_state(),
            "history": self.history,
            "best": self.best.state(),
            "early_stopping": None if self.stopper is None else self.stopper[1].state(),
            "elapsed": elapsed,
        }

    def _restore(self, optimizer, scheduler, generator: torch.Generator) -> tuple[int, float]:
        last = self.run_dir / "last"
        state = load_state(last)
        if state.get("version") != STATE_VERSION:
            raise TrainingError(f"{last}: training state version {state.get('version')} is not supported")
        load_weights(self.model, last)
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            if state["scheduler"] is None:
                raise TrainingError("the checkpoint was trained without a scheduler; remove train.scheduler to resume")
            scheduler.load_state_dict(state["scheduler"])
        self.history = [dict(r) for r in state["history"]]
        self.best.load(state["best"])
        if self.stopper is not None and state["early_stopping"] is not None:
            self.stopper[1].load(state["early_stopping"])
        set_rng_state(state["rng"])
        generator.set_state(state["loader_rng"])
        return int(state["epoch"]), float(state["elapsed"])

    def _write_history(self) -> None:
        write_text_atomic(self.run_dir / "history.json", json.dumps(self.history, indent=1) + "\n")
        keys: list[str] = []
        for record in self.history:
            keys += [k for k in record if k not in keys]
        lines = [",".join(keys)]
        for record in self.history:
            lines.append(",".join("" if record.get(k) is None else repr(record[k]) for k in keys))
        write_text_atomic(self.run_dir / "history.csv", "\n".join(lines) + "\n")

    def _plot(self, data: Any) -> None:
        from . import plots

        try:
            plots.plot_history(self.history, self.run_dir / "plots")
            if isinstance(data, Dataset) and "formula" in data.info and len(data.info["variables"]) <= 2:
                plots.plot_function(self.model, data, self.run_dir / "plots" / "function.png")
        except ImportError:
            if not self.quiet:
                self._log("plots skipped: matplotlib is not installed (pip install 'rpnkit[plot]')")


def _int(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"expected an int >= {minimum}, got {value!r}", path)
    return value
