"""Polynomial expansions: Taylor (ordered tensor powers), Fourier and Chebyshev."""

from __future__ import annotations

import warnings
from typing import Any

from torch import Tensor

from ..base import Expansion, positive_int
from ..functional.orthogonal import chebyshev
from ..functional.polynomial import feature_major, taylor, taylor_dim
from ..functional.trigonometric import fourier
from ..registry import register
from ._checks import real

__all__ = ["Taylor", "Fourier", "Chebyshev"]


@register("expansion", "taylor", aliases=["taylor_expansion"])
class Taylor(Expansion):
    """kappa(x) = [x, x (x) x, ..., x^{(x) d}]: the ordered tensor powers of orders 1..d.

    The layout is the reference system's: order blocks one after another, and within order i the
    column ``sum_k j_k m^{i-k}`` holds ``x_{j_1} ... x_{j_i}`` (duplicates kept). D = m + ... + m^d.

    Args:
        degree: d (>= 1).

    Example:
        >>> import torch
        >>> Taylor(2, degree=2)(torch.tensor([1.0, 2.0]))
        tensor([1., 2., 1., 2., 2., 4.])
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = positive_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)
        if self.D > 10**7:
            warnings.warn(f"taylor: D = {self.D:,} features per sample; consider a lower degree", stacklevel=2)

    def output_dim(self, m: int) -> int:
        return taylor_dim(m, self.degree)

    def transform(self, x: Tensor) -> Tensor:
        return taylor(x, self.degree)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.degree}"


@register("expansion", "fourier", aliases=["fourier_expansion"])
class Fourier(Expansion):
    """Truncated Fourier series features: for k = 1..N the blocks cos(2 pi k x / P) and sin(2 pi k x / P).

    Block-major (m columns per block), harmonic by harmonic: column (2(k-1)) m + j holds
    cos(2 pi k x_j / P) and column (2(k-1) + 1) m + j holds sin(2 pi k x_j / P). D = 2 m N.

    Args:
        P: period (> 0).
        N: number of harmonics (>= 1).

    Shape:
        (..., m) -> (..., 2 m N)

    Example:
        >>> import torch
        >>> Fourier(1, P=8.0, N=1)(torch.tensor([1.0]))  # [cos(pi/4), sin(pi/4)]
        tensor([0.7071, 0.7071])
    """

    def __init__(self, m: int, P: float = 10.0, N: int = 5, preprocess: Any = None, postprocess: Any = None) -> None:
        self.P = real(P, "P", gt=0.0)
        self.N = positive_int(N, "N")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def output_dim(self, m: int) -> int:
        return 2 * m * self.N

    def transform(self, x: Tensor) -> Tensor:
        return fourier(x, self.N, self.P)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", P={self.P}, N={self.N}"


@register("expansion", "chebyshev", aliases=["chebyshev_expansion"])
class Chebyshev(Expansion):
    """Chebyshev polynomials of the first kind T_1..T_d of each feature, feature-major; D = m*d.

    T_0 = 1, T_1 = x, T_k = 2x T_{k-1} - T_{k-2} (T_0 is dropped).

    Example:
        >>> import torch
        >>> Chebyshev(1, degree=3)(torch.tensor([0.5]))
        tensor([ 0.5000, -0.5000, -1.0000])
    """

    def __init__(self, m: int, degree: int = 2, preprocess: Any = None, postprocess: Any = None) -> None:
        self.degree = positive_int(degree, "degree")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def output_dim(self, m: int) -> int:
        return m * self.degree

    def transform(self, x: Tensor) -> Tensor:
        return feature_major(chebyshev(x, self.degree))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", degree={self.degree}"
