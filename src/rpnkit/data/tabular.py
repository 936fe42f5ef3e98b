"""Small UCI tables shipped with rpnkit: iris, pima_diabetes, banknote, wheat_seeds, wine_quality (red).

Each file is a CSV with a header and the label in the last column. Labels become class ids
0..K-1 in sorted order (iris species alphabetically, wheat 1..3 -> 0..2, wine quality 3..8 -> 0..5);
``task="regression"`` keeps the label's numeric value as a float target instead. Splits are
stratified and seeded; the normaliser is fitted on the training rows only.
"""

from __future__ import annotations

import csv
import functools
import os
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..validation import check_choice
from .base import Dataset, encode_labels, finish_split

__all__ = ["TABULAR", "load_tabular", "read_csv_table"]

#: Dataset name -> shipped file.
TABULAR = {
    "iris": "iris.csv",
    "pima_diabetes": "pima_diabetes.csv",
    "banknote": "banknote.csv",
    "wheat_seeds": "wheat_seeds.csv",
    "wine_quality": "wine_quality_red.csv",
}


def read_csv_table(text: str, source: str = "<csv>") -> tuple[list[str], np.ndarray, list[str]]:
    """Parse CSV text with a header; returns (feature names, float features (N, F), raw labels)."""
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ConfigError(f"{source}: needs a header and at least one row")
    header, body = rows[0], rows[1:]
    width = len(header)
    features, labels = [], []
    for line, row in enumerate(body, start=2):
        if len(row) != width:
            raise ConfigError(f"{source}: line {line} has {len(row)} fields, the header has {width}")
        try:
            features.append([float(v) for v in row[:-1]])
        except ValueError:
            raise ConfigError(f"{source}: line {line} has a non-numeric feature: {row[:-1]}") from None
        labels.append(row[-1].strip())
    return [h.strip() for h in header[:-1]], np.asarray(features, dtype=np.float64), labels


@functools.cache
def _shipped(name: str) -> tuple[list[str], np.ndarray, list[str]]:
    text = resources.files("rpnkit.data").joinpath("files", TABULAR[name]).read_text(encoding="utf-8")
    return read_csv_table(text, TABULAR[name])


def load_tabular(
    name: str = "iris",
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    folds: int | None = None,
    fold: int = 0,
    normalize: str | None = "standard",
    task: str = "classification",
    seed: int = 0,
    path: str | os.PathLike | None = None,
) -> Dataset:
    """Load a shipped table (or any CSV with a header and the label last, via ``path``).

    Args:
        name: ``iris``, ``pima_diabetes``, ``banknote``, ``wheat_seeds`` or ``wine_quality``.
        test_fraction: share of rows in the (stratified) test part; unused with ``folds``.
        val_fraction: share of the training part held out for validation.
        folds, fold: k-fold cross-validation: the test part is fold ``fold`` (0-based) of ``folds``.
        normalize: ``"standard"`` (default), ``"minmax"`` or None; fitted on the training rows.
        task: ``"classification"`` (class ids) or ``"regression"`` (the label's numeric value, (N, 1); for
            text labels such as iris's, the class id as a number, with ``class_names`` kept).
        seed: seed of the split.
        path: read this CSV file instead of the shipped one (``name`` then only names the dataset).

    Example:
        >>> data = load_tabular("wheat_seeds", test_fraction=0.2)
        >>> data.num_classes, data.class_names, sorted(set(data.y_train.tolist()))
        (3, ['1', '2', '3'], [0, 1, 2])
    """
    check_choice(task, None, ["classification", "regression"], path="task")
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise ConfigError(f"CSV file {str(path)!r} does not exist", "path")
        features, x, raw = read_csv_table(path.read_text(encoding="utf-8"), str(path))
    else:
        check_choice(name, None, list(TABULAR), path="name")
        features, x, raw = _shipped(name)
    if task == "classification":
        y, classes = encode_labels(raw)
        num_classes = len(classes)
    else:
        try:
            y = np.asarray([float(v) for v in raw], dtype=np.float64)
            classes = None
        except ValueError:  # text labels: regress on the class ids 0..K-1 (sorted names, as for classification)
            ids, classes = encode_labels(raw)
            y = ids.astype(np.float64)
        num_classes = None
    return finish_split(
        name,
        x,
        y,
        task,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        folds=folds,
        fold=fold,
        seed=seed,
        normalize=normalize,
        num_classes=num_classes,
        feature_names=features,
        class_names=classes,
        info={"source": str(path) if path is not None else TABULAR.get(name)},
    )
