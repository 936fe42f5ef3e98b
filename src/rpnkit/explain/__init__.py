"""See what an RPN learned: unit plots, exact polynomial readout, pruning, refined grids, symbolic units.

* :func:`model_units` / :class:`LayerUnits`: each layer's learned units phi_{j->i}(x_j) on the data,
  with their importance (heads with per-input features: B-spline, orthogonal polynomials, RBF, ...).
* :func:`plot_units`: one grid of unit plots per layer (or a Taylor layer's coefficients), PNG files.
* :func:`readout`: a polynomial RPN (Taylor, identity, orthogonal families; any reconciliation) as
  its exact polynomial, in float64, sympy and LaTeX.
* :func:`prune`: a smaller model without negligible inputs and hidden units; :func:`unit_penalty`
  is the sparsity term (pykan's L1 + entropy) to train with first, :func:`fit` pykan's L-BFGS fit.
* :func:`refine`: a finer (or data-following, per input) B-spline grid, coefficients moved by least
  squares; :func:`update_grid` moves the grids to the data in place.
* :func:`fit_units` / :func:`symbolic_formula` (needs sympy: ``pip install rpnkit[symbolic]``): each
  unit fitted by a primitive with affine parameters, and the model as one formula.
* :func:`explain_model`: all of it for one model and its data, written into a folder (what
  ``rpnkit explain RUN_DIR`` runs). See ``docs/explain.md``.
"""

from .plots import plot_layer_coefficients, plot_layer_units, plot_units
from .prune import Pruned, fit, prune, unit_penalty, unit_scales, unit_scores
from .readout import Polynomial, Readout, layer_polynomials, readout
from .refine import data_range, data_ranges, refine, transfer_matrix, update_grid
from .report import explain_model
from .symbolic import PRIMITIVES, UnitFit, fit_unit, fit_units, symbolic_formula
from .units import LayerForm, LayerUnits, layer_form, layer_units, model_units

__all__ = [
    "LayerForm",
    "LayerUnits",
    "layer_form",
    "layer_units",
    "model_units",
    "plot_units",
    "plot_layer_units",
    "plot_layer_coefficients",
    "Polynomial",
    "Readout",
    "readout",
    "layer_polynomials",
    "Pruned",
    "prune",
    "unit_penalty",
    "unit_scales",
    "fit",
    "unit_scores",
    "refine",
    "update_grid",
    "transfer_matrix",
    "data_range",
    "data_ranges",
    "PRIMITIVES",
    "UnitFit",
    "fit_unit",
    "fit_units",
    "symbolic_formula",
    "explain_model",
]
