"""Everything :mod:`rpnkit.explain` offers for one model and its data, written into a folder.

This is what ``rpnkit explain RUN_DIR`` runs (with the run's best model and training inputs);
each part that does not apply to the model is reported as skipped with the reason, not raised.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..config.io import write_text_atomic
from ..errors import ConfigError
from ..io import save
from .plots import plot_units
from .prune import prune as prune_model
from .readout import readout as read_polynomial

__all__ = ["explain_model"]


def explain_model(
    model: nn.Module,
    x: Tensor,
    folder: str | os.PathLike,
    *,
    plot: bool = True,
    readout: bool = True,
    prune: bool = False,
    symbolic: bool = False,
    y: Tensor | None = None,
    variables: Sequence[str] | None = None,
    threshold: float = 0.01,
) -> dict[str, Any]:
    """Write unit plots, the polynomial readout, a pruned model and a symbolic formula into ``folder``.

    Files: ``units_layer<k>.png`` / ``coefficients_layer<k>.png`` (plot), ``readout.txt`` and
    ``readout.tex`` (readout), ``pruned/`` (a saved model) and ``pruned.json`` (prune),
    ``symbolic.txt`` (symbolic), and ``explain.json``, the summary this function returns.

    Args:
        model: a trained RPN.
        x: (N, m) its training inputs.
        folder: output folder (created).
        plot, readout, prune, symbolic: which parts to run.
        y: targets for the symbolic fine-tuning (default: the model's outputs).
        variables: names of the inputs.
        threshold: the pruning threshold (see :func:`rpnkit.explain.prune`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    x = x.detach()
    if plot:
        try:
            summary["plots"] = [p.name for p in plot_units(model, x, folder, variables=variables, strict=True)]
        except (ConfigError, ImportError) as err:
            summary["plots"] = {"skipped": str(err)}
    if readout:
        try:
            poly = read_polynomial(model, variables)
            write_text_atomic(folder / "readout.txt", str(poly) + "\n")
            written = ["readout.txt"]
            try:
                write_text_atomic(folder / "readout.tex", "\n".join(poly.latex()) + "\n")
                written.append("readout.tex")
            except ImportError:
                pass
            summary["readout"] = {"degree": poly.degree, "terms": [len(p) for p in poly.polynomials], "files": written}
        except ConfigError as err:
            summary["readout"] = {"skipped": str(err)}
    if prune:
        try:
            result = prune_model(model, x, threshold=threshold)
            save(result.model, folder / "pruned")
            info = {
                "inputs": result.inputs,
                "kept": result.kept,
                "dims_before": result.dims_before,
                "dims_after": result.dims_after,
                "max_change": result.max_change,
                "unfolded": result.unfolded,
            }
            write_text_atomic(folder / "pruned.json", json.dumps(info, indent=2) + "\n")
            summary["prune"] = info
        except ConfigError as err:
            summary["prune"] = {"skipped": str(err)}
    if symbolic:
        try:
            from .symbolic import symbolic_formula

            sym, fits = symbolic_formula(model, x, y)
            exprs = sym.formula(variables)
            write_text_atomic(folder / "symbolic.txt", "\n".join(f"y{i + 1} = {e}" for i, e in enumerate(exprs)) + "\n")
            with torch.no_grad():
                target = model(x.to(next(model.parameters()))).double() if y is None else y.double()
                rmse = float(((sym(x) - target) ** 2).mean().sqrt())
            summary["symbolic"] = {"formula": [str(e) for e in exprs], "rmse": rmse}
        except (ConfigError, ImportError) as err:
            summary["symbolic"] = {"skipped": str(err)}
    write_text_atomic(folder / "explain.json", json.dumps(summary, indent=2) + "\n")
    return summary
