"""Pure tensor maths behind rpnkit's modules (one file per family); modules call these."""

from .factors import close_factor, divisors
from .kronecker import kron_matvec, kron_weight

__all__ = ["close_factor", "divisors", "kron_matvec", "kron_weight"]
