"""Classification and regression metrics computed with torch (checked against scikit-learn in the tests).

Classification metrics take true class ids and predicted class ids (``predictions(logits)`` gives
the argmax); precision, recall and F1 follow scikit-learn's definitions: the classes are those that
occur in either y_true or y_pred, an undefined ratio (0/0) counts as 0, and ``average`` is
``"micro"``, ``"macro"``, ``"weighted"`` or ``"binary"`` (class 1). Regression metrics take targets
and predictions of shape (N,) or (N, k) and average uniformly over the k outputs.

Example:
    >>> import torch
    >>> accuracy(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]))
    0.6666666666666666
    >>> r2(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0]))
    0.5
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError
from ..validation import did_you_mean

__all__ = [
    "accuracy",
    "confusion_matrix",
    "precision",
    "recall",
    "f1",
    "mse",
    "mae",
    "rmse",
    "r2",
    "rounded_accuracy",
    "METRICS",
    "CLASSIFICATION",
    "REGRESSION",
    "compute",
    "mode_of",
    "check_metric_names",
    "default_metrics",
]

AVERAGES = ("micro", "macro", "weighted", "binary")


def _tensor(a: Any) -> Tensor:
    if isinstance(a, Tensor):
        return a.detach()
    return torch.as_tensor(np.asarray(a))


def _labels(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    t, p = _tensor(y_true).reshape(-1).long(), _tensor(y_pred).reshape(-1).long().to(_tensor(y_true).device)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.numel()} labels but y_pred has {p.numel()}")
    return t, p


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Share of exact matches."""
    t, p = _labels(y_true, y_pred)
    if t.numel() == 0:
        return float("nan")
    return (t == p).double().mean().item()


def confusion_matrix(y_true: Any, y_pred: Any, labels: Iterable[int] | None = None) -> Tensor:
    """Counts C[i, j] of true class labels[i] predicted as labels[j] (labels default: the sorted union)."""
    t, p = _labels(y_true, y_pred)
    if labels is None:
        classes = torch.unique(torch.cat([t, p]))
    else:
        classes = torch.as_tensor(list(labels), dtype=torch.long, device=t.device)
    k = len(classes)
    if k == 0:
        return torch.zeros(0, 0, dtype=torch.long, device=t.device)
    low = int(torch.cat([classes, t, p]).min())
    high = int(torch.cat([classes, t, p]).max())
    lookup = torch.full((high - low + 1,), -1, dtype=torch.long, device=t.device)
    lookup[classes - low] = torch.arange(k, device=t.device)
    ti, pi = lookup[t - low], lookup[p - low]
    keep = (ti >= 0) & (pi >= 0)
    flat = ti[keep] * k + pi[keep]
    return torch.bincount(flat, minlength=k * k).reshape(k, k)


def _divide(num: Tensor, den: Tensor) -> Tensor:
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(num))


def _prf(y_true: Any, y_pred: Any, average: str, pos_label: int = 1) -> tuple[float, float, float]:
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {list(AVERAGES)}, got {average!r}")
    t, p = _labels(y_true, y_pred)
    if average == "binary":
        tp = ((t == pos_label) & (p == pos_label)).double().sum()
        fp = ((t != pos_label) & (p == pos_label)).double().sum()
        fn = ((t == pos_label) & (p != pos_label)).double().sum()
        prec, rec = _divide(tp, tp + fp), _divide(tp, tp + fn)
        return prec.item(), rec.item(), _divide(2 * tp, 2 * tp + fp + fn).item()
    cm = confusion_matrix(t, p).double()
    tp = cm.diag()
    pred_count = cm.sum(0)
    true_count = cm.sum(1)
    if average == "micro":
        tps, pc, tc = tp.sum(), pred_count.sum(), true_count.sum()
        prec, rec = _divide(tps, pc), _divide(tps, tc)
        return prec.item(), rec.item(), _divide(2 * tps, pc + tc).item()
    prec = _divide(tp, pred_count)
    rec = _divide(tp, true_count)
    f = _divide(2 * tp, pred_count + true_count)
    if average == "macro":
        return prec.mean().item(), rec.mean().item(), f.mean().item()
    weights = true_count / true_count.sum().clamp_min(1)
    return (prec * weights).sum().item(), (rec * weights).sum().item(), (f * weights).sum().item()


def precision(y_true: Any, y_pred: Any, average: str = "macro", pos_label: int = 1) -> float:
    """tp / (tp + fp), averaged per ``average``."""
    return _prf(y_true, y_pred, average, pos_label)[0]


def recall(y_true: Any, y_pred: Any, average: str = "macro", pos_label: int = 1) -> float:
    """tp / (tp + fn), averaged per ``average``."""
    return _prf(y_true, y_pred, average, pos_label)[1]


def f1(y_true: Any, y_pred: Any, average: str = "macro", pos_label: int = 1) -> float:
    """2 tp / (2 tp + fp + fn) per class, averaged per ``average`` (macro: the mean of per-class F1)."""
    return _prf(y_true, y_pred, average, pos_label)[2]


