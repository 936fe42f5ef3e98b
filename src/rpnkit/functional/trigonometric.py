"""Trigonometric, hyperbolic and Fourier feature maps, laid out block-major.

"Block-major" means the output is a concatenation of blocks of m columns, one block per basis
function: column ``k*m + j`` holds basis function k of feature j. Each map builds its blocks on a
new axis -2 and flattens once, so the output is written in a single pass.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._paths import may_write_out

__all__ = ["block_major", "fourier", "trigonometric", "hyperbolic", "arc_trigonometric", "arc_hyperbolic"]


def block_major(blocks: Tensor) -> Tensor:
    """(..., K, m) -> (..., K*m): column k*m + j holds basis function k of feature j."""
    return blocks.reshape(*blocks.shape[:-2], blocks.shape[-2] * blocks.shape[-1])


#: harmonics computed by the angle-addition recurrence before one is evaluated directly again
_REANCHOR = 16


def fourier(x: Tensor, harmonics: int, period: float) -> Tensor:
    """[cos(2 pi k x / P), sin(2 pi k x / P)] for k = 1..N, each a block of m columns.

    Only harmonic 1 (and every 16th) is evaluated by ``cos``/``sin``; the others follow from the
    angle-addition recurrence cos((k+1)t) = cos(kt) cos t - sin(kt) sin t,
    sin((k+1)t) = sin(kt) cos t + cos(kt) sin t: two multiply-add passes each instead of two
    transcendental passes (rounding grows by about one unit in the last place per step, hence the
    re-anchoring). Without autograd every block is written straight into the output.

    Shape:
        (..., m) -> (..., 2 N m); block 2(k-1) is the cosine and block 2(k-1)+1 the sine of harmonic k.
    """
    lead, m = x.shape[:-1], x.shape[-1]
    theta = x * (2 * math.pi / period)
    out = x.new_empty(*lead, 2 * harmonics, m) if may_write_out(x) else None

    def row(j: int) -> Tensor | None:
        return None if out is None else out[..., j, :]

    c1 = torch.cos(theta, out=row(0))
    s1 = torch.sin(theta, out=row(1))
    blocks, c, s = [c1, s1], c1, s1
    for k in range(2, harmonics + 1):
        rc, rs = row(2 * k - 2), row(2 * k - 1)
        if (k - 1) % _REANCHOR == 0:
            angle = theta * k
            c, s = torch.cos(angle, out=rc), torch.sin(angle, out=rs)
        else:
            c, s = torch.mul(c, c1, out=rc).addcmul_(s, s1, value=-1.0), torch.mul(s, c1, out=rs).addcmul_(c, s1)
        blocks += [c, s]
    return block_major(out if out is not None else torch.stack(blocks, dim=-2))


def trigonometric(x: Tensor, tan_bound: float | None = None) -> Tensor:
    """[sin x, cos x, tan x] block-major; tan is clamped to [-tan_bound, tan_bound] when a bound is given.

    tan is sin / cos (a division instead of a third transcendental pass; within a few units in the
    last place of ``torch.tan``).

    Shape:
        (..., m) -> (..., 3m)
    """
    sin, cos = torch.sin(x), torch.cos(x)
    tan = sin / cos
    if tan_bound is not None:
        tan = tan.clamp_(-tan_bound, tan_bound)
    return block_major(torch.stack((sin, cos, tan), dim=-2))


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
