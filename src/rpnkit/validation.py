"""The one home of argument checks: config paths, did-you-mean hints, numbers, choices and shapes.

Every user-facing check in rpnkit goes through this module so that errors read alike: they name the
config path of the offending value (``layers[1].head.reconciliation.p``), what was expected and what
was given, and suggest the closest valid spelling. Configuration problems raise
:class:`~rpnkit.errors.ConfigError`; tensors of the wrong shape raise :class:`~rpnkit.errors.ShapeError`.

Two message styles, one implementation: given a ``name``, a check says ``"degree must be an int >= 1,
got 0"`` (components, whose config path is the current build path plus ``name``); without one it says
``"expected an int >= 1, got 0"`` at the ``path`` it is given (experiment sections, data options).

The *config path* of the component being built is kept in a context variable that
:func:`rpnkit.registry.build` sets (:func:`at_path`); :func:`child_path` extends it.

Example:
    >>> check_int(3, "degree")
    3
    >>> check_int(0, "degree")
    Traceback (most recent call last):
    ...
    rpnkit.errors.ConfigError: degree: degree must be an int >= 1, got 0
    >>> did_you_mean("rnak", ["rank", "p", "bias"])
    "; did you mean 'rank'?"
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .errors import ConfigError, ShapeError

__all__ = [
    "config_path",
    "child_path",
    "at_path",
    "join_path",
    "did_you_mean",
    "unknown_key",
    "unknown_name",
    "check_int",
    "check_real",
    "check_bool",
    "check_choice",
    "check_fraction",
    "check_factor",
    "check_mapping",
    "check_finite",
    "divisors",
    "describe_divisors",
    "check_last_dim",
    "check_tensor",
    "check_input_dtype",
    "check_width",
    "check_count",
]

# ---------------------------------------------------------------------------------------- config paths

_PATH: contextvars.ContextVar[str] = contextvars.ContextVar("rpnkit_config_path", default="")


def config_path() -> str:
    """The config path of the component being built (empty outside :func:`rpnkit.registry.build`)."""
    return _PATH.get()


def join_path(path: str, key: str | int) -> str:
    """``path.key`` (or ``path[i]`` for an int key); ``key`` alone when ``path`` is empty."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def child_path(key: str | int) -> str:
    """The config path of a child of the component being built: ``parent.key`` or ``parent[i]``."""
    return join_path(_PATH.get(), key)


@contextlib.contextmanager
def at_path(path: str) -> Iterator[None]:
    """Make ``path`` the current config path while building children."""
    token = _PATH.set(path)
    try:
        yield
    finally:
        _PATH.reset(token)


def _where(name: str | None, path: str | None) -> str:
    """The path an error is reported at: the given one, else the build path plus ``name``."""
    if path is not None:
        return path
    if name is None or "[" in name or " " in name:
        return config_path()
    return child_path(name)


# ------------------------------------------------------------------------------------- did you mean


def did_you_mean(value: Any, options: Iterable[Any], n: int = 1, cutoff: float = 0.5) -> str:
    """``"; did you mean 'x'?"`` (or ``'x' or 'y'`` for n > 1) for the closest options, else ``""``."""
    close = difflib.get_close_matches(str(value), [str(o) for o in options if o is not None], n=n, cutoff=cutoff)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def unknown_key(key: Any, valid: Iterable[str], owner: str, path: str = "") -> ConfigError:
    """The error for a key that ``owner`` does not accept (with a hint and the valid keys)."""
    valid = sorted(valid)
    return ConfigError(f"unknown key {key!r} for {owner}{did_you_mean(key, valid)} (valid keys: {valid})", path)


def unknown_name(what: str, name: Any, known: Iterable[str], path: str = "", see: str = "", n: int = 3) -> ConfigError:
    """The error for an unregistered name: ``unknown optimizer 'adamm'; did you mean 'adam'?``."""
    hint = did_you_mean(name, list(known), n=n)
    return ConfigError(f"unknown {what} {name!r}{hint}{f' ({see})' if see else ''}", path)


