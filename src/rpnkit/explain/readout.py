"""Exact readout of a polynomial RPN: the model as one polynomial per output, in float64 and in sympy.

A stack of layers whose expansions are polynomial (Taylor of any degree, identity/linear, or per-input
polynomial families such as Chebyshev or Legendre), with any reconciliation (its ``weight()`` is W),
linear fusions and affine remainders (zero, constant, identity, linear, skip), and no processing in
between, computes a polynomial of its inputs. :func:`readout` composes it layer by layer from the
reconciled weights (coefficients in float64) and returns a :class:`Readout`: evaluate it, print it,
or turn it into sympy expressions and LaTeX (``pip install rpnkit[symbolic]``). Anything that is not
a polynomial (a B-spline, a non-linear remainder, an activation) raises
:class:`~rpnkit.ConfigError` naming the component.

Example:
    >>> import torch, rpnkit as rk
    >>> from rpnkit.explain import readout
    >>> model = rk.RPN([2, 1], head={"expansion": {"name": "taylor", "degree": 2}})
    >>> poly = readout(model)
    >>> x = torch.randn(5, 2, dtype=torch.float64)
    >>> bool((poly(x) - model.double()(x)).abs().max() < 1e-12)
    True
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..expansion import Taylor
from .units import _name, as_float64, column_owners, layer_form, layers_of

__all__ = ["Polynomial", "Readout", "readout", "layer_polynomials", "require_sympy"]

#: largest degree tried when a per-input expansion is checked to be a polynomial
MAX_UNIVARIATE_DEGREE = 12


def require_sympy() -> Any:
    """Import sympy, or raise an ImportError saying how to install it."""
    try:
        import sympy
    except ModuleNotFoundError:  # pragma: no cover - depends on the environment
        raise ImportError("symbolic output needs sympy: pip install 'rpnkit[symbolic]'") from None
    return sympy


class Polynomial:
    """A real polynomial in ``nvars`` variables: a dict monomial exponents -> float coefficient."""

    __slots__ = ("nvars", "terms")

    def __init__(self, nvars: int, terms: dict[tuple[int, ...], float] | None = None) -> None:
        self.nvars = nvars
        self.terms = {k: float(v) for k, v in (terms or {}).items() if v != 0.0}

    @classmethod
    def constant(cls, nvars: int, value: float) -> Polynomial:
        return cls(nvars, {(0,) * nvars: value})

    @classmethod
    def variable(cls, nvars: int, j: int) -> Polynomial:
        return cls(nvars, {tuple(int(i == j) for i in range(nvars)): 1.0})

    def __add__(self, other: Polynomial) -> Polynomial:
        out = dict(self.terms)
        for k, v in other.terms.items():
            out[k] = out.get(k, 0.0) + v
        return Polynomial(self.nvars, out)

    def scaled(self, c: float) -> Polynomial:
        return Polynomial(self.nvars, {k: c * v for k, v in self.terms.items()})

    def __mul__(self, other: Polynomial) -> Polynomial:
        out: dict[tuple[int, ...], float] = {}
        for k1, v1 in self.terms.items():
            for k2, v2 in other.terms.items():
                k = tuple(a + b for a, b in zip(k1, k2))
                out[k] = out.get(k, 0.0) + v1 * v2
        return Polynomial(self.nvars, out)

    @property
    def degree(self) -> int:
        return max((sum(k) for k in self.terms), default=0)

    def __len__(self) -> int:
        return len(self.terms)

    def __call__(self, x: Tensor) -> Tensor:
        """Evaluate on x (N, nvars) in x's dtype."""
        if not self.terms:
            return x.new_zeros(x.shape[0])
        keys = list(self.terms)
        powers = torch.tensor(keys, dtype=x.dtype, device=x.device)  # (T, nvars)
        coef = torch.tensor([self.terms[k] for k in keys], dtype=x.dtype, device=x.device)
        monomials = torch.prod(x.unsqueeze(1) ** powers, dim=-1)  # (N, T)
        return monomials @ coef

    def to_sympy(self, symbols: Sequence[Any]) -> Any:
        sp = require_sympy()
        return sp.Add(
            *(sp.Float(v) * sp.Mul(*(s**e for s, e in zip(symbols, k) if e)) for k, v in sorted(self.terms.items()))
        )

    def __repr__(self) -> str:
        return f"Polynomial(nvars={self.nvars}, terms={len(self.terms)}, degree={self.degree})"


