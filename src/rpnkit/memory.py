"""Memory limits: what the machine has, size estimates from dimensions, and a guard around building.

Everything here works from shapes and counts, before any tensor exists:

* :func:`available_memory` (bytes the machine can still give) and :func:`default_limit` (a fraction,
  :data:`DEFAULT_FRACTION`, of it): the limit a build or a run gets when none is given;
* :func:`parse_bytes` reads a limit from a config (``4GiB``, ``500 MB``, ``2e9``, null);
* :class:`SizeGuard` is a :class:`torch.overrides.TorchFunctionMode` that sees every tensor factory
  call (``torch.empty``, ``randn``, ``zeros``, ``Tensor.new_*``...) *before* it allocates: a request
  whose running total passes the limit, or whose size does not even fit in 64 bits (a Taylor degree
  of 50), is a :class:`~rpnkit.errors.ConfigError` at the config path of the component being built
  (``layers[0].head.reconciliation``), with the estimate and the option that changes the limit.
  With ``meta=True`` the factories build meta tensors: the model's structure and sizes, no memory.

Example:
    >>> import torch
    >>> with SizeGuard(limit=1024, option="max_bytes"):  # doctest: +ELLIPSIS
    ...     torch.empty(1000, 1000)
    Traceback (most recent call last):
    ...
    rpnkit.errors.ConfigError: needs at least 3.8 MiB (a (1,000, 1,000) float32 tensor); the limit is 1.0 KiB: ...
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from .errors import ConfigError
from .validation import config_path

__all__ = [
    "DEFAULT_FRACTION",
    "available_memory",
    "default_limit",
    "parse_bytes",
    "format_bytes",
    "SizeGuard",
    "check_rows",
]

#: The share of the machine's available memory a model build or a run may take by default.
DEFAULT_FRACTION = 0.75

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}
_UNITS.update({"t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def available_memory() -> int:
    """Bytes the machine can still hand out (``MemAvailable`` of /proc/meminfo, else the free pages)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return 16 * 2**30


def default_limit() -> int:
    """:data:`DEFAULT_FRACTION` of :func:`available_memory`."""
    return int(available_memory() * DEFAULT_FRACTION)


def format_bytes(n: float) -> str:
    """``3.8 MiB``; numbers too large for any unit read in TiB (or as a power of two)."""
    if n >= 2**80:
        return f"about 2^{math.log2(n):.0f} bytes"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def parse_bytes(value: Any, path: str) -> int | None:
    """A byte count from a config: an int or float > 0, or text ``"4GiB"``, ``"500 MB"``; None stays None.

    Example:
        >>> parse_bytes("1.5 GiB", "train.memory_limit")
        1610612736
    """
    if value is None:
        return None
    number, unit = value, ""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*", value)
        if match is None or match.group(2).lower() not in _UNITS:
            raise ConfigError(f"expected a size such as 8GiB, 500MB or a number of bytes, got {value!r}", path)
        number, unit = float(match.group(1)), match.group(2).lower()
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) or number <= 0:
        raise ConfigError(f"expected a size > 0 such as 8GiB, 500MB or a number of bytes, got {value!r}", path)
    return int(number * _UNITS[unit])


def check_rows(rows: int, columns: int, path: str, copies: int = 4, itemsize: int = 8) -> None:
    """Refuse a dataset of ``rows`` x ``columns`` numbers whose ``copies`` (float64 samples, float32 tensors,
    splits) would pass :func:`default_limit`, before any of it is drawn."""
    need = rows * columns * itemsize * copies
    limit = default_limit()
    if need > limit:
        raise ConfigError(
            f"{rows:,} rows of {columns} numbers need about {format_bytes(need)} while loading; the machine can "
            f"give about {format_bytes(limit)}: ask for fewer rows",
            path,
        )


# ---------------------------------------------------------------------------------------- the guard

_FACTORIES = {
    torch.empty,
    torch.zeros,
    torch.ones,
    torch.full,
    torch.rand,
    torch.randn,
    torch.randint,
    torch.empty_strided,
}
_SIZED_METHODS = {
    torch.Tensor.new_empty,
    torch.Tensor.new_zeros,
    torch.Tensor.new_ones,
    torch.Tensor.new_full,
}
_RANGES = {torch.arange, torch.linspace, torch.logspace, torch.randperm, torch.eye}
_INT64 = 2**63


