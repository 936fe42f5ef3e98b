"""Refined and adaptive B-spline grids: move a trained model to a finer grid (or the data's range).

:func:`refine` rebuilds every B-spline head with ``t`` grid intervals (and, optionally, grid ranges
that follow the data: one per input of each layer with ``grid_range="data"``) and transfers the
coefficients by least squares: each unit s(x) = sum_k c_k B_k(x) of the old grid is projected on the
new basis over the new range, one small matrix T (K_new x K_old) per head (or per input, when the
inputs have their own ranges) applied to every input's block of coefficients. :func:`update_grid`
moves the ranges of a model in place (same t), what ``fit(update_grid_every=...)`` does early in
training, as pykan's grid updates. When the new knots
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
from ..kappa.composite import ExtendedComposite
from ..nn import RPN
from ..reconciliation import IdentityReconciliation, LowRank
from ..validation import check_int, check_real
from .units import layer_inputs, layers_of

__all__ = ["refine", "update_grid", "transfer_matrix", "data_range", "data_ranges"]


def _spec(spline: BSpline | dict[str, Any]) -> tuple[Any, int, int]:
    if isinstance(spline, BSpline):
        return spline.grid_range, spline.t, spline.d
    return spline["grid_range"], spline["t"], spline["d"]


def _per_input(grid_range: Any) -> bool:
    return isinstance(grid_range[0], (list, tuple))


def _bases(grid_range: Any, t: int, d: int, x: Tensor) -> Tensor:
    """(m, P, K) bases at the points x (P, m), input j on its own grid (or the shared one)."""
    ranges = grid_range if _per_input(grid_range) else [grid_range] * x.shape[1]
    h = torch.tensor([(high - low) / t for low, high in ranges], dtype=torch.float64)
    first = torch.tensor([low for low, _ in ranges], dtype=torch.float64) - d * h
    return uniform_bspline(x, first, h, t + 2 * d + 1, d).transpose(0, 1)


def transfer_matrix(old: BSpline | dict[str, Any], new: dict[str, Any], points: int | None = None) -> Tensor:
    """T with sum_k T[:, k] c_k the least-squares coefficients of the old spline on the new grid.

    ``new`` holds the new grid's ``grid_range``, ``t`` and ``d``; the fit runs over the new range.
    T is (K_new, K_old) when both grids are shared by all inputs, else (m, K_new, K_old): input j's
    spline is fitted over its own new range.
    """
    old_range, old_t, old_d = _spec(old)
    K_new = new["t"] + new["d"]
    points = points or max(400, 40 * K_new)
    if not _per_input(old_range) and not _per_input(new["grid_range"]):
        low, high = new["grid_range"]
        x = torch.linspace(low, high, points, dtype=torch.float64).unsqueeze(1)  # (P, 1): one shared grid
        B_new = _bases(new["grid_range"], new["t"], new["d"], x)[0]
        return torch.linalg.lstsq(B_new, _bases(old_range, old_t, old_d, x)[0]).solution
    ranges = new["grid_range"] if _per_input(new["grid_range"]) else [new["grid_range"]] * len(old_range)
    unit = torch.linspace(0.0, 1.0, points, dtype=torch.float64).unsqueeze(1)
    low = torch.tensor([r[0] for r in ranges], dtype=torch.float64)
    high = torch.tensor([r[1] for r in ranges], dtype=torch.float64)
    x = low + unit * (high - low)  # (P, m): input j's points span its new range
    B_new = _bases(new["grid_range"], new["t"], new["d"], x)
    return torch.linalg.lstsq(B_new, _bases(old_range, old_t, old_d, x)).solution


def data_range(x: Tensor, margin: float = 0.05) -> tuple[float, float]:
    """(low, high) covering every value of x, widened by ``margin`` times the span on each side."""
    low, high = float(x.min()), float(x.max())
    span = max(high - low, 1e-6)
    return low - margin * span, high + margin * span


def data_ranges(x: Tensor, margin: float = 0.05) -> list[list[float]]:
    """:func:`data_range` of every column of x (N, m): one [low, high] per input."""
    return [list(data_range(x[:, j], margin)) for j in range(x.shape[1])]


def _columns(W: Tensor, m: int, K_old: int, T: Tensor) -> Tensor:
    """(rows, m K_old) coefficients -> (rows, m K_new): every input's block moved by T (or its own T[j])."""
    W = W.reshape(W.shape[0], m, K_old)
    W = W @ T.T if T.dim() == 2 else torch.einsum("njo,jpo->njp", W, T)
    return W.reshape(W.shape[0], -1)


def _moved(W: Tensor, parts: list[tuple[int, int, Tensor | None, int]]) -> Tensor:
    """W's columns part by part: (start, width, T, m) moves a B-spline block by T, T None copies it."""
    out = []
    for start, width, T, m in parts:
        block = W[:, start : start + width]
        out.append(block if T is None else _columns(block, m, T.shape[-1], T))
    return torch.cat(out, dim=1)


