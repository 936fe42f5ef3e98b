"""Classical orthogonal (and related) polynomial families by three-term recurrences.

Every function returns the orders 1..degree of its family evaluated at each entry of x, stacked on
a new last axis: (..., m) -> (..., m, degree). Order 0 (a constant) is never returned. The maths
follows x's dtype and device; coefficients are Python numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

__all__ = [
    "interleaved_recurrence",
    "chebyshev",
    "jacobi",
    "legendre",
    "hermite_e",
    "laguerre",
    "gegenbauer",
    "bessel",
    "reverse_bessel",
    "fibonacci",
    "lucas",
]


def interleaved_recurrence(
    x: Tensor, degree: int, first: Tensor | float, second: Tensor, step: Callable[[int, Tensor, Tensor], Tensor]
) -> Tensor:
    """P_1..P_degree of a three-term recurrence on a new last axis, written into one output tensor.

    ``step(k, P_{k-1}, P_{k-2})`` returns P_k; P_0 may be a Python number (most families start from
    a constant):
    each term is copied into its slice of a fresh (..., m, degree) tensor (x is never written to;
    autograd records the slice copies).

    Shape:
        (..., m) -> (..., m, degree)
    """
    out = x.new_empty(*x.shape, degree)
    out[..., 0] = second
    prev2, prev1 = first, second
    for k in range(2, degree + 1):
        prev2, prev1 = prev1, step(k, prev1, prev2)
        out[..., k - 1] = prev1
    return out


def chebyshev(x: Tensor, degree: int) -> Tensor:
    """Chebyshev polynomials of the first kind: T_0 = 1, T_1 = x, T_n = 2x T_{n-1} - T_{n-2}."""
    return interleaved_recurrence(x, degree, 1.0, x, lambda n, p1, p2: 2 * x * p1 - p2)


def jacobi(x: Tensor, degree: int, alpha: float, beta: float) -> Tensor:
    """Jacobi polynomials P_1^{(a,b)}..P_d^{(a,b)}.

    P_0 = 1, P_1 = ((a - b) + (a + b + 2) x) / 2, and for n >= 2 with c = 2n + a + b:
    2n (n + a + b)(c - 2) P_n = (c - 1)[c (c - 2) x + a^2 - b^2] P_{n-1} - 2 (n + a - 1)(n + b - 1) c P_{n-2}.
    Needs a, b > -1 (then no denominator vanishes).
    """
    a, b = float(alpha), float(beta)

    def step(n: int, p1: Tensor, p2: Tensor) -> Tensor:
        c = 2 * n + a + b
        lead = 2 * n * (n + a + b) * (c - 2)
        return ((c - 1) * (c * (c - 2) * x + a * a - b * b) * p1 - 2 * (n + a - 1) * (n + b - 1) * c * p2) / lead

    return interleaved_recurrence(x, degree, 1.0, ((a - b) + (a + b + 2) * x) / 2, step)


def legendre(x: Tensor, degree: int) -> Tensor:
    """Legendre polynomials: P_1 = x, n P_n = (2n - 1) x P_{n-1} - (n - 1) P_{n-2}."""
    return interleaved_recurrence(x, degree, 1.0, x, lambda n, p1, p2: ((2 * n - 1) * x * p1 - (n - 1) * p2) / n)


def hermite_e(x: Tensor, degree: int) -> Tensor:
    """Probabilists' Hermite polynomials: He_1 = x, He_n = x He_{n-1} - (n - 1) He_{n-2}."""
    return interleaved_recurrence(x, degree, 1.0, x, lambda n, p1, p2: x * p1 - (n - 1) * p2)


def laguerre(x: Tensor, degree: int, alpha: float) -> Tensor:
    """Generalised Laguerre polynomials L^{(a)}: L_0 = 1, L_1 = 1 + a - x,
    n L_n = (2n - 1 + a - x) L_{n-1} - (n - 1 + a) L_{n-2}.
    """
    a = float(alpha)
    return interleaved_recurrence(
        x, degree, 1.0, (1 + a) - x, lambda n, p1, p2: ((2 * n - 1 + a - x) * p1 - (n - 1 + a) * p2) / n
    )


def gegenbauer(x: Tensor, degree: int, alpha: float) -> Tensor:
    """Gegenbauer polynomials C^{(a)}: C_0 = 1, C_1 = 2 a x, n C_n = 2 x (n - 1 + a) C_{n-1} - (n - 2 + 2a) C_{n-2}."""
    a = float(alpha)
    return interleaved_recurrence(
        x,
        degree,
        1.0,
        2 * a * x,
        lambda n, p1, p2: (2 * (n - 1 + a) * x * p1 - (n - 2 + 2 * a) * p2) / n,
    )


def bessel(x: Tensor, degree: int) -> Tensor:
    """Bessel polynomials: y_0 = 1, y_1 = 1 + x, y_n = (2n - 1) x y_{n-1} + y_{n-2}."""
    return interleaved_recurrence(x, degree, 1.0, 1 + x, lambda n, p1, p2: (2 * n - 1) * x * p1 + p2)


def reverse_bessel(x: Tensor, degree: int) -> Tensor:
    """Reverse Bessel polynomials: t_0 = 1, t_1 = x + 1, t_n = (2n - 1) t_{n-1} + x^2 t_{n-2}."""
    x2 = x * x
    return interleaved_recurrence(x, degree, 1.0, x + 1, lambda n, p1, p2: (2 * n - 1) * p1 + x2 * p2)


def fibonacci(x: Tensor, degree: int) -> Tensor:
    """Fibonacci polynomials F_1..F_d: F_0 = 0, F_1 = 1, F_n = x F_{n-1} + F_{n-2} (F_1 is the constant 1)."""
    return interleaved_recurrence(x, degree, 0.0, 1.0, lambda n, p1, p2: x * p1 + p2)


def lucas(x: Tensor, degree: int) -> Tensor:
    """Lucas polynomials L_1..L_d: L_0 = 2, L_1 = x, L_n = x L_{n-1} + L_{n-2}."""
    return interleaved_recurrence(x, degree, 2.0, x, lambda n, p1, p2: x * p1 + p2)
