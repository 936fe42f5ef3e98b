"""Read the reference toolkit's (tinyBIG's) ``configurations:`` YAML into an rpnkit experiment.

The reference schema (``rpn-architecture.md`` section 3)::

    configurations:
      device: mps
      random_seed: 1234
      data_configs:    {data_class: tinybig.data.iris, data_parameters: {train_batch_size: ..., ...}}
      learner_configs: {learner_class: ..., learner_parameters: {n_epochs, optimizer_configs,
                        lr_scheduler_configs, loss_configs}}
      model_configs:   {model_class: tinybig.model.rpn, model_parameters: {depth, depth_alloc,
                        layer_configs: [{layer_class, layer_parameters: {m, n, width, width_alloc,
                        head_fusion_configs, head_configs: [{head_class, head_parameters: {...}}]}}]}}
      metric_configs:  {metric_class: tinybig.metric.accuracy}
      output_configs / result_configs: {output_class: tinybig.output.rpn_output}

Every ``*_class`` is mapped through the explicit tables of :mod:`rpnkit.compat.tables` (nothing is
imported by its dotted path), every parameter through rpnkit's names (the reference's spellings are
registered aliases, see ``param_aliases``). Where rpnkit's semantics differ from the reference's the
reader records a note under the rpnkit config path; :func:`to_yaml` writes each note as a comment
above that key.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import registry
from ..config.io import dump_yaml, read_config, write_text_atomic
from ..errors import ConfigError
from ..validation import join_path
from . import tables as T

__all__ = ["Conversion", "is_reference", "read_reference", "to_yaml", "convert", "experiment_or_source"]

_PROCESSING_KEYS = {
    "preprocess_function_configs": "preprocess",
    "preprocess_functions": "preprocess",
    "postprocess_function_configs": "postprocess",
    "postprocess_functions": "postprocess",
}
_HEAD_SLOTS = {
    "data_transformation": "expansion",
    "parameter_fabrication": "reconciliation",
    "remainder": "remainder",
    "channel_fusion": "fusion",
    "attribute_interdependence": "attribute_interdependence",
    "instance_interdependence": "instance_interdependence",
}
_SLOT_KINDS = {
    "expansion": ("expansion", "compression"),
    "reconciliation": ("reconciliation",),
    "remainder": ("remainder",),
    "fusion": ("fusion",),
    "attribute_interdependence": ("interdependence",),
    "instance_interdependence": ("interdependence",),
}
_KRONECKER = {"hm", "lphm", "dual_lphm", "duplicated_padding"}
_INTERDEPENDENCE_TYPES = {
    "attribute": "attribute",
    "attribute_interdependence": "attribute",
    "right": "attribute",
    "column": "attribute",
    "instance": "instance",
    "instance_interdependence": "instance",
    "left": "instance",
    "row": "instance",
}
_TABULAR = {"iris", "pima_diabetes", "banknote", "wheat_seeds"}
_FUNCTIONS = {"elementary", "composite", "feynman", "feynman_dimensionless"}
_REGRESSION_LOSSES = {"mse", "l1", "huber"}


@dataclass
class Conversion:
    """A reference experiment read into rpnkit's schema.

    Attributes:
        experiment: the rpnkit experiment (``name``, ``model``, ``data``, ``train``, ``metrics``, ``output``).
        notes: rpnkit config path -> what differs there from the reference, and why.
        source: where the reference config came from.
    """

    experiment: dict[str, Any]
    notes: dict[str, list[str]] = field(default_factory=dict)
    source: str = "<dict>"

    def note(self, path: str, text: str) -> None:
        self.notes.setdefault(path, [])
        if text not in self.notes[path]:
            self.notes[path].append(text)


def is_reference(config: Any) -> bool:
    """Whether a loaded config is in the reference's schema (a top-level ``configurations`` mapping)."""
    return isinstance(config, dict) and isinstance(config.get("configurations"), dict)


def _load(source: Any) -> tuple[dict[str, Any], str, str]:
    if isinstance(source, dict):
        return copy.deepcopy(source), "<dict>", "reference"
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"reference config {str(source)!r} is not a file")
    return read_config(path), str(path), path.stem


