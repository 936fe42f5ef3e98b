"""Cross-validation folds: rpnkit's seeded folds, scikit-learn's, or the user's own (a list or a file).

``data.folds`` takes three forms (see ``docs/experiments.md``):

* an int k: k seeded folds, made by ``data.fold_method``: ``rpnkit`` (the default: within each class
  the shuffled rows are dealt round-robin) or ``sklearn`` (exactly the folds of scikit-learn's
  ``StratifiedKFold(k, shuffle=True, random_state=seed)``, or ``KFold`` for regression);
* a list of folds, each the list of its *test* row indices (0-based, into the whole table); the
  training part of fold k is every row not in fold k, so rows in no fold always train;
* the path of a fold file: JSON (a list of lists, ``.json`` or text starting with ``[``) or text with
  one fold per line, indices separated by commas and/or whitespace, ``#`` comments and blank lines
  ignored (:func:`write_folds` writes it, :func:`read_folds` reads it). Nothing is ever unpickled or evaluated.

Example:
    >>> import numpy as np
    >>> [test.tolist() for _, test in fold_splits([[0, 3], [1, 2]], 5, seed=0)]
    [[0, 3], [1, 2]]
    >>> fold_splits([[0, 3], [3, 7]], 5, seed=0)
    Traceback (most recent call last):
    ...
    rpnkit.errors.ConfigError: folds[1][1]: expected a row index in [0, 5) (the data have 5 rows), got 7
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import validation
from ..config.io import write_bytes_atomic
from ..errors import ConfigError

__all__ = ["FOLD_METHODS", "kfold_indices", "fold_splits", "check_folds", "read_folds", "write_folds"]

#: ``data.fold_method``: how an int ``data.folds`` is split.
FOLD_METHODS = ("rpnkit", "sklearn")

Split = tuple[np.ndarray, np.ndarray]


def kfold_indices(
    n: int, folds: int, seed: int, stratify: np.ndarray | None = None, method: str = "rpnkit"
) -> list[Split]:
    """Seeded k-fold split (stratified when labels are given): a list of (train, test) index pairs, both sorted.

    Every row is in exactly one test fold. ``method="rpnkit"`` deals the shuffled rows of each class
    round-robin; ``method="sklearn"`` gives exactly the folds of scikit-learn's
    ``StratifiedKFold(folds, shuffle=True, random_state=seed)`` (``KFold`` when ``stratify`` is None),
    so a baseline can run on identical folds; it needs scikit-learn.

    Example:
        >>> import numpy as np
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> [test.tolist() for _, test in kfold_indices(6, 3, seed=0, stratify=y)]
        [[2, 5], [0, 4], [1, 3]]
    """
    validation.check_int(folds, "folds", 2, n, path="folds")
    validation.check_choice(method, None, FOLD_METHODS, path="fold_method")
    if method == "sklearn":
        return _sklearn_folds(n, folds, seed, stratify)
    rng = np.random.default_rng(seed)
    assignment = np.empty(n, dtype=np.int64)
    if stratify is None:
        perm = rng.permutation(n)
        assignment[perm] = np.arange(n) % folds
    else:
        offset = 0
        for label in np.unique(stratify):
            members = np.flatnonzero(stratify == label)
            members = members[rng.permutation(len(members))]
            assignment[members] = (np.arange(len(members)) + offset) % folds
            offset += len(members)
    return [(np.flatnonzero(assignment != k), np.flatnonzero(assignment == k)) for k in range(folds)]


def _sklearn_folds(n: int, folds: int, seed: int, stratify: np.ndarray | None) -> list[Split]:
    try:
        from sklearn.model_selection import KFold, StratifiedKFold
    except ImportError:
        raise ConfigError(
            "fold_method 'sklearn' needs scikit-learn: pip install scikit-learn (or rpnkit[data]), "
            "or use the default fold_method: rpnkit",
            "fold_method",
        ) from None
    if stratify is None:
        splitter: Any = KFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    try:
        pairs = list(splitter.split(np.zeros((n, 1)), stratify))
    except ValueError as err:
        raise ConfigError(f"scikit-learn cannot make {folds} folds of these rows: {err}", "folds") from None
    return [(np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)) for tr, te in pairs]


# ------------------------------------------------------------------------------------ the user's folds


def _is_index(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_folds(folds: Any, n: int, path: str = "folds", source: Sequence[str] | None = None) -> list[np.ndarray]:
    """The user's test folds as sorted int64 arrays, checked against ``n`` rows.

    Each fold is a non-empty list of distinct row indices in [0, n) that leaves rows to train on, and
    no row is in two folds. Rows in no fold are in every fold's training part.

    Args:
        folds: a list of folds, each a list (or 1-d array) of test row indices.
        n: the number of rows.
        path: the config path errors name (``folds[3][5]``).
        source: where each fold came from (``"file 'f.txt', line 4"``), for a fold file; errors then name
            ``path`` itself and say the file, line and entry.

    Raises:
        ConfigError: naming the fold and entry, the expected and the given value.
    """

    def where(k: int, j: int | None = None) -> tuple[str, str]:
        if source is None:
            at = validation.join_path(path, k)
            return (at if j is None else validation.join_path(at, j)), ""
        entry = "" if j is None else f", entry {j}"
        return path, f"{source[k]} (fold {k}{entry}): "

    if isinstance(folds, np.ndarray) and folds.ndim == 2:
        folds = list(folds)
    if not isinstance(folds, (list, tuple)) or not folds:
        raise ConfigError(f"expected a non-empty list of folds (lists of test row indices), got {folds!r}", path)
    owner = np.full(n, -1, dtype=np.int64)
    out: list[np.ndarray] = []
    for k, fold in enumerate(folds):
        at, prefix = where(k)
        is_list = isinstance(fold, (list, tuple)) or (isinstance(fold, np.ndarray) and fold.ndim == 1)
        if not is_list or len(fold) == 0:
            raise ConfigError(f"{prefix}expected a non-empty list of test row indices, got {fold!r}", at)
        for j, value in enumerate(fold):
            if not _is_index(value) or not 0 <= value < n:
                at, prefix = where(k, j)
                raise ConfigError(
                    f"{prefix}expected a row index in [0, {n}) (the data have {n} rows), got {value!r}", at
                )
        rows = np.asarray(fold, dtype=np.int64).reshape(-1)
        _, first = np.unique(rows, return_index=True)
        repeated = np.setdiff1d(np.arange(len(rows)), first)
        if len(repeated):
            j = int(repeated[0])
            at, prefix = where(k, j)
            raise ConfigError(f"{prefix}row {int(rows[j])} appears twice in fold {k}", at)
        taken = np.flatnonzero(owner[rows] >= 0)
        if len(taken):
            j = int(taken[0])
            at, prefix = where(k, j)
            raise ConfigError(
                f"{prefix}row {int(rows[j])} is already in fold {int(owner[rows[j]])}; folds must be disjoint", at
            )
        if len(rows) == n:
            raise ConfigError(f"{prefix}the fold holds all {n} rows and leaves none to train on", at)
        owner[rows] = k
        out.append(np.sort(rows))
    return out


def fold_splits(
    folds: Any,
    n: int,
    seed: int,
    stratify: np.ndarray | None = None,
    method: str = "rpnkit",
    path: str = "folds",
) -> list[Split]:
    """The (train, test) index pairs of ``data.folds``: an int (made by ``method``), a list of folds or a fold file.

    For a list or a file the test part of fold k is the given rows (sorted) and the training part every
    other row; ``method`` then must stay ``rpnkit`` (it only says how an int number of folds is made).
    """
    if isinstance(folds, (str, os.PathLike)):
        given, source = _read(folds, path)
        tests = check_folds(given, n, path, source)
    elif isinstance(folds, (list, tuple, np.ndarray)):
        tests = check_folds(folds, n, path)
    elif _is_index(folds):
        validation.check_int(int(folds), None, 2, path=path)
        return kfold_indices(n, int(folds), seed, stratify, method)
    else:
        raise ConfigError(
            "expected an int >= 2 (the number of folds), a list of folds (lists of test row indices) "
            f"or the path of a fold file, got {folds!r}",
            path,
        )
    validation.check_choice(method, None, FOLD_METHODS, path="fold_method")
    if method != "rpnkit":
        raise ConfigError(
            f"{method!r} makes folds from their number (an int data.folds); with given folds leave fold_method out",
            "fold_method",
        )
    rows = np.arange(n)
    return [(np.setdiff1d(rows, test, assume_unique=True), test) for test in tests]


# ----------------------------------------------------------------------------------------- fold files

_INT = re.compile(r"[+-]?\d+")


def _read(path: str | os.PathLike, config_path: str = "folds") -> tuple[list[list[int]], list[str]]:
    """The folds of a file and, per fold, where it is (``file 'f.txt', line 3``)."""
    file = Path(path).expanduser()
    if not file.is_file():
        hint = " (for that many folds give the number without quotes)" if str(path).strip().isdigit() else ""
        raise ConfigError(f"fold file {str(path)!r} does not exist{hint}", config_path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read fold file {str(file)!r}: {err}", config_path) from None
    name = f"file {str(file)!r}"
    if file.suffix.lower() == ".json" or text.lstrip().startswith("["):
        try:
            folds = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{name}: not valid JSON ({err})", config_path) from None
        if not isinstance(folds, list) or not all(isinstance(f, list) for f in folds):
            raise ConfigError(f"{name}: expected a JSON list of folds (lists of row indices)", config_path)
        return folds, [name] * len(folds)
    folds, source = [], []
    for line, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0].strip()
        if not body:
            continue
        tokens = [t for t in re.split(r"[,\s]+", body) if t]
        bad = next((t for t in tokens if not _INT.fullmatch(t)), None)
        if bad is not None:
            raise ConfigError(
                f"{name}, line {line} (fold {len(folds)}): expected row indices (ints) separated by commas "
                f"or spaces, got {bad!r}",
                config_path,
            )
        folds.append([int(t) for t in tokens])
        source.append(f"{name}, line {line}")
    if not folds:
        raise ConfigError(f"{name} holds no folds (one line of test row indices per fold)", config_path)
    return folds, source


def read_folds(path: str | os.PathLike) -> list[list[int]]:
    """The folds of a fold file, as lists of ints (their rows are checked when a dataset uses them).

    A ``.json`` file (or one starting with ``[``) is a JSON list of lists; any other is text with one
    fold per line, indices separated by commas and/or whitespace, ``#`` comments and blank lines ignored.
    """
    return _read(path)[0]


def write_folds(path: str | os.PathLike, folds: Sequence[Sequence[int]]) -> Path:
    """Write test folds (lists or arrays of row indices) as a fold file: JSON for ``.json``, else text.

    Example:
        >>> import tempfile, pathlib
        >>> file = write_folds(pathlib.Path(tempfile.mkdtemp()) / "folds.txt", [[0, 3], [1, 2]])
        >>> file.read_text()
        '# rpnkit folds: one fold per line, the 0-based test row indices\\n0, 3\\n1, 2\\n'
        >>> read_folds(file)
        [[0, 3], [1, 2]]
    """
    rows = []
    for k, fold in enumerate(folds):
        values = list(np.asarray(fold).reshape(-1).tolist())
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ConfigError(f"fold {k}: expected row indices (ints), got {list(fold)!r}")
        rows.append(values)
    file = Path(path).expanduser()
    if file.suffix.lower() == ".json":
        text = json.dumps(rows) + "\n"
    else:
        lines = ["# rpnkit folds: one fold per line, the 0-based test row indices"]
        text = "\n".join(lines + [", ".join(map(str, r)) for r in rows]) + "\n"
    write_bytes_atomic(file, text.encode("utf-8"))  # a crash leaves the old file or the new one
    return file
