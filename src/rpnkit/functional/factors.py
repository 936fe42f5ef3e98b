"""Integer helpers for structured reconciliations (factor choices that divide n and D)."""

from __future__ import annotations

import math

from ..validation import describe_divisors, divisors

__all__ = ["divisors", "close_factor", "describe_divisors"]


def close_factor(n: int) -> int:
    """The largest divisor of ``n`` that is at most sqrt(n) (the reference's default factor).

    Example:
        >>> close_factor(64), close_factor(615440)
        (8, 784)
    """
    best = 1
    for i in range(1, math.isqrt(n) + 1):
        if n % i == 0:
            best = i
    return best
