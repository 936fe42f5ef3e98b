"""Parameter reconciliation functions psi: l learnable numbers -> W in R^{n x D}, applied structurally."""

from ..base import Reconciliation
from .basic import (
    ConstantEyeReconciliation,
    ConstantReconciliation,
    DuplicatedDiagonalPadding,
    DuplicatedPadding,
    IdentityReconciliation,
    Masking,
    OneReconciliation,
    ZeroReconciliation,
)
from .blockwise import BlockwiseDualLPHM, BlockwiseHM, BlockwiseKronecker, BlockwiseLPHM, SharedKernel
from .kronecker import HM, LPHM, DualLPHM, Kronecker
from .lowrank import LowRank
from .random import Hypernet, RandomMatrixAdaption, RandomMatrixHypernet

__all__ = [
    "Reconciliation",
    "IdentityReconciliation",
    "ConstantReconciliation",
    "ZeroReconciliation",
    "OneReconciliation",
    "ConstantEyeReconciliation",
    "Masking",
    "DuplicatedPadding",
    "DuplicatedDiagonalPadding",
    "LowRank",
    "Kronecker",
    "HM",
    "LPHM",
    "DualLPHM",
    "RandomMatrixAdaption",
    "RandomMatrixHypernet",
    "Hypernet",
    "BlockwiseKronecker",
    "BlockwiseHM",
    "BlockwiseLPHM",
    "BlockwiseDualLPHM",
    "SharedKernel",
]
