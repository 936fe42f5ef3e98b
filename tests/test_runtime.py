"""rpnkit.runtime: the glibc allocator settings and their use by the command line."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import rpnkit as rk
from rpnkit import cli
from rpnkit.runtime import _glibc

GLIBC = _glibc() is not None and hasattr(_glibc(), "mallinfo2")

# In a fresh interpreter: how many blocks glibc has mapped separately (mallinfo2().hblks) before and
# while a 1 MiB tensor is alive, with or without tune_cpu_allocator().
_PROBE = textwrap.dedent(
    """
    import ctypes, sys
    import torch
    import rpnkit as rk

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    if sys.argv[1] == "tuned":
        assert rk.runtime.tune_cpu_allocator()
    before = libc.mallinfo2().hblks
    tensor = torch.empty(256 * 1024)  # 1 MiB: above glibc's default 128 KiB mapping threshold
    print(libc.mallinfo2().hblks - before)
    """
)


@pytest.mark.skipif(not GLIBC, reason="needs Linux with glibc >= 2.33 (mallinfo2)")
def test_tuned_allocator_serves_tensors_from_the_heap():
    def mapped_blocks(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
        return int(out.stdout.strip())

    assert mapped_blocks("default") == 1  # glibc maps the tensor separately (page faults on first touch)
    assert mapped_blocks("tuned") == 0  # from the heap, where freed memory is kept for reuse


@pytest.mark.skipif(not GLIBC, reason="needs Linux with glibc")
def test_tune_reports_success_on_glibc():
    assert rk.runtime.tune_cpu_allocator() is True


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"mmap_threshold": 64 * 1024 * 1024}, "mmap_threshold must be at most 33554432 bytes"),
        ({"trim_threshold": -1}, "trim_threshold must be an int in [0, 2**31) bytes, got -1"),
        ({"top_pad": 1.5}, "top_pad must be an int in [0, 2**31) bytes, got 1.5"),
        ({"top_pad": True}, "top_pad must be an int"),
    ],
)
def test_bad_settings_name_the_argument(kwargs, message):
    with pytest.raises(ValueError) as err:
        rk.runtime.tune_cpu_allocator(**kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize("flag,expected", [([], 1), (["--no-tune-allocator"], 0)])
def test_cli_tunes_the_allocator_unless_told_not_to(monkeypatch, flag, expected):
    calls = []
    monkeypatch.setattr(rk.runtime, "tune_cpu_allocator", lambda: calls.append(1) or True)
    monkeypatch.setitem(cli._COMMANDS, "evaluate", lambda args: 0)
    assert cli.main(["evaluate", "some-run", *flag]) == 0
    assert len(calls) == expected
