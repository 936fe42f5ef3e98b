"""Fixed interdependences: a user-given constant matrix, and the constant c * 1 (zero, one) matrices.

None of them depends on the data. The constant matrix comes from the config (a nested list), a file
(``.csv``/``.txt`` text, ``.npy``/``.npz`` loaded with ``allow_pickle=False``) or a tensor, and is kept
as a buffer; the c * 1 matrices are applied as a sum and a broadcast, never built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from ..base import Interdependence
from ..errors import ConfigError
from ..registry import register
from ..validation import check_real, child_path
from ._common import RectangularInterdependence, check_b, check_kind, plain_config

__all__ = [
    "ConstantInterdependence",
    "ConstantCInterdependence",
    "ZeroInterdependence",
    "OneInterdependence",
    "load_matrix",
]

#: File types a constant matrix can be read from (nothing that unpickles).
MATRIX_FILES = (".csv", ".txt", ".tsv", ".npy", ".npz")


def _text_array(path: Path, where: str) -> np.ndarray:
    delimiter = "," if path.suffix == ".csv" else ("\t" if path.suffix == ".tsv" else None)
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if lines:
        try:
            [float(t) for t in lines[0].replace(",", " ").split()]
        except ValueError:
            lines = lines[1:]  # a header row
    try:
        return np.loadtxt(lines, delimiter=delimiter, ndmin=2, dtype=np.float64)
    except ValueError as err:
        raise ConfigError(f"cannot read numbers from {str(path)!r}: {err}", where) from err


def load_array(path: str | os.PathLike, where: str, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays stored in a ``.csv``/``.txt``/``.tsv``/``.npy``/``.npz`` file (never unpickled).

    Text files and ``.npy`` give ``{"": array}``; ``.npz`` gives its named arrays. ``where`` is the
    config path that errors name.
    """
    p = Path(path)
    if p.suffix not in MATRIX_FILES:
        raise ConfigError(
            f"unsupported file type {p.suffix!r} for {str(path)!r}; use one of {list(MATRIX_FILES)}", where
        )
    if not p.is_file():
        raise ConfigError(f"file {str(path)!r} not found", where)
    if p.suffix in (".csv", ".txt", ".tsv"):
        return {"": _text_array(p, where)}
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError as err:  # object arrays need pickle: refused
        raise ConfigError(f"cannot read {str(path)!r} without unpickling: {err}", where) from err
    if p.suffix == ".npy":
        return {"": loaded}
    with loaded:
        return {k: loaded[k] for k in loaded.files}


