"""The RPN equation as modules: Head, Layer and the RPN model, and the RPN 2 grid, bilinear, graph and chain heads."""

from .bilinear import BilinearHead
from .chain import ChainHead
from .graph import GraphBilinearHead, GraphHead
from .grid import GridCompressionHead, GridHead, GridShape
from .head import Head
from .layer import Layer
from .model import RPN

__all__ = [
    "Head",
    "Layer",
    "RPN",
    "GridHead",
    "GridCompressionHead",
    "GridShape",
    "BilinearHead",
    "GraphHead",
    "GraphBilinearHead",
    "ChainHead",
]
