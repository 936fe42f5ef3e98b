"""Trigonometric, hyperbolic and Fourier feature maps, laid out block-major.

"Block-major" means the output is a concatenation of blocks of m columns, one block per basis
function: column ``k*m + j`` holds basis function k of feature j. Each map builds its blocks on a
new axis -2 and flattens once, so the output is written in a single pass.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["block_major", "fourier", "trigonometric", "hyperbolic", "arc_trigonometric", "arc_hyperbolic"]


def block_major(blocks: Tensor) -> Tensor:
    """(..., K, m) -> (..., K*m): column k*m + j holds basis function k of feature j."""
    return blocks.reshape(*blocks.shape[:-2], blocks.shape[-2] * blocks.shape[-1])


def fourier(x: Tensor, harmonics: int, period: float) -> Tensor:
    """[cos(2 pi k x / P), sin(2 pi k x / P)] for k = 1..N, each a block of m columns.

    Shape:
        (..., m) -> (..., 2 N m); block 2(k-1) is the cosine and block 2(k-1)+1 the sine of harmonic k.
    """
    k = torch.arange(1, harmonics + 1, dtype=x.dtype, device=x.device)
    angle = (2 * math.pi / period) * k.unsqueeze(-1) * x.unsqueeze(-2)  # (..., N, m)
    return block_major(torch.stack((torch.cos(angle), torch.sin(angle)), dim=-2).flatten(-3, -2))


def trigonometric(x: Tensor, tan_bound: float | None = None) -> Tensor:
    """[sin x, cos x, tan x] block-major; tan is clamped to [-tan_bound, tan_bound] when a bound is given.

    Shape:
        (..., m) -> (..., 3m)
    """
    tan = torch.tan(x)
    if tan_bound is not None:
        tan = tan.clamp(-tan_bound, tan_bound)
    return block_major(torch.stack((torch.sin(x), torch.cos(x), tan), dim=-2))


def hyperbolic(x: Tensor, input_bound: float | None = None) -> Tensor:
    """[sinh x, cosh x, tanh x] block-major; sinh and cosh see x clamped to [-input_bound, input_bound].

    Shape:
        (..., m) -> (..., 3m)
    """
    xc = x if input_bound is None else x.clamp(-input_bound, input_bound)
    return block_major(torch.stack((torch.sinh(xc), torch.cosh(xc), torch.tanh(x)), dim=-2))


def arc_trigonometric(x: Tensor) -> Tensor:
    """With s = sigmoid(x): [asin(0.99 s), acos(0.99 s), atan(s)] block-major (finite for every finite x).

    Shape:
        (..., m) -> (..., 3m)
    """
    s = torch.sigmoid(x)
    s99 = 0.99 * s
    return block_major(torch.stack((torch.asin(s99), torch.acos(s99), torch.atan(s)), dim=-2))


def arc_hyperbolic(x: Tensor) -> Tensor:
    """With s = sigmoid(x): [asinh(s), acosh(s + 1.01), atanh(0.99 s)] block-major (finite for every finite x).

    On the ranges that occur (s in (0, 1)) the inverse functions are evaluated by their logarithmic
    forms, which are well conditioned there and use vectorised kernels (``torch.asinh``/``acosh``
    are scalar loops on the CPU, ~10x slower): asinh s = log(s + sqrt(s^2 + 1)),
    acosh y = log(y + sqrt(y^2 - 1)) with y = s + 1.01 >= 1.01, atanh u = (log1p(u) - log1p(-u)) / 2.

    Shape:
        (..., m) -> (..., 3m)
    """
    s = torch.sigmoid(x)
    y = s + 1.01
    u = 0.99 * s
    asinh = torch.log(s + torch.sqrt(s * s + 1))
    acosh = torch.log(y + torch.sqrt(y * y - 1))
    atanh = 0.5 * (torch.log1p(u) - torch.log1p(-u))
    return block_major(torch.stack((asinh, acosh, atanh), dim=-2))
