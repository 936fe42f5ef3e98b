"""Function-learning datasets: the elementary, composite, Feynman and dimensionless Feynman formulas.

The formula tables ship with rpnkit (``data/files/functions/*.csv``: id, index, output, formula,
num_vars, variables as ``name:low:high;...``). Inputs are sampled uniformly from the variable
ranges (seeded) and the formula is evaluated by :class:`Formula`, a small evaluator over Python's
``ast`` that accepts only numbers, the table's variables, ``+ - * / **``, unary minus and a whitelist
of math and special functions: it never calls ``eval`` or ``exec``. :func:`from_function` makes a
dataset from any Python callable instead.
"""

from __future__ import annotations

import ast
import csv
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, ShapeError
from ..memory import check_rows
from ..validation import check_fraction, check_int, check_real, did_you_mean
from .base import Dataset, finish_split

__all__ = [
    "Formula",
    "FunctionSpec",
    "function_table",
    "load_function",
    "from_function",
    "TABLES",
    "FUNCTIONS",
    "CONSTANTS",
]


def _torch_special(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[np.ndarray], np.ndarray]:
    """A torch special function (float64) as a function of numpy arrays."""

    def apply(x: np.ndarray) -> np.ndarray:
        return fn(torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy()

    return apply


def _gamma(x: np.ndarray) -> np.ndarray:
    """Gamma(x) = sign * exp(lgamma(x)); NaN at the poles 0, -1, -2, ..."""
    t = torch.as_tensor(np.asarray(x, dtype=np.float64))
    pole = (t <= 0) & (t == torch.round(t))
    sign = torch.where((t > 0) | (torch.floor(t) % 2 == 0), 1.0, -1.0).to(t.dtype)
    out = sign * torch.exp(torch.lgamma(t))
    return torch.where(pole, torch.full_like(t, float("nan")), out).numpy()


#: Function names a formula may call, mapped to numpy (``ln`` is the tables' spelling of ``log``), and the
#: special functions scientists use (Bessel j0/j1/y0/y1 of the first and second kind, i0, erf, erfc,
#: gamma, lgamma), computed by torch in float64.
FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "ln": np.log,
    "sqrt": np.sqrt,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "arcsinh": np.arcsinh,
    "arccosh": np.arccosh,
    "arctanh": np.arctanh,
    "abs": np.abs,
}
#: Special functions: a variable may carry one of these names (the Feynman tables have ``gamma`` and
#: ``y1``); a call of the name is still the function.
SPECIAL_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "j0": _torch_special(torch.special.bessel_j0),
    "j1": _torch_special(torch.special.bessel_j1),
    "y0": _torch_special(torch.special.bessel_y0),
    "y1": _torch_special(torch.special.bessel_y1),
    "i0": _torch_special(torch.special.i0),
    "erf": _torch_special(torch.special.erf),
    "erfc": _torch_special(torch.special.erfc),
    "gamma": _gamma,
    "lgamma": _torch_special(torch.lgamma),
}
_ELEMENTARY = frozenset(FUNCTIONS)
FUNCTIONS.update(SPECIAL_FUNCTIONS)
#: Named constants.
CONSTANTS: dict[str, float] = {"pi": float(np.pi), "e": float(np.e)}

_BINARY = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}

#: The formula tables: dataset name -> CSV file name.
TABLES = {
    "elementary": "elementary.csv",
    "composite": "composite.csv",
    "feynman": "feynman.csv",
    "feynman_dimensionless": "feynman_dimensionless.csv",
}