Parts = list[tuple[int, int, "Tensor | None", int]]


def _transfer(old_psi: nn.Module, new_psi: nn.Module, parts: Parts, path: str) -> None:
    """Move the coefficients of the old reconciliation's B-spline columns into the new one (may be the same)."""
    with torch.no_grad():
        if isinstance(old_psi, IdentityReconciliation):
            W = _moved(old_psi.W.to(torch.float64), parts)
            new_psi.W.copy_(W)
        elif isinstance(old_psi, LowRank):
            B = _moved(old_psi.B.to(torch.float64).T, parts).T
            A = old_psi.A.detach().clone()
            new_psi.B.copy_(B)
            new_psi.A.copy_(A)
        else:
            raise ConfigError(
                f"refine transfers B-spline coefficients through the identity and lowrank reconciliations, "
                f"not {type(old_psi).__name__}",
                path,
            )
        if old_psi.bias is not None:
            new_psi.bias.copy_(old_psi.bias.detach().clone())


def _parts(expansion: nn.Module, transfers: dict[int | None, Tensor]) -> list[tuple[int, int, Tensor | None, int]]:
    """Column parts of a head's features: its B-spline block(s) with their transfer matrices, the rest copied."""
    if transfers.keys() == {None}:
        return [(0, expansion.D, transfers[None], expansion.m)]
    parts, start = [], 0
    for i, child in enumerate(expansion.functions):
        parts.append((start, child.D, transfers.get(i), child.m))
        start += child.D
    return parts


def _check_grid_range(grid_range: Any, x: Tensor | None) -> tuple[float, float] | None:
    """Validate refine's grid_range; the pair when one is given."""
    if isinstance(grid_range, str):
        if grid_range not in ("data", "layer"):
            raise ConfigError(
                f"grid_range must be None, 'data', 'layer' or a pair (low, high), got {grid_range!r}", "grid_range"
            )
        if x is None:
            raise ConfigError(f"grid_range={grid_range!r} needs the training inputs x", "x")
        return None
    if grid_range is None:
        return None
    try:
        low, high = (float(v) for v in grid_range)
    except (TypeError, ValueError):
        raise ConfigError(f"grid_range must be a pair (low, high), got {grid_range!r}", "grid_range") from None
    if not low < high:
        raise ConfigError(f"grid_range must have low < high, got {grid_range!r}", "grid_range")
    return low, high


def _splines(model: nn.Module) -> list[tuple[int, int, int | None, BSpline]]:
    """(layer, head, child, expansion) of every B-spline of the heads, checked for refining.

    child is None for a B-spline head, else the index of the B-spline among the functions of an
    ``extended`` expansion (e.g. the KAN's [SiLU base, B-spline]).
    """
    out = []
    for k, layer in enumerate(layers_of(model)):
        for h, head in enumerate(layer.heads):
            expansion = getattr(head, "expansion", None)
            path = f"layers[{k}].heads[{h}].expansion"
            if isinstance(expansion, BSpline):
                found = [(None, expansion)]
            elif isinstance(expansion, ExtendedComposite) and expansion.postprocess is None:
                found = [(i, f) for i, f in enumerate(expansion.functions) if isinstance(f, BSpline)]
                if found and expansion.preprocess is not None:
                    raise ConfigError("refine needs B-splines without pre/postprocessing", path)
            else:
                continue
            for i, spline in found:
                if spline.preprocess is not None or spline.postprocess is not None:
                    raise ConfigError("refine needs B-splines without pre/postprocessing", path)
                out.append((k, h, i, spline))
    if not out:
        raise ConfigError("the model has no B-spline head to refine")
    return out


def _inputs(model: nn.Module, x: Tensor) -> list[Tensor]:
    return layer_inputs(copy.deepcopy(model).to(dtype=torch.float64, device="cpu").eval(), x)


def _new_range(spline: BSpline, grid_range: Any, pair: tuple[float, float] | None, seen: Tensor | None, margin: float):
    if grid_range == "data":
        return data_ranges(seen, margin)
    if grid_range == "layer":
        return list(data_range(seen, margin))
    if pair is not None:
        return list(pair)
    return [list(r) for r in spline.grid_range] if spline.per_input else list(spline.grid_range)


