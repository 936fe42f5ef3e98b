"""Orthogonal (and related) polynomial expansions: orders 1..degree of each feature, feature-major.

Every class here maps x in R^m to [p_1(x_1), ..., p_d(x_1), p_1(x_2), ...] (column j*d + k - 1
holds p_k(x_j)), so D = m*d; the constant p_0 is dropped. The maths follows x's dtype (the
reference computed in float32 whatever the input) and device.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..base import Expansion
from ..errors import ConfigError
from ..functional import orthogonal as O
from ..functional.polynomial import feature_major
from ..registry import register
from ..validation import check_int, check_real

__all__ = [
    "Chebyshev",
    "Jacobi",
    "Legendre",
    "Hermite",
    "Laguerre",
    "Gegenbauer",
    "Bessel",
    "ReverseBessel",
    "Fibonacci",
    "Lucas",
]


class _PolynomialFamily(Expansion):
    """Base: ``self.degree`` orders of a one-variable family, feature-major."""

    finite_domain = (
        "a polynomial of degree d: finite while |x|^d (times the family's coefficients) stays below "
        "the dtype's maximum (float32: about 3.4e38 ** (1/d))"
    )

    polynomial_growth = True
    param_aliases = {"d": "degree"}

    degree: int

    def output_dim(self, m: int) -> int:
        return m * self.degree

    def basis(self, x: Tensor) -> Tensor:
        """(..., m) -> (..., m, degree)."""
        raise NotImplementedError

    def transform(self, x: Tensor) -> Tensor:
        return feature_major(self.basis(x))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.degree}"


@register("expansion", "chebyshev", aliases=["chebyshev_expansion"])
class Chebyshev(_PolynomialFamily):
    """Chebyshev polynomials of the first kind T_1..T_d of each feature, feature-major; D = m*d.

    T_0 = 1, T_1 = x, T_k = 2x T_{k-1} - T_{k-2} (T_0 is dropped).

    Example:
        >>> import torch
        >>> Chebyshev(1, degree=3)(torch.tensor([0.5]))
        tensor([ 0.5000, -0.5000, -1.0000])
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = check_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.chebyshev(x, self.degree)


