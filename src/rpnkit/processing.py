"""Input/output processing modules: normalisation, activations and dropout.

The reference system kept processing functions in plain Python lists, so a LayerNorm was never
trained or saved and dropout stayed on at evaluation. Here every processing step is a registered
``nn.Module``: it trains, is saved in the state dict, and follows ``train()``/``eval()``.

A processing spec is a name (``"relu"``), a dict (``{"name": "dropout", "p": 0.2}``), a module, or a
list of those applied left to right. The parent injects the feature width ``m``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .component import Component
from .registry import build, child_path, register
from .validation import check_fraction, check_last_dim

__all__ = ["build_processing", "processing_config", "LayerNorm", "BatchNorm", "Dropout", "Activation"]


@register("processing", "layer_norm", aliases=["layernorm", "torch.nn.LayerNorm"])
class LayerNorm(Component):
    """Layer normalisation over the last dimension (width ``m``), with a learnable affine by default.

    Shape:
        (..., m) -> (..., m)
    """

    def __init__(self, m: int, eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        super().__init__()
        self.m = m
        self.norm = nn.LayerNorm(m, eps=eps, elementwise_affine=elementwise_affine)

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "layer_norm")
        return self.norm(x)


@register("processing", "batch_norm", aliases=["batchnorm", "torch.nn.BatchNorm1d"])
class BatchNorm(Component):
    """Batch normalisation of each of the ``m`` features; any leading batch dimensions are pooled.

    Shape:
        (..., m) -> (..., m)
    """

    def __init__(self, m: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True) -> None:
        super().__init__()
        self.m = m
        self.norm = nn.BatchNorm1d(m, eps=eps, momentum=momentum, affine=affine)

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "batch_norm")
        shape = x.shape
        return self.norm(x.reshape(-1, self.m)).reshape(shape)


@register("processing", "dropout")
class Dropout(Component):
    """Dropout with drop probability ``p``; off in ``eval()`` mode (unlike the reference system)."""

    def __init__(self, m: int | None = None, p: float = 0.5) -> None:
        super().__init__()
        check_fraction(p, "dropout p")
        self.m = m
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Activation(Component):
    """An elementwise activation; subclasses set ``fn``."""

    def __init__(self, m: int | None = None) -> None:
        super().__init__()
        self.m = m

    def fn(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


def _activation(cls_name: str, name: str, fn, aliases: tuple[str, ...] = ()) -> type:
    namespace = {"fn": staticmethod(fn), "__doc__": f"The ``{name}`` activation.", "__module__": __name__}
    cls = type(cls_name, (Activation,), namespace)
    cls.__qualname__ = cls_name
    return register("processing", name, aliases=aliases)(cls)


ReLU = _activation("ReLU", "relu", F.relu)
GELU = _activation("GELU", "gelu", F.gelu)
SiLU = _activation("SiLU", "silu", F.silu, ("swish",))
Tanh = _activation("Tanh", "tanh", torch.tanh)
Sigmoid = _activation("Sigmoid", "sigmoid", torch.sigmoid)
Softplus = _activation("Softplus", "softplus", F.softplus)
ELU = _activation("ELU", "elu", F.elu)
CELU = _activation("CELU", "celu", F.celu)
Exp = _activation("Exp", "exp", torch.exp)
Identity = _activation("Identity", "identity", lambda x: x)


@register("processing", "leaky_relu")
class LeakyReLU(Activation):
    """Leaky ReLU with slope ``negative_slope`` for negative inputs."""

    def __init__(self, m: int | None = None, negative_slope: float = 0.01) -> None:
        super().__init__(m)
        self.negative_slope = negative_slope

    def fn(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)


class ProcessingSequence(nn.Sequential):
    """A list of processing modules applied left to right."""

    def to_config(self) -> list[dict[str, Any]]:
        return [module.to_config() for module in self]


def build_processing(spec: Any, m: int, key: str) -> nn.Module | None:
    """Build a processing spec (None, one spec or a list) for features of width ``m``; None for nothing."""
    if spec is None or (isinstance(spec, (list, tuple)) and len(spec) == 0):
        return None
    if isinstance(spec, nn.Sequential) and not isinstance(spec, ProcessingSequence):
        spec = list(spec)
    path = child_path(key)
    if isinstance(spec, (list, tuple)):
        return ProcessingSequence(*[build("processing", s, path=f"{path}[{i}]", m=m) for i, s in enumerate(spec)])
    return ProcessingSequence(build("processing", spec, path=path, m=m))


def processing_config(module: nn.Module | None) -> list[dict[str, Any]] | None:
    """The config of a module built by :func:`build_processing`."""
    if module is None:
        return None
    return module.to_config()