def _warn_outside(plans: dict[tuple[int, int, int | None], dict[str, Any]], olds: dict, inputs: list[Tensor]) -> None:
    for (k, h, _), plan in plans.items():
        old, new = olds[(k, h)], plan["grid_range"]
        new_ranges = new if _per_input(new) else [new] * len(old)
        seen = inputs[k]
        for j, ((old_low, old_high), (new_low, new_high)) in enumerate(zip(old, new_ranges)):
            seen_low, seen_high = float(seen[:, j].min()), float(seen[:, j].max())
            if seen_low < min(old_low, new_low) or seen_high > max(old_high, new_high):
                warnings.warn(
                    f"layers[{k}].heads[{h}]: input {j} spans [{seen_low:.3g}, {seen_high:.3g}] on x, beyond the grid "
                    f"range [{old_low:.3g}, {old_high:.3g}]; the function there is not kept (grid_range='data' makes "
                    "the grid follow the data)",
                    stacklevel=3,
                )
                break


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
        x: (N, m) training inputs; needed for ``grid_range="data"`` or ``"layer"``; otherwise only
            checked (a warning when a layer's inputs leave their grid range, where the old function
            cannot be kept).
        grid_range: None keeps each head's range(s); ``"data"`` gives every input of every layer its
            own range, what that input covers on x (widened by ``margin``: the adaptive grid);
            ``"layer"`` one range per layer covering all its inputs; a pair sets one range for all.
        margin: relative widening of a data range on each side.

    Returns:
        a new model of the same class and config except the grids; the original is unchanged.
    """
    t = check_int(t, "t", 1, path="t")
    margin = check_real(margin, "margin", ge=0.0, path="margin")
    if not isinstance(model, RPN):
        raise ConfigError(f"refine works on an RPN, got {type(model).__name__}")
    pair = _check_grid_range(grid_range, x)
    layers = layers_of(model)
    splines = _splines(model)
    inputs = _inputs(model, x) if x is not None else None
    configs = [layer.to_config() for layer in layers]
    head_configs = []
    for config in configs:
        heads = config.pop("head", None)
        width = config.pop("width", None)
        head_configs.append([copy.deepcopy(heads) for _ in range(width)] if heads is not None else config.pop("heads"))
        config["heads"] = head_configs[-1]
    plans: dict[tuple[int, int, int | None], dict[str, Any]] = {}
    for k, h, i, spline in splines:
        seen = None if inputs is None else inputs[k]
        new_range = _new_range(spline, grid_range, pair, seen, margin)
        head_config = head_configs[k][h]
        head_config["expansion"] = expansion = copy.deepcopy(head_config["expansion"])
        if i is not None:
            expansion["functions"][i] = expansion = dict(expansion["functions"][i])
        expansion.update({"grid_size": t, "grid_range": new_range})
        plans[(k, h, i)] = {"grid_range": new_range, "t": t, "d": spline.d}
    new = build_model({"name": "rpn", "layers": configs})
    param = next(model.parameters())
    new = new.to(dtype=param.dtype, device=param.device)
    old_state = model.state_dict()
    state = new.state_dict()
    refined_prefixes = [f"layers.{k}.heads.{h}." for (k, h, _) in plans]
    for key in state:
        if any(key.startswith(p + "expansion.") or key.startswith(p + "reconciliations.") for p in refined_prefixes):
            continue
        if key in old_state and old_state[key].shape == state[key].shape:
            state[key] = old_state[key]
    new.load_state_dict(state)
    _transfer_heads(layers, layers_of(new), splines, plans)
    if inputs is not None:
        _warn_outside(plans, {(k, h): spline.ranges for k, h, _, spline in splines}, inputs)
    new.train(model.training)
    return new


def update_grid(model: nn.Module, x: Tensor, margin: float = 0.05) -> None:
    """Move every B-spline input's grid range (in place) to what that input covers on x; keep the function.

    The grid follows the data as in pykan's ``update_grid``: each input of each B-spline head gets a
    uniform grid over its range on x (widened by ``margin``), with the same number of intervals, and
    the coefficients are transferred by least squares (as :func:`refine` with ``grid_range="data"``,
    but on the model itself, so an optimizer holding its parameters keeps working).
    """
    margin = check_real(margin, "margin", ge=0.0, path="margin")
    if not isinstance(model, RPN):
        raise ConfigError(f"update_grid works on an RPN, got {type(model).__name__}")
    splines = _splines(model)
    inputs = _inputs(model, x)
    plans = {(k, h, i): {"grid_range": data_ranges(inputs[k], margin), "t": s.t, "d": s.d} for k, h, i, s in splines}
    layers = layers_of(model)
    _transfer_heads(layers, layers, splines, plans)
    for k, h, i, spline in splines:
        spline.set_grid_range(plans[(k, h, i)]["grid_range"])


def _transfer_heads(old_layers: list, new_layers: list, splines: list, plans: dict) -> None:
    """Transfer every planned head's coefficients from the old layers' heads to the new ones'."""
    transfers: dict[tuple[int, int], dict[int | None, Tensor]] = {}
    for k, h, i, spline in splines:
        transfers.setdefault((k, h), {})[i] = transfer_matrix(spline, plans[(k, h, i)])
    for (k, h), by_child in transfers.items():
        old_head, new_head = old_layers[k].heads[h], new_layers[k].heads[h]
        parts = _parts(old_head.expansion, by_child)
        for old_psi, new_psi in zip(old_head.reconciliations, new_head.reconciliations):
            _transfer(old_psi, new_psi, parts, f"layers[{k}].heads[{h}].reconciliation")