class Formula:
    """A formula over named variables, parsed once with ``ast`` and evaluated on numpy arrays.

    Allowed: numbers, the given variables, ``pi``, ``e``, ``+ - * / **``, unary ``-``/``+``, and calls
    of one argument to :data:`FUNCTIONS`. Anything else (attributes, subscripts, keywords, other
    names, comparisons, lambdas, strings) raises :class:`~rpnkit.ConfigError` at parse time.

    Args:
        text: the formula, e.g. ``"exp(-theta**2/2)/sqrt(2*pi)"``.
        variables: the variable names, in column order.

    Example:
        >>> import numpy as np
        >>> f = Formula("x**2 + sin(y)", ["x", "y"])
        >>> f(np.array([[2.0, 0.0]])).tolist()
        [4.0]
        >>> Formula("__import__('os')", ["x"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rpnkit.errors.ConfigError: formula "__import__('os')": calls may only name one of ...
    """

    def __init__(self, text: str, variables: Sequence[str]) -> None:
        self.text = str(text)
        self.variables = list(variables)
        for v in self.variables:
            if not v.isidentifier() or v in _ELEMENTARY:
                raise ConfigError(f"formula {self.text!r}: bad variable name {v!r}")
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except SyntaxError as err:
            raise ConfigError(f"formula {self.text!r} is not valid: {err.msg}") from None
        self._index = {name: i for i, name in enumerate(self.variables)}
        self._fn = self._compile(tree.body)

    def _fail(self, message: str) -> ConfigError:
        return ConfigError(f'formula "{self.text}": {message}')

    def _compile(self, node: ast.AST) -> Callable[[np.ndarray], Any]:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._fail(f"only numeric constants are allowed, got {value!r}")
            number = float(value)
            return lambda cols: number
        if isinstance(node, ast.Name):
            if node.id in self._index:
                i = self._index[node.id]
                return lambda cols: cols[i]
            if node.id in CONSTANTS:
                number = CONSTANTS[node.id]
                return lambda cols: number
            raise self._fail(f"unknown name {node.id!r} (variables: {self.variables}; constants: pi, e)")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op = _BINARY[type(node.op)]
            left, right = self._compile(node.left), self._compile(node.right)
            return lambda cols: op(left(cols), right(cols))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self._compile(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda cols: np.negative(operand(cols))
            return operand
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise self._fail(f"calls may only name one of {sorted(FUNCTIONS)}")
            if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                raise self._fail(f"{node.func.id}() takes exactly one positional argument")
            fn = FUNCTIONS[node.func.id]
            arg = self._compile(node.args[0])
            return lambda cols: fn(arg(cols))
        raise self._fail(f"{type(node).__name__} is not allowed (numbers, variables, + - * / **, math calls)")

    def __call__(self, x: np.ndarray | Mapping[str, np.ndarray]) -> np.ndarray:
        """Evaluate on a (N, num_vars) array (columns in ``variables`` order) or a name -> array mapping.

        An array of another shape raises :class:`~rpnkit.ShapeError`.
        """
        if isinstance(x, Mapping):
            missing = [v for v in self.variables if v not in x]
            if missing:
                raise ConfigError(f"formula {self.text!r}: missing variables {missing}")
            cols = [np.asarray(x[v], dtype=np.float64) for v in self.variables]
            n = np.broadcast(*cols).shape if cols else ()
        else:
            arr = np.asarray(x, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != len(self.variables):
                raise ShapeError(
                    f"formula {self.text!r}: expected an array of shape (N, {len(self.variables)}), got {arr.shape}"
                )
            cols = [arr[:, i] for i in range(arr.shape[1])]
            n = (arr.shape[0],)
        with np.errstate(all="ignore"):
            out = self._fn(cols)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), n).copy()

    def __repr__(self) -> str:
        return f"Formula({self.text!r}, {self.variables})"


@dataclass(frozen=True)
class FunctionSpec:
    """One row of a formula table."""

    id: str
    index: int
    output: str
    formula: str
    variables: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]

    def compile(self) -> Formula:
        return Formula(self.formula, self.variables)

    def sample(self, num: int, rng: np.random.Generator) -> np.ndarray:
        """``num`` rows drawn uniformly from the variables' ranges."""
        low = np.array([r[0] for r in self.ranges])
        high = np.array([r[1] for r in self.ranges])
        return low + (high - low) * rng.random((num, len(self.variables)))