def _pair(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    t, p = _tensor(y_true).double(), _tensor(y_pred).double().to(_tensor(y_true).device)
    if t.dim() == 1:
        t = t[:, None]
    if p.dim() == 1:
        p = p[:, None]
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {tuple(t.shape)} but y_pred has shape {tuple(p.shape)}")
    return t, p


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error."""
    t, p = _pair(y_true, y_pred)
    return ((t - p) ** 2).mean().item()


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error."""
    t, p = _pair(y_true, y_pred)
    return (t - p).abs().mean().item()


def rmse(y_true: Any, y_pred: Any) -> float:
    """Square root of the mean squared error (over all outputs)."""
    return mse(y_true, y_pred) ** 0.5


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot per output, averaged over outputs.

    A constant target gives 1.0 for a perfect prediction and 0.0 otherwise (scikit-learn's ``force_finite``).
    """
    t, p = _pair(y_true, y_pred)
    ss_res = ((t - p) ** 2).sum(0)
    ss_tot = ((t - t.mean(0)) ** 2).sum(0)
    score = torch.where(
        ss_tot > 0,
        1 - ss_res / ss_tot.clamp_min(1e-300),
        torch.where(ss_res > 0, torch.zeros_like(ss_res), torch.ones_like(ss_res)),
    )
    return score.mean().item()


def rounded_accuracy(y_true: Any, y_pred: Any) -> float:
    """Accuracy of a regression on class ids: predictions rounded to the nearest integer and clipped
    to the range of the true labels, then compared with them (the reference's Iris, Pima and Banknote
    examples regress the class id with an MSE loss and report this score).

    Example:
        >>> import torch
        >>> rounded_accuracy(torch.tensor([0.0, 1.0, 2.0, 2.0]), torch.tensor([0.2, 1.6, 2.4, 7.0]))
        0.75
    """
    t, p = _pair(y_true, y_pred)
    if t.numel() == 0:
        return float("nan")
    low, high = t.min().round().item(), t.max().round().item()
    return (p.round().clamp(low, high) == t.round()).double().mean().item()


def _averaged(fn: Callable[..., float], average: str) -> Callable[[Any, Any], float]:
    def metric(y_true: Any, y_pred: Any) -> float:
        return fn(y_true, y_pred, average=average)

    metric.__name__ = f"{fn.__name__}_{average}"
    metric.__doc__ = f"{fn.__name__} with average={average!r}."
    return metric


#: Classification metrics: name -> fn(true ids, predicted ids). ``precision``/``recall``/``f1`` are macro.
CLASSIFICATION: dict[str, Callable[[Any, Any], float]] = {"accuracy": accuracy}
for _fn in (precision, recall, f1):
    CLASSIFICATION[_fn.__name__] = _averaged(_fn, "macro")
    for _avg in AVERAGES:
        CLASSIFICATION[f"{_fn.__name__}_{_avg}"] = _averaged(_fn, _avg)
#: Regression metrics: name -> fn(targets, predictions).
REGRESSION: dict[str, Callable[[Any, Any], float]] = {
    "mse": mse,
    "mae": mae,
    "rmse": rmse,
    "r2": r2,
    "rounded_accuracy": rounded_accuracy,
}
#: Every metric by name.
METRICS = {**CLASSIFICATION, **REGRESSION}

_HIGHER_IS_BETTER = {"accuracy", "r2", "rounded_accuracy", *(k for k in CLASSIFICATION if k != "accuracy")}


def mode_of(name: str) -> str:
    """``"max"`` for scores (accuracy, F1, R2...), ``"min"`` for losses and errors.

    ``name`` may carry a split prefix: ``val_accuracy``, ``train_loss``.
    """
    base = name.split("_", 1)[1] if name.startswith(("train_", "val_", "test_")) else name
    return "max" if base in _HIGHER_IS_BETTER else "min"


def default_metrics(task: str) -> list[str]:
    """The metrics reported when an experiment names none."""
    return ["accuracy", "f1_macro"] if task == "classification" else ["mse", "mae", "r2"]


def check_metric_names(names: Any, path: str = "metrics") -> list[str]:
    """Validate a list of metric names (did-you-mean for typos)."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)):
        raise ConfigError(f"expected a list of metric names, got {names!r}", path)
    for i, name in enumerate(names):
        if name not in METRICS:
            hint = did_you_mean(name, METRICS, n=2)
            raise ConfigError(f"unknown metric {name!r}{hint} (known: {', '.join(METRICS)})", f"{path}[{i}]")
    return list(names)


def compute(names: Iterable[str], y_true: Any, y_pred: Any) -> dict[str, float]:
    """Each named metric of (y_true, y_pred): class ids for classification metrics, values for regression ones."""
    return {name: METRICS[name](y_true, y_pred) for name in names}
