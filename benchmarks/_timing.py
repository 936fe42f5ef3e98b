"""Timing helpers shared by the per-family benchmark scripts."""

from __future__ import annotations

import statistics
import time

#: the clock: ``time.perf_counter`` (wall) or ``time.process_time`` (CPU time of this process, which
#: a busy shared machine disturbs far less; use it with one thread). Set with :func:`use_cpu_time`.
CLOCK = time.perf_counter


def use_cpu_time(cpu_time: bool) -> None:
    global CLOCK
    CLOCK = time.process_time if cpu_time else time.perf_counter


def _elapsed(fn) -> float:
    start = CLOCK()
    fn()
    return CLOCK() - start


def paired_medians(first, second, repeats: int, warmup: int = 3) -> tuple[float, float]:
    """Median times of two callables, measured alternately so that machine noise hits both alike."""
    for _ in range(warmup):
        first()
        second()
    a, b = [], []
    for _ in range(repeats):
        a.append(_elapsed(first))
        b.append(_elapsed(second))
    return statistics.median(a), statistics.median(b)
