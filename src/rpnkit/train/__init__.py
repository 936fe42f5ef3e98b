"""Training, evaluation, metrics, checkpoints and experiments.

Modules: ``trainer`` (the loop), ``callbacks`` (checkpoints, early stopping, history, plots,
progress), ``batches`` (tables vs graphs), ``checks`` (options against the data), ``experiment``
(run / evaluate a run), ``schema`` (the experiment schema of :mod:`rpnkit.config` bound to the
datasets and metrics), ``distributed`` (torchrun process groups, batch shards, reductions across
processes), ``model_summary``, ``metrics``, ``checkpoint``, ``seeding``, ``plots``.

Example:
    >>> import rpnkit as rk
    >>> from rpnkit.data import load
    >>> from rpnkit.train import Trainer
    >>> data = load("iris", val_fraction=0.2)
    >>> model = rk.RPN([4, 3], head={"expansion": "taylor"})
    >>> result = Trainer(model, epochs=2, quiet=True).fit(data)
    >>> result.epochs_run
    2
"""

from ..config.experiment import load_experiment
from ..config.optim import LOSSES, OPTIMIZERS, SCHEDULERS
from ..config.overrides import apply_overrides
from . import metrics
from .callbacks import Callback
from .checkpoint import load_state, load_weights, save_checkpoint
from .experiment import evaluate_run, run
from .model_summary import summary
from .schema import resolve
from .seeding import deterministic_mode, rng_state, seed_everything, set_rng_state
from .trainer import FitResult, Trainer, TrainingError

__all__ = [
    "Trainer",
    "FitResult",
    "TrainingError",
    "Callback",
    "metrics",
    "fit",
    "evaluate",
    "run",
    "evaluate_run",
    "summary",
    "resolve",
    "load_experiment",
    "apply_overrides",
    "save_checkpoint",
    "load_weights",
    "load_state",
    "seed_everything",
    "deterministic_mode",
    "rng_state",
    "set_rng_state",
    "OPTIMIZERS",
    "SCHEDULERS",
    "LOSSES",
]


def fit(model, data, **options) -> FitResult:
    """``Trainer(model, **options).fit(data)``."""
    return Trainer(model, **options).fit(data)


def evaluate(model, data, split: str = "test", **options) -> dict:
    """Loss and metrics of ``model`` on one split of ``data`` (``Trainer`` options such as ``loss``, ``metrics``)."""
    return Trainer(model, quiet=True, **options).evaluate(data, split)