def _linear_combination(coef: Tensor, polys: Sequence[Polynomial], nvars: int) -> list[Polynomial]:
    """out[i] = sum_g coef[i, g] polys[g] (coef: (n, G))."""
    rows = coef.tolist()
    out = []
    for row in rows:
        acc: dict[tuple[int, ...], float] = {}
        for c, p in zip(row, polys):
            if c == 0.0:
                continue
            for k, v in p.terms.items():
                acc[k] = acc.get(k, 0.0) + c * v
        out.append(Polynomial(nvars, acc))
    return out


def _taylor_columns(expansion: Taylor, inputs: Sequence[Polynomial]) -> tuple[Tensor, list[Polynomial]]:
    """(G (D, U) grouping matrix, the U distinct products): column c of kappa = sum_u G[c, u] products[u]."""
    m = expansion.m
    keys: dict[tuple[int, ...], int] = {}
    owner = []
    for order in range(1, expansion.degree + 1):
        for index in itertools.product(range(m), repeat=order):
            key = tuple(sorted(index))
            owner.append(keys.setdefault(key, len(keys)))
    cache: dict[tuple[int, ...], Polynomial] = {}

    def product(key: tuple[int, ...]) -> Polynomial:
        if key not in cache:
            cache[key] = inputs[key[0]] if len(key) == 1 else product(key[:-1]) * inputs[key[-1]]
        return cache[key]

    products = [product(key) for key in keys]
    G = torch.zeros(len(owner), len(keys), dtype=torch.float64)
    G[torch.arange(len(owner)), torch.tensor(owner)] = 1.0
    return G, products


def _univariate_coefficients(expansion: nn.Module, owner: Tensor, path: str) -> Tensor:
    """(D, q + 1) power-basis coefficients of each column in its owner input, checked to 1e-11."""
    m = int(expansion.m)
    nodes = torch.tensor(np.cos(np.pi * (np.arange(64) + 0.5) / 64), dtype=torch.float64)
    probe = torch.linspace(-1.7, 1.9, 37, dtype=torch.float64)
    with torch.no_grad():
        z_nodes = expansion(nodes.unsqueeze(1).expand(-1, m).contiguous())  # (64, D): column c at x_owner = node
        z_probe = expansion(probe.unsqueeze(1).expand(-1, m).contiguous())
    for q in range(MAX_UNIVARIATE_DEGREE + 1):
        cheb = np.polynomial.chebyshev.chebfit(nodes.numpy(), z_nodes.numpy(), q)  # (q + 1, D)
        power = torch.zeros(cheb.shape[1], q + 1, dtype=torch.float64)
        for c in range(cheb.shape[1]):
            coef = np.polynomial.chebyshev.cheb2poly(cheb[:, c])
            power[c, : len(coef)] = torch.from_numpy(np.asarray(coef, dtype=np.float64))
        vander = probe.unsqueeze(1) ** torch.arange(q + 1, dtype=torch.float64)
        fit = vander @ power.T
        if float((fit - z_probe).abs().max()) <= 1e-11 * (1.0 + float(z_probe.abs().max())):
            return power
    raise ConfigError(
        f"expansion {_name(expansion)!r} is not a polynomial of degree <= {MAX_UNIVARIATE_DEGREE} in its inputs, "
        "so the model has no exact polynomial readout",
        path,
    )


