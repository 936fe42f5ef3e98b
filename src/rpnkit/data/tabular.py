"""Small UCI tables shipped with rpnkit: iris, pima_diabetes, banknote, wheat_seeds, wine_quality (red).

Each file is a CSV with a header and the label in the last column. Labels become class ids
0..K-1 in sorted order (iris species alphabetically, wheat 1..3 -> 0..2, wine quality 3..8 -> 0..5);
``task="regression"`` keeps the label's numeric value as a float target instead. Splits are
stratified and seeded; the normaliser is fitted on the training rows only.
"""

from __future__ import annotations

import csv
import functools
import math
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


def _cell(value: str, missing: bool) -> float:
    """A feature cell as a float; with ``missing`` an empty, ``nan`` or infinite cell is NaN (to impute)."""
    if missing and not value.strip():
        return math.nan
    number = float(value)
    return number if math.isfinite(number) or not missing else math.nan


def read_csv_table(text: str, source: str = "<csv>", missing: bool = False) -> tuple[list[str], np.ndarray, list[str]]:
    """Parse CSV text with a header; returns (feature names, float features (N, F), raw labels).

    A ``nan``/``inf`` feature is refused with its file, line and column (it would turn training into
    NaN); with ``missing`` such cells (and empty ones) become NaN for :func:`load_tabular`'s ``impute``.
    """
    rows = [(i, r) for i, r in enumerate(csv.reader(text.splitlines()), start=1) if r and any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ConfigError(f"{source}: needs a header and at least one row")
    header, body = rows[0][1], rows[1:]
    width = len(header)
    features, labels = [], []
    for line, row in body:
        if len(row) != width:
            raise ConfigError(f"{source}: line {line} has {len(row)} fields, the header has {width}")
        try:
            values = [_cell(v, missing) for v in row[:-1]]
        except ValueError:
            raise ConfigError(f"{source}: line {line} has a non-numeric feature: {row[:-1]}") from None
        bad = next((j for j, v in enumerate(values) if not math.isfinite(v)), None)
        if bad is not None and not missing:
            raise ConfigError(
                f"{source}: line {line}, column {header[bad].strip()!r} is {row[bad].strip()!r}, not a finite number; "
                "fix the file, or set data.impute: mean to replace such cells by the column's mean"
            )
        features.append(values)
        labels.append(row[-1].strip())
    return [h.strip() for h in header[:-1]], np.asarray(features, dtype=np.float64), labels


def impute_mean(x: np.ndarray, source: str) -> np.ndarray:
    """Replace NaN cells by their column's mean over the finite cells (all rows: before the split)."""
    holes = np.isnan(x)
    if not holes.any():
        return x
    empty = holes.all(axis=0)
    if empty.any():
        raise ConfigError(f"{source}: column {int(np.flatnonzero(empty)[0]) + 1} has no finite value to impute from")
    means = np.nanmean(x, axis=0)
    return np.where(holes, means, x)


@functools.cache
def _shipped(name: str) -> tuple[list[str], np.ndarray, list[str]]:
    text = resources.files("rpnkit.data").joinpath("files", TABULAR[name]).read_text(encoding="utf-8")
    return read_csv_table(text, TABULAR[name])


def load_tabular(
    name: str = "iris",
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    folds: int | list[list[int]] | str | os.PathLike | None = None,
    fold: int = 0,
    fold_method: str = "rpnkit",
    normalize: str | None = "standard",
    task: str = "classification",
    seed: int = 0,
    path: str | os.PathLike | None = None,
    impute: str | None = None,
) -> Dataset:
    """Load a shipped table (or any CSV with a header and the label last, via ``path``).

    Args:
        name: ``iris``, ``pima_diabetes``, ``banknote``, ``wheat_seeds`` or ``wine_quality``.
        test_fraction: share of rows in the (stratified) test part; unused with ``folds``.
        val_fraction: share of the training part held out for validation (may be 0 with ``folds``).
        folds, fold: cross-validation: the test part is fold ``fold`` (0-based) of ``folds``, which is an int k
            (k seeded, stratified folds), a list of folds (each the list of its test row indices, 0-based
            data rows of the table) or the path of a fold file (:func:`rpnkit.data.write_folds`); the
            parts' rows are in the result's ``rows``.
        fold_method: how an int ``folds`` is made: ``"rpnkit"`` (default) or ``"sklearn"``: exactly the
            folds of scikit-learn's ``StratifiedKFold(folds, shuffle=True, random_state=seed)`` (``KFold``
            for regression), so that a baseline can run on identical folds.
        normalize: ``"standard"`` (default), ``"minmax"`` or None; fitted on the training rows.
        task: ``"classification"`` (class ids) or ``"regression"`` (the label's numeric value, (N, 1); for
            text labels such as iris's, the class id as a number, with ``class_names`` kept).
        seed: seed of the split.
        path: read this CSV file instead of the shipped one (``name`` then only names the dataset).
        impute: None (default: a ``nan``/``inf`` feature is an error naming its file, line and column) or
            ``"mean"``: empty, ``nan`` and infinite feature cells become their column's mean (over all
            rows, before the split). Labels are never imputed.

    Example:
        >>> data = load_tabular("wheat_seeds", test_fraction=0.2)
        >>> data.num_classes, data.class_names, sorted(set(data.y_train.tolist()))
        (3, ['1', '2', '3'], [0, 1, 2])
    """
    check_choice(task, None, ["classification", "regression"], path="task")
    check_choice(impute, None, [None, "mean"], path="impute")
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise ConfigError(f"CSV file {str(path)!r} does not exist", "path")
        features, x, raw = read_csv_table(path.read_text(encoding="utf-8"), str(path), missing=impute is not None)
        if impute == "mean":
            x = impute_mean(x, str(path))
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
            if not np.isfinite(y).all():
                line = int(np.flatnonzero(~np.isfinite(y))[0])
                raise ConfigError(
                    f"{path if path is not None else name}: label {raw[line]!r} of data row {line + 1} is not finite"
                )
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
        fold_method=fold_method,
        seed=seed,
        normalize=normalize,
        num_classes=num_classes,
        feature_names=features,
        class_names=classes,
        info={"source": str(path) if path is not None else TABULAR.get(name)},
    )
