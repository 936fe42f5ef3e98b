"""Symbolic regression of units (the idea of pykan's ``auto_symbolic``) and the model as one formula.

Every unit phi_{j->i} of a per-input model (:mod:`rpnkit.explain.units`) is fitted, over the range
its input covered on the data, by each primitive g of :data:`PRIMITIVES` with affine parameters,

    phi(x) ~ c g(a x + b) + d,

(a and b by a grid search followed by a refinement, c and d by least squares) and the best fit is kept
with its r^2. :func:`fit_units` returns them; :func:`symbolic_formula` turns a model whose units all
clear ``threshold`` into a :class:`SymbolicModel` (a small torch module, fine-tunable on the data)
and its sympy formula, one per output. sympy is an optional extra: ``pip install rpnkit[symbolic]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..validation import check_int, check_real
from .readout import require_sympy
from .units import LayerUnits, model_units

__all__ = ["PRIMITIVES", "UnitFit", "fit_unit", "fit_units", "SymbolicModel", "symbolic_formula"]


def _sympy(name: str) -> Callable[[Any], Any]:
    def build(u: Any) -> Any:
        sp = require_sympy()
        return {
            "x": lambda: u,
            "x^2": lambda: u**2,
            "x^3": lambda: u**3,
            "sqrt": lambda: sp.sqrt(u),
            "exp": lambda: sp.exp(u),
            "log": lambda: sp.log(u),
            "sin": lambda: sp.sin(u),
            "cos": lambda: sp.cos(u),
            "tanh": lambda: sp.tanh(u),
            "1/x": lambda: 1 / u,
        }[name]()

    return build


#: name -> (torch function, whether a and b are fitted), in order of preference (simplest first)
PRIMITIVES: dict[str, tuple[Callable[[Tensor], Tensor], bool]] = {
    "x": (lambda u: u, False),
    "x^2": (lambda u: u * u, True),
    "x^3": (lambda u: u * u * u, True),
    "sin": (torch.sin, True),
    "cos": (torch.cos, True),
    "exp": (torch.exp, True),
    "tanh": (torch.tanh, True),
    "sqrt": (torch.sqrt, True),
    "log": (torch.log, True),
    "1/x": (torch.reciprocal, True),
}


@dataclass
class UnitFit:
    """phi(x) ~ c g(a x + b) + d for one unit, with the fit's r^2 (1 for a negligible unit fitted by d)."""

    primitive: str
    a: float
    b: float
    c: float
    d: float
    r2: float

    def __call__(self, x: Tensor) -> Tensor:
        fn = PRIMITIVES[self.primitive][0] if self.primitive != "0" else (lambda u: u * 0)
        return self.c * fn(self.a * x + self.b) + self.d

    def sympy(self, u: Any) -> Any:
        sp = require_sympy()
        if self.primitive == "0":
            return sp.Float(self.d)
        return sp.Float(self.c) * _sympy(self.primitive)(sp.Float(self.a) * u + sp.Float(self.b)) + sp.Float(self.d)


