"""The RPN layer: ``width`` heads on the same input, fused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from ..base import positive_int
from ..component import Component, check_last_dim, to_plain
from ..errors import ConfigError
from ..registry import child_path, register
from ._build import child, fused_parts
from .head import Head

__all__ = ["Layer"]


def head_spec(spec: Any) -> Any:
    """A head spec: dicts without a name are the standard RPN head."""
    if spec is None:
        return {"name": "rpn"}
    if isinstance(spec, dict) and "name" not in spec:
        return {"name": "rpn", **spec}
    return spec


@register("layer", "rpn", aliases=["rpn_layer"])
class Layer(Component):
    """``width`` heads, each with its own parameters, run on the same input and fused.

    Args:
        m: input width.
        n: output width (after head fusion).
        head: one head spec used for every head (each head is built separately).
        heads: a list of head specs, one per head (instead of ``head``).
        width: number of heads (default 1, or ``len(heads)``).
        fusion: head fusion spec; default ``"mean"``. With ``"concatenation"`` each head produces
            n / width outputs.

    Shape:
        (..., m) -> (..., n)

    Example:
        >>> import torch, rpnkit as rk
        >>> layer = rk.Layer(8, 6, head={"expansion": "taylor"}, width=3, fusion="concatenation")
        >>> layer(torch.randn(2, 8)).shape, layer.heads[0].n
        (torch.Size([2, 6]), 2)
    """

    def __init__(
        self,
        m: int,
        n: int,
        head: Any = None,
        heads: Sequence[Any] | None = None,
        width: int | None = None,
        fusion: Any = "mean",
    ) -> None:
        super().__init__()
        self.m = positive_int(m, "m")
        self.n = positive_int(n, "n")
        if heads is not None:
            if head is not None:
                raise ConfigError("give either 'head' (one spec for all heads) or 'heads' (a list), not both")
            heads = list(heads)
            if width is not None and width != len(heads):
                raise ConfigError(f"width={width} but {len(heads)} heads are listed")
            specs, key = [head_spec(h) for h in heads], "heads"
        else:
            count = positive_int(1 if width is None else width, "width")
            if isinstance(head, nn.Module) and count > 1:
                raise ConfigError(
                    "a built Head module cannot be repeated (heads would share weights); pass a spec",
                    child_path("head"),
                )
            specs, key = [head_spec(head)] * count, "head"
        self.width = len(specs)
        head_n, make_fusion = fused_parts(fusion, self.n, self.width, "Layer")
        self.heads = nn.ModuleList(
            child("head", spec, f"heads[{i}]" if key == "heads" else "head", m=self.m, n=head_n)
            for i, spec in enumerate(specs)
        )
        self.fusion = make_fusion()

    @property
    def head(self) -> Head:
        """The first head (the only one when width == 1)."""
        return self.heads[0]

    @property
    def D(self) -> int:
        """The first head's expansion width."""
        return self.heads[0].D

    @property
    def l(self) -> int:  # noqa: E743
        return sum(h.l for h in self.heads)

    @property
    def channels(self) -> int:
        return self.heads[0].channels

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "Layer")
        outputs = [head(x) for head in self.heads]
        return self.fusion(outputs)

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, width={self.width}"

    def to_config(self) -> dict[str, Any]:
        head_configs = []
        for h in self.heads:
            cfg = to_plain(h)
            cfg.pop("m", None)
            cfg.pop("n", None)
            if cfg.get("name") == "rpn":
                cfg.pop("name")
            head_configs.append(cfg)
        config: dict[str, Any] = {"m": self.m, "n": self.n}
        if all(c == head_configs[0] for c in head_configs[1:]):
            config["head"] = head_configs[0]
            config["width"] = self.width
        else:
            config["heads"] = head_configs
        config["fusion"] = to_plain(self.fusion)
        return config
