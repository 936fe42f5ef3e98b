"""Per-layer sizes of a model: m, D, n, width, l, parameters and an activation-memory estimate."""

from __future__ import annotations

import copy
import os
from typing import Any

from torch import nn

from ..config.experiment import load_experiment
from ..config.model import build_model
from .schema import fill_dims, has_auto_dims, load_data, resolve

__all__ = ["summary", "format_summary"]


def _layers(model: nn.Module) -> list[nn.Module]:
    layers = getattr(model, "layers", None)
    return list(layers) if layers is not None else [model]


def _model_and_batch(config: str | os.PathLike | dict[str, Any], batch_size: int | None) -> tuple[str, nn.Module, int]:
    """The name, the built model and the batch size of an experiment or a bare model config."""
    if isinstance(config, dict):
        raw, name = copy.deepcopy(config), str(config.get("name") or "model")
    else:
        raw, name = load_experiment(config)
    if "model" not in raw or not isinstance(raw["model"], dict):
        return name, build_model(raw, path=""), batch_size or 64
    exp = resolve(raw, name)
    model_cfg = exp["model"]
    if has_auto_dims(model_cfg):
        model_cfg = fill_dims(model_cfg, load_data(exp))
    return name, build_model(model_cfg, path="model"), batch_size or exp["train"]["batch_size"]


def _row(i: int, layer: nn.Module, batch: int) -> dict[str, Any]:
    heads = [h for h in (list(getattr(layer, "heads", [])) or [getattr(layer, "head", None)]) if h is not None]
    per_sample = sum(
        h.m + (0 if getattr(h, "uses_implicit_path", False) else h.D) + h.channels * h.n for h in heads
    ) + getattr(layer, "n", 0)
    return {
        "layer": i,
        "m": getattr(layer, "m", None),
        "D": getattr(layer, "D", None),
        "n": getattr(layer, "n", None),
        "width": getattr(layer, "width", None),
        "l": getattr(layer, "l", None),
        "parameters": sum(p.numel() for p in layer.parameters()),
        "activation_bytes": per_sample * batch * 4,
    }


def summary(config: str | os.PathLike | dict[str, Any], batch_size: int | None = None) -> dict[str, Any]:
    """Per layer: m, D, n, l, parameters and an activation-memory estimate, for an experiment or a model config.

    The activation estimate counts the float32 tensors kept for the backward pass, per layer:
    batch x (sum over heads of (m + D + channels x n_head) + n) x 4 bytes, where a head on the
    implicit path (see :mod:`rpnkit.implicit`) keeps its input instead of the D features. Structured
    reconciliations may keep a few small extra tensors; processing modules add about one more n.
    """
    name, model, batch = _model_and_batch(config, batch_size)
    rows = [_row(i, layer, batch) for i, layer in enumerate(_layers(model))]
    return {
        "name": name,
        "batch_size": batch,
        "layers": rows,
        "parameters": sum(p.numel() for p in model.parameters()),
        "buffers": sum(b.numel() for b in model.buffers()),
        "activation_bytes": sum(r["activation_bytes"] for r in rows),
    }


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def format_summary(info: dict[str, Any]) -> str:
    """The summary as an aligned text table."""
    header = ["layer", "m", "D", "n", "width", "l", "parameters", f"activations (batch {info['batch_size']})"]
    body = [
        [
            str(r["layer"]),
            str(r["m"]),
            str(r["D"]),
            str(r["n"]),
            str(r["width"]),
            f"{r['l']:,}" if isinstance(r["l"], int) else "-",
            f"{r['parameters']:,}",
            _bytes(r["activation_bytes"]),
        ]
        for r in info["layers"]
    ]
    body.append(["total", "", "", "", "", "", f"{info['parameters']:,}", _bytes(info["activation_bytes"])])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [info["name"]]
    for j, row in enumerate([header, *body]):
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if j == 0 or j == len(body) - 1:
            lines.append("  ".join("-" * w for w in widths))
    if info["buffers"]:
        lines.append(f"buffers: {info['buffers']:,} numbers (fixed, saved with the model)")
    return "\n".join(lines)
