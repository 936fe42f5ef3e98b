"""When a function may take its no-autograd shortcuts (in-place steps, ``out=`` writes)."""

from __future__ import annotations

import torch
from torch import Tensor


def needs_graph(x: Tensor) -> bool:
    """True when autograd records operations on x (grad mode on and x requires grad)."""
    return torch.is_grad_enabled() and x.requires_grad


def may_write_out(x: Tensor) -> bool:
    """True when results computed from x may be written by ``out=`` into views of a fresh output.

    Needs no autograd graph (``out=`` ops are not differentiable) and no torch.compile tracing
    (dynamo does not trace ``out=`` into strided views; it fuses the plain form itself).
    """
    return not needs_graph(x) and not torch.compiler.is_compiling()