def _pair(cfg: Any, path: str, what: str) -> tuple[str, dict[str, Any]]:
    """(class path, parameters) of a ``{X_class: ..., X_parameters: {...}}`` mapping (any X)."""
    if isinstance(cfg, str):
        return cfg, {}
    if not isinstance(cfg, dict):
        raise ConfigError(f"expected a {what} config with a '*_class' key, got {cfg!r}", path)
    classes = [k for k in cfg if str(k).endswith("_class")]
    if len(classes) != 1:
        raise ConfigError(f"a {what} config needs exactly one '*_class' key, got keys {sorted(cfg)}", path)
    params_keys = [k for k in cfg if str(k).endswith("_parameters")]
    params = cfg.get(params_keys[0]) if params_keys else None
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ConfigError(f"'{params_keys[0]}' must be a mapping, got {params!r}", join_path(path, params_keys[0]))
    extra = {k: v for k, v in cfg.items() if k not in classes and k not in params_keys}
    return cfg[classes[0]], {**params, **extra}


def _alloc(num: Any, alloc: Any, configs: list[Any], what: str, path: str) -> list[Any]:
    """The reference's ``process_num_alloc_configs``: the configs repeated by ``alloc`` / ``num``."""
    if isinstance(alloc, int):
        alloc = [alloc]
    if alloc is not None:
        if len(alloc) != len(configs):
            raise ConfigError(f"{what}_alloc {alloc} has {len(alloc)} entries for {len(configs)} configs", path)
        if num is not None and num != sum(alloc):
            raise ConfigError(f"{what}={num} but {what}_alloc {alloc} sums to {sum(alloc)}", path)
        return [c for c, k in zip(configs, alloc) for _ in range(k)]
    if num is None or num == len(configs):
        return list(configs)
    if len(configs) == 1:
        return list(configs) * num
    raise ConfigError(f"{what}={num} does not match {len(configs)} configs (and no {what}_alloc)", path)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class _Reader:
    def __init__(self, conversion: Conversion) -> None:
        self.c = conversion

    # ------------------------------------------------------------------ processing functions
    def processing(self, items: Any, path: str) -> list[Any]:
        out = []
        for i, item in enumerate(_as_list(items)):
            where = f"{path}[{i}]"
            if isinstance(item, str):
                name, params = item, {}
            else:
                name, params = _pair(item, where, "processing function")
            spec = T.lookup(T.PROCESSING, name, "processing function", where)
            if spec is None:
                self.c.note(
                    path,
                    f"{name} dropped: rpnkit models return logits and the loss applies the (log-)softmax "
                    "(the reference applied it inside the model, or silently skipped it as a string)",
                )
                continue
            spec = copy.deepcopy(spec)
            base = spec if isinstance(spec, str) else spec["name"]
            if base == "dropout":
                spec = {"name": "dropout", "p": params.get("p", 0.5)}
                self.c.note(
                    path,
                    "dropout is a registered module here: model.eval() turns it off (the reference's "
                    "function lists kept dropout active at test time)",
                )
            elif base == "layer_norm":
                if "eps" in params:
                    spec["eps"] = params["eps"]
                self.c.note(
                    path,
                    "layer_norm without affine weights: the reference kept torch.nn.LayerNorm in a plain list, so its "
                    "weights were never registered, trained or counted (set elementwise_affine: true to train them)",
                )
            elif base == "batch_norm":
                self.c.note(
                    path,
                    "batch_norm is registered here (eval uses running statistics); the reference built an "
                    "unregistered BatchNorm that used batch statistics at test time",
                )
            out.append(spec)
        return out

    # ------------------------------------------------------------------ components
    def component(self, cfg: Any, slot: str, path: str) -> dict[str, Any]:
        class_path, params = _pair(cfg, path, slot)
        kind, name = T.component_name(class_path, path)
        if kind not in _SLOT_KINDS[slot]:
            raise ConfigError(f"{class_path!r} is a {kind}, which does not fit the head's {slot}", path)
        cls = registry.get_class(kind, name, path)
        params = dict(params)
        for key in ("name", "device", "m", "n"):
            params.pop(key, None)
        spec: dict[str, Any] = {"name": name}
        require = params.pop("require_parameters", None)
        params.pop("require_data", None)
        if kind == "remainder" and name == "linear" and require is False:
            spec["name"] = "identity"
            self.c.note(path, "the reference's linear_remainder without parameters is the identity map")
        for key, target in _PROCESSING_KEYS.items():
            if key in params:
                value = params.pop(key)
                items = self.processing(value, join_path(path, target))
                if items:
                    spec[target] = items
        for key in ("composition_function_configs", "expansion_function_configs", "function_configs"):
            if key in params:
                spec["functions"] = [
                    self.component(child, "expansion", f"{path}.functions[{i}]")
                    for i, child in enumerate(_as_list(params.pop(key)))
                ]
        for key in ("activation_functions", "activation_function_configs"):
            if key in params:
                acts = self.processing(params.pop(key), join_path(path, "activation"))
                if len(acts) > 1:
                    raise ConfigError("rpnkit remainders take one activation", join_path(path, key))
                if acts:
                    spec["activation"] = acts[0]
        kind_key = "interdependence_type" if "interdependence_type" in params else "kind"
        if kind == "interdependence" and kind_key in params:
            value = params.pop(kind_key)
            spec["kind"] = T.lookup(_INTERDEPENDENCE_TYPES, value, "interdependence_type", join_path(path, kind_key))
        if "bias" not in registry.param_names(cls):
            for key in ("enable_bias", "bias"):
                if params.pop(key, False):
                    raise ConfigError(f"{name} has no bias in rpnkit ({key}: true is not supported)", path)
        params = registry.resolve_param_aliases(cls, params, path)
        spec.update(params)
        if kind == "reconciliation" and name in _KRONECKER:
            self.c.note(
                path,
                f"{name} builds the true Kronecker product A (x) B; the reference's einsum on flattened factors "
                "gave a rearrangement of it (same parameter count, a different function)",
            )
        if kind == "expansion" and name == "laguerre":
            self.c.note(path, "laguerre uses the correct L1 = 1 + alpha - x (the reference coded x + 1 + alpha)")
        return spec

    def head(self, cfg: Any, path: str) -> tuple[dict[str, Any], int | None]:
        class_path, params = _pair(cfg, path, "head")
        T.lookup(T.HEADS, class_path, "head class", path)
        params = dict(params)
        for key in ("name", "device", "m", "n", "batch_num", "create_parameters_at_init", "fusion_strategy"):
            params.pop(key, None)
        if params.pop("parameters_init_method", None) is not None:
            self.c.note(path, "parameters_init_method ignored: rpnkit initialises every fabricated W itself")
        if params.pop("l", None) is not None:
            self.c.note(path, "l ignored: rpnkit computes l from the reconciliation")
        spec: dict[str, Any] = {}
        for prefix, slot in _HEAD_SLOTS.items():
            value = params.pop(f"{prefix}_configs", None)
            if value is None:
                value = params.pop(prefix, None)
            else:
                params.pop(prefix, None)
            if value is not None:
                spec[slot] = self.component(value, slot, join_path(path, slot))
        channels = params.pop("channel_num", params.pop("channels", 1))
        if channels not in (None, 1):
            spec["channels"] = channels
            self.c.note(path, "every channel has its own bias here (the reference shared one bias across channels)")
        for ref, key in (
            ("input_process_function", "input_processing"),
            ("output_process_function", "output_processing"),
        ):
            value = params.pop(f"{ref}_configs", None)
            value = params.pop(f"{ref}s", value)
            if value is not None:
                items = self.processing(value, join_path(path, key))
                if items:
                    spec[key] = items
        for key in list(params):
            if key.startswith("l_"):
                params.pop(key)
        if params:
            raise ConfigError(
                f"unsupported head parameter(s) {sorted(params)}; supported: m, n, channel_num, l, "
                + ", ".join(f"{p}_configs" for p in _HEAD_SLOTS)
                + ", input_process_function_configs, output_process_function_configs",
                path,
            )
        return spec, None

    def layer(self, cfg: Any, path: str) -> dict[str, Any]:
        class_path, params = _pair(cfg, path, "layer")
        T.lookup(T.LAYERS, class_path, "layer class", path)
        params = dict(params)
        for key in ("name", "device", "fusion_strategy"):
            params.pop(key, None)
        if params.pop("parameters_init_method", None) is not None:
            self.c.note(path, "parameters_init_method ignored: rpnkit initialises every fabricated W itself")
        if "heads" in params and params["heads"] is not None:
            raise ConfigError(
                "'heads' holds built objects; a YAML config gives 'head_configs'", join_path(path, "heads")
            )
        params.pop("heads", None)
        m, n = params.pop("m", None), params.pop("n", None)
        if m is None or n is None:
            raise ConfigError("a reference layer needs m and n", path)
        configs = params.pop("head_configs", None)
        if configs is None:
            raise ConfigError("a reference layer needs head_configs", path)
        configs = _as_list(configs)
        heads = _alloc(params.pop("width", None), params.pop("width_alloc", None), configs, "width", path)
        layer: dict[str, Any] = {"m": m, "n": n}
        specs = []
        for i, head_cfg in enumerate(heads):
            head_path = f"{path}.head" if len(configs) == 1 else f"{path}.heads[{i}]"
            specs.append(self.head(head_cfg, head_path)[0])
        fusion = params.pop("head_fusion_configs", None)
        fusion = params.pop("head_fusion", fusion)
        if fusion is not None:
            fusion_spec = self.component(fusion, "fusion", f"{path}.fusion")
            for key in ("dims",):
                fusion_spec.pop(key, None)
            if fusion_spec["name"] == "concatenation" or "concatenation" in fusion_spec["name"]:
                if fusion_spec["name"] == "concatenation":
                    layer["n"] = n * len(specs)
                    self.c.note(
                        f"{path}.n",
                        f"n = width * n = {n * len(specs)}: with concatenation the reference's heads each give n "
                        "outputs (get_n is width * n); rpnkit's layer n is the fused width",
                    )
            layer["fusion"] = fusion_spec
        if params:
            raise ConfigError(
                f"unsupported layer parameter(s) {sorted(params)}; supported: m, n, width, width_alloc, "
                "head_configs, head_fusion_configs",
                path,
            )
        if all(s == specs[0] for s in specs):
            layer["head"] = specs[0]
            if len(specs) > 1:
                layer["width"] = len(specs)
        else:
            layer["heads"] = specs
        return layer

    def model(self, cfg: Any, path: str, device_note: str) -> dict[str, Any]:
        class_path, params = _pair(cfg, path, "model")
        T.lookup(T.MODELS, class_path, "model class", path)
        params = dict(params)
        for key in ("name", "device"):
            params.pop(key, None)
        if params.pop("parameters_init_method", None) is not None:
            self.c.note("model", "parameters_init_method ignored: rpnkit initialises every fabricated W itself")
        configs = params.pop("layer_configs", None)
        if configs is None:
            raise ConfigError("a reference model needs layer_configs", path)
        configs = _as_list(configs)
        layers = _alloc(params.pop("depth", None), params.pop("depth_alloc", None), configs, "depth", path)
        if params:
            raise ConfigError(
                f"unsupported model parameter(s) {sorted(params)}; supported: depth, depth_alloc, layer_configs", path
            )
        out = []
        for i, layer_cfg in enumerate(layers):
            out.append(self.layer(layer_cfg, f"model.layers[{i}]"))
        return {"layers": out}


