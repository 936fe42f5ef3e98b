"""Plots of a run: loss and metric curves, and the fitted function of one or two input variables.

matplotlib is imported only here and only when a plot is drawn; figures are rendered with the Agg
canvas directly (no pyplot, so the caller's backend and global state are untouched).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config.io import write_bytes_atomic

__all__ = ["plot_history", "plot_function"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    write_bytes_atomic(path, buffer.getvalue())
    return path


def plot_history(history: Sequence[dict[str, Any]], folder: str | os.PathLike) -> list[Path]:
    """``loss.png`` (training and validation loss per epoch) and ``metrics.png`` (validation metrics)."""
    folder = Path(folder)
    if not history:
        return []
    epochs = [r["epoch"] for r in history]
    written = []
    fig = _figure(6, 4)
    ax = fig.add_subplot(1, 1, 1)
    for key in ("train_loss", "val_loss"):
        values = [r.get(key) for r in history]
        if any(v is not None for v in values):
            ax.plot(epochs, [np.nan if v is None else v for v in values], marker=".", label=key)
    positive = all((r.get(k) or 1) > 0 for r in history for k in ("train_loss", "val_loss"))
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.3)
    ax.legend()
    written.append(_save(fig, folder / "loss.png"))
    keys = [k for k in history[-1] if k.startswith("val_") and k != "val_loss"]
    if keys:
        fig = _figure(6, 4)
        ax = fig.add_subplot(1, 1, 1)
        for key in keys:
            ax.plot(epochs, [r.get(key, np.nan) for r in history], marker=".", label=key)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend()
        written.append(_save(fig, folder / "metrics.png"))
    return written


@torch.no_grad()
def plot_function(model: nn.Module, data: Any, path: str | os.PathLike, points: int = 200) -> Path:
    """The target formula and the model's fit over the variables' ranges (1 variable: curves; 2: maps).

    ``data`` is a function dataset (``data.info`` holds ``formula``, ``variables`` and ``ranges``).
    """
    from ..data.functions import Formula

    info = data.info
    formula = Formula(info["formula"], info["variables"])
    ranges = info["ranges"]
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.eval()

    def predict(grid: np.ndarray) -> np.ndarray:
        x = grid if data.x_scaler is None else data.x_scaler.transform(grid)
        out = model(torch.as_tensor(x, dtype=torch.float32, device=device))
        return out[:, 0].double().cpu().numpy()

    path = Path(path)
    if len(ranges) == 1:
        grid = np.linspace(ranges[0][0], ranges[0][1], points)[:, None]
        fig = _figure(6, 4)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(grid[:, 0], formula(grid), label=f"{info['output']} = {info['formula']}")
        ax.plot(grid[:, 0], predict(grid), "--", label="RPN")
        ax.set_xlabel(info["variables"][0])
        ax.legend()
        ax.set_title(info.get("id", ""))
        return _save(fig, path)
    side = int(np.sqrt(max(points, 4) * 20))
    a = np.linspace(ranges[0][0], ranges[0][1], side)
    b = np.linspace(ranges[1][0], ranges[1][1], side)
    aa, bb = np.meshgrid(a, b)
    grid = np.stack([aa.ravel(), bb.ravel()], 1)
    truth = formula(grid).reshape(aa.shape)
    fitted = predict(grid).reshape(aa.shape)
    fig = _figure(13, 4)
    extent = (a[0], a[-1], b[0], b[-1])
    for i, (title, values) in enumerate(
        ((f"{info['output']} = {info['formula']}", truth), ("RPN", fitted), ("|error|", np.abs(fitted - truth)))
    ):
        ax = fig.add_subplot(1, 3, i + 1)
        image = ax.imshow(values, origin="lower", extent=extent, aspect="auto", cmap="viridis")
        fig.colorbar(image, ax=ax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(info["variables"][0])
        ax.set_ylabel(info["variables"][1])
    return _save(fig, path)
