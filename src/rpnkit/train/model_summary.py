"""Per-layer sizes of a model (m, D, n, width, l, parameters, an activation-memory estimate) and every
head's interdependences xi (registry name, kind, output size m' or b', parameters)."""

from __future__ import annotations

import copy
import os
import warnings
from typing import Any

from torch import nn

from ..base import Interdependence
from ..config.experiment import load_experiment
from ..config.model import build_model
from ..errors import RPNError
from .schema import attach_data_graph, fill_dims, has_auto_dims, load_data, resolve

__all__ = ["summary", "format_summary", "estimate"]


def _layers(model: nn.Module) -> list[nn.Module]:
    layers = getattr(model, "layers", None)
    return list(layers) if layers is not None else [model]


def _heads(layer: nn.Module) -> list[nn.Module]:
    heads = getattr(layer, "heads", None)
    if isinstance(heads, nn.ModuleList):
        return list(heads)
    head = getattr(layer, "head", None)
    return [head] if isinstance(head, nn.Module) else []


def _wants_graph(model: nn.Module) -> bool:
    """Whether a graph interdependence of the model waits for the dataset's graph (``adjacency: data``)."""
    return any(
        isinstance(m, Interdependence) and getattr(m, "hparams", {}).get("adjacency") == "data" for m in model.modules()
    )


