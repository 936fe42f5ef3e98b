"""Discrete wavelet expansions: dilated and translated copies of a mother wavelet psi.

psi_{s,t}(x) = a^{-s/2} psi(x / a^s - t b) for s = 0..S-1 and t = 0..T-1, applied to every
feature; feature-major, so column j*S*T + s*T + t holds psi_{s,t}(x_j). With degree d > 1 the
output is the Taylor-style ordered tensor powers (orders 1..d) of that m*S*T vector.
D = sum_{i=1..d} (m S T)^i.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..base import Expansion
from ..functional import wavelet as W
from ..functional.polynomial import taylor, taylor_dim
from ..registry import register
from ..validation import check_int, check_real

__all__ = [
    "DiscreteWavelet",
    "HaarWavelet",
    "BetaWavelet",
    "ShannonWavelet",
    "RickerWavelet",
    "DoGWavelet",
    "MeyerWavelet",
]


class DiscreteWavelet(Expansion):
    """Abstract base of the discrete wavelet expansions; subclasses implement :meth:`mother`.

    Args:
        degree: d, the highest tensor power of the wavelet vector (>= 1; alias ``d``).
        scales: S, the number of scales (>= 1; alias ``s``).
        translations: T, the number of translations (>= 1; alias ``t``).
        a: dilation base (> 0; with a = 1 every scale is the same).
        b: translation step.

    Shape:
        (..., m) -> (..., sum_{i=1..d} (m S T)^i)
    """

    param_aliases = {"d": "degree", "s": "scales", "t": "translations"}

    def __init__(
        self,
        m: int,
        degree: int = 1,
        scales: int = 1,
        translations: int = 1,
        a: float = 1.0,
        b: float = 1.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.degree = check_int(degree, "degree")
        self.s = self.scales = check_int(scales, "scales")
        self.t = self.translations = check_int(translations, "translations")
        self.a = check_real(a, "a", gt=0.0)
        self.b = check_real(b, "b")
        super().__init__(m, preprocess=preprocess, postprocess=postprocess)

    def output_dim(self, m: int) -> int:
        return taylor_dim(m * self.s * self.t, self.degree)

    def mother(self, tau: Tensor) -> Tensor:
        """The mother wavelet psi, elementwise."""
        raise NotImplementedError

    def transform(self, x: Tensor) -> Tensor:
        z = W.dilate_translate(x, self.mother, self.s, self.t, self.a, self.b)
        return z if self.degree == 1 else taylor(z, self.degree)

    def extra_repr(self) -> str:
        return (
            super().extra_repr()
            + f", degree={self.degree}, scales={self.s}, translations={self.t}, a={self.a}, b={self.b}"
        )


@register("expansion", "haar_wavelet", aliases=["haar", "haar_wavelet_expansion", "harr_wavelet_expansion"])
class HaarWavelet(DiscreteWavelet):
    """Haar wavelet expansion: psi(tau) = 1 on [0, 1/2), -1 on [1/2, 1), 0 elsewhere.

    Piecewise constant, so its gradient is zero (the output stays in the autograd graph). The
    reference spells the class ``harr_wavelet_expansion``; both spellings are registered.

    Args:
        degree, scales, translations, a, b: see :class:`DiscreteWavelet`.

    Shape:
        (..., m) -> (..., sum_{i=1..d} (m S T)^i)

    Example:
        >>> import torch
        >>> HaarWavelet(4)(torch.tensor([-0.5, 0.0, 0.25, 0.75]))
        tensor([ 0.,  1.,  1., -1.])
    """

    def __init__(
        self,
        m: int,
        degree: int = 1,
        scales: int = 1,
        translations: int = 1,
        a: float = 1.0,
        b: float = 1.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        super().__init__(
            m,
            degree=degree,
            scales=scales,
            translations=translations,
            a=a,
            b=b,
            preprocess=preprocess,
            postprocess=postprocess,
        )

    def mother(self, tau: Tensor) -> Tensor:
        return W.haar(tau)


@register("expansion", "beta_wavelet", aliases=["beta_wavelet_expansion"])
class BetaWavelet(DiscreteWavelet):
    """Beta wavelet expansion: psi(tau) = u^{alpha-1} (1 - u)^{beta-1} / B(alpha, beta) with u = sigmoid(tau).

    The Beta density lives on [0, 1]. The reference applies a sigmoid to *every* tau of the batch
    only when some tau lies outside [0, 1] (a data-dependent switch that makes one sample's
    features depend on the rest of the batch); here the rule is fixed: tau is always squashed by
    the sigmoid. The log-space evaluation keeps u strictly inside (0, 1), so the output is finite
    for alpha, beta >= 1 and every finite tau. The reference's defaults alpha = beta = 1 make psi
    the constant 1 (a useless feature); the defaults here are alpha = beta = 2 (psi = 6 u (1 - u)).

    Args:
        degree, scales, translations, a, b: see :class:`DiscreteWavelet`.
        alpha, beta: shape parameters (> 0).

    Shape:
        (..., m) -> (..., sum_{i=1..d} (m S T)^i)
    """

    def __init__(
        self,
        m: int,
        degree: int = 1,
        scales: int = 1,
        translations: int = 1,
        a: float = 1.0,
        b: float = 1.0,
        alpha: float = 2.0,
        beta: float = 2.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.alpha = check_real(alpha, "alpha", gt=0.0)
        self.beta = check_real(beta, "beta", gt=0.0)
        super().__init__(
            m,
            degree=degree,
            scales=scales,
            translations=translations,
            a=a,
            b=b,
            preprocess=preprocess,
            postprocess=postprocess,
        )

    def mother(self, tau: Tensor) -> Tensor:
        return W.beta_wavelet(tau, self.alpha, self.beta)


@register("expansion", "shannon_wavelet", aliases=["shannon", "shannon_wavelet_expansion"])
class ShannonWavelet(DiscreteWavelet):
    """Shannon wavelet expansion: psi(tau) = (sin 2 pi tau - sin pi tau) / (pi tau) = 2 sinc(2 tau) - sinc(tau).

    Written with sinc, so psi(0) = 1 (the limit; the reference returns NaN there) and the gradient
    is finite everywhere.

    Args:
        degree, scales, translations, a, b: see :class:`DiscreteWavelet`.

    Shape:
        (..., m) -> (..., sum_{i=1..d} (m S T)^i)
    """

    def __init__(
        self,
        m: int,
        degree: int = 1,
        scales: int = 1,
        translations: int = 1,
        a: float = 1.0,
        b: float = 1.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        super().__init__(
            m,
            degree=degree,
            scales=scales,
            translations=translations,
            a=a,
            b=b,
            preprocess=preprocess,
            postprocess=postprocess,
        )

    def mother(self, tau: Tensor) -> Tensor:
        return W.shannon(tau)


@register("expansion", "ricker_wavelet", aliases=["ricker", "ricker_wavelet_expansion"])
class RickerWavelet(DiscreteWavelet):
    """Ricker (Mexican hat) wavelet expansion.

    psi(tau) = 2 (1 - (tau/sigma)^2) / (sqrt(3 sigma) pi^{1/4}) exp(-tau^2 / (2 sigma^2)).

    Args:
        degree, scales, translations, a, b: see :class:`DiscreteWavelet`.
        sigma: width (> 0).

    Shape:
        (..., m) -> (..., sum_{i=1..d} (m S T)^i)
    """

    def __init__(
        self,
        m: int,
        degree: int = 1,
        scales: int = 1,
        translations: int = 1,
        a: float = 1.0,
        b: float = 1.0,
        sigma: float = 1.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.sigma = check_real(sigma, "sigma", gt=0.0)
        super().__init__(
            m,
            degree=degree,
            scales=scales,
            translations=translations,
            a=a,
            b=b,
            preprocess=preprocess,
            postprocess=postprocess,
        )

    def mother(self, tau: Tensor) -> Tensor:
        return W.ricker(tau, self.sigma)


@register("expansion", "dog_wavelet", aliases=["dog", "dog_wavelet_expansion"])
class DoGWavelet(DiscreteWavelet):
    """Difference-of-Gaussians wavelet expansion: psi(tau) = N(tau; 0, sigma_1^2) - N(tau; 0, sigma_2^2).

    N is the normal density; sigma_1, sigma_2 are standard deviations.

    Args:
        degree, scales, translations, a, b: see :class:`DiscreteWavelet`.
        sigma_1, sigma_2: the two widths (> 0).

    Shape:
        (..., m) -> (..., sum_{i=1..d} (m S T)^i)
    """

    def __init__(
        self,
        m: int,
        degree: int = 1,
        scales: int = 1,
        translations: int = 1,
        a: float = 1.0,
        b: float = 1.0,
        sigma_1: float = 1.0,
        sigma_2: float = 2.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        self.sigma_1 = check_real(sigma_1, "sigma_1", gt=0.0)
        self.sigma_2 = check_real(sigma_2, "sigma_2", gt=0.0)
        super().__init__(
            m,
            degree=degree,
            scales=scales,
            translations=translations,
            a=a,
            b=b,
            preprocess=preprocess,
            postprocess=postprocess,
        )

    def mother(self, tau: Tensor) -> Tensor:
        return W.difference_of_gaussians(tau, self.sigma_1, self.sigma_2)


@register("expansion", "meyer_wavelet", aliases=["meyer", "meyer_wavelet_expansion"])
class MeyerWavelet(DiscreteWavelet):
    """Meyer wavelet expansion (the reference's closed form).

    psi(tau) = (sin(2 pi tau / 3) + (4/3) tau cos(4 pi tau / 3)) / (pi tau - (16 pi / 9) tau^3).

    The quotient is 0/0 at tau = 0 and tau = +-3/4 (the reference returns NaN/inf there); it is
    evaluated through an equivalent sum of sinc terms (see :func:`rpnkit.functional.wavelet.meyer`)
    that takes the limits psi(0) = 2/3 + 4/(3 pi) and psi(+-3/4) = 2/(3 pi), with finite gradients.

    Args:
        degree, scales, translations, a, b: see :class:`DiscreteWavelet`.

    Shape:
        (..., m) -> (..., sum_{i=1..d} (m S T)^i)
    """

    def __init__(
        self,
        m: int,
        degree: int = 1,
        scales: int = 1,
        translations: int = 1,
        a: float = 1.0,
        b: float = 1.0,
        preprocess: Any = None,
        postprocess: Any = None,
    ) -> None:
        super().__init__(
            m,
            degree=degree,
            scales=scales,
            translations=translations,
            a=a,
            b=b,
            preprocess=preprocess,
            postprocess=postprocess,
        )

    def mother(self, tau: Tensor) -> Tensor:
        return W.meyer(tau)