def _expansion_columns(
    expansion: nn.Module, inputs: Sequence[Polynomial], path: str
) -> tuple[Tensor, list[Polynomial]]:
    """(G (D, U), U polynomials): column c of kappa(inputs) = sum_u G[c, u] polys[u]."""
    nvars = inputs[0].nvars
    if isinstance(expansion, Taylor) and expansion.preprocess is None and expansion.postprocess is None:
        return _taylor_columns(expansion, inputs)
    m, D = int(expansion.m), int(expansion.D)
    # affine expansions (identity, linear): columns = inputs @ M.T + c
    with torch.no_grad():
        zero = expansion(torch.zeros(1, m, dtype=torch.float64))[0]
        M = (expansion(torch.eye(m, dtype=torch.float64)) - zero).T
        probe = torch.randn(6, m, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        got = expansion(probe)
    if float((got - probe @ M.T - zero).abs().max()) <= 1e-10 * (1.0 + float(got.abs().max())):
        G = torch.cat([M, zero.unsqueeze(1)], dim=1)
        return G, [*inputs, Polynomial.constant(nvars, 1.0)]
    box = torch.full((m,), 1.0, dtype=torch.float64)
    owner = column_owners(expansion, -box, box)
    if owner is None:
        raise ConfigError(
            f"expansion {_name(expansion)!r} is not a polynomial that rpnkit can read out (Taylor, identity, linear "
            "and per-input polynomial families are)",
            path,
        )
    power = _univariate_coefficients(expansion, owner, path)  # (D, q + 1)
    q = power.shape[1] - 1
    polys: list[Polynomial] = []
    index: dict[tuple[int, int], int] = {}
    for j in range(m):
        p = Polynomial.constant(nvars, 1.0)
        for e in range(q + 1):
            index[(j, e)] = len(polys)
            polys.append(p)
            p = p * inputs[j]
    G = torch.zeros(D, len(polys), dtype=torch.float64)
    for c in range(D):
        for e in range(q + 1):
            G[c, index[(int(owner[c]), e)]] += power[c, e]
    return G, polys


def layer_polynomials(layer: nn.Module, inputs: Sequence[Polynomial], path: str = "layers[0]") -> list[Polynomial]:
    """The outputs of one float64 layer as polynomials, given its inputs as polynomials."""
    form = layer_form(layer, path)
    nvars = inputs[0].nvars
    base = [*inputs, Polynomial.constant(nvars, 1.0)]
    out = _linear_combination(torch.cat([form.R, form.b.unsqueeze(1)], dim=1), base, nvars)
    for term in form.terms:
        G, polys = _expansion_columns(term.expansion, inputs, f"{path}.heads[{term.head}].expansion")
        for i, p in enumerate(_linear_combination(term.A @ G, polys, nvars)):
            out[i] = out[i] + p
    return out


@dataclass
class Readout:
    """The model as one polynomial per output (float64 coefficients).

    Attributes:
        polynomials: one :class:`Polynomial` per output.
        variables: the input names (default x1..xm).
    """

    polynomials: list[Polynomial]
    variables: list[str]

    def __call__(self, x: Tensor) -> Tensor:
        """The polynomials on x (N, m): (N, n)."""
        return torch.stack([p(x) for p in self.polynomials], dim=-1)

    @property
    def degree(self) -> int:
        return max(p.degree for p in self.polynomials)

    def symbols(self) -> list[Any]:
        sp = require_sympy()
        return list(sp.symbols(self.variables, real=True))

    def expressions(self, digits: int | None = None) -> list[Any]:
        """sympy expressions, one per output (coefficients rounded to ``digits`` significant digits if given)."""
        symbols = self.symbols()
        exprs = [p.to_sympy(symbols) for p in self.polynomials]
        if digits is not None:
            exprs = [e.evalf(digits) for e in exprs]
        return exprs

    def latex(self, digits: int | None = 4) -> list[str]:
        """LaTeX of every output (coefficients to ``digits`` significant digits)."""
        sp = require_sympy()
        return [sp.latex(e) for e in self.expressions(digits)]

    def __str__(self) -> str:
        lines = []
        for i, p in enumerate(self.polynomials):
            parts = []
            for k, v in sorted(p.terms.items(), key=lambda kv: (sum(kv[0]), kv[0])):
                mono = "*".join(f"{n}^{e}" if e > 1 else n for n, e in zip(self.variables, k) if e)
                parts.append(f"{v:+.6g}" + (f"*{mono}" if mono else ""))
            lines.append(f"y{i + 1} = " + (" ".join(parts) if parts else "0"))
        return "\n".join(lines)


def readout(model: nn.Module, variables: Sequence[str] | None = None) -> Readout:
    """The exact polynomial a polynomial RPN computes (see the module docstring).

    Args:
        model: an :class:`~rpnkit.RPN` (or Layer, or Head) of polynomial components.
        variables: names of the inputs (default ``x1..xm``).

    Raises:
        ConfigError: naming the first component that is not polynomial or not linear.
    """
    layers = layers_of(model)
    m = layers[0].m
    names = [f"x{j + 1}" for j in range(m)] if variables is None else [str(v) for v in variables]
    if len(names) != m:
        raise ConfigError(f"variables: {len(names)} names for {m} inputs")
    model64 = as_float64(model)
    polys = [Polynomial.variable(m, j) for j in range(m)]
    for k, layer in enumerate(layers_of(model64)):
        polys = layer_polynomials(layer, polys, f"layers[{k}]")
        if sum(len(p) for p in polys) > 10**6:
            raise ConfigError(f"layers[{k}]: the polynomial has over a million terms; readout stops")
    return Readout(polys, names)
