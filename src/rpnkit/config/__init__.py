"""Configuration: build models from plain dicts/YAML, the experiment schema, overrides, safe YAML io.

Layering: this package sits below :mod:`rpnkit.train`, :mod:`rpnkit.data` and :mod:`rpnkit.io` and never
imports them; the dataset and metric names an experiment uses are checked through a
:class:`~rpnkit.config.experiment.Catalogue` that :mod:`rpnkit.train` supplies.
"""

from .experiment import (
    OUTPUT_DEFAULTS,
    SECTIONS,
    TRAIN_DEFAULTS,
    Catalogue,
    check_early_stopping,
    embedded_configs,
    load_experiment,
    resolve,
)
from .io import dump_yaml, load_yaml, read_config, write_text_atomic
from .model import build_model
from .overrides import apply_overrides, parse_override

__all__ = [
    "build_model",
    "load_yaml",
    "dump_yaml",
    "read_config",
    "write_text_atomic",
    "SECTIONS",
    "TRAIN_DEFAULTS",
    "OUTPUT_DEFAULTS",
    "Catalogue",
    "embedded_configs",
    "load_experiment",
    "resolve",
    "check_early_stopping",
    "apply_overrides",
    "parse_override",
]
