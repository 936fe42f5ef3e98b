"""The RPN equation as modules: Head, Layer and the RPN model."""

from .head import Head
from .layer import Layer
from .model import RPN

__all__ = ["Head", "Layer", "RPN"]
