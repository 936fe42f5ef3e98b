"""Experiments: one YAML (or dict) with ``model``, ``data``, ``train``, ``metrics`` and ``output`` sections.

:func:`resolve` validates every section and key (unknown keys get a did-you-mean, wrong values say
what is expected, and every error names its path, e.g. ``train.optimizer.lr``) and fills in the
defaults. :func:`apply_overrides` applies ``key.path=value`` strings (values parsed as YAML,
``layers[1].n=32`` style indexes allowed) before validation. :func:`run` loads the data, builds the
model with :func:`rpnkit.build_model` (errors under ``model.``), trains it with
:class:`~rpnkit.train.Trainer` in a run directory, and returns the :class:`~rpnkit.train.FitResult`.
See ``docs/experiments.md`` for the full schema.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from torch import nn

from .. import data as rdata
from ..config.io import dump_yaml, load_yaml, read_config, write_text_atomic
from ..config.model import build_model
from ..errors import ConfigError
from ..io import load as load_model
from . import metrics as M
from .checkpoint import checkpoint_dir
from .optim import check_loss, check_optimizer, check_scheduler
from .seeding import seed_everything
from .trainer import FitResult, Trainer, check_early_stopping, resolve_device

__all__ = [
    "SECTIONS",
    "TRAIN_DEFAULTS",
    "OUTPUT_DEFAULTS",
    "embedded_configs",
    "load_experiment",
    "apply_overrides",
    "parse_override",
    "resolve",
    "run",
    "evaluate_run",
    "summary",
    "format_summary",
]

SECTIONS = ("name", "description", "model", "data", "train", "metrics", "output")
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
}
OUTPUT_DEFAULTS: dict[str, Any] = {"dir": None, "plots": True}
RUN_CONFIG = "config.yaml"


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
        close = difflib.get_close_matches(str(source), embedded_configs(), n=1, cutoff=0.6)
        hint = f"; did you mean the embedded {close[0]!r}?" if close else ""
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
    return yaml12_numbers(config), str(config.get("name") or stem)


# ----------------------------------------------------------------------------------------- overrides

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def _parse_path(key: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    key = key.strip()
    while pos < len(key):
        if key[pos] == "." and parts and pos + 1 < len(key):
            pos += 1
        match = _SEGMENT.match(key, pos)
        if match is None:
            raise ConfigError(f"cannot parse the key {key!r} (use a.b.c or a.b[1].c)", key)
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts or not isinstance(parts[0], str):
        raise ConfigError(f"cannot parse the key {key!r} (use a.b.c or a.b[1].c)", key)
    return parts


def _show(parts: Sequence[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def yaml12_numbers(value: Any) -> Any:
    """Turn strings such as ``"1e-3"`` (text for PyYAML's YAML 1.1 rules, a number in YAML 1.2) into floats."""
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    if isinstance(value, dict):
        return {k: yaml12_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [yaml12_numbers(v) for v in value]
    return value


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """``"train.optimizer.lr=1e-3"`` -> (``["train", "optimizer", "lr"]``, ``0.001``); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"an override is key.path=value, got {text!r}")
    key, _, raw = text.partition("=")
    parts = _parse_path(key)
    value = load_yaml(raw, f"the value of {key.strip()}") if raw.strip() else None
    return parts, yaml12_numbers(value)


def apply_overrides(config: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides to a copy of ``config``.

    Missing mapping keys are created; list indexes must exist (negative ones count from the end);
    a spec given as a bare name (``optimizer: adam``) becomes ``{name: adam}`` when a key inside it is set.

    Example:
        >>> apply_overrides({"model": {"dims": [4, 8, 3]}}, ["model.dims[1]=16", "train.optimizer.lr=0.01"])
        {'model': {'dims': [4, 16, 3]}, 'train': {'optimizer': {'lr': 0.01}}}
    """
    config = copy.deepcopy(config)
    for text in overrides:
        parts, value = parse_override(text)
        node: Any = config
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            here = _show(parts[: i + 1])
            if isinstance(part, int):
                if not isinstance(node, list):
                    raise ConfigError(f"[{part}] indexes a list, but {_show(parts[:i])} is {type(node).__name__}", here)
                if not -len(node) <= part < len(node):
                    raise ConfigError(f"index {part} is out of range for a list of length {len(node)}", here)
                if last:
                    node[part] = value
                else:
                    node[part] = _container(node[part], parts[i + 1], here)
                    node = node[part]
                continue
            if not isinstance(node, dict):
                raise ConfigError(f"{_show(parts[:i])} is a {type(node).__name__}, so it has no key {part!r}", here)
            if last:
                node[part] = value
            else:
                node[part] = _container(node.get(part), parts[i + 1], here)
                node = node[part]
    return config


def _container(current: Any, next_part: str | int, here: str) -> Any:
    if isinstance(next_part, int):
        if isinstance(current, list):
            return current
        raise ConfigError(f"not a list (it is {current!r}), so it cannot be indexed with [{next_part}]", here)
    if isinstance(current, dict):
        return current
    if current is None:
        return {}
    if isinstance(current, str):
        return {"name": current}
    raise ConfigError(f"{current!r} is not a mapping, so it has no key {next_part!r}", here)


# ----------------------------------------------------------------------------------------- validation


def _unknown(keys: Iterable[str], valid: Sequence[str], path: str) -> None:
    for key in keys:
        if key not in valid:
            close = difflib.get_close_matches(str(key), list(valid), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"unknown key {key!r}{hint} (valid keys: {', '.join(valid)})", where)


def _mapping(value: Any, path: str, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"expected a mapping, got {value!r}" if value is not None else "this section is required", path
        )
    return value


def _check_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"expected true or false, got {value!r}", path)
    return value


def _check_int(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"expected an int >= {minimum}, got {value!r}", path)
    return value


def resolve(config: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """Validate an experiment and fill in the defaults (data-dependent checks happen in :func:`run`).

    Raises:
        ConfigError: naming the path of the first problem, e.g. ``train.optimizer.lr``.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"an experiment must be a mapping with sections {list(SECTIONS)}, got {config!r}")
    _unknown(config, SECTIONS, "")
    out: dict[str, Any] = {"name": str(config.get("name") or name or "experiment")}
    if config.get("description") is not None:
        out["description"] = str(config["description"])
    if "model" not in config:
        raise ConfigError("an experiment needs a model section, e.g. {dims: [64, 64, 10], head: {...}}", "model")
    model = config["model"]
    if not isinstance(model, dict):
        raise ConfigError(f"expected a model config mapping, got {model!r}", "model")
    out["model"] = copy.deepcopy(model)

    data = dict(_mapping(config.get("data"), "data", required=True))
    if "name" not in data:
        raise ConfigError(f"data needs a name: one of {', '.join(rdata.names())}", "data.name")
    rdata._entry(data["name"], "data.name")
    train = dict(_mapping(config.get("train"), "train"))
    if "batch_size" in data:
        batch = data.pop("batch_size")
        if "batch_size" in train and train["batch_size"] != batch:
            raise ConfigError(
                f"data.batch_size={batch} conflicts with train.batch_size={train['batch_size']}; give one",
                "data.batch_size",
            )
        train["batch_size"] = batch
    rdata.check_options(data["name"], {k: v for k, v in data.items() if k != "name"}, "data")
    out["data"] = data

    _unknown(train, list(TRAIN_DEFAULTS), "train")
    t = {**copy.deepcopy(TRAIN_DEFAULTS), **copy.deepcopy(train)}
    _check_int(t["epochs"], "train.epochs", 1)
    _check_int(t["batch_size"], "train.batch_size", 1)
    _check_int(t["eval_batch_size"], "train.eval_batch_size", 1)
    _check_int(t["seed"], "train.seed", 0)
    _check_bool(t["deterministic"], "train.deterministic")
    _check_bool(t["restore_best"], "train.restore_best")
    t["optimizer"] = check_optimizer(t["optimizer"], "train.optimizer")
    if t["mode"] not in ("auto", "min", "max"):
        raise ConfigError(f"expected 'auto', 'min' or 'max', got {t['mode']!r}", "train.mode")
    mode = t["mode"] if t["mode"] != "auto" else M.mode_of(t["monitor"] or "val_loss")
    t["scheduler"] = check_scheduler(t["scheduler"], t["epochs"], mode, "train.scheduler")
    if t["loss"] is not None:
        t["loss"] = check_loss(t["loss"], None, "train.loss")
    if t["grad_clip"] is not None and (
        isinstance(t["grad_clip"], bool) or not isinstance(t["grad_clip"], (int, float)) or t["grad_clip"] <= 0
    ):
        raise ConfigError(
            f"expected a number > 0 (max gradient norm) or null, got {t['grad_clip']!r}", "train.grad_clip"
        )
    t["early_stopping"] = check_early_stopping(t["early_stopping"], "train.early_stopping")
    if t["monitor"] is not None and not isinstance(t["monitor"], str):
        raise ConfigError(
            f"expected a name such as 'val_loss' or 'val_accuracy', got {t['monitor']!r}", "train.monitor"
        )
    if not isinstance(t["device"], str):
        raise ConfigError(f"expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {t['device']!r}", "train.device")
    out["train"] = t

    metrics = config.get("metrics")
    out["metrics"] = None if metrics is None else M.check_metric_names(metrics, "metrics")

    output = _mapping(config.get("output"), "output")
    _unknown(output, list(OUTPUT_DEFAULTS), "output")
    o = {**OUTPUT_DEFAULTS, **output}
    _check_bool(o["plots"], "output.plots")
    if o["dir"] is not None and not isinstance(o["dir"], str):
        raise ConfigError(f"expected a folder path or null, got {o['dir']!r}", "output.dir")
    out["output"] = o
    return out


def _fill_dims(model_cfg: dict[str, Any], data: Any) -> dict[str, Any]:
    """Replace ``auto``/null first and last widths of ``model.dims`` by the data's widths."""
    dims = model_cfg.get("dims")
    if not isinstance(dims, list) or not dims:
        return model_cfg
    out = list(dims)
    if out[0] in (None, "auto"):
        out[0] = data.in_features
    if out[-1] in (None, "auto"):
        out[-1] = data.out_features
    return {**model_cfg, "dims": out}


def _load_data(exp: dict[str, Any]) -> Any:
    return rdata.load_at(exp["data"]["name"], {k: v for k, v in exp["data"].items() if k != "name"}, "data")


def _prepare(exp: dict[str, Any], quiet: bool, log: Callable[[str], None]) -> tuple[Any, nn.Module]:
    data = _load_data(exp)
    task = data.task
    t = exp["train"]
    if t["loss"] is None:
        t["loss"] = {"name": "cross_entropy" if task == "classification" else "mse"}
    else:
        t["loss"] = check_loss(t["loss"], task, "train.loss")
    if exp["metrics"] is None:
        exp["metrics"] = M.default_metrics(task)
    else:
        wrong = [m for m in exp["metrics"] if (m in M.REGRESSION) != (task == "regression")]
        if wrong:
            raise ConfigError(
                f"{wrong} do not apply to the {task} data {data.name!r}; use e.g. {M.default_metrics(task)}", "metrics"
            )
    exp["model"] = _fill_dims(exp["model"], data)
    seed_everything(t["seed"])
    model = build_model(exp["model"], path="model")
    if not quiet:
        log(data.describe())
    return data, model


def _trainer(
    exp: dict[str, Any],
    model: nn.Module,
    run_dir: Path | None,
    quiet: bool,
    log: Callable[[str], None],
    callbacks: Sequence[Callable] = (),
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


def run(
    config: str | os.PathLike | dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    quiet: bool = False,
    log: Callable[[str], None] = print,
    callbacks: Sequence[Callable] = (),
) -> FitResult:
    """Train an experiment (file path, embedded name, dict, or None for the digits default).

    Args:
        config: the experiment.
        overrides: ``key.path=value`` strings applied before validation.
        out: the run directory (default ``output.dir`` or ``runs/<name>-<timestamp>``).
        resume: an existing run directory to continue from its ``last`` checkpoint (its ``config.yaml``
            is the experiment; ``overrides`` still apply, e.g. ``train.epochs=20`` to train longer).
        quiet: no progress bars or per-epoch lines.
    """
    if resume is not None:
        if config is not None:
            raise ConfigError("give either a config or --resume RUN_DIR (the run's config.yaml is reused)")
        run_dir = Path(resume)
        if not (run_dir / RUN_CONFIG).is_file():
            raise ConfigError(f"{str(run_dir)!r} is not a run directory (no {RUN_CONFIG})")
        if not checkpoint_dir(run_dir / "last").is_dir():
            raise ConfigError(
                f"{str(run_dir)!r} has no checkpoint yet (it stopped before its first epoch ended); "
                f"start it again with `rpnkit train CONFIG --out {run_dir}`"
            )
        raw, name = load_experiment(run_dir / RUN_CONFIG)
    else:
        raw, name = load_experiment(config)
    exp = resolve(apply_overrides(raw, overrides), name)
    if resume is None:
        run_dir = _new_run_dir(str(out) if out is not None else exp["output"]["dir"], exp["name"])
        if checkpoint_dir(run_dir / "last").exists() or (run_dir / "results.json").exists():
            raise ConfigError(
                f"{str(run_dir)!r} already holds a run; resume it with `rpnkit train --resume "
                f"{run_dir}` or choose another --out",
                "output.dir",
            )
    elif out is not None and Path(out) != run_dir:
        raise ConfigError("--out cannot be combined with --resume (the run continues in its own folder)")
    resolve_device(exp["train"]["device"])
    data, model = _prepare(exp, quiet, log)
    exp["output"]["dir"] = str(run_dir)
    trainer = _trainer(exp, model, run_dir, quiet, log, callbacks)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / RUN_CONFIG, dump_yaml(exp))
    if not quiet:
        params = sum(p.numel() for p in model.parameters())
        verb = "resuming" if resume is not None else "training"
        log(f"{verb} {exp['name']}: {params:,} parameters, {exp['train']['epochs']} epochs -> {run_dir}")
    return trainer.fit(data, resume=resume is not None)


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
    exp = resolve(raw, name)
    if device is not None:
        exp["train"]["device"] = device
    folder = checkpoint_dir(run_dir / checkpoint)
    if not folder.is_dir():
        raise ConfigError(f"{str(folder)!r} does not exist (the run saved no {checkpoint} checkpoint yet)")
    data = _load_data(exp)
    model = load_model(folder)
    trainer = _trainer(exp, model, None, True, print)
    return trainer.evaluate(data, split)


# ----------------------------------------------------------------------------------------- summary


def _layers(model: nn.Module) -> list[nn.Module]:
    layers = getattr(model, "layers", None)
    return list(layers) if layers is not None else [model]


def summary(config: str | os.PathLike | dict[str, Any], batch_size: int | None = None) -> dict[str, Any]:
    """Per layer: m, D, n, l, parameters and an activation-memory estimate, for an experiment or a model config.

    The activation estimate counts the float32 tensors kept for the backward pass, per layer:
    batch x (sum over heads of (m + D + channels x n_head) + n) x 4 bytes, where a head on the
    implicit path (see :mod:`rpnkit.implicit`) keeps its input instead of the D features. Structured
    reconciliations may keep a few small extra tensors; processing modules add about one more n.
    """
    if isinstance(config, dict):
        raw, name = copy.deepcopy(config), str(config.get("name") or "model")
    else:
        raw, name = load_experiment(config)
    if "model" in raw and isinstance(raw["model"], dict):
        exp = resolve(raw, name)
        model_cfg = exp["model"]
        dims = model_cfg.get("dims")
        if isinstance(dims, list) and dims and (dims[0] in (None, "auto") or dims[-1] in (None, "auto")):
            model_cfg = _fill_dims(model_cfg, _load_data(exp))
        batch = batch_size or exp["train"]["batch_size"]
        model = build_model(model_cfg, path="model")
    else:
        batch = batch_size or 64
        model = build_model(raw, path="")
    rows = []
    for i, layer in enumerate(_layers(model)):
        heads = list(getattr(layer, "heads", [])) or [getattr(layer, "head", None)]
        heads = [h for h in heads if h is not None]
        per_sample = sum(
            h.m + (0 if getattr(h, "uses_implicit_path", False) else h.D) + h.channels * h.n for h in heads
        ) + getattr(layer, "n", 0)
        rows.append(
            {
                "layer": i,
                "m": getattr(layer, "m", None),
                "D": getattr(layer, "D", None),
                "n": getattr(layer, "n", None),
                "width": getattr(layer, "width", None),
                "l": getattr(layer, "l", None),
                "parameters": sum(p.numel() for p in layer.parameters()),
                "activation_bytes": per_sample * batch * 4,
            }
        )
    return {
        "name": name,
        "batch_size": batch,
        "layers": rows,
        "parameters": sum(p.numel() for p in model.parameters()),
        "buffers": sum(b.numel() for b in model.buffers()),
        "activation_bytes": sum(r["activation_bytes"] for r in rows),
    }


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def format_summary(info: dict[str, Any]) -> str:
    """The summary as an aligned text table."""
    header = ["layer", "m", "D", "n", "width", "l", "parameters", f"activations (batch {info['batch_size']})"]
    body = [
        [
            str(r["layer"]),
            str(r["m"]),
            str(r["D"]),
            str(r["n"]),
            str(r["width"]),
            f"{r['l']:,}" if isinstance(r["l"], int) else "-",
            f"{r['parameters']:,}",
            _bytes(r["activation_bytes"]),
        ]
        for r in info["layers"]
    ]
    body.append(["total", "", "", "", "", "", f"{info['parameters']:,}", _bytes(info["activation_bytes"])])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [info["name"]]
    for j, row in enumerate([header, *body]):
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if j == 0 or j == len(body) - 1:
            lines.append("  ".join("-" * w for w in widths))
    if info["buffers"]:
        lines.append(f"buffers: {info['buffers']:,} numbers (fixed, saved with the model)")
    return "\n".join(lines)
