"""torch's intra-op thread count for a run (``train.threads``: ``auto`` or an int).

torch starts one intra-op thread per core. A small model's batch is a few hundred microseconds of
arithmetic, far less than what it costs to wake and join the threads, and beside other busy
processes those threads oversubscribe the cores: every step then waits for the slowest thread's
time slice. ``auto`` (the default) gives a run one thread when its per-step work is small (weights
plus one batch's activations, as :func:`rpnkit.train.model_summary.estimate` counts them, under
:data:`SMALL_WORK`), and otherwise one thread per :data:`SMALL_WORK` of work, at most the cores
that other processes leave idle (by the one-minute load average) and at most torch's own count. On
a GPU ``auto`` leaves torch's count alone. An int sets the count. :func:`threads_for` applies it for
the duration of a ``with`` block and restores the previous count after (docs/experiments.md has the
measured times).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from ..config.experiment import check_threads

__all__ = ["SMALL_WORK", "check_threads", "choose_threads", "threads_for"]

#: Bytes of work per step (weights + one batch's activations) below which one thread is fastest.
SMALL_WORK = 64 * 1024 * 1024


def _idle_cores() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except (AttributeError, OSError):  # pragma: no cover
        busy = 0
    return max(1, cores - busy)


def choose_threads(value: str | int, model: nn.Module, batch_size: int, device: Any = "cpu") -> int | None:
    """The thread count for ``train.threads`` (None: leave torch's count, on a non-CPU device)."""
    value = check_threads(value)
    if isinstance(value, int):
        return value
    if torch.device(device).type != "cpu":
        return None
    from .model_summary import estimate

    weights, activations = estimate(model, batch_size)
    work = weights + activations
    if work < SMALL_WORK:
        return 1
    return max(1, min(work // SMALL_WORK, _idle_cores(), torch.get_num_threads()))


@contextlib.contextmanager
def threads_for(count: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count inside the block (None: unchanged) and restore it after."""
    before = torch.get_num_threads()
    if count is not None and count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
