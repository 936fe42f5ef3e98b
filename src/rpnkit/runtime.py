"""Process-level settings that make CPU training and inference fast and steady.

PyTorch's CPU tensors come straight from the C library's ``malloc``. With glibc's default settings
a buffer of a few hundred kilobytes or more (one (256, 784) float32 activation is 0.8 MB) is
mapped fresh from the kernel when it is allocated, or the heap top is handed back to the kernel
when it is freed; either way the next tensor of that size page-faults on every page it touches.
An expansion that makes four temporaries then spends most of its time in the kernel's page-fault
path instead of in its arithmetic, and its time changes several-fold with the heap's history:
the Ricker wavelet expansion at m = 784, batch 256 took 0.3-2.8 ms in one process depending on
what ran before it, and 0.32 ms steadily after :func:`tune_cpu_allocator` (benchmarks/).

:func:`tune_cpu_allocator` asks glibc to serve large blocks from the heap and to keep freed memory
for reuse, which is what a caching allocator (PyTorch's CUDA allocator, jemalloc, tcmalloc) does.
The price: the process's resident memory stays at its high-water mark instead of shrinking after
a peak. ``rpnkit train`` and ``rpnkit evaluate`` apply it (``--no-tune-allocator`` turns it off);
in your own scripts call it once at start-up. (``rpnkit bench`` does not: it measures peak memory
from the resident size, which needs freed memory to go back to the kernel.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

from .errors import ConfigError
from .validation import check_int

__all__ = ["tune_cpu_allocator"]

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

#: glibc caps M_MMAP_THRESHOLD at HEAP_MAX / 2 = 32 MiB on 64-bit systems and rejects larger values
_MAX_MMAP_THRESHOLD = 32 * 1024 * 1024


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only (not musl)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def tune_cpu_allocator(
    mmap_threshold: int = _MAX_MMAP_THRESHOLD,
    trim_threshold: int = 1024 * 1024 * 1024,
    top_pad: int = 64 * 1024 * 1024,
) -> bool:
    """Make glibc's malloc reuse freed memory for tensors instead of returning it to the kernel.

    Args:
        mmap_threshold: blocks at least this large (bytes) are still mapped separately (and given
            back when freed); below it they come from the heap. At most 32 MiB (glibc's cap).
        trim_threshold: free memory at the heap top beyond this (bytes) is given back.
        top_pad: extra bytes requested whenever the heap grows, so that it grows rarely.

    Returns:
        True when the settings were applied (Linux with glibc); False elsewhere (macOS, Windows,
        musl), where nothing is changed.

    Example:
        >>> import rpnkit as rk
        >>> applied = rk.runtime.tune_cpu_allocator()  # True on Linux with glibc
    """
    for name, value in (("mmap_threshold", mmap_threshold), ("trim_threshold", trim_threshold), ("top_pad", top_pad)):
        check_int(value, name, 0, 2**31 - 1, describe="an int in [0, 2**31) bytes", path="")
    if mmap_threshold > _MAX_MMAP_THRESHOLD:
        raise ConfigError(
            f"mmap_threshold must be at most {_MAX_MMAP_THRESHOLD} bytes (glibc's cap), got {mmap_threshold}"
        )
    libc = _glibc()
    if libc is None:
        return False
    settings = ((_M_MMAP_THRESHOLD, mmap_threshold), (_M_TRIM_THRESHOLD, trim_threshold), (_M_TOP_PAD, top_pad))
    return all(libc.mallopt(param, value) == 1 for param, value in settings)