def read_reference(source: str | os.PathLike | dict[str, Any]) -> Conversion:
    """Read a reference (tinyBIG) experiment file or dict into an rpnkit experiment with notes.

    Raises:
        ConfigError: not the reference schema, an unsupported class (the message lists the supported
            ones), or a parameter rpnkit cannot express.
    """
    raw, where, stem = _load(source)
    if not is_reference(raw):
        raise ConfigError(f"{where} is not a reference config (no top-level 'configurations' mapping)")
    cfg = dict(raw["configurations"])
    conversion = Conversion({}, {}, where)
    reader = _Reader(conversion)
    exp: dict[str, Any] = {"name": stem}
    train: dict[str, Any] = {}

    # data -------------------------------------------------------------------------------------
    if "data_configs" not in cfg:
        raise ConfigError("a reference config needs data_configs", "configurations")
    data_class, data_params = _pair(cfg.pop("data_configs"), "configurations.data_configs", "data")
    dataset, fixed = T.lookup(T.DATASETS, data_class, "data class", "configurations.data_configs.data_class")
    data_params = dict(data_params)
    data_params.pop("name", None)
    data: dict[str, Any] = {"name": dataset, **fixed}
    if "train_batch_size" in data_params:
        train["batch_size"] = data_params.pop("train_batch_size")
    if "test_batch_size" in data_params:
        train["eval_batch_size"] = data_params.pop("test_batch_size")
    if dataset in _FUNCTIONS:
        index = data_params.pop("equation_index", None)
        if index is not None:
            data["equation"] = index
        data["num"] = data_params.pop("num", 2000)
        data["test_fraction"] = round(1 - data_params.pop("train_percentage", 0.5), 10)
        conversion.note("data", "the samples come from rpnkit's seeded sampler: the same formula, other points")
    elif dataset in _TABULAR:
        data["test_fraction"] = round(1 - data_params.pop("train_percentage", 0.9), 10)
        normalize = data_params.pop("normalize_X", True)
        mode = data_params.pop("normalize_type", "min_max")
        data["normalize"] = ({"min_max": "minmax", "mean_std": "standard"}.get(mode, "minmax")) if normalize else None
        conversion.note(
            "data",
            "as the reference's example scripts (load(train_percentage=0.9, normalize_X=True), min-max); rpnkit fits "
            "the scaling on the training rows only (the reference fitted it on all rows before the split) and "
            "stratifies the split",
        )
    elif dataset in ("mnist", "cifar10"):
        data["normalize"] = "standard"
        conversion.note("data", f"reads the {dataset} files under data.root (download: true fetches them)")
    for key in ("cache_dir", "train_percentage", "normalize_X", "normalize_y", "normalize_type", "shuffle"):
        data_params.pop(key, None)
    if data_params:
        raise ConfigError(
            f"unsupported data parameter(s) {sorted(data_params)}; supported: name, train_batch_size, "
            "test_batch_size, equation_index, num, train_percentage, normalize_X, normalize_type",
            "configurations.data_configs",
        )

    # learner ----------------------------------------------------------------------------------
    loss = None
    if "learner_configs" in cfg:
        _, learner = _pair(cfg.pop("learner_configs"), "configurations.learner_configs", "learner")
        learner = dict(learner)
        learner.pop("name", None)
        if "n_epochs" in learner:
            train["epochs"] = learner.pop("n_epochs")
        if learner.get("optimizer_configs") is not None:
            name, params = _pair(learner.pop("optimizer_configs"), "train.optimizer", "optimizer")
            train["optimizer"] = {"name": T.lookup(T.OPTIMIZERS, name, "optimizer", "train.optimizer"), **params}
        if learner.get("lr_scheduler_configs") is not None:
            name, params = _pair(learner.pop("lr_scheduler_configs"), "train.scheduler", "scheduler")
            train["scheduler"] = {"name": T.lookup(T.SCHEDULERS, name, "lr scheduler", "train.scheduler"), **params}
            conversion.note("train.scheduler", "stepped once per epoch, as in the reference")
        if learner.get("loss_configs") is not None:
            name, params = _pair(learner.pop("loss_configs"), "train.loss", "loss")
            params = dict(params)
            if params.pop("reduction", "mean") != "mean":
                raise ConfigError("rpnkit losses use reduction: mean", "train.loss.reduction")
            loss = T.lookup(T.LOSSES, name, "loss", "train.loss")
            train["loss"] = {"name": loss, **params} if params else loss
        for key in ("optimizer_configs", "lr_scheduler_configs", "loss_configs", "optimizer", "lr_scheduler"):
            learner.pop(key, None)
        if learner:
            raise ConfigError(
                f"unsupported learner parameter(s) {sorted(learner)}; supported: n_epochs, optimizer_configs, "
                "lr_scheduler_configs, loss_configs",
                "configurations.learner_configs",
            )

    # model ------------------------------------------------------------------------------------
    if "model_configs" not in cfg:
        raise ConfigError("a reference config needs model_configs", "configurations")
    device = cfg.pop("device", None)
    model_cfg = cfg.pop("model_configs")
    if isinstance(model_cfg, dict):
        device = model_cfg.get("device", device)
        model_cfg = {k: v for k, v in model_cfg.items() if k != "device"}
    exp["model"] = reader.model(model_cfg, "configurations.model_configs", "")
    conversion.note(
        "model",
        "weights are initialised on the fabricated W (variance gain^2/D), not xavier on the flat (C, l) vector; "
        "every head and layer owns its parameters; buffers (grids, masks, random factors) are saved",
    )

    # task, metrics ----------------------------------------------------------------------------
    metrics: list[str] = []
    if "metric_configs" in cfg:
        name, _ = _pair(cfg.pop("metric_configs"), "metrics", "metric")
        metrics.append(T.lookup(T.METRICS, name, "metric class", "metrics"))
    if dataset in _TABULAR and loss in _REGRESSION_LOSSES:
        data["task"] = "regression"
        metrics = ["mse", "rounded_accuracy"]
        conversion.note(
            "data.task",
            "regression on the class id, as the reference (its labels are float ids); the reference scripts round "
            "the output to a label: that score is rounded_accuracy",
        )
    if metrics:
        exp["metrics"] = metrics

    # run settings -----------------------------------------------------------------------------
    seed = cfg.pop("random_seed", None)
    if seed is not None:
        train["seed"] = seed
        conversion.note(
            "train.seed", "seeds rpnkit's generators: the same seed does not reproduce the reference's numbers"
        )
    if device is not None:
        train["device"] = "cpu" if device == "cpu" else "auto"
        if device != "cpu":
            conversion.note(
                "train.device", f"the reference said {device!r}; auto picks CUDA when present, else the CPU"
            )
    for key in ("output_configs", "result_configs"):
        if cfg.pop(key, None) is not None:
            conversion.note(
                "output",
                "the run directory holds the config, checkpoints, history and test scores "
                "(the reference pickled its predictions through rpn_output)",
            )
    if cfg:
        raise ConfigError(
            f"unsupported reference section(s) {sorted(cfg)}; supported: device, random_seed, data_configs, "
            "learner_configs, model_configs, metric_configs, output_configs, result_configs",
            "configurations",
        )
    exp["data"] = data
    exp["train"] = train
    order = ("name", "model", "data", "train", "metrics")
    conversion.experiment = {key: exp[key] for key in order if key in exp}
    return conversion


