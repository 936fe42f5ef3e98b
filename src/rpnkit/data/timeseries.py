"""Time series from a CSV file as sliding windows, split chronologically.

Rows are time steps, numeric columns are series. A window starting at step ``i`` uses
``x = s[i : i + x_len]`` and predicts ``y = s[i + x_len + gap : i + x_len + gap + y_len]``: with
``gap=0`` the target starts right after the input (the reference system was off by one here).

The first ``1 - test_fraction`` of the time steps form the training period; a window belongs to the
training (validation) part when its target lies entirely inside that period, and to the test part
when its target starts after it (its input may look back into the training period). The
normaliser is fitted on the training period only.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..validation import check_choice, check_fraction, check_int
from .base import Dataset, Scaler

__all__ = ["load_time_series", "sliding_windows"]


def sliding_windows(
    series: np.ndarray, x_len: int, y_len: int = 1, gap: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All windows of a (T, C) array: x (W, x_len, C), y (W, y_len, C) and each window's target start.

    Example:
        >>> x, y, start = sliding_windows(np.arange(6.0)[:, None], x_len=3, y_len=1, gap=0)
        >>> x[0, :, 0].tolist(), y[0, :, 0].tolist(), start.tolist()
        ([0.0, 1.0, 2.0], [3.0], [3, 4, 5])
    """
    series = np.asarray(series)
    if series.ndim == 1:
        series = series[:, None]
    total = x_len + gap + y_len
    count = len(series) - total + 1
    if count < 1:
        raise ConfigError(f"the series has {len(series)} steps, fewer than x_len + gap + y_len = {total}", "x_len")
    starts = np.arange(count)
    x = np.stack([series[i : i + x_len] for i in starts])
    y = np.stack([series[i + x_len + gap : i + total] for i in starts])
    return x, y, starts + x_len + gap


def _read(path: Path, columns: Sequence[str] | None) -> tuple[list[str], np.ndarray]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.reader(handle) if r]
    if len(rows) < 2:
        raise ConfigError(f"{path}: needs a header and rows", "path")
    header = [h.strip() for h in rows[0]]
    if columns is None:
        chosen = []
        for j, name in enumerate(header):
            try:
                [float(r[j]) for r in rows[1:]]
            except (ValueError, IndexError):
                continue
            chosen.append(name)
        if not chosen:
            raise ConfigError(f"{path}: no numeric column", "columns")
    else:
        chosen = list(columns)
        unknown = [c for c in chosen if c not in header]
        if unknown:
            raise ConfigError(f"unknown column(s) {unknown}; the file has {header}", "columns")
    index = [header.index(c) for c in chosen]
    try:
        values = np.asarray([[float(r[j]) for j in index] for r in rows[1:]], dtype=np.float64)
    except (ValueError, IndexError) as err:
        raise ConfigError(f"{path}: non-numeric value in {chosen}: {err}", "columns") from None
    return chosen, values


def load_time_series(
    *,
    path: str | os.PathLike | None = None,
    columns: Sequence[str] | None = None,
    x_len: int = 10,
    y_len: int = 1,
    gap: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    multivariate: bool = False,
    normalize: str | None = "standard",
) -> Dataset:
    """Sliding-window regression data from a CSV time series.

    Args:
        path: the CSV file (header row; one row per time step).
        columns: the series to use (default: every numeric column).
        x_len, y_len, gap: input length, target length, and steps skipped between them.
        test_fraction: share of the time steps (at the end) in the test period.
        val_fraction: share of the training period (at its end) whose windows validate.
        multivariate: when false (the reference's layout), every (window, series) pair is a row with
            x of width ``x_len`` and y of width ``y_len``; when true a row holds all series:
            x (x_len * C) and y (y_len * C), time-major.
        normalize: ``"standard"``/``"minmax"`` per series, fitted on the training period, or None.
    """
    if path is None:
        raise ConfigError("time_series needs data.path (a CSV file)", "path")
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"CSV file {str(path)!r} does not exist", "path")
    check_int(x_len, None, 1, path="x_len")
    check_int(y_len, None, 1, path="y_len")
    check_int(gap, None, 0, path="gap")
    check_fraction(test_fraction, None, allow_zero=False, path="test_fraction")
    check_fraction(val_fraction, None, path="val_fraction")
    if normalize is not None:
        check_choice(normalize, None, [None, *Scaler.KINDS], path="normalize")
    names, series = _read(path, columns)
    steps = len(series)
    train_end = int(round(steps * (1 - test_fraction)))
    val_start = int(round(train_end * (1 - val_fraction))) if val_fraction else train_end
    scaler = None
    if normalize is not None:
        scaler = Scaler(normalize).fit(series[:val_start])
        series = scaler.transform(series)
    x, y, target_start = sliding_windows(series, x_len, y_len, gap)
    target_end = target_start + y_len
    parts = {
        "train": target_end <= val_start,
        "val": (target_start >= val_start) & (target_end <= train_end),
        "test": target_start >= train_end,
    }

    def rows(mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = x[mask], y[mask]
        if multivariate:
            xs, ys = xs.reshape(len(xs), -1), ys.reshape(len(ys), -1)
        else:  # one row per (window, series)
            xs = xs.transpose(0, 2, 1).reshape(-1, x_len)
            ys = ys.transpose(0, 2, 1).reshape(-1, y_len)
        return (
            torch.from_numpy(np.ascontiguousarray(xs, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(ys, dtype=np.float32)),
        )

    x_train, y_train = rows(parts["train"])
    x_test, y_test = rows(parts["test"])
    if len(x_train) == 0 or len(x_test) == 0:
        raise ConfigError(
            f"{steps} time steps give no training or test window with x_len={x_len}, gap={gap}, y_len={y_len} "
            f"and test_fraction={test_fraction}",
            "x_len",
        )
    x_val = y_val = None
    if val_fraction:
        x_val, y_val = rows(parts["val"])
    return Dataset(
        name=path.stem,
        task="regression",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        x_val=x_val,
        y_val=y_val,
        feature_names=names,
        x_scaler=scaler,
        info={"columns": names, "x_len": x_len, "y_len": y_len, "gap": gap, "steps": steps, "train_end": train_end},
    )