def _build(config: dict[str, Any], path: str) -> nn.Module:
    """The model on the meta device (its sizes, no memory); components whose buffers are computed from
    values (patch geometry, sampled masks) cannot build there and are built for real, under the
    default memory limit (:func:`rpnkit.build_model`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build_model(config, path=path, meta=True)
        if not _wants_graph(model):
            return model
    except Exception:  # noqa: BLE001 - any failure on the meta device: build for real, guarded
        pass
    return build_model(config, path=path)


def _model_and_batch(
    config: str | os.PathLike | dict[str, Any], batch_size: int | None
) -> tuple[str, nn.Module, int, str]:
    """The name, the built model, the batch size (rows per step) of an experiment or a bare model config,
    and a note on the batch ("" or what it is)."""
    if isinstance(config, dict):
        raw, name = copy.deepcopy(config), str(config.get("name") or "model")
    else:
        raw, name = load_experiment(config)
    if "model" not in raw or not isinstance(raw["model"], dict):
        return name, _build(raw, ""), batch_size or 64, ""
    exp = resolve(raw, name)
    model_cfg, data = exp["model"], None
    if has_auto_dims(model_cfg):
        data = load_data(exp)
        model_cfg = fill_dims(model_cfg, data)
    model = _build(model_cfg, "model")
    if data is None and _wants_graph(model):
        try:  # the node count and edges of `adjacency: data`; without them the summary says N
            data = load_data(exp)
        except (RPNError, OSError, RuntimeError):
            data = None
    nodes = attach_data_graph(model, data)  # as `rpnkit train` does: the graph reaches `adjacency: data`
    if nodes is not None and batch_size is None:  # a graph trains as one batch: all its nodes
        return name, model, nodes, "the whole graph"
    return name, model, batch_size or exp["train"]["batch_size"], ""


# ------------------------------------------------------------------------------------ interdependences


def _count(params) -> int:
    return sum(p.numel() for p in params)


def _xi_modules(module: nn.Module, prefix: str = "") -> list[tuple[str, Interdependence]]:
    """The outermost Interdependence modules under ``module`` with their attribute paths."""
    found = []
    for key, child in module.named_children():
        path = f"{prefix}{key}"
        if isinstance(child, Interdependence):
            found.append((path, child))
        else:
            found += _xi_modules(child, path + ".")
    return found


def _graph_note(xi: Interdependence) -> tuple[int | None, str]:
    """(node count or None, a note) for the graph and chain interdependences; (None, "") otherwise."""
    nodes = getattr(xi, "_n", None)
    if nodes is None or not hasattr(xi, "edge_index"):
        return None, ""
    if nodes == 0:
        return None, "adjacency: data, N = the dataset's node count (no graph attached)"
    return nodes, f"{nodes:,} nodes, {xi.edge_index.shape[1]:,} edges"


def _xi_entry(slot: str, xi: Interdependence) -> dict[str, Any]:
    kind = getattr(xi, "kind", None)
    note = ""
    if kind == "attribute":
        size = getattr(xi, "m_out", None)
    else:
        size = getattr(xi, "b_out", None)
        nodes, note = _graph_note(xi)
        if size is None:
            size = nodes
        if size is None and not note:
            note = "b' = the rows of the batch"
    return {
        "slot": slot,
        "name": getattr(xi, "registry_name", type(xi).__name__),
        "kind": kind,
        "output": size,
        "parameters": _count(xi.parameters()),
        "buffers": sum(b.numel() for b in xi.buffers()),
        "note": note,
    }


def _builtin_xi(head: nn.Module) -> list[dict[str, Any]]:
    """The interdependences that the RPN 2 grid and bilinear heads compute inside their kernels."""
    plan = getattr(head, "_plan", None)
    if plan is not None:  # grid / grid_compression: the patch gather xi_geometric, run as one conv / pool
        channels = getattr(head, "in_channels", None) or plan.channels
        width = channels * getattr(head, "features", 1) * plan.patch_size * plan.num_patches
        return [
            {
                "slot": "(patches)",
                "name": f"{plan.patch}_patch",
                "kind": "attribute",
                "output": width,
                "parameters": 0,
                "buffers": 0,
                "note": f"{plan.num_patches:,} patches x {plan.patch_size} cells x {channels} channels, "
                "gathered by the conv/pool kernel (never built)",
            }
        ]
    if all(hasattr(head, key) for key in ("query", "key", "length", "heads")) and hasattr(head, "head_width"):
        length = getattr(head, "length", None)
        if isinstance(length, int) and getattr(head, "query", None) is not None:  # bilinear head: attention
            return [
                {
                    "slot": "(query, key)",
                    "name": "bilinear",
                    "kind": "instance",
                    "output": length,
                    "parameters": _count(head.query.parameters()) + _count(head.key.parameters()),
                    "buffers": 0,
                    "note": f"softmax(X W_q W_k^T X^T / sqrt({head.head_width})) over the {length} tokens of "
                    f"each sample, {head.heads} head(s), fused SDPA (no L x L matrix kept)",
                }
            ]
    return []


def _interdependences(head: nn.Module) -> list[dict[str, Any]]:
    entries = [_xi_entry(slot, xi) for slot, xi in _xi_modules(head)]
    if entries and hasattr(head, "att_src"):  # graph_bilinear: the graph is the attention's mask
        for entry in entries:
            entry["note"] = "; ".join(filter(None, [entry["note"], "its edges mask the attention"]))
    return entries or _builtin_xi(head)


# ------------------------------------------------------------------------------------------ per layer


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _head_floats(head: nn.Module, xis: list[dict[str, Any]]) -> int:
    """Float32 numbers per row that a head keeps for the backward pass (an estimate, see :func:`summary`)."""
    m, n, D = _int(getattr(head, "m", 0)), _int(getattr(head, "n", 0)), _int(getattr(head, "D", 0))
    if getattr(head, "_plan", None) is not None:  # grid heads: the input (and its per-value kappa), the output
        features = _int(getattr(head, "features", 1))
        return m + (m * features if features > 1 else 0) + n
    if hasattr(head, "length") and hasattr(head, "dim") and hasattr(head, "query"):  # bilinear: q, k, v, a
        length, dim = _int(head.length), _int(head.dim)
        return m + 4 * length * dim + _int(head.heads) * length + n
    if hasattr(head, "reconciliations"):  # the RPN head
        extra = sum(_int(x["output"]) for x in xis if x["kind"] == "attribute")
        extra += D if any(x["kind"] == "instance" for x in xis) else 0
        kept = 0 if getattr(head, "uses_implicit_path", False) else D
        return m + extra + kept + _int(getattr(head, "channels", 1)) * n
    if getattr(head, "kind", None) == "attribute" and hasattr(head, "length"):  # chain over the steps of a row
        return m + (m if xis else 0) + _int(head.length) * D + n
    if hasattr(head, "reconciliation"):  # graph heads, chain (instance kind): x, kappa(x), psi and the mix
        return m + D + (2 * n if xis else n)
    return m + D + n


def _row(i: int, layer: nn.Module, batch: int) -> dict[str, Any]:
    heads = []
    per_sample = _int(getattr(layer, "n", 0))
    for j, head in enumerate(_heads(layer)):
        xis = _interdependences(head)
        per_sample += _head_floats(head, xis)
        heads.append(
            {
                "head": j,
                "type": getattr(head, "registry_name", type(head).__name__),
                "parameters": _count(head.parameters()),
                "interdependences": xis,
            }
        )
    return {
        "layer": i,
        "m": getattr(layer, "m", None),
        "D": getattr(layer, "D", None),
        "n": getattr(layer, "n", None),
        "width": getattr(layer, "width", None),
        "l": getattr(layer, "l", None),
        "parameters": _count(layer.parameters()),
        "activation_bytes": per_sample * batch * 4,
        "heads": heads,
    }


def summary(config: str | os.PathLike | dict[str, Any], batch_size: int | None = None) -> dict[str, Any]:
    """Per layer: m, D, n, l, parameters, an activation-memory estimate and every head's interdependences.

    Works on an experiment or a bare model config. ``layers[i]["heads"][j]["interdependences"]`` lists
    head j's xi: ``slot`` (where the head holds it), ``name`` (registry name), ``kind`` (attribute or
    instance), ``output`` (m' for the attribute kind, b' for the instance kind; None when it is the
    batch's row count or the node count of a graph not attached yet), ``parameters``, ``buffers``
    (fixed numbers, e.g. a graph's edge list) and ``note``. The RPN 2 grid heads report their patch
    gather and the bilinear head its attention (computed inside the conv / SDPA kernels). An
    experiment whose widths come from a graph dataset gets the dataset's graph (as ``rpnkit train``)
    and, without ``batch_size``, the batch is the whole graph (one row per node).

    The activation estimate counts the float32 tensors kept for the backward pass, per layer:
    batch x (sum over heads of the head's numbers per row + n) x 4 bytes, where an RPN head keeps
    m + D + channels x n (plus m' after an attribute xi and D after an instance xi; a head on the
    implicit path, see :mod:`rpnkit.implicit`, keeps its input instead of the D features); a grid
    head its input and output (the patches are never built); the bilinear head x, q, k, v and the
    attention output (4 L dim) and the output; a graph head x, kappa(x) and its output before and
    after the mix. Structured reconciliations may keep a few small extra tensors, processing modules
    about one more n, and the graph-bilinear head O(E heads head_width) on the edges (not counted).
    """
    name, model, batch, batch_note = _model_and_batch(config, batch_size)
    rows = [_row(i, layer, batch) for i, layer in enumerate(_layers(model))]
    return {
        "name": name,
        "batch_size": batch,
        "batch_note": batch_note,
        "layers": rows,
        "parameters": _count(model.parameters()),
        "buffers": sum(b.numel() for b in model.buffers()),
        "activation_bytes": sum(r["activation_bytes"] for r in rows),
    }


def estimate(model: nn.Module, batch_size: int) -> tuple[int, int]:
    """(bytes of the parameters and buffers, activation bytes of one batch) of a built model (see :func:`summary`)."""
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    activations = sum(_row(i, layer, batch_size)["activation_bytes"] for i, layer in enumerate(_layers(model)))
    return weights, activations


# ------------------------------------------------------------------------------------------ formatting


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def _table(header: list[str], body: list[list[str]], rule_after: int | None = None, left: int = 1) -> list[str]:
    """Aligned columns: the first ``left`` columns and text columns (after the numbers) flush left."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = []
    for j, row in enumerate([header, *body]):
        cells = [
            c.ljust(w) if i < left or i in _text_columns(header) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
        if j == 0 or j == rule_after:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _text_columns(header: list[str]) -> set[int]:
    return {i for i, h in enumerate(header) if h in ("slot", "xi", "kind", "note")}


def _size(entry: dict[str, Any]) -> str:
    label = "m'" if entry["kind"] == "attribute" else "b'"
    if isinstance(entry["output"], int):
        return f"{label}={entry['output']:,}"
    return f"{label}=N" if "adjacency: data" in entry["note"] else f"{label}=b"


def _xi_lines(info: dict[str, Any]) -> list[str]:
    heads = [(r["layer"], h) for r in info["layers"] for h in r.get("heads", [])]
    if not any(h["interdependences"] for _, h in heads):
        return ["interdependences (xi): none"]
    header = ["layer", "head", "slot", "xi", "kind", "output", "parameters", "note"]
    body = []
    for layer, h in heads:
        label = f"{h['head']} {h['type']}"
        if not h["interdependences"]:
            body.append([str(layer), label, "-", "-", "-", "-", "-", ""])
        for x in h["interdependences"]:
            params = f"{x['parameters']:,}" + (f" (+{x['buffers']:,} fixed)" if x["buffers"] else "")
            body.append([str(layer), label, x["slot"], x["name"], str(x["kind"]), _size(x), params, x["note"]])
    return ["interdependences (xi) per head:", *_table(header, body, left=2)]


def format_summary(info: dict[str, Any]) -> str:
    """The summary as aligned text tables: the layers, then the heads' interdependences."""
    batch = f"batch {info['batch_size']:,}" + (f", {info['batch_note']}" if info.get("batch_note") else "")
    header = ["layer", "m", "D", "n", "width", "l", "parameters", f"activations ({batch})"]
    body = [
        [
            str(r["layer"]),
            str(r["m"]),
            "-" if r["D"] is None else str(r["D"]),
            str(r["n"]),
            str(r["width"]),
            f"{r['l']:,}" if isinstance(r["l"], int) else "-",
            f"{r['parameters']:,}",
            _bytes(r["activation_bytes"]),
        ]
        for r in info["layers"]
    ]
    body.append(["total", "", "", "", "", "", f"{info['parameters']:,}", _bytes(info["activation_bytes"])])
    lines = [info["name"], *_table(header, body, rule_after=len(body) - 1)]
    if info["buffers"]:
        lines.append(f"buffers: {info['buffers']:,} numbers (fixed, saved with the model)")
    lines.append("")
    lines += _xi_lines(info)
    return "\n".join(lines)
