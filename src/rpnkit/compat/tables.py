"""The explicit tables that map the reference toolkit's (tinyBIG's) class names onto rpnkit.

Nothing here imports a class by its dotted path: a reference name is only ever looked up in these
tables (or, for components, among the reference names each rpnkit component registers as an alias,
e.g. ``taylor_expansion`` for ``taylor``). A name that is in neither is a clear error listing what
is supported.
"""

from __future__ import annotations

from typing import Any

from .. import registry
from ..errors import ConfigError
from ..validation import did_you_mean

__all__ = [
    "COMPONENT_PACKAGES",
    "DATASETS",
    "OPTIMIZERS",
    "SCHEDULERS",
    "LOSSES",
    "METRICS",
    "PROCESSING",
    "MODELS",
    "LAYERS",
    "HEADS",
    "OUTPUTS",
    "component_name",
    "lookup",
]

#: Reference package (``tinybig.<package>.<class>``) -> rpnkit registry kind.
COMPONENT_PACKAGES: dict[str, str] = {
    "expansion": "expansion",
    "compression": "compression",
    "transformation": "expansion",
    "reconciliation": "reconciliation",
    "fabrication": "reconciliation",
    "remainder": "remainder",
    "fusion": "fusion",
    "interdependence": "interdependence",
}

#: Reference data classes -> (rpnkit dataset, fixed options).
DATASETS: dict[str, tuple[str, dict[str, Any]]] = {
    "tinybig.data.elementary_function": ("elementary", {}),
    "tinybig.data.composite_function": ("composite", {}),
    "tinybig.data.feynman_function": ("feynman", {}),
    "tinybig.data.dimensionless_feynman_function": ("feynman_dimensionless", {}),
    "tinybig.data.iris": ("iris", {}),
    "tinybig.data.diabetes": ("pima_diabetes", {}),
    "tinybig.data.banknote": ("banknote", {}),
    "tinybig.data.wheat": ("wheat_seeds", {}),
    "tinybig.data.mnist": ("mnist", {}),
    "tinybig.data.cifar10": ("cifar10", {}),
    "tinybig.data.imdb": ("imdb", {}),
    "tinybig.data.sst2": ("sst2", {}),
    "tinybig.data.agnews": ("ag_news", {}),
    "tinybig.data.cora": ("cora", {}),
    "tinybig.data.citeseer": ("citeseer", {}),
    "tinybig.data.pubmed": ("pubmed", {}),
}

OPTIMIZERS: dict[str, str] = {
    "torch.optim.Adam": "adam",
    "torch.optim.AdamW": "adamw",
    "torch.optim.SGD": "sgd",
    "torch.optim.LBFGS": "lbfgs",
}

SCHEDULERS: dict[str, str] = {
    "torch.optim.lr_scheduler.ExponentialLR": "exponential",
    "torch.optim.lr_scheduler.StepLR": "step",
    "torch.optim.lr_scheduler.CosineAnnealingLR": "cosine",
    "torch.optim.lr_scheduler.ReduceLROnPlateau": "plateau",
}

LOSSES: dict[str, str] = {
    "torch.nn.CrossEntropyLoss": "cross_entropy",
    "torch.nn.MSELoss": "mse",
    "torch.nn.L1Loss": "l1",
    "torch.nn.BCEWithLogitsLoss": "bce_with_logits",
    "torch.nn.HuberLoss": "huber",
}

#: Reference metric classes -> rpnkit metric names (for a regression on class ids, see the reader).
METRICS: dict[str, str] = {
    "tinybig.metric.accuracy": "accuracy",
    "tinybig.metric.f1": "f1_macro",
    "tinybig.metric.mse": "mse",
}

#: Reference processing functions (torch modules, functional names, the head's whitelist) ->
#: rpnkit processing specs. ``None`` means: dropped (see the reader's note for why).
PROCESSING: dict[str, Any] = {
    "torch.nn.LayerNorm": {"name": "layer_norm", "elementwise_affine": False},
    "layer_norm": {"name": "layer_norm", "elementwise_affine": False},
    "torch.nn.functional.layer_norm": {"name": "layer_norm", "elementwise_affine": False},
    "torch.nn.BatchNorm1d": {"name": "batch_norm", "affine": False},
    "torch.nn.Dropout": "dropout",
    "dropout": "dropout",
    "torch.nn.functional.dropout": "dropout",
    "torch.nn.Softmax": None,
    "torch.nn.LogSoftmax": None,
    "softmax": None,
    "log_softmax": None,
}
for _fn in ("relu", "gelu", "silu", "sigmoid", "tanh", "softplus", "celu", "elu", "leaky_relu", "exp"):
    PROCESSING[_fn] = _fn
    PROCESSING[f"torch.nn.functional.{_fn}"] = _fn
    PROCESSING[f"torch.{_fn}"] = _fn
for _cls, _fn in (
    ("ReLU", "relu"),
    ("GELU", "gelu"),
    ("SiLU", "silu"),
    ("Sigmoid", "sigmoid"),
    ("Tanh", "tanh"),
    ("Softplus", "softplus"),
    ("CELU", "celu"),
    ("ELU", "elu"),
    ("LeakyReLU", "leaky_relu"),
):
    PROCESSING[f"torch.nn.{_cls}"] = _fn

MODELS = ("tinybig.model.rpn", "tinybig.model.rpn_model", "tinybig.module.rpn")
LAYERS = ("tinybig.module.rpn_layer", "tinybig.layer.rpn_layer", "tinybig.module.base_layer.layer")
HEADS = ("tinybig.module.rpn_head", "tinybig.head.rpn_head", "tinybig.module.base_head.head")
OUTPUTS = ("tinybig.output.rpn_output",)


def lookup(table: Any, name: Any, what: str, path: str) -> Any:
    """``table[name]``, or a ConfigError that lists every supported name."""
    if isinstance(name, str) and name in table:
        return table[name] if isinstance(table, dict) else name
    known = list(table)
    hint = did_you_mean(str(name), known, n=2)
    raise ConfigError(f"unsupported reference {what} {name!r}{hint}; supported: {', '.join(known)}", path)


def component_name(class_path: Any, path: str) -> tuple[str, str]:
    """``(kind, rpnkit name)`` of a reference component class ``tinybig.<package>.<class>``."""
    parts = class_path.split(".") if isinstance(class_path, str) else []
    if len(parts) >= 3 and parts[0] == "tinybig" and parts[1] in COMPONENT_PACKAGES:
        kind, short = COMPONENT_PACKAGES[parts[1]], parts[-1]
        known = registry.names(kind, aliases=True)
        aliases = [a for a in registry.names(kind, aliases=True) if a not in registry.names(kind)]
        if short in known:
            cls = registry.get_class(kind, short, path)
            return kind, cls.registry_name
        hint = did_you_mean(short, known, n=2)
        raise ConfigError(
            f"unsupported reference {parts[1]} class {class_path!r}{hint}; supported: "
            + ", ".join(f"tinybig.{parts[1]}.{a}" for a in aliases),
            path,
        )
    packages = ", ".join(f"tinybig.{p}.<class>" for p in COMPONENT_PACKAGES)
    raise ConfigError(f"unsupported reference component class {class_path!r}; supported: {packages}", path)