def _linear_fit(g: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per row of g (P, N): (c, d, r2) of y ~ c g + d."""
    gm = g.mean(-1, keepdim=True)
    ym = y.mean()
    gc = g - gm
    yc = y - ym
    var_g = (gc * gc).sum(-1)
    cov = (gc * yc).sum(-1)
    c = cov / var_g.clamp_min(1e-300)
    d = ym - c * gm.squeeze(-1)
    ss = (yc * yc).sum()
    r2 = (cov * cov) / (var_g * ss).clamp_min(1e-300)
    bad = ~torch.isfinite(g).all(-1) | (var_g <= 1e-24 * (1 + (gm.squeeze(-1) ** 2) * g.shape[-1]))
    return c, d, torch.where(bad, torch.full_like(r2, -1.0), r2)


def fit_unit(
    x: Tensor, y: Tensor, primitives: Sequence[str] | None = None, a_range: float = 10.0, grid: int = 41
) -> dict[str, UnitFit]:
    """The best fit of y = phi(x) by every primitive: name -> :class:`UnitFit`.

    a and b are searched on a grid over [-a_range, a_range] (b scaled to the input's range), then
    the best point is refined on finer grids around it three times.
    """
    x = x.to(torch.float64).flatten()
    y = y.to(torch.float64).flatten()
    names = list(PRIMITIVES) if primitives is None else list(primitives)
    scale = float(x.abs().max()) or 1.0
    out = {}
    for name in names:
        if name not in PRIMITIVES:
            raise ConfigError(f"unknown primitive {name!r}; expected one of {list(PRIMITIVES)}", "primitives")
        fn, affine = PRIMITIVES[name]
        if not affine:
            c, d, r2 = _linear_fit(fn(x).unsqueeze(0), y)
            out[name] = UnitFit(name, 1.0, 0.0, float(c[0]), float(d[0]), float(r2[0]))
            continue
        a_lo, a_hi = -a_range / scale, a_range / scale
        b_lo, b_hi = -a_range, a_range
        best = None
        for _ in range(4):
            A = torch.linspace(a_lo, a_hi, grid, dtype=torch.float64)
            B = torch.linspace(b_lo, b_hi, grid, dtype=torch.float64)
            aa, bb = torch.meshgrid(A, B, indexing="ij")
            with torch.no_grad():
                g = fn(aa.reshape(-1, 1) * x + bb.reshape(-1, 1))
            c, d, r2 = _linear_fit(g, y)
            k = int(r2.argmax())
            if best is None or float(r2[k]) >= best.r2:
                best = UnitFit(
                    name, float(aa.flatten()[k]), float(bb.flatten()[k]), float(c[k]), float(d[k]), float(r2[k])
                )
            da, db = 2 * (a_hi - a_lo) / (grid - 1), 2 * (b_hi - b_lo) / (grid - 1)
            a_lo, a_hi = best.a - da, best.a + da
            b_lo, b_hi = best.b - db, best.b + db
        out[name] = best
    return out


def _choose(fits: dict[str, UnitFit], tolerance: float = 1e-4) -> UnitFit:
    """The simplest primitive within ``tolerance`` of the best r^2 (PRIMITIVES order is simplest first)."""
    top = max(f.r2 for f in fits.values())
    return next(f for f in fits.values() if f.r2 >= top - tolerance)


def fit_units(
    model_or_units: nn.Module | list[LayerUnits],
    x: Tensor | None = None,
    primitives: Sequence[str] | None = None,
    negligible: float = 1e-3,
    points: int = 101,
) -> list[list[list[UnitFit]]]:
    """The chosen fit of every unit: ``fits[layer][i][j]`` for output i and input j.

    A unit whose importance is below ``negligible`` times its layer's largest is fitted by its mean
    (primitive ``"0"``, r^2 = 1).
    """
    negligible = check_real(negligible, "negligible", ge=0.0, path="negligible")
    points = check_int(points, "points", 3, path="points")
    if isinstance(model_or_units, nn.Module):
        if x is None:
            raise ConfigError("fit_units needs the data x to find the units' ranges", "x")
        units = model_units(model_or_units, x)
    else:
        units = list(model_or_units)
    result = []
    for u in units:
        grid, values = u.curves(points)
        top = float(u.importance.max()) or 1.0
        layer = []
        for i in range(u.n):
            row = []
            for j in range(u.m):
                if float(u.importance[i, j]) < negligible * top:
                    row.append(UnitFit("0", 0.0, 0.0, 0.0, float(u.mean[i, j]), 1.0))
                else:
                    row.append(_choose(fit_unit(grid[:, j], values[:, i, j], primitives)))
            layer.append(row)
        result.append(layer)
    return result


class SymbolicModel(nn.Module):
    """The model rebuilt from unit fits: y_i = sum_j c_ij g_ij(a_ij x_j + b_ij) + d_ij + bias_i, layer by layer.

    The affine parameters (a, b, c, d) are learnable: :meth:`fine_tune` fits them to data.
    """

    def __init__(self, fits: list[list[list[UnitFit]]], biases: Sequence[Tensor]) -> None:
        super().__init__()
        self.primitives = [[[f.primitive for f in row] for row in layer] for layer in fits]
        self.params = nn.ParameterList(
            nn.Parameter(torch.tensor([[[f.a, f.b, f.c, f.d] for f in row] for row in layer], dtype=torch.float64))
            for layer in fits
        )
        self.biases = [b.detach().to(torch.float64).clone() for b in biases]

    def forward(self, x: Tensor) -> Tensor:
        x = x.to(torch.float64)
        for names, p, bias in zip(self.primitives, self.params, self.biases):
            outs = []
            for i, row in enumerate(names):
                total = bias[i].expand(x.shape[0])
                for j, name in enumerate(row):
                    a, b, c, d = p[i, j]
                    if name == "0":
                        total = total + d
                    else:
                        total = total + c * PRIMITIVES[name][0](a * x[:, j] + b) + d
                outs.append(total)
            x = torch.stack(outs, dim=-1)
        return x

    def fine_tune(self, x: Tensor, y: Tensor, steps: int = 50) -> float:
        """Fit the affine parameters to (x, y) by L-BFGS; returns the final RMSE."""
        steps = check_int(steps, "steps", 1, path="steps")
        x, y = x.to(torch.float64), y.to(torch.float64)
        opt = torch.optim.LBFGS(self.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")
        before = [p.detach().clone() for p in self.parameters()]

        def closure() -> Tensor:
            opt.zero_grad()
            loss = ((self(x) - y) ** 2).mean()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            loss = float(((self(x) - y) ** 2).mean())
            if not torch.isfinite(torch.tensor(loss)):
                for p, old in zip(self.parameters(), before):
                    p.copy_(old)
                loss = float(((self(x) - y) ** 2).mean())
        return loss**0.5

    def formula(self, variables: Sequence[str] | None = None, digits: int = 4, simplify: bool = True) -> list[Any]:
        """One sympy expression per output, its numbers rounded to ``digits`` significant digits.

        With ``simplify`` the polynomial units c (a u + b)^p + d are expanded, numbers are rounded and
        additive terms whose coefficient is below 10^-digits (in absolute value) are dropped, so
        0.0170 (7.66 x - 0.0018)^2 reads 0.998 x^2; the torch module itself keeps every digit.
        """
        sp = require_sympy()
        digits = check_int(digits, "digits", 1, path="digits")
        m = len(self.primitives[0][0])
        names = [f"x{j + 1}" for j in range(m)] if variables is None else list(variables)
        inputs = list(sp.symbols(names, real=True))
        dummy = sp.Dummy("u", real=True)
        with torch.no_grad():
            for names_l, p, bias in zip(self.primitives, self.params, self.biases):
                outs = []
                for i, row in enumerate(names_l):
                    total = sp.Float(float(bias[i]))
                    for j, name in enumerate(row):
                        a, b, c, d = (float(v) for v in p[i, j])
                        unit = UnitFit(name, a, b, c, d, 1.0).sympy(dummy)
                        if simplify:
                            unit = _tidy(sp.expand(unit) if name in ("x", "x^2", "x^3") else unit, digits)
                        total = total + unit.subs(dummy, inputs[j])
                    outs.append(_tidy(total, digits) if simplify else total)
                inputs = outs
        return [_tidy(e, digits) if simplify else e.evalf(digits) for e in inputs]


def _tidy(expr: Any, digits: int) -> Any:
    """expr with every number rounded to ``digits`` significant digits and negligible added terms dropped."""
    sp = require_sympy()
    small = 10.0 ** (-digits)

    def visit(e: Any) -> Any:
        if e.is_Number:
            if e.is_Integer:
                return e
            value = float(f"{float(e):.{digits}g}")
            return sp.Integer(int(value)) if value in (-1.0, 0.0, 1.0) else sp.Float(value, digits)
        if not e.args:
            return e
        args = [visit(a) for a in e.args]
        if e.is_Add:
            kept = []
            for a in args:
                coeff, _ = a.as_coeff_Mul()
                if coeff.is_Number and abs(float(coeff)) < small:
                    continue
                kept.append(a)
            return sp.Add(*kept) if kept else sp.Integer(0)
        return e.func(*args)

    return visit(sp.sympify(expr))


def symbolic_formula(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    threshold: float = 0.99,
    primitives: Sequence[str] | None = None,
    fine_tune_steps: int = 50,
) -> tuple[SymbolicModel, list[list[list[UnitFit]]]]:
    """Fit every unit, check that all clear ``threshold`` (r^2), and return the symbolic model and the fits.

    With targets y the affine parameters are fine-tuned on (x, y), otherwise on the model's outputs.
    Call ``.formula()`` on the result for sympy expressions.

    Raises:
        ConfigError: naming the units whose r^2 is below the threshold.
    """
    threshold = check_real(threshold, "threshold", ge=0.0, path="threshold")
    units = model_units(model, x)
    fits = fit_units(units, primitives=primitives)
    low = [
        f"layer {k} x{j + 1}->y{i + 1} ({fits[k][i][j].primitive}, r2={fits[k][i][j].r2:.4f})"
        for k, layer in enumerate(fits)
        for i, row in enumerate(layer)
        for j, f in enumerate(row)
        if f.r2 < threshold
    ]
    if low:
        raise ConfigError(f"{len(low)} units fit no primitive with r2 >= {threshold}: " + "; ".join(low[:8]))
    symbolic = SymbolicModel(fits, [u.form.b for u in units])
    if fine_tune_steps:
        target = y
        if target is None:
            with torch.no_grad():
                target = model(x.to(next(model.parameters())))
        symbolic.fine_tune(x, target, fine_tune_steps)
    return symbolic, fits
