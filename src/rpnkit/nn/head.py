"""The RPN head: g(x|w) = fusion_c <kappa_xi(x), psi_c(w)> + pi(x)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..base import Interdependence, Reconciliation, Remainder, Transformation, positive_int
from ..component import Component, check_last_dim, to_plain
from ..errors import ConfigError, ShapeError
from ..implicit import bases_of, implicit_product, layout_of, supports, worthwhile
from ..kappa import KAPPA_KINDS
from ..processing import build_processing, processing_config
from ..registry import register
from ..validation import child_path
from ._build import child, fused_parts

__all__ = ["Head"]


def _interdependence(spec: Any, kind: str, m: int) -> Interdependence | None:
    """The head's xi of ``kind`` ("attribute" or "instance"), built with width m, or None."""
    if spec is None:
        return None
    # the head's slot says which kind is meant; a spec may state it again (it must agree)
    if isinstance(spec, str):
        spec = {"name": spec, "kind": kind}
    elif isinstance(spec, dict) and "kind" not in spec:
        spec = {**spec, "kind": kind}
    key = f"{kind}_interdependence"
    xi = child("interdependence", spec, key, Interdependence, "an Interdependence", m=m)
    if xi.kind != kind:
        raise ConfigError(f"{key} must be of kind {kind!r}, got {xi.kind!r}", child_path(key))
    return xi


