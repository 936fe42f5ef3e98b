"""Dataset containers, seeded splits and scalers shared by every loader.

A loader returns either a :class:`Dataset` (train / optional validation / test tensors) or a
:class:`GraphDataset` (one graph, node features, labels and train/val/test masks). Classification
labels are ``int64`` class ids ``0..K-1`` of shape (N,); regression targets are ``float32`` of
shape (N, k). Every split is seeded, and every normaliser is fitted on the training rows only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .. import validation
from ..errors import ConfigError
from .folds import FOLD_METHODS, fold_splits, kfold_indices

__all__ = [
    "Dataset",
    "GraphDataset",
    "Scaler",
    "train_test_indices",
    "kfold_indices",
    "FOLD_METHODS",
    "encode_labels",
    "data_home",
    "finish_split",
]

TASKS = ("classification", "regression")
SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """A supervised dataset split into training, optional validation and test tensors.

    Attributes:
        name: the dataset's name.
        task: ``"classification"`` (y: int64 class ids of shape (N,)) or ``"regression"``
            (y: float32 of shape (N, k)).
        x_train, y_train, x_test, y_test: the splits; x is float32 (N, features...).
        x_val, y_val: the validation split, or None.
        num_classes: K for classification, None for regression.
        feature_names, class_names: optional names.
        x_scaler: the normaliser fitted on the training rows (None when the data are not normalised).
        info: loader-specific facts (formula and variable ranges, vocabulary size, ...).
        rows: ``{"train", "val", "test"}`` -> the sorted row indices (0-based, into the loader's whole table)
            of each part, when the loader split one table (``val`` empty without a validation part);
            None when the parts come fixed (an official test set). A baseline can train and test on
            exactly these rows.

    Example:
        >>> import torch
        >>> data = Dataset.from_tensors(torch.randn(8, 3), torch.randint(0, 2, (8,)),
        ...                             torch.randn(4, 3), torch.randint(0, 2, (4,)), num_classes=2)
        >>> data.in_features, data.out_features, data.task
        (3, 2, 'classification')
    """

    name: str
    task: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    x_val: Tensor | None = None
    y_val: Tensor | None = None
    num_classes: int | None = None
    feature_names: list[str] | None = None
    class_names: list[str] | None = None
    x_scaler: Scaler | None = None
    info: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, np.ndarray] | None = None

    @classmethod
    def from_tensors(
        cls,
        x_train: Any,
        y_train: Any,
        x_test: Any,
        y_test: Any,
        x_val: Any = None,
        y_val: Any = None,
        task: str | None = None,
        num_classes: int | None = None,
        name: str = "tensors",
    ) -> Dataset:
        """Wrap arrays; integer targets of shape (N,) mean classification unless ``task`` says otherwise."""
        y_train_t = torch.as_tensor(np.asarray(y_train) if not isinstance(y_train, Tensor) else y_train)
        if task is None:
            task = "classification" if not y_train_t.is_floating_point() and y_train_t.dim() == 1 else "regression"
        validation.check_choice(task, "task", list(TASKS), path="task")

        def prep_x(a: Any) -> Tensor | None:
            return None if a is None else torch.as_tensor(np.asarray(a) if not isinstance(a, Tensor) else a).float()

        def prep_y(a: Any) -> Tensor | None:
            if a is None:
                return None
            t = torch.as_tensor(np.asarray(a) if not isinstance(a, Tensor) else a)
            if task == "classification":
                return t.long().reshape(-1)
            t = t.float()
            return t.reshape(-1, 1) if t.dim() == 1 else t

        y_tr = prep_y(y_train_t)
        if task == "classification" and num_classes is None:
            parts = [y for y in (y_tr, prep_y(y_val), prep_y(y_test)) if y is not None]
            num_classes = int(torch.cat(parts).max().item()) + 1
        return cls(
            name=name,
            task=task,
            x_train=prep_x(x_train),
            y_train=y_tr,
            x_test=prep_x(x_test),
            y_test=prep_y(y_test),
            x_val=prep_x(x_val),
            y_val=prep_y(y_val),
            num_classes=num_classes if task == "classification" else None,
        )

    @property
    def in_features(self) -> int:
        """Width of one input row (the model's m)."""
        return int(self.x_train[0].numel()) if self.x_train.dim() > 2 else int(self.x_train.shape[-1])

    @property
    def out_features(self) -> int:
        """K classes for classification, the target width for regression."""
        if self.task == "classification":
            return int(self.num_classes)
        return int(self.y_train.shape[-1])

    def split(self, name: str) -> tuple[Tensor, Tensor]:
        """``(x, y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        validation.check_choice(name, "split", SPLITS, path="")
        x, y = getattr(self, f"x_{name}"), getattr(self, f"y_{name}")
        if x is None:
            raise ConfigError(f"dataset {self.name!r} has no {name} split (set data.val_fraction > 0)")
        return x, y

    @property
    def has_val(self) -> bool:
        return self.x_val is not None and len(self.x_val) > 0

    def describe(self) -> str:
        """One line: name, task, sizes and widths."""
        sizes = f"train {len(self.x_train)}" + (f", val {len(self.x_val)}" if self.has_val else "")
        sizes += f", test {len(self.x_test)}"
        target = f"{self.num_classes} classes" if self.task == "classification" else f"{self.out_features} target(s)"
        return f"{self.name}: {self.task}, {sizes}; {self.in_features} features, {target}"


@dataclass
class GraphDataset:
    """One graph for transductive node classification.

    Attributes:
        x: node features (N, F) float32; y: labels (N,) int64.
        edge_index: (2, E) int64, both directions of every undirected edge.
        train_mask, val_mask, test_mask: bool (N,).
    """

    name: str
    x: Tensor
    y: Tensor
    edge_index: Tensor
    train_mask: Tensor
    val_mask: Tensor
    test_mask: Tensor
    num_classes: int
    class_names: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    task: str = "classification"

    @property
    def in_features(self) -> int:
        return int(self.x.shape[-1])

    @property
    def out_features(self) -> int:
        return int(self.num_classes)

    @property
    def has_val(self) -> bool:
        return bool(self.val_mask.any())

    @property
    def num_nodes(self) -> int:
        return int(self.x.shape[0])

    def mask(self, name: str) -> Tensor:
        validation.check_choice(name, "split", SPLITS, path="")
        return getattr(self, f"{name}_mask")

    def adjacency(self, self_loops: bool = True, normalize: bool = True) -> Tensor:
        """Dense adjacency (N, N), optionally with self loops and symmetric normalisation D^-1/2 A D^-1/2."""
        n = self.num_nodes
        a = torch.zeros(n, n)
        a[self.edge_index[0], self.edge_index[1]] = 1.0
        if self_loops:
            a = a + torch.eye(n)
        if normalize:
            d = a.sum(1).clamp_min(1e-12).rsqrt()
            a = d[:, None] * a * d[None, :]
        return a

    def describe(self) -> str:
        counts = ", ".join(f"{k} {int(self.mask(k).sum())}" for k in ("train", "val", "test"))
        return (
            f"{self.name}: graph with {self.num_nodes} nodes, {self.edge_index.shape[1]} directed edges, "
            f"{self.in_features} features, {self.num_classes} classes; {counts}"
        )


class Scaler:
    """Per-column normalisation fitted on training rows: ``"standard"`` (z-score) or ``"minmax"`` ([0, 1]).

    Constant columns are left centred (standard) or mapped to 0 (minmax) instead of dividing by zero.

    Example:
        >>> import numpy as np
        >>> s = Scaler("minmax").fit(np.array([[0.0], [2.0]]))
        >>> s.transform(np.array([[1.0], [4.0]])).tolist()
        [[0.5], [2.0]]
    """

    KINDS = ("standard", "minmax")

    def __init__(self, kind: str = "standard") -> None:
        validation.check_choice(kind, "normalize", list(self.KINDS), path="normalize")
        self.kind = kind
        self.shift: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> Scaler:
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "standard":
            shift, scale = x.mean(0), x.std(0)
        else:
            shift, scale = x.min(0), x.max(0) - x.min(0)
        self.shift = shift
        self.scale = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.shift is None:
            raise RuntimeError("Scaler.transform called before fit")
        return (np.asarray(x, dtype=np.float64) - self.shift) / self.scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) * self.scale + self.shift

    def __repr__(self) -> str:
        return f"Scaler({self.kind!r})"


def data_home(root: str | os.PathLike | None = None, name: str | None = None) -> Path:
    """The data folder: ``root`` if given, else ``$RPNKIT_DATA`` or ``~/.cache/rpnkit/data``."""
    if root is None:
        root = os.environ.get("RPNKIT_DATA") or Path.home() / ".cache" / "rpnkit" / "data"
        return Path(root) / name if name else Path(root)
    return Path(root).expanduser()


# --------------------------------------------------------------------------------------------- splits


def encode_labels(values: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Map labels to ids 0..K-1 in sorted order (numbers sorted numerically); returns (ids, class names)."""
    raw = np.asarray(values)
    try:
        numeric = raw.astype(np.float64)
        uniques = np.unique(numeric)
        ids = np.searchsorted(uniques, numeric)
        names = [str(int(u)) if float(u).is_integer() else str(u) for u in uniques]
    except ValueError:
        uniques = np.unique(raw.astype(str))
        ids = np.searchsorted(uniques, raw.astype(str))
        names = [str(u) for u in uniques]
    return ids.astype(np.int64), names


def train_test_indices(
    n: int, test_fraction: float, seed: int, stratify: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (stratified when labels are given) split of ``range(n)``; both parts sorted.

    With stratification each class keeps ``round(count * test_fraction)`` rows for the test part.
    """
    rng = np.random.default_rng(seed)
    if test_fraction <= 0:
        return np.arange(n), np.arange(0)
    if stratify is None:
        perm = rng.permutation(n)
        k = int(round(n * test_fraction))
        k = min(max(k, 1), n - 1) if n > 1 else 0
        return np.sort(perm[k:]), np.sort(perm[:k])
    test: list[np.ndarray] = []
    for label in np.unique(stratify):
        members = np.flatnonzero(stratify == label)
        members = members[rng.permutation(len(members))]
        k = int(round(len(members) * test_fraction))
        test.append(members[:k])
    test_idx = np.sort(np.concatenate(test)) if test else np.arange(0)
    mask = np.ones(n, dtype=bool)
    mask[test_idx] = False
    return np.flatnonzero(mask), test_idx


def _check_parts(
    name: str, task: str, y: np.ndarray, y_tr: np.ndarray, y_te: np.ndarray, val_fraction: float, given_test: bool
) -> None:
    """A split that can train: training and test rows, and two classes or more for classification."""
    if len(y_tr) == 0:
        where = "val_fraction" if val_fraction > 0 else "test_fraction"
        raise ConfigError(f"{name}: the split leaves no training rows out of {len(y)}; lower {where}", where)
    if len(y_te) == 0 and not given_test:
        raise ConfigError(
            f"{name}: the split leaves no test rows out of {len(y)}; raise test_fraction", "test_fraction"
        )
    if task == "classification":
        classes = np.unique(y_tr)
        if len(classes) < 2:
            found = np.unique(y)
            raise ConfigError(
                f"{name}: classification needs at least two classes, but the "
                + ("labels hold" if len(found) < 2 else "training rows hold")
                + f" only {len(classes)} ({', '.join(map(str, classes.tolist()[:3]))}); "
                "check the label column, or use task: regression",
                "task",
            )


def finish_split(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    task: str,
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    seed: int = 0,
    normalize: str | None = None,
    folds: Any = None,
    fold: int = 0,
    fold_method: str = "rpnkit",
    num_classes: int | None = None,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    stratify: bool = True,
    **extra: Any,
) -> Dataset:
    """Split arrays into train/val/test, fit the normaliser on the training rows, and build a :class:`Dataset`.

    Args:
        x: features (N, ...); y: labels (N,) for classification or targets (N,) / (N, k) for regression.
        test: an official test split ``(x_test, y_test)``; then ``test_fraction`` and ``folds`` are unused.
        folds, fold: cross-validation: the test part is fold ``fold`` (0-based) of ``folds``: an int k (k seeded
            folds), a list of folds (each the list of its test row indices) or a fold file's path
            (see :mod:`rpnkit.data.folds`).
        fold_method: how an int ``folds`` is made: ``"rpnkit"`` or ``"sklearn"`` (scikit-learn's
            ``StratifiedKFold``/``KFold`` with ``shuffle=True, random_state=seed``); one of :data:`FOLD_METHODS`.
        val_fraction: share of the *training* part held out for validation (0 inside cross-validation too:
            the training part of the fold is then all of it).
        normalize: ``"standard"``, ``"minmax"`` or None; fitted on the final training rows only.
        extra: the remaining Dataset fields (feature_names, class_names, info).
    """
    test_fraction = validation.check_fraction(test_fraction, None, path="test_fraction")
    val_fraction = validation.check_fraction(val_fraction, None, path="val_fraction")
    validation.check_int(seed, None, 0, path="seed")
    if normalize is not None:
        validation.check_choice(normalize, None, [None, *Scaler.KINDS], path="normalize")
    validation.check_choice(fold_method, None, FOLD_METHODS, path="fold_method")
    if fold_method != "rpnkit" and folds is None:
        raise ConfigError(f"fold_method {fold_method!r} makes folds: set data.folds (e.g. folds: 10)", "fold_method")
    labels = y if (task == "classification" and stratify) else None
    if test is not None:
        x_tr, y_tr = x, y
        x_te, y_te = test
        tr = np.arange(len(x))
    elif folds is not None:
        splits = fold_splits(folds, len(x), seed, labels, fold_method)
        validation.check_int(fold, "fold", 0, len(splits) - 1, path="fold")
        tr, te = splits[fold]
        x_tr, y_tr, x_te, y_te = x[tr], y[tr], x[te], y[te]
    else:
        if test_fraction <= 0:
            raise ConfigError("test_fraction must be > 0 (or use folds)", "test_fraction")
        tr, te = train_test_indices(len(x), test_fraction, seed, labels)
        x_tr, y_tr, x_te, y_te = x[tr], y[tr], x[te], y[te]
    x_va = y_va = None
    va = np.arange(0)
    if val_fraction > 0:
        val_labels = y_tr if labels is not None else None
        keep, held = train_test_indices(len(x_tr), val_fraction, seed + 1, val_labels)
        x_va, y_va = x_tr[held], y_tr[held]
        x_tr, y_tr = x_tr[keep], y_tr[keep]
        tr, va = tr[keep], tr[held]
    rows = None if test is not None else {"train": tr, "val": va, "test": te}
    _check_parts(name, task, y, y_tr, y_te, val_fraction, test is not None)
    scaler = None
    if normalize is not None:
        flat = x_tr.reshape(len(x_tr), -1)
        scaler = Scaler(normalize).fit(flat)

        def apply(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else scaler.transform(a.reshape(len(a), -1)).reshape(a.shape)

        x_tr, x_va, x_te = apply(x_tr), apply(x_va), apply(x_te)

    def tx(a: np.ndarray | None) -> Tensor | None:
        return None if a is None else torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    def ty(a: np.ndarray | None) -> Tensor | None:
        if a is None:
            return None
        if task == "classification":
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)).reshape(-1)
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        return t.reshape(-1, 1) if t.dim() == 1 else t

    if task == "classification" and num_classes is None:
        num_classes = int(max(int(np.max(y)), int(np.max(test[1])) if test is not None else 0)) + 1
    return Dataset(
        name=name,
        task=task,
        x_train=tx(x_tr),
        y_train=ty(y_tr),
        x_test=tx(x_te),
        y_test=ty(y_te),
        x_val=tx(x_va),
        y_val=ty(y_va),
        num_classes=num_classes if task == "classification" else None,
        x_scaler=scaler,
        rows=rows,
        **extra,
    )
