"""Integer helpers for structured reconciliations (factor choices that divide n and D)."""

from __future__ import annotations

import math

__all__ = ["divisors", "close_factor", "describe_divisors"]


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


def describe_divisors(n: int, near: int | None = None, limit: int = 16) -> str:
    """The divisors of n as text, the ``limit`` closest to ``near`` when there are many."""
    found = divisors(n)
    if len(found) > limit:
        centre = near if near is not None else math.isqrt(n)
        found = sorted(sorted(found, key=lambda d: abs(d - centre))[:limit])
        return ", ".join(map(str, found)) + ", ..."
    return ", ".join(map(str, found))
