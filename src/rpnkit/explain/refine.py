"""Refined and adaptive B-spline grids: move a trained model to a finer grid (or the data's range).

:func:`refine` rebuilds every B-spline head with ``t`` grid intervals (and, optionally, a grid range
that follows the data each layer sees) and transfers the coefficients by least squares: each unit
s(x) = sum_k c_k B_k(x) of the old grid is projected on the new basis over the new range, one small
matrix T (K_new x K_old) per head applied to every input's block of coefficients. When the new knots
contain the old ones (t a multiple of the old t, same range) the old splines lie in the new space and
the transfer is exact up to rounding on the grid range; otherwise it is the best fit. Training then
continues from the refined model (pykan's ``refine`` / grid extension).

Coefficients are transferred through the reconciliation's structure: the identity reconciliation's
W (its columns) and the low-rank one's B (its rows); other reconciliations raise
:class:`~rpnkit.ConfigError`.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..config import build_model
from ..errors import ConfigError
from ..expansion import BSpline
from ..functional.spline import uniform_bspline
from ..nn import RPN
from ..reconciliation import IdentityReconciliation, LowRank
from ..validation import check_int, check_real
from .units import layer_inputs, layers_of

__all__ = ["refine", "transfer_matrix", "data_range"]


def _basis(spline: BSpline | dict[str, Any], x: Tensor) -> Tensor:
    if isinstance(spline, BSpline):
        low, high = spline.grid_range
        t, d = spline.t, spline.d
    else:
        (low, high), t, d = spline["grid_range"], spline["t"], spline["d"]
    h = (high - low) / t
    return uniform_bspline(x.unsqueeze(-1), low - d * h, h, t + 2 * d + 1, d)[:, 0, :]


def transfer_matrix(old: BSpline, new: dict[str, Any], points: int | None = None) -> Tensor:
    """T (K_new, K_old) with sum_k T[:, k] c_k the least-squares coefficients of the old spline on the new grid.

    ``new`` holds the new grid's ``grid_range``, ``t`` and ``d``; the fit runs over the new range.
    """
    low, high = new["grid_range"]
    K_new = new["t"] + new["d"]
    points = points or max(400, 40 * K_new)
    x = torch.linspace(low, high, points, dtype=torch.float64)
    B_old = _basis(old, x)
    B_new = _basis(new, x)
    return torch.linalg.lstsq(B_new, B_old).solution


def data_range(x: Tensor, margin: float = 0.05) -> tuple[float, float]:
    """(low, high) covering every value of x, widened by ``margin`` times the span on each side."""
    low, high = float(x.min()), float(x.max())
    span = max(high - low, 1e-6)
    return low - margin * span, high + margin * span


def _transfer(old_psi: nn.Module, new_psi: nn.Module, T: Tensor, m: int, path: str) -> None:
    K_new, K_old = T.shape
    with torch.no_grad():
        if isinstance(old_psi, IdentityReconciliation):
            W = old_psi.W.to(torch.float64).reshape(old_psi.n, m, K_old)
            new_psi.W.copy_((W @ T.T).reshape(old_psi.n, m * K_new))
        elif isinstance(old_psi, LowRank):
            B = old_psi.B.to(torch.float64).reshape(m, K_old, -1)
            new_psi.B.copy_(torch.einsum("ab,jbr->jar", T, B).reshape(m * K_new, -1))
            new_psi.A.copy_(old_psi.A)
        else:
            raise ConfigError(
                f"refine transfers B-spline coefficients through the identity and lowrank reconciliations, "
                f"not {type(old_psi).__name__}",
                path,
            )
        if old_psi.bias is not None:
            new_psi.bias.copy_(old_psi.bias)


def refine(
    model: nn.Module,
    t: int,
    x: Tensor | None = None,
    grid_range: Sequence[float] | str | None = None,
    margin: float = 0.05,
) -> nn.Module:
    """The model on a B-spline grid of ``t`` intervals, with its coefficients transferred by least squares.

    Args:
        model: an :class:`~rpnkit.RPN` with B-spline heads (other heads are copied unchanged).
        t: the new number of grid intervals of every B-spline head.
        x: (N, m) training inputs; needed for ``grid_range="data"``; otherwise only checked (a warning
            when a layer's inputs leave its grid range, where the old function cannot be kept).
        grid_range: None keeps each head's range; ``"data"`` sets each layer's range to what its
            inputs cover on x (widened by ``margin``: the adaptive grid); a pair sets it for all.
        margin: relative widening of a data range on each side.

    Returns:
        a new model of the same class and config except the grids; the original is unchanged.
    """
    t = check_int(t, "t", 1, path="t")
    margin = check_real(margin, "margin", ge=0.0, path="margin")
    if not isinstance(model, RPN):
        raise ConfigError(f"refine works on an RPN, got {type(model).__name__}")
    layers = layers_of(model)
    inputs: list[Tensor] | None = None
    if isinstance(grid_range, str):
        if grid_range != "data":
            raise ConfigError(
                f"grid_range must be None, 'data' or a pair (low, high), got {grid_range!r}", "grid_range"
            )
        if x is None:
            raise ConfigError("grid_range='data' needs the training inputs x", "x")
        inputs = layer_inputs(copy.deepcopy(model).to(dtype=torch.float64, device="cpu").eval(), x)
    elif grid_range is not None:
        try:
            low, high = (float(v) for v in grid_range)
        except (TypeError, ValueError):
            raise ConfigError(f"grid_range must be a pair (low, high), got {grid_range!r}", "grid_range") from None
        if not low < high:
            raise ConfigError(f"grid_range must have low < high, got {grid_range!r}", "grid_range")
    configs = [layer.to_config() for layer in layers]
    plans: dict[tuple[int, int], dict[str, Any]] = {}
    for k, (layer, config) in enumerate(zip(layers, configs)):
        heads = config.pop("head", None)
        width = config.pop("width", None)
        head_configs = [copy.deepcopy(heads) for _ in range(width)] if heads is not None else config.pop("heads")
        for h, (head, head_config) in enumerate(zip(layer.heads, head_configs)):
            spline = getattr(head, "expansion", None)
            if not isinstance(spline, BSpline):
                continue
            if spline.preprocess is not None or spline.postprocess is not None:
                raise ConfigError(
                    "refine needs B-splines without pre/postprocessing", f"layers[{k}].heads[{h}].expansion"
                )
            new_range = list(spline.grid_range)
            if inputs is not None:
                new_range = list(data_range(inputs[k], margin))
            elif grid_range is not None:
                new_range = [low, high]
            head_config["expansion"] = {**head_config["expansion"], "grid_size": t, "grid_range": new_range}
            plans[(k, h)] = {"grid_range": new_range, "t": t, "d": spline.d}
        config["heads"] = head_configs
    if not plans:
        raise ConfigError("the model has no B-spline head to refine")
    new = build_model({"name": "rpn", "layers": configs})
    param = next(model.parameters())
    new = new.to(dtype=param.dtype, device=param.device)
    old_state = model.state_dict()
    state = new.state_dict()
    refined_prefixes = [f"layers.{k}.heads.{h}." for (k, h) in plans]
    for key in state:
        if any(key.startswith(p + "expansion.") or key.startswith(p + "reconciliations.") for p in refined_prefixes):
            continue
        if key in old_state and old_state[key].shape == state[key].shape:
            state[key] = old_state[key]
    new.load_state_dict(state)
    for (k, h), plan in plans.items():
        old_head, new_head = layers[k].heads[h], layers_of(new)[k].heads[h]
        T = transfer_matrix(old_head.expansion, plan)
        for old_psi, new_psi in zip(old_head.reconciliations, new_head.reconciliations):
            _transfer(old_psi, new_psi, T, old_head.expansion.m, f"layers[{k}].heads[{h}].reconciliation")
    if x is not None and inputs is None:
        inputs = layer_inputs(copy.deepcopy(model).to(dtype=torch.float64, device="cpu").eval(), x)
    if inputs is not None:
        for (k, h), plan in plans.items():
            old_low, old_high = layers[k].heads[h].expansion.grid_range
            seen_low, seen_high = float(inputs[k].min()), float(inputs[k].max())
            if seen_low < min(old_low, plan["grid_range"][0]) or seen_high > max(old_high, plan["grid_range"][1]):
                warnings.warn(
                    f"layers[{k}].heads[{h}]: its inputs on x span [{seen_low:.3g}, {seen_high:.3g}], beyond the grid "
                    f"range [{old_low:.3g}, {old_high:.3g}]; the function there is not kept (grid_range='data' makes "
                    "the grid follow the data)",
                    stacklevel=2,
                )
    new.train(model.training)
    return new
