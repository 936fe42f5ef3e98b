"""The experiment schema: ``name``, ``description``, ``model``, ``data``, ``train``, ``metrics``, ``output``.

:func:`resolve` validates every section and key (unknown keys get a did-you-mean, wrong values say
what is expected, and every error names its path, e.g. ``train.optimizer.lr``) and fills in the
defaults. :func:`load_experiment` reads an experiment from a file, an embedded example or a dict.
See ``docs/experiments.md`` for the full schema.

Datasets and metrics are catalogued above this package (:mod:`rpnkit.data`, :mod:`rpnkit.train.metrics`):
their names are checked through a :class:`Catalogue` that the caller passes; :func:`rpnkit.train.resolve`
passes the real one. Without a catalogue those names are checked only for their type.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..memory import parse_bytes
from ..plugins import check_module_name
from ..validation import (
    check_bool,
    check_choice,
    check_finite,
    check_int,
    check_mapping,
    did_you_mean,
    join_path,
)
from .io import load_yaml, read_config
from .optim import check_loss, check_number, check_optimizer, check_scheduler

__all__ = [
    "SECTIONS",
    "TRAIN_DEFAULTS",
    "OUTPUT_DEFAULTS",
    "EARLY_STOPPING_DEFAULTS",
    "MODES",
    "Catalogue",
    "embedded_configs",
    "load_experiment",
    "resolve",
    "check_early_stopping",
    "check_grad_clip",
    "check_monitor_name",
    "check_precision",
    "check_compile",
    "check_workers",
    "PRECISIONS",
    "COMPILE_MODES",
    "COMPILE_BACKENDS",
    "DATA_OPTIONS",
    "LOGGERS",
    "check_loggers",
    "check_plugins",
    "DATA_PATHS",
    "anchor_data_paths",
    "check_threads",
]

SECTIONS = ("name", "description", "plugins", "model", "data", "train", "metrics", "output")
TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 64,
    "eval_batch_size": 1024,
    "optimizer": {"name": "adam", "lr": 1e-3},
    "scheduler": None,
    "loss": None,
    "grad_clip": None,
    "early_stopping": None,
    "monitor": None,
    "mode": "auto",
    "seed": 0,
    "deterministic": False,
    "device": "auto",
    "restore_best": True,
    "precision": "fp32",
    "compile": False,
    "accumulate": 1,
    "memory_limit": None,
    "threads": "auto",
}
OUTPUT_DEFAULTS: dict[str, Any] = {"dir": None, "plots": True, "loggers": []}
#: ``output.loggers``: experiment trackers (tensorboard and mlflow are optional extras) and their options.
LOGGERS: dict[str, tuple[str, ...]] = {"tensorboard": (), "csv": (), "mlflow": ("tracking_uri", "experiment")}
EARLY_STOPPING_DEFAULTS: dict[str, Any] = {"patience": 10, "monitor": None, "mode": "auto", "min_delta": 0.0}
#: ``train.precision``: fp32 (no autocast), bf16 or fp16 autocast (fp16 with a gradient scaler).
PRECISIONS = ("fp32", "bf16", "fp16")
#: ``train.compile.mode``: torch.compile's modes (``default`` is torch's default).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
#: ``train.compile.backend``: inductor (torch's default) or the debugging backends that skip code generation.
COMPILE_BACKENDS = ("inductor", "aot_eager", "eager")
COMPILE_KEYS = ("mode", "backend", "fullgraph", "dynamic")
#: Keys of the ``data`` section that belong to the data loader, not to the dataset (``data.workers``).
DATA_OPTIONS = ("workers",)
#: Dataset options that name a file or folder: a relative one in an experiment file is taken relative to that
#: file's folder (a CSV beside the config: ``path: data.csv``), and a run's config.yaml stores it absolute.
#: ``folds`` is one only when it is a string (a fold file); a number or a list of folds is left alone.
DATA_PATHS = ("path", "root", "embedding_path", "folds")
#: How a monitored quantity improves: ``auto`` takes it from the name (losses: min; scores: max).
MODES = ("auto", "min", "max")


@dataclass(frozen=True)
class Catalogue:
    """The names an experiment refers to that live above :mod:`rpnkit.config`.

    Attributes:
        dataset_names: the dataset names (listed when ``data.name`` is missing).
        check_dataset: ``(name, options, path)``; raises :class:`ConfigError` for an unknown dataset
            (at ``path.name``) or an option it does not take (at ``path.<option>``).
        check_metrics: ``(names, path)`` -> the names as a list; raises for unknown metric names.
    """

    dataset_names: Callable[[], Sequence[str]]
    check_dataset: Callable[[Any, dict[str, Any], str], None]
    check_metrics: Callable[[Any, str], list[str]]


# ----------------------------------------------------------------------------------------- loading


def embedded_configs() -> list[str]:
    """Names of the example experiments shipped in ``rpnkit/configs`` (``default`` is the digits example)."""
    folder = resources.files("rpnkit.configs")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_experiment(source: str | os.PathLike | dict | None = None) -> tuple[dict[str, Any], str]:
    """The raw experiment and a default run name, from a file, an embedded name, a dict or None (``default``)."""
    if source is None:
        source = "default"
    if isinstance(source, dict):
        return copy.deepcopy(source), str(source.get("name") or "experiment")
    path = Path(source)
    if path.is_file():
        config = read_config(path)
        stem = path.stem
    elif str(source) in embedded_configs():
        text = resources.files("rpnkit.configs").joinpath(f"{source}.yaml").read_text(encoding="utf-8")
        config = load_yaml(text, f"rpnkit/configs/{source}.yaml")
        stem = str(source)
    else:
        hint = did_you_mean(source, embedded_configs(), cutoff=0.6)  # "; did you mean 'default'?"
        hint = hint.replace("did you mean", "did you mean the embedded")
        raise ConfigError(
            f"config {str(source)!r} is neither a file nor an embedded experiment "
            f"({', '.join(embedded_configs())}){hint}"
        )
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(
            f"an experiment must be a mapping with sections {list(SECTIONS)}, got {type(config).__name__}"
        )
    if path.is_file():
        config = anchor_data_paths(config, path.resolve().parent, legacy=True)
    return config, str(config.get("name") or stem)


def anchor_data_paths(config: dict[str, Any], base: str | os.PathLike, legacy: bool = False) -> dict[str, Any]:
    """The experiment with the relative :data:`DATA_PATHS` of its ``data`` section made absolute against ``base``.

    ``~`` is expanded. With ``legacy`` (an experiment file), a relative path that does not exist beside the
    file but does from the working directory (how older runs stored them in their config.yaml) is
    taken from the working directory, with a warning.
    """
    data = config.get("data")
    if not isinstance(data, dict) or not any(isinstance(data.get(k), (str, os.PathLike)) for k in DATA_PATHS):
        return config
    data = dict(data)
    for key in DATA_PATHS:
        value = data.get(key)
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            continue
        given = Path(value).expanduser()
        if given.is_absolute():
            data[key] = str(given)
            continue
        anchored = Path(base) / given
        if legacy and not anchored.exists() and given.exists():
            warnings.warn(
                f"data.{key}: {str(value)!r} is not beside the experiment file ({base}) but is in the working "
                "directory; using that one (relative data paths are taken from the experiment file's folder)",
                UserWarning,
                stacklevel=3,
            )
            anchored = given.resolve()
        data[key] = os.path.normpath(str(anchored))
    return {**config, "data": data}


# ----------------------------------------------------------------------------------------- validation


def _check_keys(keys: Iterable[str], valid: Sequence[str], path: str) -> None:
    """Unknown keys of a section: ``train.optimzer: unknown key 'optimzer'; did you mean 'optimizer'?``."""
    for key in keys:
        if key not in valid:
            raise ConfigError(
                f"unknown key {key!r}{did_you_mean(key, valid)} (valid keys: {', '.join(valid)})",
                join_path(path, str(key)),
            )


def _section(value: Any, path: str, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"expected a mapping, got {value!r}" if value is not None else "this section is required", path
        )
    return value


def resolve(config: dict[str, Any], name: str | None = None, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Validate an experiment and fill in the defaults (checks that need the data happen when it is loaded).

    Args:
        config: the raw experiment (after overrides).
        name: the run name when the experiment has none (e.g. the file's stem).
        catalogue: where dataset and metric names are checked (see :class:`Catalogue`).

    Raises:
        ConfigError: naming the path of the first problem, e.g. ``train.optimizer.lr``.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"an experiment must be a mapping with sections {list(SECTIONS)}, got {config!r}")
    _check_keys(config, SECTIONS, "")
    for section in ("model", "data", "train"):
        check_finite(config.get(section), section)
    out: dict[str, Any] = {"name": str(config.get("name") or name or "experiment")}
    if config.get("description") is not None:
        out["description"] = str(config["description"])
    plugins = config.get("plugins")
    if plugins is not None:
        out["plugins"] = check_plugins(plugins)
    out["model"] = _model_section(config)
    train = dict(_section(config.get("train"), "train"))
    out["data"] = _data_section(config.get("data"), train, catalogue)
    out["train"] = _train_section(train)
    metrics = config.get("metrics")
    out["metrics"] = None if metrics is None else _metric_names(metrics, catalogue)
    out["output"] = _output_section(config.get("output"))
    return out


def _model_section(config: dict[str, Any]) -> dict[str, Any]:
    if "model" not in config:
        raise ConfigError("an experiment needs a model section, e.g. {dims: [64, 64, 10], head: {...}}", "model")
    model = config["model"]
    if not isinstance(model, dict):
        raise ConfigError(f"expected a model config mapping, got {model!r}", "model")
    return copy.deepcopy(model)


def _data_section(value: Any, train: dict[str, Any], catalogue: Catalogue | None) -> dict[str, Any]:
    """The data section; ``data.batch_size`` (a synonym of ``train.batch_size``) moves into ``train``."""
    data = dict(_section(value, "data", required=True))
    if "name" not in data:
        known = f": one of {', '.join(catalogue.dataset_names())}" if catalogue is not None else ""
        raise ConfigError(f"data needs a name{known}", "data.name")
    if "batch_size" in data:
        batch = data.pop("batch_size")
        if "batch_size" in train and train["batch_size"] != batch:
            raise ConfigError(
                f"data.batch_size={batch} conflicts with train.batch_size={train['batch_size']}; give one",
                "data.batch_size",
            )
        train["batch_size"] = batch
    if "workers" in data:
        check_workers(data["workers"])
    if "folds" in data:  # numpy folds (from a splitter) become plain lists, so that the run's config.yaml holds them
        data["folds"] = _plain(data["folds"])
    if catalogue is not None:
        options = {k: v for k, v in data.items() if k != "name" and k not in DATA_OPTIONS}
        catalogue.check_dataset(data["name"], options, "data")
    return data


def _plain(value: Any) -> Any:
    """Lists, tuples and numpy arrays or scalars (anything with ``tolist``) as plain Python lists and numbers."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _train_section(train: dict[str, Any]) -> dict[str, Any]:
    _check_keys(train, list(TRAIN_DEFAULTS), "train")
    t = {**copy.deepcopy(TRAIN_DEFAULTS), **copy.deepcopy(train)}
    check_int(t["epochs"], None, 1, path="train.epochs")
    check_int(t["batch_size"], None, 1, path="train.batch_size")
    check_int(t["eval_batch_size"], None, 1, path="train.eval_batch_size")
    check_int(t["seed"], None, 0, path="train.seed")
    check_bool(t["deterministic"], path="train.deterministic")
    check_bool(t["restore_best"], path="train.restore_best")
    t["optimizer"] = check_optimizer(t["optimizer"], "train.optimizer")
    check_choice(t["mode"], None, MODES, path="train.mode")
    # the direction only fills in plateau's default ``mode``, and either direction builds
    t["scheduler"] = check_scheduler(t["scheduler"], t["epochs"], "min", "train.scheduler")
    if t["loss"] is not None:
        t["loss"] = check_loss(t["loss"], None, "train.loss")
    t["grad_clip"] = check_grad_clip(t["grad_clip"])
    t["early_stopping"] = check_early_stopping(t["early_stopping"], "train.early_stopping")
    check_monitor_name(t["monitor"], "train.monitor", allow_none=True)
    if not isinstance(t["device"], str):
        raise ConfigError(f"expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {t['device']!r}", "train.device")
    check_precision(t["precision"])
    t["compile"] = check_compile(t["compile"])
    check_int(t["accumulate"], None, 1, path="train.accumulate")
    parse_bytes(t["memory_limit"], "train.memory_limit")
    check_threads(t["threads"])
    name = t["optimizer"]["name"]
    if name == "lbfgs" and (t["accumulate"] > 1 or t["precision"] == "fp16"):
        what = "train.accumulate > 1" if t["accumulate"] > 1 else "train.precision: fp16 (a gradient scaler)"
        raise ConfigError(
            f"lbfgs re-evaluates the whole loss in its closure and cannot be combined with {what}; "
            "use adam/adamw/sgd, or drop the option",
            "train.accumulate" if t["accumulate"] > 1 else "train.precision",
        )
    return t