@register("head", "rpn", aliases=["rpn_head"])
class Head(Component):
    """One RPN head with ``channels`` parameter channels.

    Data flow for x of shape (..., m)::

        x -> input_processing -> attribute xi -> kappa (..., D) -> instance xi
          -> psi_c for each channel c (structured, W never built) -> channel fusion
          -> + pi(processed x) -> output_processing -> (..., n)

    Args:
        m: input width.
        n: output width.
        expansion: kappa spec (an expansion or compression); default ``"identity"``.
        reconciliation: psi spec; each channel gets its own instance; default ``"identity"``.
        remainder: pi spec; default ``"zero"``.
        channels: C, the number of parameter channels.
        fusion: channel fusion spec; default ``"mean"``. With ``"concatenation"`` each channel
            produces n / C outputs.
        attribute_interdependence: optional xi spec of the attribute kind.
        instance_interdependence: optional xi spec of the instance kind.
        input_processing: processing spec on x (width m): ``"layer_norm"``, ``["batch_norm", "relu"]``...
        output_processing: processing spec on the output (width n).
        implicit: compute <kappa(x), psi_c> without building kappa(x) (see :mod:`rpnkit.implicit`):
            None (default) picks it whenever the expansion/reconciliation pair supports it and it pays
            off; True requires it (error if unsupported); False always builds kappa(x).

    Attributes:
        m, n, D, l (learnable numbers of all channels' reconciliations), channels.

    Shape:
        (..., m) -> (..., n)

    Example:
        >>> import torch, rpnkit as rk
        >>> head = rk.Head(4, 3, expansion={"name": "taylor", "degree": 2}, reconciliation="lowrank")
        >>> head.D, head(torch.randn(5, 4)).shape
        (20, torch.Size([5, 3]))
    """

    def __init__(
        self,
        m: int,
        n: int,
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        remainder: Any = "zero",
        channels: int = 1,
        fusion: Any = "mean",
        attribute_interdependence: Any = None,
        instance_interdependence: Any = None,
        input_processing: Any = None,
        output_processing: Any = None,
        implicit: bool | None = None,
    ) -> None:
        super().__init__()
        self.m = positive_int(m, "m")
        self.n = positive_int(n, "n")
        self.channels = positive_int(channels, "channels")
        self.input_processing = build_processing(input_processing, self.m, "input_processing")
        self.attribute_interdependence = _interdependence(attribute_interdependence, "attribute", self.m)
        width = self.m if self.attribute_interdependence is None else self.attribute_interdependence.m_out
        self.expansion = child(
            KAPPA_KINDS, expansion, "expansion", Transformation, "an Expansion or Compression", m=width
        )
        self.D = self.expansion.D
        layout = layout_of(self.expansion)
        self.instance_interdependence = _interdependence(instance_interdependence, "instance", self.D)
        channel_n, make_fusion = fused_parts(fusion, self.n, self.channels, "Head")
        if isinstance(reconciliation, nn.Module) and self.channels > 1:
            raise ConfigError(
                "a built reconciliation module can serve one channel only; pass a spec for channels > 1",
                child_path("reconciliation"),
            )
        self.reconciliations = nn.ModuleList(
            child(
                "reconciliation", reconciliation, "reconciliation", Reconciliation, n=channel_n, D=self.D, layout=layout
            )
            for _ in range(self.channels)
        )
        self.fusion = make_fusion()
        self.remainder = child("remainder", remainder, "remainder", Remainder, "a Remainder", m=self.m, n=self.n)
        self.output_processing = build_processing(output_processing, self.n, "output_processing")
        self.implicit = implicit
        self._layout = self._implicit_layout(layout, implicit)

    def _implicit_layout(self, layout: list | None, implicit: bool | None) -> list | None:
        """The layout forward contracts implicitly, or None (explicit path); see the ``implicit`` argument."""
        possible = self.instance_interdependence is None and all(supports(psi, layout) for psi in self.reconciliations)
        if implicit and not possible:
            raise ConfigError(
                f"no implicit path for expansion {type(self.expansion).__name__} with reconciliation "
                f"{type(self.reconciliation).__name__}"
                + (" and an instance interdependence" if self.instance_interdependence is not None else "")
                + "; use implicit: null (auto) or false",
                child_path("implicit"),
            )
        return layout if possible and (implicit or (implicit is None and worthwhile(layout))) else None

    @property
    def uses_implicit_path(self) -> bool:
        """Whether forward contracts the features implicitly (never building kappa(x))."""
        return self._layout is not None

    @property
    def reconciliation(self) -> Reconciliation:
        """The first channel's reconciliation (the only one when channels == 1)."""
        return self.reconciliations[0]

    @property
    def l(self) -> int:  # noqa: E743
        """Learnable numbers of all channels' reconciliations (the papers' l, summed over channels)."""
        return sum(psi.l for psi in self.reconciliations)

    def transform(self, x: Tensor) -> Tensor:
        """kappa_xi(x): attribute xi, expansion and instance xi of a processed input."""
        xa = x if self.attribute_interdependence is None else self.attribute_interdependence(x)
        z = self.expansion(xa)
        if self.instance_interdependence is not None:
            z = self.instance_interdependence(x, z)
        return z

    def channel_outputs(self, x: Tensor) -> list[Tensor]:
        """<kappa_xi(x), psi_c(w)> for every channel c (x already processed)."""
        if self._layout is not None:
            xa = x if self.attribute_interdependence is None else self.attribute_interdependence(x)
            bases = bases_of(self.expansion, xa)
            return [implicit_product(psi, self._layout, bases) for psi in self.reconciliations]
        z = self.transform(x)
        return [psi(z) for psi in self.reconciliations]

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "Head")
        if self.input_processing is not None:
            x = self.input_processing(x)
        y = self.fusion(self.channel_outputs(x))
        if not self.remainder.is_zero:
            r = self.remainder(x)
            if r.shape[:-1] != y.shape[:-1] and r.dim() == y.dim():
                raise ShapeError(
                    f"Head: the remainder gives {tuple(r.shape)} but the main path gives {tuple(y.shape)} "
                    "(an instance interdependence changed the number of rows; use remainder 'zero')"
                )
            y = y + r
        if self.output_processing is not None:
            y = self.output_processing(y)
        return y

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, D={self.D}, l={self.l}, channels={self.channels}"

    def to_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"m": self.m, "n": self.n, "expansion": to_plain(self.expansion)}
        recs = [psi.to_config() for psi in self.reconciliations]
        config["reconciliation"] = recs[0]
        if any(r != recs[0] for r in recs[1:]):
            raise ConfigError("Head.to_config: channels with different reconciliation configs cannot be written")
        config["remainder"] = to_plain(self.remainder)
        config["channels"] = self.channels
        config["fusion"] = to_plain(self.fusion)
        for key in ("attribute_interdependence", "instance_interdependence"):
            module = getattr(self, key)
            if module is not None:
                config[key] = to_plain(module)
        for key in ("input_processing", "output_processing"):
            module = getattr(self, key)
            if module is not None:
                config[key] = processing_config(module)
        if self.implicit is not None:
            config["implicit"] = self.implicit
        return config
