"""Parameter reconciliation functions psi: l learnable numbers -> W in R^{n x D}, applied structurally."""

from ..base import Reconciliation
from . import basic, blockwise, kronecker, lowrank, random
from .basic import *  # noqa: F403
from .blockwise import *  # noqa: F403
from .kronecker import *  # noqa: F403
from .lowrank import *  # noqa: F403
from .random import *  # noqa: F403

# each family module lists its public names once, in its own __all__
__all__ = ["Reconciliation", *basic.__all__, *blockwise.__all__, *kronecker.__all__, *lowrank.__all__, *random.__all__]
