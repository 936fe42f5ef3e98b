"""A layer as a sum of learned units: the affine form of an RPN layer and its per-input functions.

An RPN 1 layer whose heads have no processing and no interdependence, whose fusions are linear
(mean, sum, concatenation, weighted...) and whose remainders are affine (zero, constant, identity,
linear, skip) computes

    y = sum_h kappa_h(x) @ A_h.T + x @ R.T + b,

with A_h (n, D_h) the head's reconciled weight W = psi.weight() passed through its channel and head
fusions. :func:`layer_form` returns that form (float64, checked numerically against the modules, so a
non-linear fusion or remainder is refused with a :class:`~rpnkit.ConfigError` naming it).

When every column of kappa_h depends on a single input (B-splines, orthogonal polynomials, RBFs,
wavelets of degree 1, Fourier, Taylor of degree 1, ...), output i is a sum of *units*

    phi_{j->i}(x_j) = sum_{c: owner(c) = j} A[i, c] kappa_c(x_j) + R[i, j] x_j,

one per (input j, output i) pair: the learned functions :func:`layer_units` evaluates on the data and
:mod:`rpnkit.explain.plots` draws. A unit's *importance* is its standard deviation over the data (the
scale of what it adds to its output); its mean over the data is what removing it would shift.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..errors import ConfigError, ShapeError
from ..nn import RPN, Head, Layer

__all__ = [
    "Term",
    "LayerForm",
    "LayerUnits",
    "as_float64",
    "layers_of",
    "layer_form",
    "column_owners",
    "layer_inputs",
    "layer_units",
    "model_units",
]

#: relative tolerance of the numerical linearity checks (float64)
LINEAR_TOL = 1e-9


def as_float64(model: nn.Module) -> nn.Module:
    """A float64 CPU copy of ``model`` in eval mode (the original is untouched)."""
    return copy.deepcopy(model).to(device="cpu", dtype=torch.float64).eval()


def layers_of(model: nn.Module) -> list[Layer]:
    """The layers of an :class:`~rpnkit.RPN` (or a single :class:`~rpnkit.Layer`, or a Head as one layer)."""
    if isinstance(model, RPN):
        return list(model.layers)
    if isinstance(model, Layer):
        return [model]
    if isinstance(model, Head):
        return [Layer(model.m, model.n, head=model)]
    raise ConfigError(f"explain works on an RPN, a Layer or a Head, got {type(model).__name__}")


@dataclass
class Term:
    """One head's share of a layer: kappa_h(x) @ A.T (A: (n, D), float64)."""

    expansion: nn.Module
    A: Tensor
    head: int


@dataclass
class LayerForm:
    """y = sum_terms kappa(x) @ A.T + x @ R.T + b for one layer (all float64)."""

    m: int
    n: int
    terms: list[Term]
    R: Tensor
    b: Tensor
    path: str = ""

    def __call__(self, x: Tensor) -> Tensor:
        y = x @ self.R.T + self.b
        for term in self.terms:
            y = y + term.expansion(x) @ term.A.T
        return y


def _fail(path: str, message: str) -> ConfigError:
    return ConfigError(message, path)


def _name(module: nn.Module) -> str:
    return getattr(module, "registry_name", None) or type(module).__name__