# ---------------------------------------------------------------------------------------------- YAML


def _flow(value: Any) -> str:
    text = dump_yaml(value) if not isinstance(value, (dict, list)) else None
    if text is None:
        import yaml

        text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9)
    lines = [line for line in text.strip().splitlines() if line.strip() != "..."]
    return " ".join(lines)


def _emit(value: Any, path: str, indent: int, notes: dict[str, list[str]], used: set[str]) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = join_path(path, str(key))
            for text in notes.get(child_path, []):
                lines.append(f"{pad}# {text}")
            used.add(child_path)
            if _simple(child, child_path, notes):
                lines.append(f"{pad}{key}: {_flow(child)}")
            else:
                lines.append(f"{pad}{key}:")
                lines += _emit(child, child_path, indent + 2, notes, used)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            child_path = f"{path}[{i}]"
            for text in notes.get(child_path, []):
                lines.append(f"{pad}# {text}")
            used.add(child_path)
            if _simple(child, child_path, notes):
                lines.append(f"{pad}- {_flow(child)}")
            else:
                inner = _emit(child, child_path, indent + 2, notes, used)
                first = next(j for j, line in enumerate(inner) if not line.lstrip().startswith("#"))
                lines += inner[:first] + [f"{pad}- {inner[first].lstrip()}"] + inner[first + 1 :]
    return lines