def _metric_names(names: Any, catalogue: Catalogue | None) -> list[str]:
    if catalogue is not None:
        return catalogue.check_metrics(names, "metrics")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"expected a list of metric names, got {names!r}", "metrics")
    return list(names)


def _output_section(value: Any) -> dict[str, Any]:
    output = _section(value, "output")
    _check_keys(output, list(OUTPUT_DEFAULTS), "output")
    o = {**OUTPUT_DEFAULTS, **output}
    check_bool(o["plots"], path="output.plots")
    if o["dir"] is not None and not isinstance(o["dir"], str):
        raise ConfigError(f"expected a folder path or null, got {o['dir']!r}", "output.dir")
    o["loggers"] = check_loggers(o["loggers"])
    return o


def check_loggers(value: Any, path: str = "output.loggers") -> list[Any]:
    """``[tensorboard, csv, mlflow]``: names, or ``{name: mlflow, tracking_uri: ..., experiment: ...}``."""
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"expected a list of logger names ({', '.join(LOGGERS)}), got {value!r}", path)
    out: list[Any] = []
    for i, spec in enumerate(value):
        at = f"{path}[{i}]"
        name = spec.get("name") if isinstance(spec, dict) else spec
        check_choice(name, None, tuple(LOGGERS), path=f"{at}.name" if isinstance(spec, dict) else at)
        if isinstance(spec, dict):
            check_mapping(spec, ("name", *LOGGERS[name]), f"the {name} logger", at)
            for key in LOGGERS[name]:
                if spec.get(key) is not None and not isinstance(spec[key], str):
                    raise ConfigError(f"expected a string, got {spec[key]!r}", join_path(at, key))
        if any((s.get("name") if isinstance(s, dict) else s) == name for s in out):
            raise ConfigError(f"the {name} logger is listed twice", at)
        out.append(copy.deepcopy(spec))
    return out