def _affine_map(
    fn: Callable[[Tensor], Tensor], m: int, n: int, path: str, what: str, scale: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """(M (n, m), c (n,)) with fn(x) = x @ M.T + c, checked on random points; ConfigError if not affine."""
    with torch.no_grad():
        zero = torch.zeros(1, m, dtype=torch.float64)
        c = torch.broadcast_to(fn(zero), (1, n))[0].clone()
        eye = torch.eye(m, dtype=torch.float64)
        M = (torch.broadcast_to(fn(eye), (m, n)) - c).T.contiguous()
        gen = torch.Generator().manual_seed(0)
        probe = torch.randn(8, m, generator=gen, dtype=torch.float64)
        if scale is not None:
            probe = probe * scale
        got = torch.broadcast_to(fn(probe), (8, n))
        want = probe @ M.T + c
        size = 1.0 + float(want.abs().max()) + float(got.abs().max())
        if not torch.isfinite(got).all() or float((got - want).abs().max()) > LINEAR_TOL * size:
            raise _fail(path, f"{what} is not affine in its input, so this layer has no linear form")
    return M, c


def _fusion_map(fusion: nn.Module, dims: Sequence[int], path: str) -> tuple[list[Tensor], Tensor]:
    """A linear fusion as one matrix block per input: fusion(xs) = sum_k xs[k] @ M_k.T + c."""
    total = sum(dims)
    splits = list(torch.tensor(list(dims)).cumsum(0)[:-1])

    def fn(x: Tensor) -> Tensor:
        return fusion(list(torch.tensor_split(x, [int(s) for s in splits], dim=-1)))

    M, c = _affine_map(fn, total, int(fusion.n), path, f"fusion {_name(fusion)!r}")
    blocks = list(torch.tensor_split(M, [int(s) for s in splits], dim=1))
    return blocks, c


def _head_form(head: nn.Module, path: str) -> tuple[Tensor, Tensor, Tensor]:
    """(A (n, D), R (n, m), b (n,)) of one head in float64."""
    if type(head) is not Head:
        raise _fail(path, f"{type(head).__name__} is not an RPN 1 head (rpnkit.Head); it has no linear form")
    for key in ("input_processing", "output_processing", "attribute_interdependence", "instance_interdependence"):
        if getattr(head, key) is not None:
            raise _fail(f"{path}.{key}", f"{key} is set; explain needs heads without processing or interdependence")
    weights, biases = [], []
    with torch.no_grad():
        for psi in head.reconciliations:
            W = psi.weight().detach().to(torch.float64)
            weights.append(W)
            bias = psi.bias
            biases.append(
                torch.zeros(W.shape[0], dtype=torch.float64) if bias is None else bias.detach().to(torch.float64)
            )
    blocks, c = _fusion_map(head.fusion, [W.shape[0] for W in weights], f"{path}.fusion")
    A = sum(M @ W for M, W in zip(blocks, weights))
    b = c + sum(M @ bias for M, bias in zip(blocks, biases))
    if head.remainder.is_zero:
        R = torch.zeros(head.n, head.m, dtype=torch.float64)
    else:
        R, rc = _affine_map(head.remainder, head.m, head.n, f"{path}.remainder", f"remainder {_name(head.remainder)!r}")
        b = b + rc
    return A, R, b


def layer_form(layer: Layer, path: str = "layers[0]") -> LayerForm:
    """The affine form of a float64 layer (see the module docstring); ConfigError naming what breaks it."""
    if not isinstance(layer, Layer):
        raise _fail(path, f"{type(layer).__name__} is not an RPN layer (rpnkit.Layer)")
    heads = list(layer.heads)
    forms = [_head_form(h, f"{path}.heads[{k}]") for k, h in enumerate(heads)]
    blocks, c = _fusion_map(layer.fusion, [h.n for h in heads], f"{path}.fusion")
    terms, R, b = [], torch.zeros(layer.n, layer.m, dtype=torch.float64), c.clone()
    for k, (head, (A, Rh, bh), M) in enumerate(zip(heads, forms, blocks)):
        terms.append(Term(head.expansion, M @ A, k))
        R = R + M @ Rh
        b = b + M @ bh
    return LayerForm(layer.m, layer.n, terms, R, b, path)


def column_owners(expansion: nn.Module, low: Tensor, high: Tensor, probes: int = 8) -> Tensor | None:
    """The input each column of kappa(x) depends on (a (D,) long tensor), or None when columns mix inputs.

    Two layouts are tried, feature-major (column c belongs to input c // K) and block-major (c % m),
    with K = D / m; the one whose columns change only when their own input changes (on random points
    in [low, high]) is returned.
    """
    m, D = int(expansion.m), int(expansion.D)
    if D % m:
        return None
    K = D // m
    cols = torch.arange(D)
    hypotheses = [cols // K] if K == 1 else [cols // K, cols % m]
    gen = torch.Generator().manual_seed(1)
    low = low.to(torch.float64)
    span = (high - low).to(torch.float64)
    x0 = low + span * torch.rand(probes, m, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        z0 = expansion(x0)
        changed = []
        for j in range(m):
            x1 = x0.clone()
            x1[:, j] = low[j] + span[j] * torch.rand(probes, generator=gen, dtype=torch.float64)
            z1 = expansion(x1)
            tol = 1e-12 * (1.0 + z0.abs() + z1.abs())
            changed.append(((z1 - z0).abs() > tol).any(0))
    for owner in hypotheses:
        if all(not (changed[j] & (owner != j)).any() for j in range(m)):
            return owner
    return None


def layer_inputs(model: nn.Module, x: Tensor) -> list[Tensor]:
    """The input of every layer of a float64 model on x (float64), plus the model's output last."""
    layers = layers_of(model)
    x = x.detach().to(device="cpu", dtype=torch.float64)
    if x.dim() != 2 or x.shape[1] != layers[0].m:
        raise ShapeError(f"explain: expected data of shape (N, {layers[0].m}), got {tuple(x.shape)}")
    out = [x]
    with torch.no_grad():
        for layer in layers:
            out.append(layer(out[-1]))
    return out


@dataclass
class LayerUnits:
    """The learned units phi_{j->i} of one layer, evaluated on the data it sees.

    Attributes:
        index: the layer's position.
        form: its :class:`LayerForm`.
        owners: for each term, the input of each column of its expansion.
        inputs: (N, m) the layer's inputs on the data.
        low, high: (m,) the range of each input over the data.
        importance: (n, m) standard deviation of phi_{j->i} over the data.
        mean: (n, m) mean of phi_{j->i} over the data.
    """

    index: int
    form: LayerForm
    owners: list[Tensor]
    inputs: Tensor
    low: Tensor
    high: Tensor
    importance: Tensor = field(init=False)
    mean: Tensor = field(init=False)

    def __post_init__(self) -> None:
        values = self.evaluate(self.inputs)
        self.importance = values.std(0, unbiased=False) if values.shape[0] > 1 else values.abs()[0] * 0
        self.mean = values.mean(0)

    @property
    def m(self) -> int:
        return self.form.m

    @property
    def n(self) -> int:
        return self.form.n

    def evaluate(self, x: Tensor) -> Tensor:
        """phi_{j->i}(x[:, j]) for every row of x (N, m): a (N, n, m) tensor."""
        x = x.to(torch.float64)
        out = x.unsqueeze(1) * self.form.R.unsqueeze(0)
        with torch.no_grad():
            for term, owner in zip(self.form.terms, self.owners):
                z = term.expansion(x)
                onehot = torch.nn.functional.one_hot(owner, self.m).to(torch.float64)
                out = out + torch.einsum("nc,ic,cj->nij", z, term.A, onehot)
        return out

    def grid(self, points: int = 101) -> Tensor:
        """(points, m): an even grid over each input's data range (column j spans [low_j, high_j])."""
        t = torch.linspace(0, 1, points, dtype=torch.float64).unsqueeze(1)
        return self.low + (self.high - self.low) * t

    def curves(self, points: int = 101) -> tuple[Tensor, Tensor]:
        """(grid (points, m), values (points, n, m)): every unit over its input's data range."""
        grid = self.grid(points)
        return grid, self.evaluate(grid)

    def coefficients(self, i: int, j: int, term: int = 0) -> Tensor:
        """The weights A[i, c] of the columns of input j in one term (the unit's coefficients)."""
        t = self.form.terms[term]
        return t.A[i, self.owners[term] == j]


def _ranges(x: Tensor) -> tuple[Tensor, Tensor]:
    low, high = x.min(0).values, x.max(0).values
    flat = high - low <= 1e-12 * (1 + high.abs())
    pad = torch.where(flat, torch.full_like(low, 0.5), torch.zeros_like(low))
    return low - pad, high + pad


def model_units(model: nn.Module, x: Tensor) -> list[LayerUnits]:
    """The :class:`LayerUnits` of every layer of ``model`` on data x (the model is copied to float64).

    Raises :class:`~rpnkit.ConfigError` when a layer has no linear form or an expansion mixes inputs
    (Taylor of degree >= 2, combinatorial, ...): those layers have no per-input units (see
    :func:`rpnkit.explain.readout` for Taylor models).
    """
    model64 = as_float64(model)
    xs = layer_inputs(model64, x)
    return [layer_units(layer, xs[k], k) for k, layer in enumerate(layers_of(model64))]


def layer_units(layer: Layer, x: Tensor, index: int = 0) -> LayerUnits:
    """The units of one float64 layer on its inputs x (N, m)."""
    path = f"layers[{index}]"
    form = layer_form(layer, path)
    low, high = _ranges(x)
    owners = []
    for term in form.terms:
        owner = column_owners(term.expansion, low, high)
        if owner is None:
            raise _fail(
                f"{path}.heads[{term.head}].expansion",
                f"expansion {_name(term.expansion)!r} mixes inputs in its columns, so the layer has no "
                "per-input units (B-spline, orthogonal polynomials, RBF, wavelets, Fourier and Taylor of "
                "degree 1 have them)",
            )
        owners.append(owner)
    return LayerUnits(index, form, owners, x, low, high)