def load_matrix(value: Any, where: str) -> Tensor:
    """A real matrix from a nested list, a tensor/array, or a file path (see :func:`load_array`)."""
    if isinstance(value, (str, os.PathLike)):
        arrays = load_array(value, where)
        if len(arrays) != 1 and "A" not in arrays:
            raise ConfigError(f"{str(value)!r} holds {sorted(arrays)}: store one array or one named 'A'", where)
        value = arrays.get("A", next(iter(arrays.values())))
    try:
        A = torch.as_tensor(np.asarray(value.detach().cpu() if isinstance(value, Tensor) else value, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"expected a matrix of numbers, got {value!r}", where) from err
    if A.dim() != 2 or A.numel() == 0:
        raise ConfigError(
            f"expected a non-empty matrix (a list of equal-length rows), got shape {tuple(A.shape)}", where
        )
    if not torch.isfinite(A).all():
        raise ConfigError("the matrix has non-finite entries", where)
    return A.to(torch.get_default_dtype())


@register("interdependence", "constant", aliases=["constant_interdependence"])
class ConstantInterdependence(Interdependence):
    """A fixed, user-given matrix A: attribute ``x @ A`` (A is (m, m')), instance ``A^T @ x`` (A is (b, b')).

    A is stored as a buffer (saved with the model, moved by ``.to()``). The instance kind needs
    exactly b = A.shape[0] rows (its maths fixes the batch size); a mismatch is a ``ShapeError``.

    Args:
        A: the matrix: a nested list of rows, a tensor, or the path of a ``.csv``/``.txt``/``.tsv``
            (numbers, optional header row), ``.npy`` or ``.npz`` file (a single array or one named
            ``A``; read with ``allow_pickle=False``). Attribute kind: A must have m rows.
        b: instance kind: must equal A.shape[0] when given.

    Shape:
        attribute (..., b, m) -> (..., b, m'); instance (..., b, D) -> (..., b', D).
    """

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out"}

    def __init__(self, m: int, kind: str = "attribute", A: Any = None, b: int | None = None) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        if A is None:
            raise ConfigError(
                "constant needs A: a list of rows, a tensor, or a .csv/.txt/.npy/.npz file", child_path("A")
            )
        matrix = load_matrix(A, child_path("A"))
        rows, cols = matrix.shape
        if kind == "attribute" and rows != m:
            raise ConfigError(
                f"A must have m={m} rows for the attribute kind (A is (m, m')), got shape {tuple(matrix.shape)}",
                child_path("A"),
            )
        if kind == "instance":
            if b is not None and b != rows:
                raise ConfigError(f"A must have b={b} rows, got shape {tuple(matrix.shape)}", child_path("A"))
            b = rows
            self.b_out = cols
        else:
            self.m_out = cols
        super().__init__(m, kind=kind, b=b)
        self.register_buffer("A", matrix)
        self._from_tensor = isinstance(A, Tensor)

    def matrix(self, x: Tensor) -> Tensor:
        return self.A.to(x.dtype)

    def to_config(self) -> dict[str, Any]:
        if not self._from_tensor:
            return super().to_config()
        config = plain_config(self, skip=("A",))
        config["A"] = self.A.tolist()
        return config


@register("interdependence", "constant_c", aliases=["constant_c_interdependence"])
class ConstantCInterdependence(RectangularInterdependence):
    """The constant matrix A = c * 1 (every entry c), applied as a sum and a broadcast.

    Attribute: ``x @ (c 1_{m x m'})``: every output column is c times the row sum of x.
    Instance: ``(c 1_{b x b'})^T @ x``: every output row is c times the column sums of x.

    Args:
        c: the constant.
        m_out: m' (attribute kind; default m).
        b: instance kind: the number of rows, checked when given (the maths does not need it).
        b_out: b' (instance kind; default: as many rows as the input).

    Shape:
        attribute (..., b, m) -> (..., b, m'); instance (..., b, D) -> (..., b', D).
    """

    param_aliases = {"interdependence_type": "kind", "m_prime": "m_out", "b_prime": "b_out"}

    def __init__(
        self,
        m: int,
        kind: str = "attribute",
        c: float = 1.0,
        m_out: int | None = None,
        b: int | None = None,
        b_out: int | None = None,
    ) -> None:
        self._init_constant(m, kind, check_real(c, "c"), m_out, b, b_out)

    def _init_constant(self, m: int, kind: str, c: float, m_out: Any, b: Any, b_out: Any) -> None:
        self._init_widths(m, check_kind(kind), check_b(b), m_out, b_out, " (the instance kind keeps m)")
        self.c = c

    def matrix(self, x: Tensor) -> Tensor:
        return x.new_full(self.matrix_shape(x), self.c)

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        axis, size = self.mixed_axis(data)
        total = data.sum(dim=axis, keepdim=True) * self.c
        shape = list(total.shape)
        shape[axis] = size
        return total.expand(shape)


class _FixedConstantC(ConstantCInterdependence):
    """:class:`ConstantCInterdependence` with a fixed c: subclasses name ``C``.

    Shape:
        attribute (..., b, m) -> (..., b, m'); instance (..., b, D) -> (..., b', D).
    """

    C: ClassVar[float]

    def __init__(
        self, m: int, kind: str = "attribute", m_out: int | None = None, b: int | None = None, b_out: int | None = None
    ) -> None:
        self._init_constant(m, kind, self.C, m_out, b, b_out)


@register("interdependence", "zero", aliases=["zero_interdependence"])
class ZeroInterdependence(_FixedConstantC):
    """A = 0 (:class:`ConstantCInterdependence` with c = 0): the output is zero."""

    C = 0.0


@register("interdependence", "one", aliases=["one_interdependence"])
class OneInterdependence(_FixedConstantC):
    """A = 1 (:class:`ConstantCInterdependence` with c = 1): sums over the mixed axis."""

    C = 1.0
