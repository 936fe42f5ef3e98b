"""The training loop: fit with validation, best-epoch selection, callbacks and resume.

:class:`Trainer` trains any model that maps (..., m) to logits or predictions (no softmax inside)
on a :class:`~rpnkit.data.Dataset` (mini-batches) or a :class:`~rpnkit.data.GraphDataset`
(transductive: one full-graph batch per epoch, the loss on the training mask); the difference is
confined to :mod:`rpnkit.train.batches`.

Everything around the loop is a callback (:mod:`rpnkit.train.callbacks`): with a ``run_dir`` the
trainer writes ``best/`` and ``last/`` checkpoints (``rk.save`` + the training state),
``history.json`` / ``history.csv`` after every epoch, ``results.json`` and plots at the end.
``fit(data, resume=True)`` continues from ``run_dir/last`` at the next epoch with the optimizer,
scheduler and every random generator (Python, numpy, torch, the shuffling generator) restored, so
an interrupted run ends with the same weights, bit for bit, as one that was not interrupted.

Scale-out and portability options (all off by default, which is the plain fp32 eager loop):
``precision`` (``bf16``/``fp16`` autocast; fp16 with a :class:`torch.amp.GradScaler`), ``compile``
(:func:`torch.compile` of the training forward/backward), ``accumulate`` (K micro-batches per
optimizer step), ``workers`` (DataLoader workers). Under torchrun (``WORLD_SIZE`` > 1) the trainer
joins the process group and trains a :class:`~torch.nn.parallel.DistributedDataParallel` model on
its share of every global batch; see :mod:`rpnkit.train.distributed`.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..config.experiment import (
    MODES,
    check_compile,
    check_early_stopping,
    check_grad_clip,
    check_precision,
    check_workers,
)
from ..config.optim import build_optimizer, build_scheduler, check_loss, check_optimizer, check_scheduler
from ..errors import ConfigError
from ..validation import check_choice, check_int
from . import callbacks as C
from . import distributed as dist_
from . import metrics as M
from .batches import Batch, make_batches
from .callbacks import CallbackLike
from .checkpoint import checkpoint_dir
from .checks import check_monitor, check_task_metrics, check_widths, default_loss, monitored_metric, resolve_device
from .result import FitResult, TrainingError
from .scoring import Scorer
from .seeding import deterministic_mode, rng_state, seed_everything

__all__ = ["Trainer", "FitResult", "TrainingError", "resolve_device", "check_early_stopping"]


#: The input-range warning fires when a polynomial expansion's largest |x| ** degree exceeds this.
RANGE_WARN_GROWTH = 100.0
#: The trainer warns (once a run) when the training loss has risen this many epochs in a row.
RISE_WARN_EPOCHS = 3


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
        callbacks: functions ``f(trainer, epoch, record)`` called after each epoch (after checkpoints),
            or :class:`~rpnkit.train.callbacks.Callback` objects. Under several processes they run in
            every process (``trainer.world.main`` is True in the one that writes files).
        precision: ``fp32`` (no autocast), ``bf16`` or ``fp16`` (:func:`torch.autocast` around the
            forward pass; the loss and the metrics are computed in float32; fp16 scales the loss with
            a :class:`torch.amp.GradScaler`, whose state is checkpointed).
        compile: ``False``, ``True`` or ``{"mode": ..., "fullgraph": ..., "dynamic": ...}``:
            :func:`torch.compile` the model for training (evaluation runs eagerly).
        accumulate: K: one optimizer step per K mini-batches (the effective batch is K x batch_size;
            each micro-batch's loss is weighted by its share of the rows).
        workers: DataLoader worker processes gathering the training batches (pinned memory on CUDA).
        overwrite: let a fresh :meth:`fit` write into a ``run_dir`` that already holds a run (a ``last``
            checkpoint or ``results.json``); without it that is a :class:`~rpnkit.errors.ConfigError`
            (``fit(data, resume=True)`` continues such a run instead).

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
        callbacks: Sequence[CallbackLike] = (),
        log: Callable[[str], None] | None = None,
        precision: str = "fp32",
        compile: Any = False,
        accumulate: int = 1,
        workers: int = 0,
        overwrite: bool = False,
    ) -> None:
        self.model = model
        self.loss_spec = loss
        self.optimizer_spec = check_optimizer(optimizer)
        # L-BFGS minimises the loss times this factor (its thresholds are absolute; see check_optimizer)
        self.objective_scale = float(self.optimizer_spec.get("objective_scale", 1.0))
        self.scheduler_spec = scheduler
        self.epochs = check_int(epochs, None, 1, path="train.epochs")
        self.batch_size = check_int(batch_size, None, 1, path="train.batch_size")
        self.eval_batch_size = check_int(eval_batch_size, None, 1, path="train.eval_batch_size")
        self.grad_clip = check_grad_clip(grad_clip)
        self.early_stopping = check_early_stopping(early_stopping)
        self.monitor_name = monitor
        self.mode = check_choice(mode, None, MODES, path="train.mode")
        self.metric_names = None if metrics is None else M.check_metric_names(metrics)
        self.seed = check_int(seed, None, 0, path="train.seed")
        self.deterministic = bool(deterministic)
        self.device = resolve_device(device)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.overwrite = bool(overwrite)
        self.quiet = quiet
        self.plots = plots
        self.restore_best = restore_best
        self.callbacks = list(callbacks)
        self._log = log or print
        self.history: list[dict[str, Any]] = []
        self.precision = check_precision(precision)
        self.compile = check_compile(compile)
        self.accumulate = check_int(accumulate, None, 1, path="train.accumulate")
        self.workers = check_workers(workers)
        #: The processes training together (one unless started by torchrun); set by :meth:`fit`.
        self.world = dist_.SINGLE
        self.scaler: torch.amp.GradScaler | None = None
        self.net: nn.Module = model
        self._ddp: Any = None

    # ------------------------------------------------------------------ set-up

    def _setup(self, data: Any) -> None:
        """Check the options against the data: loss, metrics, monitors, scheduler, widths."""
        self.task = data.task
        self.loss_cfg = check_loss(self.loss_spec if self.loss_spec is not None else default_loss(self.task), self.task)
        self.metrics = check_task_metrics(self.metric_names, self.task)
        monitor = self.monitor_name or ("val_loss" if data.has_val else "train_loss")
        self.monitor = check_monitor(monitor, data.has_val, "train.monitor")
        self.monitor_mode = M.mode_of(self.monitor) if self.mode == "auto" else self.mode
        self.best = C.Tracker(self.monitor_mode)
        self.stopper = None
        if self.early_stopping is not None:
            log = None if self.quiet or not self.world.main else self._log
            self.stopper = C.EarlyStopping.from_spec(self.early_stopping, self.monitor, data.has_val, log)
        for name in [self.monitor] + ([self.stopper.monitor] if self.stopper is not None else []):
            metric = monitored_metric(name)
            if metric is not None and metric not in self.metrics:
                self.metrics.append(metric)
        self.scorer = Scorer(self.loss_cfg, self.task, self.metrics)
        self.loss_fn = self.scorer.loss_fn
        self.scheduler_cfg = check_scheduler(self.scheduler_spec, self.epochs, self.monitor_mode)
        self.generator = torch.Generator()
        self.generator.manual_seed(self.seed)
        self.batches = make_batches(
            data, self.device, self.batch_size, self.eval_batch_size, self.generator, self.world, self.workers
        )
        check_widths(self.model, data, self.batches.inputs, self.loss_cfg["name"])

    # ------------------------------------------------------------------ pieces

    def targets(self, y: Tensor, n_out: int) -> Tensor:
        """The loss target for labels / values ``y`` and a model with ``n_out`` outputs."""
        return self.scorer.targets(y, n_out)

    def predictions(self, output: Tensor) -> Tensor:
        """Class ids (argmax of the logits, or logit > 0 for one binary output) or the regression values."""
        return self.scorer.predictions(output)

    def evaluate(self, data: Any, split: str = "test") -> dict[str, float]:
        """Loss and metrics of the current model on one split (``train``, ``val``, ``test``).

        Under several processes each computes its share of the split and the outputs are gathered, so
        every process returns the scores of the whole split.
        """
        if not hasattr(self, "scorer"):
            self.world = dist_.current()
            self._setup(data)
        self.model.to(self.device)
        batches = make_batches(data, self.device, self.batch_size, self.eval_batch_size, world=self.world)
        return self._score(batches, split)

    def _score(self, batches: Any, split: str, prefix: str = "") -> dict[str, float]:
        """Loss and metrics on ``split`` (under the training precision's autocast; scored in float32)."""
        with self._autocast():
            output, y = batches.outputs(self.model, split)
        if self.precision != "fp32":
            output = output.float()
        return self.scorer.score(output, y, prefix=prefix)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _emit(self, hook: str, *args: Any) -> None:
        for callback in self.active_callbacks:
            getattr(callback, hook)(self, *args)

    # ------------------------------------------------------------------ fit

    def fit(self, data: Any, resume: bool = False) -> FitResult:
        """Train for ``epochs`` (from ``run_dir/last`` when ``resume``), then evaluate the test split."""
        with deterministic_mode(self.deterministic):
            try:
                self._start(data, resume)
                for epoch in range(self.start_epoch + 1, self.epochs + 1):
                    if self.should_stop:
                        self.stopped_early = True
                        break
                    self._run_epoch(epoch)
                return self._finish(data)
            finally:
                self._remove_range_hooks()
                self._unwrap()

    def _unwrap(self) -> None:
        """Drop the DDP / compiled wrappers, so that DDP is gone before its process group is destroyed."""
        wrapped = self._ddp is not None
        self.net, self._ddp = self.model, None
        if wrapped:
            import gc

            gc.collect()  # DDP's reducer sits in reference cycles; freeing it after the group is gone can hang

    def _start(self, data: Any, resume: bool) -> None:
        """Join the processes, check the options, seed, build the optimizer and scheduler, install the
        callbacks, resume, and wrap the model (DDP, compile)."""
        self.world, _ = dist_.init(self.device)
        self.device = dist_.local_device(self.device, self.world)
        self._setup(data)
        dist_.check_supported(self.model, data, self.world)
        self._check_combinations()
        if resume and self.run_dir is None:
            raise ConfigError("resume needs a run_dir")
        if not resume and not self.overwrite and self.run_dir is not None and self._holds_run(self.run_dir):
            raise ConfigError(
                f"{str(self.run_dir)!r} already holds a run; continue it with fit(data, resume=True), "
                "pass Trainer(..., overwrite=True) to replace it, or choose another run_dir"
            )
        if not resume:
            seed_everything(self.seed)
            if self.world.rank > 0:  # own dropout masks per process; rank 0 draws what one process would
                torch.manual_seed(self.seed + self.world.rank)
        self.model.to(self.device)
        self.optimizer = build_optimizer(self.optimizer_spec, self.model.parameters())
        self.scheduler = build_scheduler(self.scheduler_cfg, self.optimizer, self.epochs, self.monitor_mode)
        self.scaler = torch.amp.GradScaler(self.device.type) if self.precision == "fp16" else None
        self.epoch = self.start_epoch = 0
        self.elapsed, self.history, self._rise_warned = 0.0, [], False
        self.rank_rng: list[Any] | None = None
        self.should_stop = self.stopped_early = False
        self._breakdowns = 0
        main = self.world.main
        quiet = self.quiet or not main
        if not quiet and not resume and self.monitor_name is None and not data.has_val:
            self._log(
                "no validation split: the best epoch is chosen by train_loss "
                "(set data.val_fraction > 0 to choose it on held-out rows)"
            )
        built_in = C.default_callbacks(self.run_dir, data, quiet, self.plots, self._log, self.stopper, main=main)
        user = [c if isinstance(c, C.Callback) else C.EpochFunction(c) for c in self.callbacks]
        # stable: the callbacks that keep state run first, so that the last checkpoint holds it after the epoch
        self.active_callbacks = sorted(built_in + user, key=lambda c: c.state_key is None)
        if resume:
            C.LastCheckpoint(self.run_dir / "last").restore(self)
        self._add_range_hooks()
        self.net = self._wrap(self.model)
        if self.run_dir is not None and main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self._emit("on_fit_start")

    @staticmethod
    def _holds_run(run_dir: Path) -> bool:
        return checkpoint_dir(run_dir / "last").exists() or (run_dir / "results.json").exists()

    def _check_combinations(self) -> None:
        """Options that cannot go together (L-BFGS re-evaluates the loss in a closure; bf16 needs hardware)."""
        if self.precision == "bf16" and self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError(f"{torch.cuda.get_device_name(self.device)} has no bfloat16; use fp16", "train.precision")
        if self.optimizer_spec["name"] != "lbfgs":
            return
        if self.accumulate > 1 or self.precision == "fp16":
            what = "train.accumulate > 1" if self.accumulate > 1 else "train.precision: fp16 (a gradient scaler)"
            raise ConfigError(f"lbfgs cannot be combined with {what}; use adam/adamw/sgd", "train.optimizer.name")
        if self.world.distributed:
            raise ConfigError(
                "lbfgs is a full-batch method whose line search would differ between processes; "
                "train it in one process or use adam/adamw/sgd",
                "train.optimizer.name",
            )

    def _wrap(self, model: nn.Module) -> nn.Module:
        """What the training steps call: the model, in DDP under several processes, compiled when asked."""
        net = model
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            net = self._ddp = DistributedDataParallel(model, device_ids=ids)
        if self.compile is not False:
            options = {} if self.compile is True else dict(self.compile)
            if options.get("mode") == "default":
                options.pop("mode")
            net = torch.compile(net, **options)
        return net

    def _run_epoch(self, epoch: int) -> None:
        """Train one epoch, validate, step the scheduler, record, and hand the record to the callbacks."""
        started = time.perf_counter()
        self.epoch = epoch
        self.model.train()
        self._emit("on_epoch_start", epoch)
        train_loss = self._train_batches()
        self._remove_range_hooks()
        if not math.isfinite(train_loss):
            raise TrainingError(self._diverged(epoch, "the training loss", train_loss))
        bad = next((n for n, p in self.model.named_parameters() if not bool(torch.isfinite(p).all())), None)
        if bad is not None:  # L-BFGS reports the loss before its step: the step itself may have diverged
            raise TrainingError(self._diverged(epoch, f"parameter {bad!r}", "nan/inf"))
        self._warn_if_rising(epoch, train_loss)
        record: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss}
        if self.batches.has("val"):
            record.update(self._score(self.batches, "val", prefix="val_"))
            if not math.isfinite(record["val_loss"]):
                raise TrainingError(self._diverged(epoch, "the validation loss", record["val_loss"]))
        record["lr"] = self.optimizer.param_groups[0]["lr"]
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(record[self.monitor])
        elif self.scheduler is not None:
            self.scheduler.step()
        self.elapsed += time.perf_counter() - started
        record["seconds"] = round(self.elapsed, 4)
        self.history.append(record)
        self.best.update(record[self.monitor], epoch)
        if self.world.distributed:  # every process's generators go into the checkpoint
            self.rank_rng = dist_.gather_objects(rng_state(), self.world)
        self._emit("on_epoch_end", record)
        if self.world.distributed:  # rank 0's callbacks decide
            self.should_stop = bool(dist_.broadcast_object(self.should_stop, self.world))

    def _diverged(self, epoch: int, what: str, value: Any) -> str:
        """The one-line message of a run that turned NaN/inf: where, and what to try."""
        opt = self.optimizer_spec
        tips = [f"lower train.optimizer.lr (now {opt['lr']:g})"]
        if opt["name"] == "lbfgs" and opt.get("line_search_fn") is None:
            tips.append("set train.optimizer.line_search_fn: strong_wolfe")
        if self.grad_clip is None:
            tips.append("set train.grad_clip (e.g. 1.0)")
        tips.append("normalise the inputs (data.normalize: minmax) or the expansion (postprocess: layer_norm)")
        return f"training diverged at epoch {epoch}: {what} is {value}; " + ", ".join(tips[:-1]) + " or " + tips[-1]

    def _warn_if_rising(self, epoch: int, loss: float) -> None:
        """One warning a run when the training loss rose :data:`RISE_WARN_EPOCHS` epochs in a row to above
        the first epoch's.

        The usual cause is an unnormalised polynomial stack whose outputs grow from epoch to epoch, or
        a learning rate too large for it; the message names the options that fix it. Rises late in a
        run that stay below where it began (noise near a small loss) say nothing.
        """
        losses = [r["train_loss"] for r in self.history[-RISE_WARN_EPOCHS:]] + [loss]
        if self._rise_warned or len(losses) <= RISE_WARN_EPOCHS:
            return
        rising = all(b > a * (1 + 1e-3) for a, b in zip(losses, losses[1:]))
        if rising and loss > self.history[0]["train_loss"]:
            self._rise_warned = True
            warnings.warn(
                f"the training loss rose {RISE_WARN_EPOCHS} epochs in a row ({losses[0]:.4g} at epoch "
                f"{epoch - RISE_WARN_EPOCHS} -> {loss:.4g} at epoch {epoch}); lower train.optimizer.lr "
                f"(now {self.optimizer_spec['lr']:g}), set the expansions' postprocess: layer_norm, or set "
                "train.grad_clip",
                RuntimeWarning,
                stacklevel=2,
            )

    # ------------------------------------------------------------------ input-range warning

    def _add_range_hooks(self) -> None:
        """Watch the first epoch's inputs of every polynomial expansion with no normalisation.

        A polynomial of degree d grows as |x|^d outside [-1, 1] (and the orthogonal families are
        defined on it), so such inputs are the usual reason a plain "Taylor + identity" run trains
        badly or diverges; the warning fires when |x|^d exceeds :data:`RANGE_WARN_GROWTH`.
        One warning per model, naming the option that fixes it. Expansions in a
        layer after one whose heads all normalise their outputs are not watched.
        """
        self._range_hooks: list[Any] = []
        if getattr(self.model, "_rpnkit_range_warned", False) or self.compile is not False:
            return
        modules = dict(self.model.named_modules())
        for name, module in modules.items():
            if not getattr(module, "polynomial_growth", False):
                continue
            if module.preprocess is not None or module.postprocess is not None:
                continue
            parts = name.split(".")
            if len(parts) > 2 and parts[0] == "layers" and parts[1].isdigit() and int(parts[1]) > 0:
                previous = modules.get(f"layers.{int(parts[1]) - 1}")
                heads = list(getattr(previous, "heads", []) or [])
                if heads and all(getattr(h, "output_processing", None) is not None for h in heads):
                    continue
            # the head's input: an implicit-path head never calls the expansion's forward
            owner = modules.get(name.rpartition(".")[0], module) if "." in name else module
            self._range_hooks.append(owner.register_forward_pre_hook(self._range_hook(name, module)))

    def _range_hook(self, name: str, module: nn.Module) -> Callable[..., None]:
        def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0] if args else None
            if not isinstance(x, Tensor) or x.numel() == 0 or getattr(self.model, "_rpnkit_range_warned", False):
                return
            top = float(x.detach().abs().amax())
            degree = int(getattr(module, "degree", 2) or 2)
            # warn when the features can grow large: |x|^degree above RANGE_WARN_GROWTH (standardised
            # digits reach |x| = 42, so 1,800 at degree 2; iris 2.2^2 = 4.9 and hidden values near 2.7
            # at degree 3 (20) train fine and stay quiet)
            if math.isfinite(top) and top > 1.0 + 1e-6 and top**degree > RANGE_WARN_GROWTH:
                self.model._rpnkit_range_warned = True  # once per model
                kind = type(module).__name__.lower()
                warnings.warn(
                    f"{name} ({kind}, no normalisation) gets inputs up to |x| = {top:.3g}, outside [-1, 1], "
                    f"where its polynomial features grow as |x|^degree; set the expansion's "
                    f"postprocess: layer_norm (or preprocess: layer_norm, or data.normalize: minmax)",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._remove_range_hooks()

        return hook

    def _remove_range_hooks(self) -> None:
        for handle in getattr(self, "_range_hooks", []):
            handle.remove()
        self._range_hooks = []

    def _train_batches(self) -> float:
        """One pass over the training batches; the mean training loss (over every process's rows)."""
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        plain = self.accumulate == 1 and self.scaler is None
        sizes = self.batches.batch_sizes() if not plain or self.world.distributed else []
        last = len(sizes) - 1
        for i, batch in enumerate(self.batches.train()):
            if plain and self._line_search:
                loss = self._line_search_step(batch)
            elif plain:
                weight = None if not self.world.distributed else self._weight(batch, sizes[i])
                loss = self.optimizer.step(self._closure(batch, weight)) / self.objective_scale
            else:
                k = self.accumulate
                first, final = i - i % k, min(i - i % k + k - 1, last)
                if i == first:
                    self.optimizer.zero_grad(set_to_none=True)
                loss = self._backward(batch, self._weight(batch, sum(sizes[first : final + 1])), sync=i == final)
                if i == final:
                    self._step()
            if batch.size:
                total += loss.detach().double() * batch.size
            self._emit("on_batch_end", batch, loss)
        total = dist_.all_sum(total, self.world)
        return (total / max(self.batches.train_size, 1)).item()

    @property
    def _line_search(self) -> bool:
        return self.optimizer_spec["name"] == "lbfgs" and self.optimizer_spec.get("line_search_fn") is not None

    def _line_search_step(self, batch: Batch) -> Tensor:
        """One L-BFGS step with a line search, undone if it leaves non-finite weights from a finite loss.

        With a line search such a step is a numerical breakdown (torch's cubic interpolation on a flat
        stretch), not a learning rate too large: the weights from before the step are restored and
        L-BFGS starts a fresh history; a second breakdown in a row stops the run with a warning. Without
        a line search a non-finite step stays the divergence error it is.
        """
        before = [p.detach().clone() for p in self.model.parameters()]
        loss = self.optimizer.step(self._closure(batch)) / self.objective_scale
        finite = all(bool(torch.isfinite(p).all()) for p in self.model.parameters())
        if finite or not bool(torch.isfinite(loss)):
            self._breakdowns = 0
            return loss
        with torch.no_grad():
            for p, old in zip(self.model.parameters(), before, strict=True):
                p.copy_(old)
        self.optimizer.state.clear()
        self._breakdowns += 1
        if self._breakdowns >= 2:
            self.should_stop = True
            warnings.warn(
                f"L-BFGS's line search broke down twice in a row at epoch {self.epoch} (a non-finite step from "
                f"the training loss {loss.item():.4g}); the weights before the step are kept and training stops",
                RuntimeWarning,
                stacklevel=2,
            )
        return loss

    def _weight(self, batch: Batch, rows: int) -> float:
        """The factor on a (micro-)batch's mean loss so that the processes' averaged gradient, summed over
        the micro-batches, is the gradient of the mean loss over the ``rows`` of the optimizer step."""
        return batch.size * self.world.size / rows

    def _loss(self, batch: Batch, weight: float | None) -> tuple[Tensor, Tensor]:
        """(the batch's mean loss, what to differentiate: the loss times ``weight``)."""
        with self._autocast():
            output = self.net(batch.inputs)
        if self.precision != "fp32":
            output = output.float()
        if batch.size == 0:  # an empty share of a tiny last batch still joins the gradient all-reduce
            zero = output.sum() * 0.0
            return zero.detach(), zero
        loss = self.scorer.loss(*batch.select(output))
        return loss, loss if weight is None else loss * weight

    def _backward(self, batch: Batch, weight: float | None, sync: bool = True) -> Tensor:
        """Forward and backward of one micro-batch; without ``sync`` DDP keeps the gradients local (``no_sync``)."""
        local = self.world.distributed and not sync
        with self._ddp.no_sync() if local else contextlib.nullcontext():
            loss, scaled = self._loss(batch, weight)
            (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
        return loss

    def _step(self) -> None:
        """Clip (after unscaling) and step the optimizer."""
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()

    def _closure(self, batch: Batch, weight: float | None = None) -> Callable[[], Tensor]:
        """The step's closure: the objective (the loss times ``objective_scale``) and its gradient."""
        factor = self.objective_scale

        def closure() -> Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            loss, scaled = self._loss(batch, weight)
            (scaled * factor if factor != 1.0 else scaled).backward()
            if self.grad_clip is not None:  # the clip is on the loss's gradient, so on the objective's times factor
                nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip * factor)
            return loss * factor if factor != 1.0 else loss

        return closure

    def _finish(self, data: Any) -> FitResult:
        self._emit("on_train_end")
        dist_.broadcast_module(self.model, self.world)  # rank 0's final (best) weights, for the test split
        result = FitResult(
            history=self.history,
            best_epoch=self.best.best_epoch,
            best_value=self.best.best,
            monitor=self.monitor,
            test=self.evaluate(data, "test") if self.batches.has("test") else {},
            stopped_early=self.stopped_early,
            epochs_run=self.history[-1]["epoch"] if self.history else self.start_epoch,
            seconds=self.elapsed,
            run_dir=None if self.run_dir is None else str(self.run_dir),
        )
        self._emit("on_fit_end", result)
        return result
