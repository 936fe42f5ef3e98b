"""Parameter reconciliation functions psi: l learnable numbers -> W in R^{n x D}, applied structurally."""

from ..base import Reconciliation
from .basic import DuplicatedPadding, IdentityReconciliation, Masking
from .kronecker import HM, LPHM, DualLPHM, Kronecker
from .lowrank import LowRank

__all__ = [
    "Reconciliation",
    "IdentityReconciliation",
    "Masking",
    "DuplicatedPadding",
    "LowRank",
    "Kronecker",
    "HM",
    "LPHM",
    "DualLPHM",
]
