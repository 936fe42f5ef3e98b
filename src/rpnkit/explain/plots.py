"""Pictures of what an RPN learned: one grid of unit plots per layer (pykan's ``plot()``), or the coefficients.

For a layer with per-input features (B-spline, orthogonal polynomials, RBF, wavelets, Fourier, Taylor
of degree 1, ...) :func:`plot_units` draws every unit phi_{j->i}(x_j) over the range its input covered
on the data, one small panel per (output i, input j), the curve's opacity and the panel's label
giving the unit's importance (its standard deviation on the data). For a polynomial layer whose
features mix inputs (Taylor of degree >= 2) it draws the coefficients of each output's polynomial
in the layer's inputs instead. Files: ``units_layer<k>.png`` or ``coefficients_layer<k>.png``.

matplotlib is imported only when a plot is drawn, through the Agg canvas (no pyplot, no global state).
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import Tensor, nn

from ..config.io import write_bytes_atomic
from ..errors import ConfigError
from ..validation import check_bool, check_int
from .readout import Polynomial, layer_polynomials
from .units import LayerUnits, as_float64, layer_inputs, layer_units, layers_of

__all__ = ["plot_units", "plot_layer_units", "plot_layer_coefficients"]


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


def _names(prefix: str, count: int, given: Sequence[str] | None) -> list[str]:
    if given is not None and len(given) == count:
        return [str(v) for v in given]
    return [f"{prefix}{j + 1}" for j in range(count)]


def _selection(importance: Tensor, max_panels: int) -> tuple[list[int], list[int]]:
    """The outputs and inputs to draw: all of them, or the most important ones within max_panels."""
    n, m = importance.shape
    outs, ins = list(range(n)), list(range(m))
    while len(outs) * len(ins) > max_panels:
        if len(ins) >= len(outs) and len(ins) > 1:
            score = importance[outs][:, ins].amax(0)
            ins.pop(int(score.argmin()))
        elif len(outs) > 1:
            score = importance[outs][:, ins].amax(1)
            outs.pop(int(score.argmin()))
        else:
            break
    return outs, ins


def plot_layer_units(
    units: LayerUnits,
    path: str | os.PathLike,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    points: int = 101,
    max_panels: int = 400,
) -> Path:
    """One layer's grid of unit plots (rows: outputs, columns: inputs) written as a PNG."""
    grid, values = units.curves(points)
    importance = units.importance
    top = float(importance.max()) or 1.0
    outs, ins = _selection(importance, max_panels)
    in_names = _names("x" if units.index == 0 else f"h{units.index}_", units.m, input_names)
    out_names = _names(f"h{units.index + 1}_", units.n, output_names)
    rows, cols = len(outs), len(ins)
    fig = _figure(max(3.0, 1.6 * cols), max(2.0, 1.25 * rows + 0.6))
    for r, i in enumerate(outs):
        for c, j in enumerate(ins):
            ax = fig.add_subplot(rows, cols, r * cols + c + 1)
            rel = float(importance[i, j]) / top
            ax.plot(grid[:, j].numpy(), values[:, i, j].numpy(), color="k", alpha=0.15 + 0.85 * min(1.0, rel), lw=1.2)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{in_names[j]}→{out_names[i]}", fontsize=7, pad=2)
            ax.text(
                0.03, 0.05, f"{rel:.2f}", transform=ax.transAxes, fontsize=6, color="tab:red" if rel < 0.01 else "0.3"
            )
            for side in ax.spines.values():
                side.set_alpha(0.3 + 0.7 * min(1.0, rel))
    shown = "" if rows * cols == units.n * units.m else f" ({rows}x{cols} of {units.n}x{units.m} most important)"
    fig.suptitle(
        f"layer {units.index}: units phi(x_j -> y_i) over the data's range; importance / max{shown}", fontsize=9
    )
    return _save(fig, Path(path))


def _monomial(key: tuple[int, ...], names: Sequence[str]) -> str:
    parts = [f"{n}^{e}" if e > 1 else n for n, e in zip(names, key) if e]
    return "*".join(parts) if parts else "1"


def plot_layer_coefficients(
    polynomials: Sequence[Polynomial],
    path: str | os.PathLike,
    index: int = 0,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    max_terms: int = 30,
) -> Path:
    """The coefficients of each output's polynomial in the layer's inputs (largest |coefficient| first)."""
    nvars = polynomials[0].nvars
    in_names = _names("x" if index == 0 else f"h{index}_", nvars, input_names)
    out_names = _names(f"h{index + 1}_", len(polynomials), output_names)
    rows = len(polynomials)
    fig = _figure(max(5.0, 0.28 * max_terms + 1.5), 1.9 * rows + 0.6)
    for r, poly in enumerate(polynomials):
        ax = fig.add_subplot(rows, 1, r + 1)
        items = sorted(poly.terms.items(), key=lambda kv: -abs(kv[1]))[:max_terms]
        labels = [_monomial(k, in_names) for k, _ in items]
        coef = np.array([v for _, v in items])
        ax.bar(np.arange(len(coef)), coef, color=["tab:blue" if v >= 0 else "tab:red" for v in coef])
        ax.set_xticks(np.arange(len(coef)))
        ax.set_xticklabels(labels, rotation=90, fontsize=6)
        ax.axhline(0, color="0.5", lw=0.5)
        ax.set_ylabel(out_names[r], fontsize=8)
        ax.tick_params(axis="y", labelsize=6)
    fig.suptitle(f"layer {index}: polynomial coefficients of each output (largest {max_terms})", fontsize=9)
    return _save(fig, Path(path))


def plot_units(
    model: nn.Module,
    x: Tensor,
    folder: str | os.PathLike,
    variables: Sequence[str] | None = None,
    points: int = 101,
    max_panels: int = 400,
    strict: bool = False,
) -> list[Path]:
    """Draw every layer of ``model`` on data x into ``folder``: unit grids or polynomial coefficients.

    Args:
        model: an :class:`~rpnkit.RPN` (or Layer, or Head).
        x: (N, m) data the model sees (the ranges of the units come from it).
        folder: where ``units_layer<k>.png`` / ``coefficients_layer<k>.png`` go.
        variables: names of the model's inputs.
        points: samples per unit curve.
        max_panels: most panels per figure (the most important units are kept).
        strict: raise :class:`~rpnkit.ConfigError` for a layer that can be drawn neither way
            (default: warn and skip it).

    Returns:
        the written files, in layer order.
    """
    points = check_int(points, "points", 2, path="points")
    max_panels = check_int(max_panels, "max_panels", 1, path="max_panels")
    strict = check_bool(strict, "strict", path="strict")
    folder = Path(folder)
    model64 = as_float64(model)
    xs = layer_inputs(model64, x)
    written = []
    for k, layer in enumerate(layers_of(model64)):
        names = variables if k == 0 else None
        try:
            units = layer_units(layer, xs[k], k)
        except ConfigError as err:
            try:
                polys = layer_polynomials(
                    layer, [Polynomial.variable(layer.m, j) for j in range(layer.m)], f"layers[{k}]"
                )
            except ConfigError:
                if strict:
                    raise err from None
                warnings.warn(f"layer {k} is not drawn: {err}", stacklevel=2)
                continue
            written.append(plot_layer_coefficients(polys, folder / f"coefficients_layer{k}.png", k, names))
            continue
        written.append(
            plot_layer_units(units, folder / f"units_layer{k}.png", names, points=points, max_panels=max_panels)
        )
    return written
