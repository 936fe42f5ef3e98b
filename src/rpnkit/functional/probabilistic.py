"""Log-densities of common distributions, written with torch maths on the input's device and dtype.

Each function broadcasts its parameters against x: pass Python numbers for one distribution, or
tensors of shape (K, 1) to evaluate K parameter sets on a (..., 1, m) view of the input as
(..., K, m). Constants that depend only on the parameters are computed once (with ``math`` for
numbers; numbers that enter tensor maths are filled on x's device, so nothing is ever copied from
the host), and the full-size work is one to three fused passes (``addcmul``/``add`` with alpha,
then in-place steps on that fresh result). No ``torch.distributions`` objects, no CPU round trips.
``squash`` / ``squash_99`` are the reference system's maps of R into (0, 1] for the
distributions supported on the positive half-line.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "normal_log_pdf",
    "cauchy_log_pdf",
    "chi2_log_pdf",
    "gamma_log_pdf",
    "laplace_log_pdf",
    "exponential_log_pdf",
    "squash",
    "squash_99",
]

_LOG_2PI = math.log(2 * math.pi)
_CAUCHY_KNEE = 1e8

Param = float | Tensor


def _log(p: Param) -> Param:
    return torch.log(p) if isinstance(p, Tensor) else math.log(p)


def _lgamma(p: Param) -> Param:
    return torch.lgamma(p) if isinstance(p, Tensor) else math.lgamma(p)


def _on(x: Tensor, value: Param) -> Tensor:
    """A number as a 0-dim tensor on x's device and dtype (filled there: no host-to-device copy)."""
    return value if isinstance(value, Tensor) else x.new_full((), value)


def _is(p: Param, value: float) -> bool:
    return not isinstance(p, Tensor) and p == value


def _plus_scaled(const: Param, coef: Param, t: Tensor) -> Tensor:
    """const + coef * t: one fused pass for number coefficients, two for (K, 1) tensors.

    CPU kernels vectorise an elementwise op only when at most one input is constant along the
    innermost axis: ``addcmul`` with two (K, 1) parameter tensors runs element by element (about
    3x slower than a multiply followed by an in-place add).
    """
    if isinstance(coef, Tensor):
        return torch.mul(t, coef).add_(const)
    return torch.add(_on(t, const), t, alpha=coef)


def _standardise(x: Tensor, loc: Param, scale: Param) -> Tensor:
    """(x - loc) / scale; x itself when that is the identity, one fused pass for number parameters."""
    if _is(loc, 0) and _is(scale, 1):
        return x
    if isinstance(loc, Tensor) or isinstance(scale, Tensor):
        return torch.sub(x, loc).mul_(1 / scale)
    return _plus_scaled(-loc / scale, 1 / scale, x)


def normal_log_pdf(x: Tensor, loc: Param = 0.0, scale: Param = 1.0) -> Tensor:
    """log N(x; loc, scale^2) = -((x - loc)/scale)^2 / 2 - log scale - log(2 pi) / 2."""
    z = _standardise(x, loc, scale)
    return torch.addcmul(_on(x, -_log(scale) - 0.5 * _LOG_2PI), z, z, value=-0.5)


def cauchy_log_pdf(x: Tensor, loc: Param = 0.0, scale: Param = 1.0) -> Tensor:
    """log Cauchy(x; loc, scale) = -log(pi scale) - log(1 + ((x - loc)/scale)^2)."""
    z = _standardise(x, loc, scale)
    # log(1 + z^2) finite for every finite z: z^2 capped at 1e16 (|z| = 1e8), then 2 log(|z| / 1e8) added, so
    # a huge |z| (z^2 = inf in float32) gives 2 log|z| + O(1e-16) instead of inf; no NaN gradient either way
    tail = torch.abs(z).clamp_(min=_CAUCHY_KNEE).div_(_CAUCHY_KNEE).log_().mul_(2)
    return torch.sub(
        _on(x, -_log(scale) - math.log(math.pi)), torch.mul(z, z).clamp_(max=_CAUCHY_KNEE**2).log1p_() + tail
    )


def chi2_log_pdf(x: Tensor, df: Param) -> Tensor:
    """log chi2_k(x) = (k/2 - 1) log x - x/2 - (k/2) log 2 - lgamma(k/2), for x > 0."""
    half = df / 2
    out = _plus_scaled(-half * math.log(2.0) - _lgamma(half), half - 1, torch.log(x))
    return out.sub_(x, alpha=0.5)  # out is fresh and has the broadcast shape


def gamma_log_pdf(x: Tensor, concentration: Param, rate: Param) -> Tensor:
    """log Gamma(x; a, rate r) = a log r + (a - 1) log x - r x - lgamma(a), for x > 0."""
    a, r = concentration, rate
    out = _plus_scaled(a * _log(r) - _lgamma(a), a - 1, torch.log(x))
    return out.addcmul_(r, x, value=-1.0) if isinstance(r, Tensor) else out.sub_(x, alpha=r)


def laplace_log_pdf(x: Tensor, loc: Param = 0.0, scale: Param = 1.0) -> Tensor:
    """log Laplace(x; loc, scale) = -log(2 scale) - |x - loc| / scale."""
    z = _standardise(x, loc, scale)
    return torch.sub(_on(x, -_log(2 * scale)), z.abs_() if z is not x else torch.abs(z))


def exponential_log_pdf(x: Tensor, rate: Param) -> Tensor:
    """log Exp(x; rate r) = log r - r x, for x >= 0."""
    return _plus_scaled(_log(rate), -rate, x)


def squash(x: Tensor) -> Tensor:
    """sigmoid(x) + 0.001, in (0.001, 1.001): the reference's input map for the chi-square expansions."""
    return torch.sigmoid(x) + 0.001


def squash_99(x: Tensor) -> Tensor:
    """0.99 sigmoid(x) + 0.001, in (0.001, 0.991): the reference's map for gamma and exponential inputs."""
    return (0.99 * torch.sigmoid(x)).add_(0.001)  # not in place: sigmoid's backward needs its output
