"""Initialisers for structured factors: exact entry scale with (semi-)orthogonal directions.

A product of random Gaussian factors keeps the *mean* square of its entries but, stacked in a deep
network, its typical output scale drifts (products of small random matrices have a negative
Lyapunov exponent). (Semi-)orthogonal factors have all singular values equal, so a Kronecker product
of square orthogonal factors is itself orthogonal and keeps the scale through any depth.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["scaled_orthogonal_", "lowrank_pair_"]


def scaled_orthogonal_(M: Tensor, std: float) -> Tensor:
    """Fill M (a x b) with a random (semi-)orthogonal matrix whose entries have mean square ``std**2``.

    A semi-orthogonal a x b matrix has min(a, b) unit singular values, so its entries have mean
    square 1 / max(a, b); it is scaled by ``std * sqrt(max(a, b))``.

    Example:
        >>> M = scaled_orthogonal_(torch.empty(3, 5), 0.1)
        >>> round(M.pow(2).mean().item(), 6)
        0.01
    """
    return nn.init.orthogonal_(M, gain=std * math.sqrt(max(M.shape)))


def lowrank_pair_(U: Tensor, V: Tensor, std: float) -> tuple[Tensor, Tensor]:
    """Initialise U (a x r) and V (b x r): U @ V.T is a scaled partial isometry, entries of mean square std**2.

    With k = min(a, b, r), U @ V.T gets k equal singular values (a random semi-orthogonal matrix
    when r >= min(a, b), the best a rank-r product can do otherwise). Construction, with M a random
    semi-orthogonal a x b matrix: for a >= b, V is semi-orthogonal and U = M V, so U @ V.T = M P_V;
    for a < b, U is semi-orthogonal and V = M.T U, so U @ V.T = P_U M (P_* the projections onto the
    spans). U is then scaled by std * sqrt(a b / k).

    Example:
        >>> U, V = lowrank_pair_(torch.empty(4, 2), torch.empty(6, 2), 0.5)
        >>> round((U @ V.T).pow(2).mean().item(), 6)
        0.25
        >>> s = torch.linalg.svdvals(U @ V.T)
        >>> bool(torch.allclose(s[:2], s[0].expand(2)))
        True
    """
    a, r = U.shape
    b = V.shape[0]
    k = min(a, b, r)
    with torch.no_grad():
        if r <= min(a, b):
            # Then M V (or M.T U) is itself a uniformly random orthonormal r-frame, independent of the
            # other factor: drawing two independent frames gives the same distribution in O((a + b) r^2)
            # instead of orthogonalising the whole a x b matrix M.
            nn.init.orthogonal_(U)
            nn.init.orthogonal_(V)
            U.mul_(std * math.sqrt(a * b / k))
            return U, V
        M = nn.init.orthogonal_(torch.empty(a, b, dtype=U.dtype, device=U.device))
        if a >= b:
            nn.init.orthogonal_(V)
            U.copy_(M @ V)
        else:
            nn.init.orthogonal_(U)
            V.copy_(M.T @ U)
        U.mul_(std * math.sqrt(a * b / k))
    return U, V
