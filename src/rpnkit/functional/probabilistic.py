"""Log-densities of common distributions, written with torch maths on the input's device and dtype.

Each function broadcasts its parameters against x: pass Python numbers for one distribution, or
tensors of shape (K, 1) to evaluate K parameter sets on a (..., 1, m) view of the input as
(..., K, m). Constants that depend only on the parameters are computed once (with ``math`` for
numbers, so no scalar tensor is ever created on the host), and the full-size work is a few
fused passes on fresh temporaries. No ``torch.distributions`` objects, no CPU round trips.
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

Param = float | Tensor


def _log(p: Param) -> Param:
    return torch.log(p) if isinstance(p, Tensor) else math.log(p)


def _lgamma(p: Param) -> Param:
    return torch.lgamma(p) if isinstance(p, Tensor) else math.lgamma(p)


def _on(x: Tensor, value: Param) -> Tensor:
    """A number as a 0-dim tensor on x's device and dtype (filled there: no host-to-device copy)."""
    return value if isinstance(value, Tensor) else x.new_full((), value)


def _standardise(x: Tensor, loc: Param, scale: Param) -> Tensor:
    """(x - loc) / scale, skipping the passes that are identities for number parameters (may return x)."""
    if not (isinstance(loc, float | int) and loc == 0):
        x = x - loc
    if not (isinstance(scale, float | int) and scale == 1):
        x = x * (1 / scale)
    return x


def normal_log_pdf(x: Tensor, loc: Param = 0.0, scale: Param = 1.0) -> Tensor:
    """log N(x; loc, scale^2) = -((x - loc)/scale)^2 / 2 - log scale - log(2 pi) / 2."""
    z = _standardise(x, loc, scale)
    return torch.addcmul(_on(x, -_log(scale) - 0.5 * _LOG_2PI), z, z, value=-0.5)  # one fused pass


def cauchy_log_pdf(x: Tensor, loc: Param = 0.0, scale: Param = 1.0) -> Tensor:
    """log Cauchy(x; loc, scale) = -log(pi scale) - log(1 + ((x - loc)/scale)^2)."""
    z = _standardise(x, loc, scale)
    return torch.mul(z, z).log1p_().neg_().add_(-_log(scale) - math.log(math.pi))


def chi2_log_pdf(x: Tensor, df: Param) -> Tensor:
    """log chi2_k(x) = (k/2 - 1) log x - x/2 - (k/2) log 2 - lgamma(k/2), for x > 0."""
    half = df / 2
    return ((half - 1) * torch.log(x)).sub_(0.5 * x).add_(-half * math.log(2.0) - _lgamma(half))


def gamma_log_pdf(x: Tensor, concentration: Param, rate: Param) -> Tensor:
    """log Gamma(x; a, rate r) = a log r + (a - 1) log x - r x - lgamma(a), for x > 0."""
    a, r = concentration, rate
    return ((a - 1) * torch.log(x)).sub_(r * x).add_(a * _log(r) - _lgamma(a))


def laplace_log_pdf(x: Tensor, loc: Param = 0.0, scale: Param = 1.0) -> Tensor:
    """log Laplace(x; loc, scale) = -log(2 scale) - |x - loc| / scale."""
    centred = x if isinstance(loc, float | int) and loc == 0 else x - loc
    if isinstance(scale, Tensor):
        return torch.abs(centred).div_(scale).neg_().add_(-_log(2 * scale))
    return torch.add(_on(x, -_log(2 * scale)), torch.abs(centred), alpha=-1 / scale)


def exponential_log_pdf(x: Tensor, rate: Param) -> Tensor:
    """log Exp(x; rate r) = log r - r x, for x >= 0."""
    if isinstance(rate, Tensor):
        return (x * -rate).add_(torch.log(rate))
    return torch.add(_on(x, math.log(rate)), x, alpha=-rate)  # one fused pass


def squash(x: Tensor) -> Tensor:
    """sigmoid(x) + 0.001, in (0.001, 1.001): the reference's input map for the chi-square expansions."""
    return torch.sigmoid(x) + 0.001


def squash_99(x: Tensor) -> Tensor:
    """0.99 sigmoid(x) + 0.001, in (0.001, 0.991): the reference's map for gamma and exponential inputs."""
    return (0.99 * torch.sigmoid(x)).add_(0.001)  # not in place: sigmoid's backward needs its output