def check_mapping(value: Any, valid: Iterable[str], owner: str, path: str = "") -> dict[str, Any]:
    """A dict whose keys are all in ``valid``; unknown keys get :func:`unknown_key` at ``path.key``."""
    if not isinstance(value, dict):
        raise ConfigError(f"expected a mapping, got {value!r}", path)
    valid = list(valid)
    for key in value:
        if key not in valid:
            raise unknown_key(key, valid, owner, join_path(path, str(key)))
    return value


# -------------------------------------------------------------------------------------------- numbers


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fail(name: str | None, requirement: str, value: Any, path: str | None) -> ConfigError:
    subject = f"{name} must be" if name is not None else "expected"
    return ConfigError(f"{subject} {requirement}, got {value!r}", _where(name, path))


def check_int(
    value: Any,
    name: str | None = None,
    minimum: int | None = 1,
    maximum: int | None = None,
    *,
    allow_none: bool = False,
    path: str | None = None,
    note: str = "",
    describe: str | None = None,
) -> Any:
    """An int in [minimum, maximum] (``bool`` is rejected; None only with ``allow_none``).

    Args:
        value: the value to check.
        name: the argument's name; the message then reads ``"{name} must be an int >= 1, got 0"``.
        minimum, maximum: inclusive bounds (None for unbounded).
        allow_none: accept None (and say ``or null`` in the message).
        path: the config path to report; default: the current build path plus ``name``.
        note: text after the range, e.g. ``" (without repetition)"``.
        describe: the requirement in words when the bounds alone do not say it well
            (``"an int in [0, 2**31) bytes"``).
    """
    if value is None and allow_none:
        return None
    ok = _is_int(value) and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        if describe is not None:
            requirement = describe
        elif maximum is not None:
            requirement = f"an int in [{minimum}, {maximum}]"
        elif minimum is not None:
            requirement = f"an int >= {minimum}"
        else:
            requirement = "an int"
        raise _fail(name, requirement + note + (" or null" if allow_none else ""), value, path)
    return value


def check_real(
    value: Any,
    name: str | None = None,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    allow_none: bool = False,
    path: str | None = None,
) -> Any:
    """A finite real number (``bool``, NaN and infinities rejected), optionally bounded; returns a float."""
    if value is None and allow_none:
        return None
    if not _is_real(value) or not math.isfinite(value):
        raise _fail(name, "a finite number" + (" or null" if allow_none else ""), value, path)
    for op, bound, test in (
        (">", gt, lambda v, b: v > b),
        (">=", ge, lambda v, b: v >= b),
        ("<", lt, lambda v, b: v < b),
        ("<=", le, lambda v, b: v <= b),
    ):
        if bound is not None and not test(value, bound):
            raise _fail(name, f"{op} {bound}", value, path)
    return float(value)


def check_fraction(value: Any, name: str | None = None, allow_zero: bool = True, *, path: str | None = None) -> float:
    """A number in [0, 1) (or (0, 1) without ``allow_zero``)."""
    ok = _is_real(value) and (value >= 0 if allow_zero else value > 0) and value < 1
    if not ok:
        raise _fail(name, f"a number in {'[0, 1)' if allow_zero else '(0, 1)'}", value, path)
    return float(value)


def check_bool(value: Any, name: str | None = None, *, allow_none: bool = False, path: str | None = None) -> Any:
    """A bool (ints are not accepted, so ``k: 1`` meant as a count is caught)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, bool):
        raise _fail(name, "a bool" if name is not None else "true or false", value, path)
    return value


def check_choice(value: Any, name: str | None, options: Sequence[Any], *, path: str | None = None) -> Any:
    """One of ``options`` (exact match), with a did-you-mean hint for near misses."""
    options = list(options)
    if any(value == o and type(value) is type(o) for o in options) or (value is None and None in options):
        return value
    hint = did_you_mean(value, options) if isinstance(value, str) else ""
    if name is not None:
        raise ConfigError(f"{name} must be one of {options}, got {value!r}{hint}", _where(name, path))
    shown = ", ".join("null" if c is None else repr(c) for c in options)
    raise ConfigError(f"expected one of {shown}, got {value!r}{hint}", _where(None, path))


def check_finite(value: Any, path: str, name: str | None = None, depth: int = 0) -> Any:
    """Refuse NaN and infinities anywhere in plain config data (numbers, lists, dicts), at their path.

    A NaN hyperparameter compares false with every bound, so it would slip through range checks and
    turn training into NaN later (blamed on the learning rate); no option of rpnkit means NaN or inf.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(name, "a finite number", value, path)
    if depth < 64:
        if isinstance(value, dict):
            for key, item in value.items():
                check_finite(item, join_path(path, str(key)), None, depth + 1)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                check_finite(item, join_path(path, i), None, depth + 1)
    return value


