"""rpnkit: Reconciled Polynomial Networks for deep function learning, in PyTorch.

One equation runs through the library: g(x|w) = <kappa_xi(x), psi(w)> + pi(x).

Example:
    >>> import torch, rpnkit as rk
    >>> model = rk.RPN([4, 8, 3], head={"expansion": {"name": "taylor", "degree": 2},
    ...                                 "reconciliation": {"name": "lowrank", "rank": 2}})
    >>> model(torch.randn(5, 4)).shape
    torch.Size([5, 3])
"""

# The catalogues register their components when imported; the registry itself imports none of them.
from . import compression, expansion, fusion, interdependence, processing, reconciliation, registry, remainder, runtime  # noqa: I001
from ._version import __version__
from .base import (
    Compression,
    Expansion,
    Fusion,
    Interdependence,
    Reconciliation,
    Remainder,
    Transformation,
)
from .component import Component
from .config import build_model
from .errors import ConfigError, RPNError, ShapeError
from .io import load, save
from .nn import RPN, Head, Layer
from . import models  # noqa: E402  (the zoo registers its models)
from .registry import build, register
from . import plugins  # noqa: E402  (last: installed plugins register after the built-in components)

__all__ = [
    "__version__",
    "RPN",
    "Layer",
    "Head",
    "Component",
    "Transformation",
    "Expansion",
    "Compression",
    "Reconciliation",
    "Remainder",
    "Fusion",
    "Interdependence",
    "build",
    "build_model",
    "register",
    "registry",
    "runtime",
    "expansion",
    "compression",
    "reconciliation",
    "remainder",
    "fusion",
    "interdependence",
    "processing",
    "models",
    "plugins",
    "save",
    "load",
    "RPNError",
    "ConfigError",
    "ShapeError",
]

plugins._discover_on_import()