@functools.cache
def function_table(table: str) -> tuple[FunctionSpec, ...]:
    """The rows of one formula table (``elementary``, ``composite``, ``feynman``, ``feynman_dimensionless``)."""
    if table not in TABLES:
        raise ConfigError(f"unknown formula table {table!r}; expected one of {sorted(TABLES)}")
    text = resources.files("rpnkit.data").joinpath("files", "functions", TABLES[table]).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    specs = []
    for row in rows:
        names, ranges = [], []
        for part in row["variables"].split(";"):
            name, low, high = part.split(":")
            names.append(name.strip())
            ranges.append((float(low), float(high)))
        if len(names) != int(row["num_vars"]):
            raise ConfigError(f"{TABLES[table]}: row {row['id']} lists {len(names)} variables, not {row['num_vars']}")
        specs.append(
            FunctionSpec(
                id=row["id"],
                index=int(row["index"]),
                output=row["output"],
                formula=row["formula"],
                variables=tuple(names),
                ranges=tuple(ranges),
            )
        )
    return tuple(specs)


def find_function(table: str, equation: int | str | None = None) -> FunctionSpec:
    """A table row by its ``index`` (an int) or its ``id`` (a string such as ``"E.3"`` or ``"I.6.2a"``).

    None gives the table's first row.
    """
    specs = function_table(table)
    if equation is None:
        return specs[0]
    for spec in specs:
        if (isinstance(equation, int) and not isinstance(equation, bool) and spec.index == equation) or (
            isinstance(equation, str) and spec.id == equation
        ):
            return spec
    indexes = f"{specs[0].index}..{specs[-1].index}"
    hint = did_you_mean(equation, [s.id for s in specs], cutoff=0.6)
    raise ConfigError(
        f"no equation {equation!r} in {table} (an index {indexes} or an id such as {specs[0].id!r}){hint}", "equation"
    )


def load_function(
    table: str = "elementary",
    *,
    equation: int | str | None = None,
    num: int = 2000,
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    noise: float = 0.0,
    normalize: str | None = None,
    seed: int = 0,
) -> Dataset:
    """Sample one formula of a table: x uniform in the variables' ranges, y = f(x) (+ noise), y of shape (N, 1).

    Rows where the formula is not finite are replaced by fresh samples.

    Args:
        table: ``elementary`` (17), ``composite`` (17), ``feynman`` (100) or ``feynman_dimensionless`` (27).
        equation: the row's index (an int) or id (``"E.14"``); default: the table's first row.
        num: number of samples (train + val + test).
        test_fraction, val_fraction: shares for the test part and (of the rest) the validation part.
        noise: standard deviation of Gaussian noise added to the training and validation targets.
        normalize: normalise x (``"standard"``/``"minmax"``, fitted on training rows) or None.
        seed: seed of the sampling and the split.

    Example:
        >>> data = load_function("elementary", equation="E.5", num=100)
        >>> data.x_train.shape, data.y_train.shape, data.info["formula"]
        (torch.Size([80, 2]), torch.Size([80, 1]), 'sin(x+y)')
    """
    spec = find_function(table, equation)
    num = check_int(num, None, 2, path="num")
    check_rows(num, len(spec.variables) + 1, "num")
    check_fraction(test_fraction, None, path="test_fraction")
    check_real(noise, "noise", ge=0, path="noise")
    check_int(seed, None, 0, path="seed")
    formula = spec.compile()
    rng = np.random.default_rng(seed)
    xs, ys, have = [], [], 0
    for _ in range(100):
        x = spec.sample(max(num - have, 16), rng)
        y = formula(x)
        keep = np.isfinite(y)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
        if have >= num:
            break
    else:
        raise ConfigError(f"{spec.id} {spec.formula!r} is not finite on most of its ranges", "equation")
    x = np.concatenate(xs)[:num]
    y = np.concatenate(ys)[:num]
    dataset = finish_split(
        table,
        x,
        y,
        "regression",
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        feature_names=list(spec.variables),
        info={
            "id": spec.id,
            "index": spec.index,
            "output": spec.output,
            "formula": spec.formula,
            "variables": list(spec.variables),
            "ranges": [list(r) for r in spec.ranges],
        },
    )
    if noise > 0:
        gen = np.random.default_rng(seed + 7)
        dataset.y_train = dataset.y_train + torch.from_numpy(gen.normal(0, noise, dataset.y_train.shape)).float()
        if dataset.y_val is not None:
            dataset.y_val = dataset.y_val + torch.from_numpy(gen.normal(0, noise, dataset.y_val.shape)).float()
    return dataset