def _shape_of(func: Any, args: tuple, kwargs: dict) -> tuple[int, ...] | None:
    """The requested shape of a factory call (None when it cannot be read: then it is not checked)."""
    if func in _SIZED_METHODS:
        args = args[1:]
    elif func is torch.randint:  # randint(high, size) or randint(low, high, size)
        args = tuple(a for a in args if isinstance(a, (tuple, list, torch.Size)))
    elif func is torch.full or func is torch.Tensor.new_full:
        args = args[:1]
    elif func is torch.empty_strided:
        args = args[:1]
    elif func in _RANGES:
        return _range_shape(func, args, kwargs)
    size = kwargs.get("size", args[0] if len(args) == 1 and not isinstance(args[0], int) else args)
    if isinstance(size, (tuple, list, torch.Size)) and all(isinstance(s, int) for s in size):
        return tuple(int(s) for s in size)
    return None


def _range_shape(func: Any, args: tuple, kwargs: dict) -> tuple[int, ...] | None:
    numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    if func is torch.randperm or func is torch.eye:
        if numbers and all(isinstance(a, int) for a in numbers):
            return tuple(numbers[:2]) if func is torch.eye else (numbers[0],)
        return None
    if func is torch.arange and numbers:
        start, end, step = (0, numbers[0], 1) if len(numbers) == 1 else (*numbers[:2], 1)
        step = numbers[2] if len(numbers) > 2 else step
        step = kwargs.get("step", step)
        if isinstance(step, (int, float)) and step and all(math.isfinite(v) for v in (start, end, step)):
            return (max(0, math.ceil((end - start) / step)),)
        return None
    if len(numbers) >= 3 or "steps" in kwargs:
        steps = kwargs.get("steps", numbers[2] if len(numbers) >= 3 else None)
        return (steps,) if isinstance(steps, int) else None
    return None


def _describe(shape: tuple[int, ...], dtype: torch.dtype) -> str:
    dims = ", ".join(f"{d:,}" if d < 10**15 else f"~1e{math.log10(d):.0f}" for d in shape)
    return f"a ({dims}) {str(dtype).replace('torch.', '')} tensor"


class SizeGuard(TorchFunctionMode):
    """Refuse, before it happens, a tensor allocation that passes ``limit`` bytes in total.

    Args:
        limit: bytes the guarded code may allocate through factory calls (None: only sizes that do
            not fit in 64 bits are refused).
        option: how the user raises the limit (``max_bytes``, ``train.memory_limit``), for the message.
        meta: build every factory tensor on the meta device (sizes only, no memory).

    Attributes:
        total: bytes requested so far through the factories it saw.
    """

    def __init__(self, limit: int | None = None, option: str = "max_bytes", meta: bool = False) -> None:
        super().__init__()
        self.limit = limit
        self.option = option
        self.meta = meta
        self.total = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = dict(kwargs or {})
        if func in _FACTORIES or func in _SIZED_METHODS or func in _RANGES:
            shape = _shape_of(func, args, kwargs)
            if shape is not None:
                self._check(func, shape, args, kwargs)
            if self.meta and func in _FACTORIES:
                kwargs["device"] = "meta"
        return func(*args, **kwargs)

    def _check(self, func: Any, shape: tuple[int, ...], args: tuple, kwargs: dict) -> None:
        dtype = kwargs.get("dtype")
        if not isinstance(dtype, torch.dtype):
            if func in _SIZED_METHODS and isinstance(args[0], torch.Tensor):
                dtype = args[0].dtype
            elif func in (torch.randint, torch.randperm):
                dtype = torch.int64
            else:
                dtype = torch.get_default_dtype()
        numel = math.prod(shape)
        nbytes = numel * dtype.itemsize
        if any(d < 0 for d in shape):
            return  # torch says what is wrong with a negative size
        on_meta = self.meta or str(kwargs.get("device", "")) == "meta"
        if numel >= _INT64:
            raise ConfigError(
                f"{_describe(shape, dtype)} has {_big(numel)} entries, more than any machine can hold; "
                "choose smaller dimensions (degree, rank, widths)",
                config_path(),
            )
        if on_meta:
            return  # sizes only: nothing is allocated
        if self.limit is not None and self.total + nbytes > self.limit:
            raise ConfigError(
                f"needs at least {format_bytes(self.total + nbytes)} ({_describe(shape, dtype)}); the limit is "
                f"{format_bytes(self.limit)}: raise {self.option} or choose smaller dimensions",
                config_path(),
            )
        self.total += nbytes


def _big(n: int) -> str:
    return f"{n:,}" if n < 10**18 else f"about 10^{len(str(n)) - 1}"