@register("expansion", "jacobi", aliases=["jacobi_expansion"])
class Jacobi(_PolynomialFamily):
    """Jacobi polynomials P_1^{(alpha,beta)}..P_d^{(alpha,beta)} of each feature; D = m*d.

    P_0 = 1, P_1 = ((alpha - beta) + (alpha + beta + 2) x) / 2, then the standard three-term
    recurrence (see :func:`rpnkit.functional.orthogonal.jacobi`). Orthogonal on [-1, 1] with weight
    (1 - x)^alpha (1 + x)^beta.

    Args:
        degree: d (>= 1).
        alpha, beta: parameters (> -1).

    Shape:
        (..., m) -> (..., m*d)
    """

    def __init__(
        self,
        m: int,
        degree: int = 2,
        alpha: float = 1.0,
        beta: float = 1.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.degree = check_int(degree, "degree")
        self.alpha = check_real(alpha, "alpha", gt=-1.0)
        self.beta = check_real(beta, "beta", gt=-1.0)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.jacobi(x, self.degree, self.alpha, self.beta)


@register("expansion", "legendre", aliases=["legendre_expansion"])
class Legendre(_PolynomialFamily):
    """Legendre polynomials P_1..P_d of each feature; D = m*d.

    P_0 = 1, P_1 = x, n P_n = (2n - 1) x P_{n-1} - (n - 1) P_{n-2}.

    Args:
        degree: d (>= 1).

    Shape:
        (..., m) -> (..., m*d)

    Example:
        >>> import torch
        >>> Legendre(1, degree=3)(torch.tensor([0.5]))
        tensor([ 0.5000, -0.1250, -0.4375])
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = check_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.legendre(x, self.degree)


@register("expansion", "hermite", aliases=["hermite_expansion"])
class Hermite(_PolynomialFamily):
    """Probabilists' Hermite polynomials He_1..He_d of each feature; D = m*d.

    He_0 = 1, He_1 = x, He_n = x He_{n-1} - (n - 1) He_{n-2} (orthogonal under the standard normal
    density). The reference registers this class under the wrong default name
    'chebyshev_polynomial_expansion'; here it is ``hermite``.

    Args:
        degree: d (>= 1).

    Shape:
        (..., m) -> (..., m*d)
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = check_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.hermite_e(x, self.degree)


@register("expansion", "laguerre", aliases=["laguerre_expansion"])
class Laguerre(_PolynomialFamily):
    """Generalised Laguerre polynomials L_1^{(alpha)}..L_d^{(alpha)} of each feature; D = m*d.

    L_0 = 1, L_1 = 1 + alpha - x, n L_n = (2n - 1 + alpha - x) L_{n-1} - (n - 1 + alpha) L_{n-2}.
    The reference codes L_1 as x + 1 + alpha (a sign bug that makes every order wrong); this
    class uses the correct L_1 and agrees with ``scipy.special.eval_genlaguerre``.

    Args:
        degree: d (>= 1).
        alpha: parameter (> -1).

    Shape:
        (..., m) -> (..., m*d)
    """

    def __init__(
        self, m: int, degree: int = 2, alpha: float = 1.0, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        self.degree = check_int(degree, "degree")
        self.alpha = check_real(alpha, "alpha", gt=-1.0)
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.laguerre(x, self.degree, self.alpha)


@register("expansion", "gegenbauer", aliases=["gegenbauer_expansion"])
class Gegenbauer(_PolynomialFamily):
    """Gegenbauer (ultraspherical) polynomials C_1^{(alpha)}..C_d^{(alpha)} of each feature; D = m*d.

    C_0 = 1, C_1 = 2 alpha x, n C_n = 2 x (n - 1 + alpha) C_{n-1} - (n - 2 + 2 alpha) C_{n-2}.

    Args:
        degree: d (>= 1).
        alpha: parameter (> -1/2 and != 0; alpha = 0 makes every C_n with n >= 1 vanish).

    Shape:
        (..., m) -> (..., m*d)
    """

    def __init__(
        self, m: int, degree: int = 2, alpha: float = 1.0, preprocess: Any = None, postprocess: Any = None
    ) -> None:
        self.degree = check_int(degree, "degree")
        self.alpha = check_real(alpha, "alpha", gt=-0.5)
        if self.alpha == 0:
            raise ConfigError("alpha must be != 0 (all Gegenbauer polynomials of order >= 1 vanish), got 0")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.gegenbauer(x, self.degree, self.alpha)


@register("expansion", "bessel", aliases=["bessel_expansion"])
class Bessel(_PolynomialFamily):
    """Bessel polynomials y_1..y_d of each feature; D = m*d.

    y_0 = 1, y_1 = x + 1, y_n = (2n - 1) x y_{n-1} + y_{n-2} (y_n(x) = sum_k (n+k)!/((n-k)! k!) (x/2)^k).
    The values grow like (2n)!/n! |x/2|^n: keep inputs small (e.g. a tanh preprocess).

    Args:
        degree: d (>= 1).

    Shape:
        (..., m) -> (..., m*d)
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = check_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.bessel(x, self.degree)


@register("expansion", "reverse_bessel", aliases=["reverse_bessel_expansion"])
class ReverseBessel(_PolynomialFamily):
    """Reverse Bessel polynomials theta_1..theta_d of each feature; D = m*d.

    theta_0 = 1, theta_1 = x + 1, theta_n = (2n - 1) theta_{n-1} + x^2 theta_{n-2}
    (theta_n(x) = x^n y_n(1/x)).

    Args:
        degree: d (>= 1).

    Shape:
        (..., m) -> (..., m*d)
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = check_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.reverse_bessel(x, self.degree)


@register("expansion", "fibonacci", aliases=["fibonacci_expansion"])
class Fibonacci(_PolynomialFamily):
    """Fibonacci polynomials F_1..F_d of each feature; D = m*d.

    F_0 = 0, F_1 = 1, F_n = x F_{n-1} + F_{n-2}. As in the reference, F_1 (the constant 1) is kept
    so that the layout and D match; it acts as a per-feature bias column.

    Args:
        degree: d (>= 1).

    Shape:
        (..., m) -> (..., m*d)
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = check_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.fibonacci(x, self.degree)


@register("expansion", "lucas", aliases=["lucas_expansion"])
class Lucas(_PolynomialFamily):
    """Lucas polynomials L_1..L_d of each feature; D = m*d.

    L_0 = 2, L_1 = x, L_n = x L_{n-1} + L_{n-2}.

    Args:
        degree: d (>= 1).

    Shape:
        (..., m) -> (..., m*d)
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = check_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def basis(self, x: Tensor) -> Tensor:
        return O.lucas(x, self.degree)