def _sample_finite(
    f: Callable[[torch.Tensor], Any], low: np.ndarray, high: np.ndarray, num: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``num`` rows uniform in [low, high] where f is finite, and f there ((num,) or (num, k))."""
    xs, ys, have = [], [], 0
    for _ in range(100):
        x = low + (high - low) * rng.random((max(num - have, 16), len(low)))
        out = f(torch.from_numpy(x))
        y = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)
        y = y.astype(np.float64, copy=False)
        if y.shape[:1] != (len(x),) or y.ndim > 2:
            raise ShapeError(f"from_function: f must return (N,) or (N, k) for x of shape {x.shape}, got {y.shape}")
        keep = np.isfinite(y.reshape(len(x), -1)).all(1)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
        if have >= num:
            return np.concatenate(xs)[:num], np.concatenate(ys)[:num]
    raise ConfigError("from_function: f is not finite on most of the ranges", "ranges")


def from_function(
    f: Callable[[torch.Tensor], Any],
    ranges: Sequence[Sequence[float]],
    train: int = 1000,
    test: int = 1000,
    seed: int = 0,
    *,
    noise: float = 0.0,
    normalize: str | None = None,
    variables: Sequence[str] | None = None,
    name: str = "function",
) -> Dataset:
    """A regression dataset from a Python callable: x uniform in ``ranges``, y = f(x) (+ noise on train).

    ``f`` receives a float64 tensor of shape (N, d) (one column per range) and returns a tensor or
    array of shape (N,) or (N, k); rows where it is not finite are drawn again. Train and test rows
    are drawn independently from the same seeded generator (pykan's ``create_dataset``).

    Args:
        f: the function.
        ranges: one (low, high) per input variable.
        train, test: numbers of training and test rows.
        seed: seed of the sampling and the noise.
        noise: standard deviation of Gaussian noise added to the training targets.
        normalize: normalise x (``"standard"``/``"minmax"``, fitted on the training rows) or None.
        variables: names of the inputs (default x1..xd).
        name: the dataset's name.

    Example:
        >>> import torch
        >>> data = from_function(lambda x: torch.exp(torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2),
        ...                      [(-1, 1), (-1, 1)], train=100, test=50)
        >>> data.x_train.shape, data.y_train.shape, data.x_test.shape
        (torch.Size([100, 2]), torch.Size([100, 1]), torch.Size([50, 2]))
    """
    if not callable(f):
        raise ConfigError(f"from_function: f must be callable, got {type(f).__name__}", "f")
    try:
        bounds = np.array([[float(v) for v in r] for r in ranges], dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"ranges must be a list of (low, high) pairs, got {ranges!r}", "ranges") from None
    if bounds.ndim != 2 or bounds.shape[1] != 2 or len(bounds) == 0 or not (bounds[:, 0] < bounds[:, 1]).all():
        raise ConfigError(
            f"ranges must be a non-empty list of (low, high) pairs with low < high, got {ranges!r}", "ranges"
        )
    train = check_int(train, None, 1, path="train")
    test = check_int(test, None, 1, path="test")
    check_rows(train + test, len(bounds) + 1, "train")
    check_int(seed, None, 0, path="seed")
    check_real(noise, "noise", ge=0, path="noise")
    names = [f"x{j + 1}" for j in range(len(bounds))] if variables is None else [str(v) for v in variables]
    if len(names) != len(bounds):
        raise ConfigError(f"{len(names)} variable names for {len(bounds)} ranges", "variables")
    rng = np.random.default_rng(seed)
    x_tr, y_tr = _sample_finite(f, bounds[:, 0], bounds[:, 1], train, rng)
    x_te, y_te = _sample_finite(f, bounds[:, 0], bounds[:, 1], test, rng)
    if noise > 0:
        y_tr = y_tr + rng.normal(0.0, noise, y_tr.shape)
    return finish_split(
        name,
        x_tr,
        y_tr,
        "regression",
        test=(x_te, y_te),
        seed=seed,
        normalize=normalize,
        feature_names=names,
        info={"variables": names, "ranges": bounds.tolist(), "function": getattr(f, "__name__", repr(f))},
    )