def _simple(value: Any, path: str, notes: dict[str, list[str]]) -> bool:
    if not isinstance(value, (dict, list)):
        return True
    if any(p != path and p.startswith(path) for p in notes):
        return False
    return len(_flow(value)) <= 100


def to_yaml(conversion: Conversion) -> str:
    """The rpnkit experiment as YAML, with one ``#`` comment per place where the semantics differ."""
    used: set[str] = set()
    body = _emit(conversion.experiment, "", 0, conversion.notes, used)
    header = [
        f"# rpnkit experiment converted from the reference config {conversion.source}",
        "# (rpnkit convert; comments mark where rpnkit's semantics differ, see docs/migration.md)",
    ]
    for path, texts in conversion.notes.items():
        if path not in used:
            header += [f"# {path}: {text}" for text in texts]
    return "\n".join(header + body) + "\n"


def convert(source: str | os.PathLike | dict[str, Any], out: str | os.PathLike | None = None) -> str:
    """Convert a reference config to rpnkit YAML text (written atomically to ``out`` when given)."""
    text = to_yaml(read_reference(source))
    if out is not None:
        write_text_atomic(out, text)
    return text


def experiment_or_source(source: Any) -> Any:
    """The rpnkit experiment dict when ``source`` is a reference config file, else ``source`` unchanged."""
    if source is None or isinstance(source, dict):
        return read_reference(source).experiment if is_reference(source) else source
    path = Path(source)
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml", ".json"):
        raw = read_config(path)
        if is_reference(raw):
            return read_reference(path).experiment
    return source