def check_plugins(value: Any, path: str = "plugins") -> list[str]:
    """``plugins: [my_module, ...]``: local modules that register components (see :mod:`rpnkit.plugins`).

    Module names (``my_components``, ``my_package.components``), looked up next to the experiment
    file, in the working directory, then on ``sys.path``; never file paths.
    """
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"expected a list of module names, got {value!r}", path)
    return [check_module_name(name, f"{path}[{i}]") for i, name in enumerate(value)]


# ----------------------------------------------------------------------------------------- train keys


def check_grad_clip(value: Any, path: str = "train.grad_clip") -> float | None:
    """A maximum gradient norm > 0, or None."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
    ):
        raise ConfigError(f"expected a number > 0 (max gradient norm) or null, got {value!r}", path)
    return value


def check_monitor_name(value: Any, path: str = "train.monitor", allow_none: bool = False) -> Any:
    """A monitored quantity's name (its existence is checked against the data when training starts)."""
    if (value is None and allow_none) or isinstance(value, str):
        return value
    raise ConfigError(f"expected a name such as 'val_loss' or 'val_accuracy', got {value!r}", path)


def check_early_stopping(spec: Any, path: str = "train.early_stopping") -> dict[str, Any] | None:
    """Validate ``{patience, monitor, mode, min_delta}`` (a bare int is the patience; None or false: none)."""
    if spec is None or spec is False:
        return None
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = {"patience": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"expected a mapping {{patience, monitor, mode, min_delta}} or null, got {spec!r}", path)
    valid = sorted(EARLY_STOPPING_DEFAULTS)
    for key in spec:
        if key not in valid:
            raise ConfigError(f"unknown key {key!r}{did_you_mean(key, valid)} (valid keys: {valid})", f"{path}.{key}")
    out = {**EARLY_STOPPING_DEFAULTS, **spec}
    check_int(out["patience"], None, 1, path=f"{path}.patience")
    check_choice(out["mode"], None, MODES, path=f"{path}.mode")
    check_number(out["min_delta"], f"{path}.min_delta", 0)
    return out