# -------------------------------------------------------------------------------------------- factors


def divisors(n: int) -> list[int]:
    """All positive divisors of ``n`` in increasing order.

    Example:
        >>> divisors(12)
        [1, 2, 3, 4, 6, 12]
    """
    small, large = [], []
    for i in range(1, math.isqrt(n) + 1):
        if n % i == 0:
            small.append(i)
            if i != n // i:
                large.append(n // i)
    return small + large[::-1]


def describe_divisors(n: int, near: int | None = None, limit: int = 16) -> str:
    """The divisors of n as text, the ``limit`` closest to ``near`` when there are many."""
    found = divisors(n)
    if len(found) > limit:
        centre = near if near is not None else math.isqrt(n)
        found = sorted(sorted(found, key=lambda d: abs(d - centre))[:limit])
        return ", ".join(map(str, found)) + ", ..."
    return ", ".join(map(str, found))


def check_factor(value: Any, name: str, total: int, total_name: str) -> int:
    """A positive int that divides ``total``; the error lists the valid choices."""
    if not _is_int(value) or value < 1 or total % value:
        raise ConfigError(
            f"{name}={value!r} must be a positive divisor of {total_name}={total}; "
            f"valid choices: {describe_divisors(total, value if _is_int(value) else None)}",
            child_path(name),
        )
    return value


# --------------------------------------------------------------------------------------------- shapes


def check_tensor(x: Any, who: str) -> None:
    """Raise :class:`ShapeError` unless ``x`` is a torch tensor (a numpy array or a list says how to convert it)."""
    if not callable(getattr(x, "dim", None)) or not hasattr(x, "dtype") or type(x).__module__.startswith("numpy"):
        raise ShapeError(
            f"{who}: expected a torch.Tensor, got {type(x).__module__}.{type(x).__name__}; "
            "convert it with torch.as_tensor(x, dtype=torch.float32)"
        )


def check_input_dtype(x: Any, dtype: Any, who: str) -> None:
    """Raise :class:`ShapeError` unless ``x`` has the model's floating ``dtype`` (None: not checked)."""
    if dtype is not None and x.dtype != dtype:
        have, want = str(x.dtype).replace("torch.", ""), str(dtype).replace("torch.", "")
        other = f" (or the model with model.to(torch.{have}))" if x.dtype.is_floating_point else ""
        raise ShapeError(
            f"{who}: the input is {have} but the model is {want}; convert it with x.to(torch.{want}){other}"
        )


def check_last_dim(x: Any, expected: int, who: str, name: str = "m") -> None:
    """Raise :class:`ShapeError` unless ``x`` is a tensor with ``x.shape[-1] == expected``."""
    check_tensor(x, who)
    if x.dim() == 0 or x.shape[-1] != expected:
        raise ShapeError(f"{who}: expected input of shape (..., {name}={expected}), got {tuple(x.shape)}")


def check_width(x: Any, expected: int, who: str, what: str) -> None:
    """Raise :class:`ShapeError` unless ``x``'s last dimension is ``expected`` (``what`` names the input)."""
    if x.dim() == 0 or x.shape[-1] != expected:
        raise ShapeError(f"{who}: {what} should have width {expected}, got {tuple(x.shape)}")


def check_count(items: Sequence[Any], expected: int, who: str, what: str = "inputs") -> None:
    """Raise :class:`ShapeError` unless there are ``expected`` items."""
    if len(items) != expected:
        raise ShapeError(f"{who}: expected {expected} {what}, got {len(items)}")
