"""The RPN equation as modules: Head, Layer and the RPN model, and the RPN 2 grid and bilinear heads."""

from .bilinear import BilinearHead
from .grid import GridCompressionHead, GridHead, GridShape
from .head import Head
from .layer import Layer
from .model import RPN

__all__ = ["Head", "Layer", "RPN", "GridHead", "GridCompressionHead", "GridShape", "BilinearHead"]
