"""Expansion functions kappa: R^m -> R^D."""

from ..base import Expansion
from . import (
    basic,
    combinatorial,
    composite,
    geometric,
    orthogonal,
    polynomial,
    probabilistic,
    rbf,
    spline,
    trigonometric,
    wavelet,
)
from .basic import *  # noqa: F403
from .combinatorial import *  # noqa: F403
from .composite import *  # noqa: F403
from .geometric import *  # noqa: F403
from .orthogonal import *  # noqa: F403
from .polynomial import *  # noqa: F403
from .probabilistic import *  # noqa: F403
from .rbf import *  # noqa: F403
from .spline import *  # noqa: F403
from .trigonometric import *  # noqa: F403
from .wavelet import *  # noqa: F403

# each family module lists its public names once, in its own __all__
__all__ = [
    "Expansion",
    *basic.__all__,
    *combinatorial.__all__,
    *composite.__all__,
    *geometric.__all__,
    *orthogonal.__all__,
    *polynomial.__all__,
    *probabilistic.__all__,
    *rbf.__all__,
    *spline.__all__,
    *trigonometric.__all__,
    *wavelet.__all__,
]
