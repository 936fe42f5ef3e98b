"""The RPN model: a stack of layers with dims [d0, d1, ..., dK]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..base import positive_int
from ..component import Component, check_last_dim
from ..errors import ConfigError
from ..registry import build, child_path, register
from ..validation import check_input_dtype, check_int
from .layer import Layer

__all__ = ["RPN"]


@register("model", "rpn")
class RPN(Component):
    """A deep Reconciled Polynomial Network: layers applied in sequence; returns logits.

    Give either ``dims`` (one layer per consecutive pair, all built from ``head``, ``width`` and
    ``fusion``; ``head`` may also be a list with one spec per layer) or ``layers`` (a list of layer
    specs with their own m and n, or built :class:`Layer` s). ``depth`` repeats a single layer spec.

    Args:
        dims: [d0, d1, ..., dK].
        head: head spec (or a list of them, one per layer).
        width: heads per layer.
        fusion: head fusion of every layer.
        layers: per-layer specs, instead of dims.
        depth: number of layers (checked against dims/layers, or repeats a single layer spec).

    Attributes:
        depth, dims, m (input width), n (output width).

    Shape:
        (..., d0) -> (..., dK)

    Example:
        >>> import torch, rpnkit as rk
        >>> model = rk.RPN([4, 8, 3], head={"expansion": "taylor", "reconciliation": "lowrank"})
        >>> model(torch.randn(2, 4)).shape, model.depth
        (torch.Size([2, 3]), 2)
    """

    def __init__(
        self,
        dims: Sequence[int] | None = None,
        head: Any = None,
        width: int = 1,
        fusion: Any = "mean",
        layers: Sequence[Any] | None = None,
        depth: int | None = None,
    ) -> None:
        super().__init__()
        built: list[nn.Module] = []
        if (dims is None) == (layers is None):
            raise ConfigError("give exactly one of 'dims' (a list of widths) or 'layers' (a list of layer specs)")
        if dims is not None:
            dims = list(dims)
            if len(dims) < 2:
                raise ConfigError(
                    f"dims needs at least two widths [input, ..., output], got {dims}", child_path("dims")
                )
            for i, d in enumerate(dims):
                check_int(d, "widths", 1, path=child_path(f"dims[{i}]"))
            count = len(dims) - 1
            if depth is not None and depth != count:
                raise ConfigError(f"depth={depth} but dims {dims} define {count} layers", child_path("depth"))
            if isinstance(head, (list, tuple)):
                if len(head) != count:
                    raise ConfigError(f"{len(head)} head specs for {count} layers", child_path("head"))
                head_specs = list(head)
            else:
                if isinstance(head, nn.Module) and count > 1:
                    raise ConfigError(
                        "a built Head cannot be shared by several layers; pass a spec", child_path("head")
                    )
                head_specs = [head] * count
            for i in range(count):
                spec = {
                    "name": "rpn",
                    "m": dims[i],
                    "n": dims[i + 1],
                    "head": head_specs[i],
                    "width": width,
                    "fusion": fusion,
                }
                with_path = child_path("layers") + f"[{i}]"
                built.append(build("layer", spec, path=with_path))
        else:
            ignored = [
                k
                for k, v, default in (("head", head, None), ("width", width, 1), ("fusion", fusion, "mean"))
                if v != default
            ]
            if ignored:
                raise ConfigError(
                    f"{' and '.join(repr(k) for k in ignored)} would be ignored beside 'layers' (each layer spec "
                    f"has its own); move it into every layer spec, or give 'dims' instead of 'layers'",
                    child_path(ignored[0]),
                )
            specs = list(layers)
            if depth is not None:
                positive_int(depth, "depth")
                if len(specs) == 1 and depth > 1:
                    if isinstance(specs[0], nn.Module):
                        raise ConfigError("a built Layer cannot be repeated; pass a spec", child_path("layers"))
                    specs = specs * depth
                elif len(specs) != depth:
                    raise ConfigError(f"depth={depth} but {len(specs)} layers are listed", child_path("depth"))
            if not specs:
                raise ConfigError("layers is empty", child_path("layers"))
            for i, spec in enumerate(specs):
                if isinstance(spec, dict) and "name" not in spec:
                    spec = {"name": "rpn", **spec}
                built.append(build("layer", spec, path=child_path("layers") + f"[{i}]"))
            for i in range(1, len(built)):
                if built[i].m != built[i - 1].n:
                    raise ConfigError(
                        f"layer {i} expects m={built[i].m} inputs but layer {i - 1} produces n={built[i - 1].n}",
                        child_path("layers") + f"[{i}].m",
                    )
        self.layers = nn.ModuleList(built)

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def dims(self) -> list[int]:
        return [self.layers[0].m] + [layer.n for layer in self.layers]

    @property
    def m(self) -> int:
        return self.layers[0].m

    @property
    def n(self) -> int:
        return self.layers[-1].n

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "RPN")
        if not torch.is_autocast_enabled(x.device.type):  # autocast casts inside; else the dtypes must agree
            check_input_dtype(x, next((p.dtype for p in self.parameters() if p.is_floating_point()), None), "RPN")
        for layer in self.layers:
            x = layer(x)
        return x

    def extra_repr(self) -> str:
        return f"dims={self.dims}"

    def to_config(self) -> dict[str, Any]:
        layer_configs = [layer.to_config() for layer in self.layers]
        shared = {k: v for k, v in layer_configs[0].items() if k not in ("m", "n")}
        if (
            all(isinstance(layer, Layer) and type(layer) is Layer for layer in self.layers)
            and all({k: v for k, v in c.items() if k not in ("m", "n")} == shared for c in layer_configs[1:])
            and "head" in shared
        ):
            return {"name": "rpn", "dims": self.dims, **shared}
        return {"name": "rpn", "layers": layer_configs}