def check_precision(value: Any, path: str = "train.precision") -> str:
    """``fp32`` (default: no autocast), ``bf16`` or ``fp16`` (autocast; fp16 adds a gradient scaler)."""
    return check_choice(value, None, PRECISIONS, path=path)


def check_compile(value: Any, path: str = "train.compile") -> bool | dict[str, Any]:
    """``false`` (eager), ``true`` (``torch.compile`` with its defaults) or ``{mode, backend, fullgraph, dynamic}``.

    A mapping is returned with every key filled in (``mode: default``, ``backend: inductor``,
    ``fullgraph: false``, ``dynamic: null``); ``true`` and ``false`` are returned as they are.
    """
    if isinstance(value, bool):
        return value
    if not isinstance(value, dict):
        raise ConfigError(
            f"expected true, false or a mapping {{mode, backend, fullgraph, dynamic}}, got {value!r}", path
        )
    check_mapping(value, COMPILE_KEYS, "train.compile", path)
    out = {"mode": "default", "backend": "inductor", "fullgraph": False, "dynamic": None, **value}
    check_choice(out["mode"], None, COMPILE_MODES, path=join_path(path, "mode"))
    check_choice(out["backend"], None, COMPILE_BACKENDS, path=join_path(path, "backend"))
    if out["backend"] != "inductor" and out["mode"] != "default":
        raise ConfigError(f"mode {out['mode']!r} applies to the inductor backend only", join_path(path, "mode"))
    check_bool(out["fullgraph"], path=join_path(path, "fullgraph"))
    check_bool(out["dynamic"], allow_none=True, path=join_path(path, "dynamic"))
    return out


def check_threads(value: Any, path: str = "train.threads") -> str | int:
    """``auto`` (by the work; see :mod:`rpnkit.train.threads`) or torch's intra-op thread count (an int >= 1)."""
    if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ConfigError(f"expected 'auto' or a number of threads >= 1, got {value!r}", path)


def check_workers(value: Any, path: str = "data.workers") -> int:
    """DataLoader worker processes for the training batches (0: load in the training process)."""
    return check_int(value, None, 0, path=path)
