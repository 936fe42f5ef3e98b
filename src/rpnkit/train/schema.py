"""The experiment schema (:mod:`rpnkit.config.experiment`) bound to the datasets and the metrics.

:func:`resolve` validates an experiment with the dataset names of :mod:`rpnkit.data` and the metric
names of :mod:`rpnkit.train.metrics`; :func:`load_data` loads its ``data`` section and
:func:`fill_dims` fills ``auto`` model widths in from the data.
"""

from __future__ import annotations

from typing import Any

from .. import data as rdata
from ..config.experiment import DATA_OPTIONS, Catalogue
from ..config.experiment import resolve as resolve_schema
from ..data.base import GraphDataset
from ..interdependence import attach_graph
from . import metrics as M

__all__ = ["CATALOGUE", "resolve", "load_data", "fill_dims", "attach_data_graph"]


def _check_dataset(name: Any, options: dict[str, Any], path: str) -> None:
    rdata._entry(name, f"{path}.name")
    rdata.check_options(name, options, path)


#: The datasets and metrics an experiment may name.
CATALOGUE = Catalogue(dataset_names=rdata.names, check_dataset=_check_dataset, check_metrics=M.check_metric_names)


def resolve(config: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """Validate an experiment and fill in the defaults (data-dependent checks happen in :func:`~rpnkit.train.run`).

    Dataset names and options are checked against :mod:`rpnkit.data`, metric names against
    :mod:`rpnkit.train.metrics` (see :func:`rpnkit.config.experiment.resolve`).

    Raises:
        ConfigError: naming the path of the first problem, e.g. ``train.optimizer.lr``.
    """
    return resolve_schema(config, name, CATALOGUE)


def load_data(exp: dict[str, Any]) -> Any:
    """The dataset of a resolved experiment (errors under ``data.``)."""
    options = {k: v for k, v in exp["data"].items() if k != "name" and k not in DATA_OPTIONS}
    return rdata.load_at(exp["data"]["name"], options, "data")


def has_auto_dims(model_cfg: dict[str, Any]) -> bool:
    """Whether the first or last width of ``model.dims`` is ``auto``/null (to be taken from the data)."""
    dims = model_cfg.get("dims")
    return isinstance(dims, list) and bool(dims) and (dims[0] in (None, "auto") or dims[-1] in (None, "auto"))


def fill_dims(model_cfg: dict[str, Any], data: Any) -> dict[str, Any]:
    """Replace ``auto``/null first and last widths of ``model.dims`` by the data's widths."""
    dims = model_cfg.get("dims")
    if not isinstance(dims, list) or not dims:
        return model_cfg
    out = list(dims)
    if out[0] in (None, "auto"):
        out[0] = data.in_features
    if out[-1] in (None, "auto"):
        out[-1] = data.out_features
    return {**model_cfg, "dims": out}


def attach_data_graph(model: Any, data: Any) -> int | None:
    """Give a graph dataset's edges to the model's graph interdependences declared ``adjacency: data``.

    Returns the node count for a graph dataset (the whole graph is one batch), else None.
    """
    if not isinstance(data, GraphDataset):
        return None
    nodes = int(data.x.shape[0])
    attach_graph(model, data.edge_index, nodes)
    return nodes
