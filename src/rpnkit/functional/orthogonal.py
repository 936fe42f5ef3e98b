"""Classical orthogonal (and related) polynomial families by three-term recurrences.

Every function returns the orders 1..degree of its family evaluated at each entry of x, stacked on
a new last axis: (..., m) -> (..., m, degree). Order 0 (a constant) is never returned. The maths
follows x's dtype and device; coefficients are Python numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .polynomial import interleave

__all__ = [
    "affine_recurrence",
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

#: (alpha_n, beta_n, gamma_n) of P_n = (alpha_n x + beta_n) P_{n-1} + gamma_n P_{n-2}, for n >= 2
Coefficients = Callable[[int], tuple[float, float, float]]


def _affine_step(x: Tensor, p1: Tensor, p2: Tensor | float, alpha: float, beta: float, gamma: float) -> Tensor:
    """(alpha x + beta) p1 + gamma p2 as a few in-place passes over one fresh tensor (never p1, p2 or x)."""
    if isinstance(p2, Tensor):
        if gamma == 1.0:
            out = torch.addcmul(p2, x, p1, value=alpha)
        else:
            out = torch.mul(p2, gamma).addcmul_(x, p1, value=alpha)
    else:  # a constant P_0: one fused pass, the constant filled on x's device (no host copy)
        out = torch.addcmul(x.new_full((), gamma * p2), x, p1, value=alpha)
    return out.add_(p1, alpha=beta) if beta != 0.0 else out


def affine_recurrence(x: Tensor, degree: int, p0: float, p1: Tensor | float, coefficients: Coefficients) -> Tensor:
    """P_1..P_degree of P_n = (alpha_n x + beta_n) P_{n-1} + gamma_n P_{n-2} on a new last axis.

    P_0 is a number (every family here starts from a constant) and P_1 a tensor or a number; each
    order costs two or three fused elementwise passes, and the orders are written once into the
    (..., m, degree) output by :func:`~rpnkit.functional.polynomial.interleave`. x is never written to.

    Shape:
        (..., m) -> (..., m, degree)
    """
    first = p1 if isinstance(p1, Tensor) else torch.full_like(x, p1)
    terms = [first]
    prev2: Tensor | float = p0
    for n in range(2, degree + 1):
        terms.append(_affine_step(x, terms[-1], prev2, *coefficients(n)))
        prev2 = terms[-2]
    return interleave(terms)


def _affine(x: Tensor, scale: float, shift: float) -> Tensor:
    """scale x + shift (x itself when that is the identity)."""
    if scale == 1.0 and shift == 0.0:
        return x
    out = torch.mul(x, scale)
    return out.add_(shift) if shift != 0.0 else out


def chebyshev(x: Tensor, degree: int) -> Tensor:
    """Chebyshev polynomials of the first kind: T_0 = 1, T_1 = x, T_n = 2x T_{n-1} - T_{n-2}."""
    return affine_recurrence(x, degree, 1.0, x, lambda n: (2.0, 0.0, -1.0))


def jacobi(x: Tensor, degree: int, alpha: float, beta: float) -> Tensor:
    """Jacobi polynomials P_1^{(a,b)}..P_d^{(a,b)}.

    P_0 = 1, P_1 = ((a - b) + (a + b + 2) x) / 2, and for n >= 2 with c = 2n + a + b:
    2n (n + a + b)(c - 2) P_n = (c - 1)[c (c - 2) x + a^2 - b^2] P_{n-1} - 2 (n + a - 1)(n + b - 1) c P_{n-2}.
    Needs a, b > -1 (then no denominator vanishes).
    """
    a, b = float(alpha), float(beta)

    def coefficients(n: int) -> tuple[float, float, float]:
        c = 2 * n + a + b
        lead = 2 * n * (n + a + b) * (c - 2)
        return (c - 1) * c * (c - 2) / lead, (c - 1) * (a * a - b * b) / lead, -2 * (n + a - 1) * (n + b - 1) * c / lead

    return affine_recurrence(x, degree, 1.0, _affine(x, (a + b + 2) / 2, (a - b) / 2), coefficients)


def legendre(x: Tensor, degree: int) -> Tensor:
    """Legendre polynomials: P_1 = x, n P_n = (2n - 1) x P_{n-1} - (n - 1) P_{n-2}."""
    return affine_recurrence(x, degree, 1.0, x, lambda n: ((2 * n - 1) / n, 0.0, -(n - 1) / n))


def hermite_e(x: Tensor, degree: int) -> Tensor:
    """Probabilists' Hermite polynomials: He_1 = x, He_n = x He_{n-1} - (n - 1) He_{n-2}."""
    return affine_recurrence(x, degree, 1.0, x, lambda n: (1.0, 0.0, -(n - 1.0)))


def laguerre(x: Tensor, degree: int, alpha: float) -> Tensor:
    """Generalised Laguerre polynomials L^{(a)}: L_0 = 1, L_1 = 1 + a - x,
    n L_n = (2n - 1 + a - x) L_{n-1} - (n - 1 + a) L_{n-2}.
    """
    a = float(alpha)
    return affine_recurrence(
        x, degree, 1.0, _affine(x, -1.0, 1.0 + a), lambda n: (-1.0 / n, (2 * n - 1 + a) / n, -(n - 1 + a) / n)
    )


def gegenbauer(x: Tensor, degree: int, alpha: float) -> Tensor:
    """Gegenbauer polynomials C^{(a)}: C_0 = 1, C_1 = 2 a x, n C_n = 2 x (n - 1 + a) C_{n-1} - (n - 2 + 2a) C_{n-2}."""
    a = float(alpha)
    return affine_recurrence(
        x, degree, 1.0, _affine(x, 2 * a, 0.0), lambda n: (2 * (n - 1 + a) / n, 0.0, -(n - 2 + 2 * a) / n)
    )


def bessel(x: Tensor, degree: int) -> Tensor:
    """Bessel polynomials: y_0 = 1, y_1 = 1 + x, y_n = (2n - 1) x y_{n-1} + y_{n-2}."""
    return affine_recurrence(x, degree, 1.0, _affine(x, 1.0, 1.0), lambda n: (2.0 * n - 1, 0.0, 1.0))


def reverse_bessel(x: Tensor, degree: int) -> Tensor:
    """Reverse Bessel polynomials: t_0 = 1, t_1 = x + 1, t_n = (2n - 1) t_{n-1} + x^2 t_{n-2}."""
    terms = [_affine(x, 1.0, 1.0)]
    if degree >= 2:
        x2 = x * x
        terms.append(torch.add(x2, terms[0], alpha=3.0))
        for n in range(3, degree + 1):
            terms.append(torch.mul(x2, terms[-2]).add_(terms[-1], alpha=2.0 * n - 1))
    return interleave(terms)


def fibonacci(x: Tensor, degree: int) -> Tensor:
    """Fibonacci polynomials F_1..F_d: F_0 = 0, F_1 = 1, F_n = x F_{n-1} + F_{n-2} (F_1 is the constant 1)."""
    return affine_recurrence(x, degree, 0.0, 1.0, lambda n: (1.0, 0.0, 1.0))


def lucas(x: Tensor, degree: int) -> Tensor:
    """Lucas polynomials L_1..L_d: L_0 = 2, L_1 = x, L_n = x L_{n-1} + L_{n-2}."""
    return affine_recurrence(x, degree, 2.0, x, lambda n: (1.0, 0.0, 1.0))
