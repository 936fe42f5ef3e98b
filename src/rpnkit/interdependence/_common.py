"""Shared helpers of the interdependence catalogue: batched matrices, axis mixing, child specs.

Conventions used by every interdependence in this package:

* ``matrix(x)`` returns A for one batch x of shape (b, m): (m, m') for the attribute kind and
  (b, b') for the instance kind. With leading dimensions, x (..., b, m), a data-dependent A is computed
  per leading index from that index's own b rows and has shape (..., m, m') / (..., b, b'); a
  structural A (chain, graph, constant) does not depend on x and stays 2-D.
* Output row (column) j of the instance (attribute) kind is ``sum_i A[i, j] * input_i``: the
  attribute kind computes ``data @ A`` over the last axis, the instance kind ``A^T @ data`` over the
  rows axis (-2), each leading index separately.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..base import Interdependence
from ..errors import ConfigError, ShapeError
from ..registry import build, get_class
from ..validation import check_choice, check_int, child_path

__all__ = [
    "batched",
    "mix_axis",
    "child_spec",
    "spec_name",
    "check_kind",
    "check_b",
    "check_family",
    "plain_config",
    "RectangularInterdependence",
    "SquareInterdependence",
    "NamedKernelInterdependence",
]


def check_kind(kind: Any, kinds: tuple[str, ...] = ("attribute", "instance")) -> str:
    """The interdependence kind, with a did-you-mean error at ``<path>.kind``."""
    return check_choice(kind, "kind", list(kinds))


def check_b(b: Any) -> int | None:
    """An optional fixed number of instances."""
    return check_int(b, "b", allow_none=True)


def batched(fn: Callable[[Tensor], Tensor], X: Tensor, who: str) -> Tensor:
    """``fn`` (a function of one matrix) applied to X (n, d), or to every matrix of X (..., n, d).

    Leading dimensions are flattened and mapped with ``torch.func.vmap`` (no Python loop).
    """
    if X.dim() < 2:
        raise ShapeError(f"{who}: expected a batch of shape (..., b, m), got {tuple(X.shape)}")
    if X.dim() == 2:
        return fn(X)
    lead = X.shape[:-2]
    out = torch.func.vmap(fn)(X.reshape(-1, *X.shape[-2:]))
    return out.reshape(*lead, *out.shape[1:])


def mix_axis(apply: Callable[[Tensor], Tensor], data: Tensor, axis: int) -> Tensor:
    """Apply a linear map along one axis of ``data``: ``apply`` takes Z (n, k) and returns (n', k).

    The axis is moved to the front and every other axis is flattened into the k columns, so one
    matrix product serves all leading dimensions.
    """
    moved = data.movedim(axis, 0)
    rest = moved.shape[1:]
    out = apply(moved.reshape(moved.shape[0], -1))
    return out.reshape(out.shape[0], *rest).movedim(0, axis)


def spec_name(spec: Any) -> Any:
    """The registered name of a spec (a string, a dict's ``name``, or a class's registry name)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return spec.get("name")
    return getattr(spec, "registry_name", None)


def child_spec(spec: Any, key: str, kind: str, b: int | None) -> Any:
    """A child interdependence spec with the parent's kind (and b) filled in.

    A child that states another kind is an error at ``key``; a built module is checked the same way.
    """
    if isinstance(spec, torch.nn.Module):
        if getattr(spec, "kind", kind) != kind:
            raise ConfigError(f"must be of kind {kind!r} like its parent, got {spec.kind!r}", child_path(key))
        return spec
    if isinstance(spec, (str, type)):
        spec = {"name": spec_name(spec) if isinstance(spec, type) else spec}
    if not isinstance(spec, dict):
        raise ConfigError(
            f"expected an interdependence spec (a name or a dict with 'name'), got {spec!r}", child_path(key)
        )
    spec = dict(spec)
    if spec.setdefault("kind", kind) != kind:
        raise ConfigError(f"must be of kind {kind!r} like its parent, got {spec['kind']!r}", child_path(f"{key}.kind"))
    if b is not None:
        spec.setdefault("b", b)
    return spec


def check_family(spec: Any, family: str, owner: str, key: str = "reconciliation") -> Any:
    """A reconciliation spec that names ``family`` (an alias class such as ``lowrank_parameterized``
    implies its structure; any other is an error that points to the general class)."""
    name = spec_name(spec)
    if isinstance(spec, torch.nn.Module):
        name = getattr(spec, "registry_name", None)
    wanted = get_class("reconciliation", family).registry_name
    got = get_class("reconciliation", name, child_path(key)).registry_name if isinstance(name, str) else None
    if got != wanted:
        raise ConfigError(
            f"{owner} holds its matrix in a {wanted!r} reconciliation, got {spec!r}; "
            f"change the name or use the general class for another structure",
            child_path(key),
        )
    return spec


def plain_config(module: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    """``module.to_config()`` without the hyperparameters in ``skip`` (which the caller writes itself,
    e.g. a tensor argument as a nested list)."""
    from ..component import to_plain
    from ..registry import INJECTED

    config: dict[str, Any] = {"name": type(module).registry_name}
    for key, value in module.hparams.items():
        if key not in INJECTED and key not in skip:
            config[key] = to_plain(value)
    return config


class RectangularInterdependence(Interdependence):
    """Base of the structural interdependences with a rectangular A that they never build from data.

    A is (m, m') for the attribute kind (m' = ``m_out``, default m) and (b, b') for the instance kind
    (b' = ``b_out``, default: as many rows as the input); ``m_out`` applies to the attribute kind only
    and ``b_out`` to the instance kind only.
    """

    def _init_widths(self, m: int, kind: str, b: Any, m_out: Any, b_out: Any, m_out_note: str = "") -> None:
        """Check ``m_out`` / ``b_out`` against the kind (``m_out_note`` ends that error) and initialise."""
        m_out = check_int(m_out, "m_out", allow_none=True)
        b_out = check_int(b_out, "b_out", allow_none=True)
        if kind == "instance" and m_out is not None:
            raise ConfigError(f"m_out applies to the attribute kind only{m_out_note}", child_path("m_out"))
        if kind == "attribute" and b_out is not None:
            raise ConfigError("b_out applies to the instance kind only", child_path("b_out"))
        self.m_out = m if m_out is None else m_out
        self.b_out = b if b_out is None else b_out
        super().__init__(m, kind=kind, b=b)

    def matrix_shape(self, x: Tensor) -> tuple[int, int]:
        """The shape of A for the batch x: (m, m') or (b, b')."""
        if self.kind == "attribute":
            return self.m, self.m_out
        rows = x.shape[-2]
        return rows, rows if self.b_out is None else self.b_out

    def mixed_axis(self, data: Tensor) -> tuple[int, int]:
        """(the axis of ``data`` that A mixes, its size in the output)."""
        if self.kind == "attribute":
            return -1, self.m_out
        return -2, self.b_out or data.shape[-2]


class SquareInterdependence(Interdependence):
    """Base of the data-dependent square interdependences (numerical and statistical kernels).

    A compares the m columns (attribute kind, A is (m, m)) or the b rows (instance kind, (b, b)) of
    the batch, so the output keeps the input's shape.

    Args:
        kind: ``attribute`` or ``instance``.
        b: instance kind: the number of rows, checked when given.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    def __init__(self, m: int, kind: str = "attribute", b: int | None = None) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        self.b_out = b
        super().__init__(m, kind=kind, b=b)


class NamedKernelInterdependence(Interdependence):
    """Base of the interdependences that delegate to a kernel chosen by name: ``kernel`` names one of
    :attr:`CHOICES` (or is a dict with its options) and is built with this module's kind and b.

    The reference took a Python callable; a config names a registered kernel instead.

    Shape:
        attribute (..., b, m) -> (..., b, m); instance (..., b, D) -> (..., b, D).
    """

    #: The registered names ``kernel`` may take.
    CHOICES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, m: int, kind: str, kernel: Any, b: int | None = None) -> None:
        kind = check_kind(kind)
        b = check_b(b)
        name = spec_name(kernel)
        cls = get_class("interdependence", name, child_path("kernel")) if isinstance(name, str) else None
        if cls is None or cls.registry_name not in self.CHOICES:
            raise ConfigError(f"kernel must name one of {list(self.CHOICES)}, got {kernel!r}", child_path("kernel"))
        self.b_out = b
        super().__init__(m, kind=kind, b=b)
        self.kernel = build("interdependence", child_spec(kernel, "kernel", kind, b), path=child_path("kernel"), m=m)

    def matrix(self, x: Tensor) -> Tensor:
        return self.kernel.matrix(x)

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        return self.kernel.mix(x, data)
