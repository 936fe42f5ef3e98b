"""Experiment tracking: ``output.loggers: [tensorboard, csv, mlflow]``, as training callbacks.

Every logger receives the resolved experiment as hyperparameters when training starts, the
epoch's scalars (``train_loss``, ``val_loss``, ``val_<metric>``, ``lr``) at step = epoch after
each epoch, and the final metrics (``test_<metric>``, ``best_epoch``, ``best_<monitor>``) at the end:

* ``tensorboard``: event files in ``RUN_DIR/tensorboard`` (scalars; the config as text and as
  HParams with the final metrics), for ``tensorboard --logdir runs``; needs ``tensorboard``
  (``pip install 'rpnkit[tensorboard]'``);
* ``csv``: ``RUN_DIR/csv/metrics.csv`` (one row per epoch, then one row of final metrics) and
  ``RUN_DIR/csv/hparams.yaml``, the layout of Lightning's CSVLogger;
* ``mlflow``: an MLflow run (params, metrics per step, final metrics) at ``tracking_uri`` (default:
  ``MLFLOW_TRACKING_URI``, else ``RUN_DIR/mlruns``) in ``experiment`` (default: the run's name);
  needs ``mlflow`` (``pip install 'rpnkit[mlflow]'``).

TensorBoard and MLflow are imported only when asked for; a missing one is a
:class:`~rpnkit.errors.ConfigError` at ``output.loggers`` before training starts. Under several
processes only rank 0 logs (:func:`build_loggers` is called there only). A resumed run appends
(TensorBoard drops the steps after the checkpoint that an interrupted run had already written).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..config.io import dump_yaml, write_text_atomic
from ..errors import ConfigError
from .callbacks import Callback, _Trainer
from .result import FitResult

__all__ = [
    "Logger",
    "TensorBoardLogger",
    "CSVLogger",
    "MLflowLogger",
    "build_loggers",
    "flatten",
    "final_metrics",
]


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"optimizer": {"lr": 1e-3}}}`` -> ``{"train.optimizer.lr": 1e-3}``; lists become JSON.

    Example:
        >>> flatten({"model": {"dims": [4, 3]}, "train": {"epochs": 2, "loss": None}})
        {'model.dims': '[4, 3]', 'train.epochs': 2, 'train.loss': 'null'}
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = json.dumps(value, default=str)
    return out


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of an epoch record, without ``epoch`` and ``seconds``."""
    return {
        k: float(v)
        for k, v in record.items()
        if k not in ("epoch", "seconds") and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def final_metrics(result: FitResult) -> dict[str, float]:
    """``test_<metric>`` for every test score, ``best_epoch`` and ``best_<monitor>``."""
    out = {f"test_{k}": float(v) for k, v in result.test.items()}
    if result.best_epoch is not None:
        out["best_epoch"] = float(result.best_epoch)
    if result.best_value is not None and math.isfinite(result.best_value):
        out[f"best_{result.monitor}"] = float(result.best_value)
    return out


class Logger(Callback):
    """A tracker: :meth:`log_hparams` at the start, :meth:`log_metrics` per epoch and at the end, :meth:`close`."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def log_hparams(self, config: dict[str, Any], trainer: _Trainer) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def log_final(self, metrics: dict[str, float], step: int) -> None:
        self.log_metrics(metrics, step)

    def close(self) -> None:
        pass

    def on_fit_start(self, trainer: _Trainer) -> None:
        self.log_hparams(self.config, trainer)

    def on_epoch_end(self, trainer: _Trainer, record: dict[str, Any]) -> None:
        self.log_metrics(scalars(record), int(record["epoch"]))

    def on_fit_end(self, trainer: _Trainer, result: FitResult) -> None:
        try:
            self.log_final(final_metrics(result), int(result.epochs_run))
        finally:
            self.close()


class TensorBoardLogger(Logger):
    """Event files for TensorBoard in ``folder`` (``torch.utils.tensorboard``; needs ``tensorboard``)."""

    def __init__(self, folder: str | Path, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.folder = Path(folder)
        self._writer_class = _import_tensorboard()
        self.writer: Any = None

    def log_hparams(self, config: dict[str, Any], trainer: _Trainer) -> None:
        start = int(getattr(trainer, "start_epoch", 0))
        # a resumed run drops the steps after its checkpoint that the interrupted run had written
        self.writer = self._writer_class(str(self.folder), purge_step=start + 1 if start else None)
        self.writer.add_text("config", "```yaml\n" + dump_yaml(config) + "```", 0)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def log_final(self, metrics: dict[str, float], step: int) -> None:
        from torch.utils.tensorboard.summary import hparams

        self.log_metrics(metrics, step)
        experiment, start, end = hparams(flatten(self.config), metrics)
        file_writer = self.writer._get_file_writer()
        for summary in (experiment, start, end):
            file_writer.add_summary(summary)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class CSVLogger(Logger):
    """``metrics.csv`` (a row per epoch, then the final metrics) and ``hparams.yaml`` in ``folder``."""

    def __init__(self, folder: str | Path, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.folder = Path(folder)
        self.rows: list[dict[str, Any]] = []

    def log_hparams(self, config: dict[str, Any], trainer: _Trainer) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.folder / "hparams.yaml", dump_yaml(config))
        # a resumed run starts from the history in its checkpoint
        self.rows = [{"step": r["epoch"], **scalars(r)} for r in getattr(trainer, "history", [])]

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.rows.append({"step": step, **metrics})
        keys: list[str] = []
        for row in self.rows:
            keys += [k for k in row if k not in keys]
        lines = [",".join(keys)] + [",".join("" if r.get(k) is None else repr(r[k]) for k in keys) for r in self.rows]
        write_text_atomic(self.folder / "metrics.csv", "\n".join(lines) + "\n")


class MLflowLogger(Logger):
    """An MLflow run: the flattened config as params, metrics per epoch, the final metrics (needs ``mlflow``)."""

    def __init__(
        self,
        folder: str | Path,
        config: dict[str, Any],
        tracking_uri: str | None = None,
        experiment: str | None = None,
    ) -> None:
        super().__init__(config)
        self.mlflow = _import_optional("mlflow", "mlflow")
        self.tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or Path(folder).resolve().as_uri()
        self.experiment = experiment or str(config.get("name") or "rpnkit")
        self.run: Any = None

    def log_hparams(self, config: dict[str, Any], trainer: _Trainer) -> None:
        self.mlflow.set_tracking_uri(self.tracking_uri)
        self.mlflow.set_experiment(self.experiment)
        self.run = self.mlflow.start_run(run_name=str(config.get("name") or "rpnkit"))
        params = {k: str(v)[:500] for k, v in flatten(config).items()}
        self.mlflow.log_params(params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.mlflow.log_metrics(metrics, step=step)

    def close(self) -> None:
        if self.run is not None:
            self.mlflow.end_run()
            self.run = None


def _import_optional(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ConfigError(
            f"the {extra} logger needs the {module!r} package, which is not installed: "
            f"pip install 'rpnkit[{extra}]' (or drop {extra} from output.loggers)",
            "output.loggers",
        ) from err


def _import_tensorboard() -> type:
    _import_optional("tensorboard", "tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter


def build_loggers(specs: list[Any], run_dir: str | Path, config: dict[str, Any]) -> list[Logger]:
    """The loggers of ``output.loggers`` (checked by :func:`rpnkit.config.experiment.check_loggers`)."""
    run_dir = Path(run_dir)
    found: list[Logger] = []
    for spec in specs:
        options = dict(spec) if isinstance(spec, dict) else {"name": spec}
        name = options.pop("name")
        if name == "tensorboard":
            found.append(TensorBoardLogger(run_dir / "tensorboard", config))
        elif name == "csv":
            found.append(CSVLogger(run_dir / "csv", config))
        elif name == "mlflow":
            found.append(MLflowLogger(run_dir / "mlruns", config, **options))
        else:  # pragma: no cover - the schema refuses other names
            raise ConfigError(f"unknown logger {name!r}", "output.loggers")
    return found
