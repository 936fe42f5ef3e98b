"""RPN 2 models: ``cnn``, ``resnet``, ``rnn``, ``regression_rnn``, ``gcn``, ``gat`` and ``transformer``.

Each model is an :class:`rpnkit.RPN` (kind ``"model"``) whose constructor takes the architecture's own
arguments and builds its layers from head specs, computing every width from the heads' geometry
(:meth:`GridHead.geometry <rpnkit.nn.GridHead.geometry>`, token counts, node widths): ``.layers``, the
model summary, ``rk.save`` / ``rk.load`` and the trainer treat it like any RPN, and ``to_config()`` is
``{"name": <model>, **the constructor arguments}``, which :func:`rpnkit.build_model` turns back into the
same architecture.

Every model returns logits (no softmax, no log-softmax inside); activations, normalisation and dropout
run between layers only (a head's ``output_processing``), never after the output layer.

Three pieces the models need that the heads of :mod:`rpnkit.nn` do not give, registered here:

* :class:`ResidualBlock` (layer ``residual``): heads applied in sequence with one remainder across all
  of them, ``y = post(pi(x) + f_K(... f_1(pre(x))))``. A head's own remainder adds pi of *its* input,
  so a skip connection over two heads (ResNet's basic block conv-relu-conv, the Transformer's
  feed-forward) or around a pre-normalised branch (pre-norm Transformer: x + f(LN(x))) is not
  expressible with it; the block is exactly that remainder, one level up.
* :class:`TokenLayerNorm` (processing ``token_layer_norm``): layer normalisation of every token of a
  token-major row (``layer_norm`` normalises the whole row), as ``nn.TransformerEncoderLayer``.
* :class:`TokenEmbeddingHead` (head ``token_embedding``): the per-token input projection of a
  Transformer with learned position vectors (attention alone is blind to token order) and an optional
  class token.

Against the reference system's ready-made models: no softmax after blocks or on the output; the
Transformer attends among the tokens of one sample (the reference mixed the rows of the batch, fixed the
batch size and crashed); the RNN's steps are mixed by a chain interdependence with separate weights for a
step and its predecessors (the reference's read-out was a fixed mean over time); ResNet's residuals are
identities across two convolutions (the reference's was a dense (patches out_c) x (h w in_c) matrix);
the grid models take no batch norm over all positions.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..base import Reconciliation, Remainder, Transformation
from ..component import Component, check_last_dim, to_plain
from ..errors import ConfigError
from ..kappa import KAPPA_KINDS
from ..nn import GridCompressionHead, GridHead
from ..nn._build import child
from ..nn._rpn2 import RPN2Head, checked_n, length_width_mismatch, token_args
from ..processing import build_processing, processing_config
from ..registry import get_class, register
from ..validation import (
    check_bool,
    check_choice,
    check_factor,
    check_fraction,
    check_int,
    check_real,
    child_path,
)
from ._base import ZooBase

__all__ = [
    "ResidualBlock",
    "TokenLayerNorm",
    "TokenEmbeddingHead",
    "CNN",
    "ResNet",
    "RNN",
    "RegressionRNN",
    "GCN",
    "GAT",
    "Transformer",
]

#: a dense W with a bias: nn.Linear as a reconciliation
LINEAR = {"name": "identity", "bias": True}


# ------------------------------------------------------------------------------------ argument checks


def _ints(value: Any, name: str, minimum: int = 1, allow_empty: bool = False) -> list[int]:
    """A list of ints >= minimum (a tuple is accepted)."""
    if not isinstance(value, (list, tuple)) or (not value and not allow_empty):
        need = "a list of ints" + ("" if allow_empty else " (at least one)")
        raise ConfigError(f"{name} must be {need}, got {value!r}", child_path(name))
    return [check_int(v, name, minimum, path=child_path(name) + f"[{i}]") for i, v in enumerate(value)]


def _processing(value: Any, name: str) -> Any:
    """None, or a processing spec (a registered name or a mapping with 'name'), looked up now."""
    if value is None:
        return None
    if isinstance(value, str):
        get_class("processing", value, child_path(name))
    elif isinstance(value, dict) and isinstance(value.get("name"), str):
        get_class("processing", value["name"], child_path(f"{name}.name"))
    else:
        raise ConfigError(
            f"{name} must be a processing name (e.g. 'relu') or a mapping with 'name', or null, got {value!r}",
            child_path(name),
        )
    return copy.deepcopy(value)


def _spec(
    value: Any, name: str, kinds: str | tuple[str, ...], allow_none: bool = False, default_name: str | None = None
) -> Any:
    """A spec of a registered component (a name or a mapping with 'name'; ``default_name`` is the name the
    head gives a mapping without one), looked up now; models build one component per layer from it, so
    built modules are refused."""
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        get_class(kinds, value, child_path(name))
    elif isinstance(value, dict) and ("name" in value or default_name is not None):
        get_class(kinds, value.get("name", default_name), child_path(f"{name}.name"))
    else:
        label = kinds if isinstance(kinds, str) else "/".join(kinds)
        raise ConfigError(
            f"{name} must be a {label} name or a mapping with 'name'{' or null' if allow_none else ''}, got {value!r}",
            child_path(name),
        )
    return copy.deepcopy(value)


def _between(activation: Any, dropout: float) -> list[Any]:
    """The processing after a hidden layer: activation, then dropout (each optional)."""
    steps: list[Any] = []
    if activation is not None:
        steps.append(copy.deepcopy(activation))
    if dropout > 0:
        steps.append({"name": "dropout", "p": float(dropout)})
    return steps


def _layer(m: int, n: int, head: dict[str, Any], processing: list[Any] | None = None) -> dict[str, Any]:
    """A layer spec of one head, with the head's output processing when there is any."""
    if processing:
        head["output_processing"] = processing
    return {"m": m, "n": n, "head": head}


def _linear_layer(m: int, n: int, processing: list[Any] | None = None) -> dict[str, Any]:
    """A fully connected layer spec (identity kappa, dense W with bias), with optional output processing."""
    return _layer(m, n, {"reconciliation": dict(LINEAR)}, processing)


def _classifier_args(fc_dims: Any, classes: Any, activation: Any, dropout: Any) -> tuple[list[int], int, Any, float]:
    """The checked (fc_dims, classes, activation, dropout) of a grid model's fully connected end."""
    fc = _ints(fc_dims, "fc_dims", allow_empty=True)
    return fc, check_int(classes, "classes"), _processing(activation, "activation"), check_fraction(dropout, "dropout")


def _classifier(width: int, fc: list[int], classes: int, act: Any, dropout: float) -> list[dict[str, Any]]:
    """Fully connected layers width -> fc... -> classes, the hidden ones with activation and dropout."""
    widths = [width, *fc, classes]
    last = len(widths) - 2
    return [
        _linear_layer(widths[j], widths[j + 1], None if j == last else _between(act, dropout)) for j in range(last + 1)
    ]


def _grid_layer(layers: list[dict[str, Any]], spec: dict[str, Any], shape: Any) -> tuple[int, int, int]:
    """Append a grid head's layer; returns its output grid (channels, h, w)."""
    layers.append({"m": shape.m, "n": shape.n, "head": spec})
    return shape.out_grid[:3]


# ------------------------------------------------------------------------------------ building blocks


@register("processing", "token_layer_norm", aliases=["token_layernorm"])
class TokenLayerNorm(Component):
    """Layer normalisation of every token of a token-major row, with one affine shared by the tokens.

    The row x in R^{L d} is viewed as L tokens of width d (``x.reshape(..., L, d)``) and each token is
    normalised over its d features, as ``nn.LayerNorm(d)`` on a (..., L, d) tensor (the Transformer's
    norm); ``layer_norm`` would normalise over all L d features of the row.

    Args:
        m: the row width L d (injected).
        width: d, the token width (divides m).
        eps, elementwise_affine: as ``nn.LayerNorm``.

    Shape:
        (..., L d) -> (..., L d)
    """

    def __init__(self, m: int, width: int, eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        super().__init__()
        self.m = check_int(m, "m")
        self.width = check_factor(width, "width", self.m, "m")
        affine = check_bool(elementwise_affine, "elementwise_affine")
        self.norm = nn.LayerNorm(self.width, eps=check_real(eps, "eps", gt=0), elementwise_affine=affine)

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "token_layer_norm")
        return self.norm(x.unflatten(-1, (-1, self.width))).flatten(-2)

    def extra_repr(self) -> str:
        return f"m={self.m}, width={self.width}"


@register("layer", "residual", aliases=["residual_block"])
class ResidualBlock(RPN2Head):
    """Heads applied in sequence with one remainder across them: ``y = post(pi(x) + f_K(... f_1(pre(x))))``.

    The skip connection of deep networks as an RPN layer: pi is any remainder built with (m, n)
    (``identity`` when m == n, ``skip`` or ``linear`` otherwise), taken on the block's raw input, and
    f_k are RPN heads (each with its own processing). ``input_processing`` runs on the branch only (a
    pre-norm block: x + f(LN(x))) and ``output_processing`` after the sum (a post-norm block: LN(x +
    f(x)), or ResNet's ReLU(x + f(x))).

    Args:
        m: input width.
        n: output width (the last head's n).
        heads: head specs, applied in order; head k is built with m = the previous head's n; every
            head but the last needs its n in the spec unless it computes it (grid and bilinear heads).
        remainder: pi spec built with (m, n); default ``"identity"``.
        input_processing: processing spec on the branch's input (width m).
        output_processing: processing spec after the sum (width n).

    Attributes:
        m, n, width (1), D (the widest expansion among the heads, None when none has one), l (the heads'
        learnable numbers), heads.

    Shape:
        (..., m) -> (..., n)

    Example:
        >>> import torch
        >>> block = ResidualBlock(6, 6, heads=[{"name": "rpn", "n": 12, "output_processing": "relu"}, "rpn"])
        >>> block(torch.randn(2, 6)).shape, [h.n for h in block.heads]
        (torch.Size([2, 6]), [12, 6])
    """

    def __init__(
        self,
        m: int,
        n: int,
        heads: Sequence[Any],
        remainder: Any = "identity",
        input_processing: Any = None,
        output_processing: Any = None,
    ) -> None:
        super().__init__()
        self.m = check_int(m, "m")
        self.n = check_int(n, "n")
        if not isinstance(heads, (list, tuple)) or not heads:
            raise ConfigError(f"heads must be a list of head specs (at least one), got {heads!r}", child_path("heads"))
        self.input_processing = build_processing(input_processing, self.m, "input_processing")
        built: list[nn.Module] = []
        width = self.m
        for i, spec in enumerate(heads):
            if isinstance(spec, dict) and "name" not in spec:
                spec = {"name": "rpn", **spec}
            dims = {"m": width, "n": self.n} if i == len(heads) - 1 else {"m": width}
            head = child("head", spec, f"heads[{i}]", **dims)
            width = head.n
            built.append(head)
        self.heads = nn.ModuleList(built)
        self.remainder = child("remainder", remainder, "remainder", Remainder, "a Remainder", m=self.m, n=self.n)
        self.output_processing = build_processing(output_processing, self.n, "output_processing")

    @property
    def width(self) -> int:
        return 1

    @property
    def channels(self) -> int:
        return 1

    @property
    def D(self) -> int | None:
        widths = [d for d in (getattr(h, "D", None) for h in self.heads) if isinstance(d, int)]
        return max(widths) if widths else None

    @property
    def l(self) -> int:  # noqa: E743
        return sum(int(getattr(h, "l", 0)) for h in self.heads)

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "residual block")
        y = x if self.input_processing is None else self.input_processing(x)
        for head in self.heads:
            y = head(y)
        return self._finish(y, x)

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, heads={len(self.heads)}"

    def to_config(self) -> dict[str, Any]:
        heads = []
        for i, head in enumerate(self.heads):
            cfg = to_plain(head)
            cfg.pop("m", None)
            cfg.pop("n", None)
            if i < len(self.heads) - 1:
                cfg["n"] = head.n
            heads.append(cfg)
        config: dict[str, Any] = {"name": "residual", "m": self.m, "n": self.n, "heads": heads}
        config["remainder"] = to_plain(self.remainder)
        for key in ("input_processing", "output_processing"):
            module = getattr(self, key)
            if module is not None:
                config[key] = processing_config(module)
        return config


@register("head", "token_embedding", aliases=["embedding"])
class TokenEmbeddingHead(RPN2Head):
    """Per-token projection with learned positions: ``g(x)_t = psi(kappa(x_t)) + b + p_t`` for t < L.

    The row x in R^{L d} holds L tokens of width d (token-major, as :class:`~rpnkit.nn.BilinearHead`);
    kappa and psi act on every token with shared weights, p_t in R^{d_out} is a learned position vector
    (what tells attention the token order) and, with ``cls``, a learned class token is put in front:
    the output holds L' = L + 1 tokens.

    Args:
        m: input width L d.
        n: output width L' d_out; computed when None, checked when given.
        length: L (give ``length`` or ``width``; the other follows from m).
        width: d, the input token width.
        out_width: d_out; default d.
        expansion: kappa spec, built with the token width d; default ``"identity"``.
        reconciliation: psi spec (d_out, D); default ``"identity"`` (dense W).
        bias: a learnable b in R^{d_out}.
        positional: learn the position vectors p_t (N(0, 1) at initialisation).
        cls: put a learned class token (N(0, 1) at initialisation) before the L tokens.
        output_processing: processing spec on the output (width n).

    Attributes:
        length, width, out_width, tokens (L'), D (kappa's width per token), l (psi's learnable numbers).

    Shape:
        (..., L d) -> (..., L' d_out)

    Example:
        >>> import torch
        >>> head = TokenEmbeddingHead(5 * 3, length=5, out_width=8, cls=True)
        >>> head.n, head(torch.randn(2, 15)).shape
        (48, torch.Size([2, 48]))
    """

    child_keys = ("expansion", "reconciliation")
    processing_keys = ("output_processing",)

    def __init__(
        self,
        m: int,
        n: int | None = None,
        length: int | None = None,
        width: int | None = None,
        out_width: int | None = None,
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        bias: bool = True,
        positional: bool = True,
        cls: bool = False,
        output_processing: Any = None,
    ) -> None:
        super().__init__()
        self.m, length, width = token_args(m, length, width)
        if length is not None:
            self.length = check_factor(length, "length", self.m, "m")
            self.width = self.m // self.length
            if width is not None and width != self.width:
                raise length_width_mismatch(self.m, length, width)
        else:
            self.width = check_factor(width, "width", self.m, "m")
            self.length = self.m // self.width
        self.out_width = check_int(self.width if out_width is None else out_width, "out_width")
        self.cls_token = check_bool(cls, "cls")
        self.tokens = self.length + int(self.cls_token)
        formula = f"(length{' + 1' if self.cls_token else ''}) * out_width = {self.tokens} * {self.out_width}"
        self.n = checked_n(n, self.tokens * self.out_width, formula)
        self.expansion = child(
            KAPPA_KINDS, expansion, "expansion", Transformation, "an Expansion or Compression", m=self.width
        )
        self.D = self.expansion.D
        self.reconciliation = child(
            "reconciliation", reconciliation, "reconciliation", Reconciliation, n=self.out_width, D=self.D
        )
        if check_bool(bias, "bias"):
            self.bias = nn.Parameter(torch.empty(self.out_width))
        else:
            self.register_parameter("bias", None)
        if check_bool(positional, "positional"):
            self.position = nn.Parameter(torch.empty(self.length, self.out_width))
        else:
            self.register_parameter("position", None)
        if self.cls_token:
            self.cls = nn.Parameter(torch.empty(self.out_width))
        else:
            self.register_parameter("cls", None)
        self.output_processing = build_processing(output_processing, self.n, "output_processing")
        self.reset_parameters()

    @property
    def channels(self) -> int:
        return 1

    @property
    def l(self) -> int:  # noqa: E743
        return self.reconciliation.l

    def reset_parameters(self) -> None:
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        if self.position is not None:
            nn.init.normal_(self.position)
        if self.cls is not None:
            nn.init.normal_(self.cls)

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "token_embedding head")
        psi = self.reconciliation
        y = psi.product(self.expansion(x.unflatten(-1, (self.length, self.width))))
        for term in (psi.bias, self.bias, self.position):
            if term is not None:
                y = y + term
        if self.cls is not None:
            y = torch.cat([self.cls.expand(*y.shape[:-2], 1, self.out_width), y], dim=-2)
        return self._output(y.flatten(-2))

    def extra_repr(self) -> str:
        return (
            f"m={self.m}, n={self.n}, length={self.length}, width={self.width}, out_width={self.out_width}, "
            f"cls={self.cls_token}, l={self.l}"
        )


def _pool_steps(length: int, width: int, metric: str) -> dict[str, Any]:
    """A grid_compression head spec pooling L tokens (or steps) of a token-major row: (L d) -> (d).

    The row is a 1 x L x d grid; one L x 1 patch per feature column (stride L along the tokens).
    """
    return {"name": "grid_compression", "channels": 1, "h": length, "w": width, "metric": metric,
            "p_h": 0, "p_h_prime": length - 1, "p_w": 0, "p_w_prime": 0}  # fmt: skip


def _first_token(length: int, width: int) -> dict[str, Any]:
    """A grid_compression head spec keeping token 0 of a token-major row: a 1 x 1 patch, stride L."""
    return {"name": "grid_compression", "channels": 1, "h": length, "w": width, "metric": "max",
            "p_h": 0, "p_h_prime": 0, "p_w": 0, "p_w_prime": 0, "cd_h": length}  # fmt: skip


# ------------------------------------------------------------------------------------------ the base


class ZooRPN2(ZooBase):
    """Base of the RPN 2 models: an :class:`RPN` built from the model's own arguments.

    Subclasses register under kind ``"model"`` and call ``RPN.__init__(layers=[...])`` with layer specs;
    :meth:`to_config` returns ``{"name": <model>, **constructor arguments}``.
    """


def _grid(h: int, w: int | None) -> tuple[int, int]:
    h = check_int(h, "h")
    return h, (h if w is None else check_int(w, "w"))


def _conv_spec(
    c_in: int, c_out: int, h: int, w: int, kernel: int, expansion: Any, processing: list[Any], where: str
) -> tuple[dict[str, Any], Any]:
    """(grid head spec of a stride-1 'same' k x k convolution, its GridShape)."""
    if kernel > h or kernel > w:
        raise ConfigError(f"kernel={kernel} is larger than the {h} x {w} grid {where}", child_path("kernel"))
    extents = {"p_h": (kernel - 1) // 2, "p_h_prime": kernel // 2, "p_w": (kernel - 1) // 2, "p_w_prime": kernel // 2}
    shape = GridHead.geometry(h=h, w=w, in_channels=c_in, out_channels=c_out, **extents)
    spec = {"name": "grid", "in_channels": c_in, "out_channels": c_out, "h": h, "w": w, **extents}
    if expansion != "identity":
        spec["expansion"] = copy.deepcopy(expansion)
    if processing:
        spec["output_processing"] = copy.deepcopy(processing)
    return spec, shape


def _pool_spec(channels: int, h: int, w: int, pool: int, metric: str, where: str) -> tuple[dict[str, Any], Any]:
    """(grid_compression head spec of a non-overlapping pool x pool pooling, its GridShape)."""
    if pool > h or pool > w:
        raise ConfigError(f"pool={pool} is larger than the {h} x {w} grid {where}", child_path("pool"))
    extents = {"p_h": 0, "p_h_prime": pool - 1, "p_w": 0, "p_w_prime": pool - 1}
    shape = GridCompressionHead.geometry(h=h, w=w, channels=channels, **extents)
    return {"name": "grid_compression", "channels": channels, "h": h, "w": w, "metric": metric, **extents}, shape


# ------------------------------------------------------------------------------------------ grid models


@register("model", "cnn", aliases=["convolutional"])
class CNN(ZooRPN2):
    """A convolutional network: grid heads (convolutions), grid-compression heads (pooling), then
    fully connected layers; returns logits.

    With the image x in R^{C h w} flattened channel-major (``images.flatten(1)``)::

        conv_i:  a_i = act(K_i * a_{i-1} + b_i)       (grid head: k x k patches, stride 1, 'same')
        pool:    every ``pool_every`` convs, pool x pool non-overlapping max (or mean) pooling
        fc_j:    a = dropout(act(W_j a + b_j))       for the widths ``fc_dims``
        logits = W a + b

    Every m, n and output grid is computed from :meth:`GridHead.geometry` /
    :meth:`GridCompressionHead.geometry`; the layers equal ``F.conv2d(padding="same")``,
    ``F.max_pool2d(pool)`` (or ``F.avg_pool2d``) and ``F.linear`` (a grid side that ``pool`` does not
    divide keeps its border window over the cells that exist, as ``ceil_mode=True``).

    Args:
        in_channels: C, the image channels.
        h, w: the image size (w defaults to h).
        conv_channels: output channels of the convolutions, in order.
        kernel: k, the convolution's patch size (k x k; an even k puts the extra cell after the centre).
        pool: the pooling window and stride (1: no pooling).
        pool_every: pool after every ``pool_every`` convolutions.
        pool_metric: ``"max"`` or ``"mean"``.
        fc_dims: widths of the hidden fully connected layers.
        classes: the output width.
        activation: processing spec after every convolution and hidden fully connected layer, or None.
        dropout: drop probability after the hidden fully connected layers' activation.
        expansion: the grid heads' per-value kappa (``"identity"``, ``{"name": "taylor", "degree": 2}``...).

    Shape:
        (..., C h w) -> (..., classes)

    Example:
        >>> import torch
        >>> model = CNN(h=8, conv_channels=[4, 8], fc_dims=[16])
        >>> model(torch.randn(3, 64)).shape, [layer.n for layer in model.layers]
        (torch.Size([3, 10]), [256, 64, 128, 32, 16, 10])
    """

    def __init__(
        self,
        in_channels: int = 1,
        h: int = 28,
        w: int | None = None,
        conv_channels: Sequence[int] = (32, 64),
        kernel: int = 3,
        pool: int = 2,
        pool_every: int = 1,
        pool_metric: str = "max",
        fc_dims: Sequence[int] = (128,),
        classes: int = 10,
        activation: Any = "relu",
        dropout: float = 0.0,
        expansion: Any = "identity",
    ) -> None:
        channels = check_int(in_channels, "in_channels")
        h, w = _grid(h, w)
        convs = _ints(conv_channels, "conv_channels")
        kernel = check_int(kernel, "kernel")
        pool = check_int(pool, "pool")
        every = check_int(pool_every, "pool_every")
        metric = check_choice(pool_metric, "pool_metric", ["max", "mean"])
        fc, classes, act, dropout = _classifier_args(fc_dims, classes, activation, dropout)
        expansion = _spec(expansion, "expansion", KAPPA_KINDS)
        layers: list[dict[str, Any]] = []
        for i, c in enumerate(convs):
            spec, shape = _conv_spec(channels, c, h, w, kernel, expansion, _between(act, 0.0), f"of convolution {i}")
            channels, h, w = _grid_layer(layers, spec, shape)
            if pool > 1 and (i + 1) % every == 0:
                pooling = _pool_spec(channels, h, w, pool, metric, f"after convolution {i}")
                channels, h, w = _grid_layer(layers, *pooling)
        super().__init__(layers=layers + _classifier(channels * h * w, fc, classes, act, dropout))


@register("model", "resnet", aliases=["residual_cnn"])
class ResNet(ZooRPN2):
    """A residual CNN: stages of a convolution and basic residual blocks, pooling, then fully connected layers.

    With the image flattened channel-major, for every stage s with c_s channels::

        a = act(K * a + b)                                      (c_{s-1} -> c_s: the channel change)
        a = act(a + K_2 * act(K_1 * a + b_1) + b_2)   x blocks (a residual block: identity remainder)
        a = pool(a)                                             (pool x pool max, unless pool = 1)

    then fully connected layers over ``fc_dims`` and the logits. Each basic block is a
    :class:`ResidualBlock` (layer ``residual``) of two grid heads with an identity remainder: the skip
    adds the block's input, free of parameters (the reference's residual was a dense n x m matrix).

    Args:
        in_channels: C, the image channels.
        h, w: the image size (w defaults to h).
        stages: channels of every stage, in order.
        blocks: residual blocks per stage.
        kernel: the convolutions' patch size (k x k, stride 1, 'same').
        pool: pooling window and stride after every stage (1: none).
        pool_metric: ``"max"`` or ``"mean"``.
        fc_dims: widths of the hidden fully connected layers.
        classes: the output width.
        activation: processing spec after every convolution, block and hidden fully connected layer.
        dropout: drop probability after the hidden fully connected layers' activation.

    Shape:
        (..., C h w) -> (..., classes)

    Example:
        >>> import torch
        >>> model = ResNet(h=8, stages=[4, 8], blocks=1)
        >>> model(torch.randn(2, 64)).shape, [type(layer).__name__ for layer in model.layers][:3]
        (torch.Size([2, 10]), ['Layer', 'ResidualBlock', 'Layer'])
    """

    def __init__(
        self,
        in_channels: int = 1,
        h: int = 28,
        w: int | None = None,
        stages: Sequence[int] = (16, 32),
        blocks: int = 1,
        kernel: int = 3,
        pool: int = 2,
        pool_metric: str = "max",
        fc_dims: Sequence[int] = (),
        classes: int = 10,
        activation: Any = "relu",
        dropout: float = 0.0,
    ) -> None:
        channels = check_int(in_channels, "in_channels")
        h, w = _grid(h, w)
        stages = _ints(stages, "stages")
        blocks = check_int(blocks, "blocks", 0)
        kernel = check_int(kernel, "kernel")
        pool = check_int(pool, "pool")
        metric = check_choice(pool_metric, "pool_metric", ["max", "mean"])
        fc, classes, act, dropout = _classifier_args(fc_dims, classes, activation, dropout)
        between = _between(act, 0.0)
        layers: list[dict[str, Any]] = []
        for s, c in enumerate(stages):
            where = f"of stage {s}"
            spec, shape = _conv_spec(channels, c, h, w, kernel, "identity", between, where)
            channels, h, w = _grid_layer(layers, spec, shape)
            for _ in range(blocks):
                first, _shape = _conv_spec(c, c, h, w, kernel, "identity", between, where)
                second, _shape = _conv_spec(c, c, h, w, kernel, "identity", [], where)
                block: dict[str, Any] = {"name": "residual", "m": shape.n, "n": shape.n, "heads": [first, second]}
                if between:
                    block["output_processing"] = copy.deepcopy(between)
                layers.append(block)
            if pool > 1:
                channels, h, w = _grid_layer(layers, *_pool_spec(channels, h, w, pool, metric, f"after stage {s}"))
        super().__init__(layers=layers + _classifier(channels * h * w, fc, classes, act, dropout))


# ------------------------------------------------------------------------------------------ sequences


def _rnn_layers(
    length: int,
    dims: list[int],
    interdependence: Any,
    expansion: Any,
    remainder: Any,
    act: Any,
    dropout: float,
) -> list[dict[str, Any]]:
    """The chain layers of the RNNs: one per consecutive pair of dims[:-1], over the L steps."""
    layers = []
    for i in range(len(dims) - 2):
        head = {
            "name": "chain",
            "length": length,
            "interdependence": copy.deepcopy(interdependence),
            "expansion": copy.deepcopy(expansion),
            "bias": True,
            "remainder": copy.deepcopy(remainder),
        }
        layers.append(_layer(length * dims[i], length * dims[i + 1], head, _between(act, dropout)))
    return layers


def _rnn_dims(dims: Any) -> list[int]:
    dims = _ints(dims, "dims")
    if len(dims) < 3:
        raise ConfigError(
            f"dims needs at least three widths [input step width, hidden width(s), output], got {dims}",
            child_path("dims"),
        )
    return dims


@register("model", "rnn", aliases=["chain_rnn"])
class RNN(ZooRPN2):
    """A sequence classifier: chain-interdependence layers over the time steps, a read-out over the steps,
    and an output layer; returns logits.

    The row x in R^{L d_0} holds L steps of d_0 features, step-major (step t at columns [t d_0, (t+1) d_0)).
    Every hidden layer k is a :class:`~rpnkit.nn.ChainHead` (attribute kind): with the default chain,
    step t receives its own features and its predecessor's, with separate weights (the chain's mix
    plus the linear remainder)::

        h^k_t = act(W_k (h^{k-1}_t + h^{k-1}_{t-1}) + V_k h^{k-1}_t + b_k)

    so after K layers step t has seen steps t-K .. t in order; ``inverse_approx_multihop_chain``
    (``{"name": ..., "alpha": 0.5}``) gives every step all its predecessors at once, the unrolled linear
    recurrence h_t = x_t + alpha h_{t-1}. (A non-linear recurrence h_t = f(h_{t-1}, x_t) is not an RPN
    layer: depth plays its part.) The read-out pools every feature over the steps (``mean`` or ``max``,
    a grid-compression head) or flattens them (``flatten``: the output layer sees all L steps), then a
    dense output layer gives the logits.

    Args:
        length: L, the number of steps.
        dims: [d_0 (step width), d_1, ..., d_{K} (hidden widths per step), output width]; at least 3.
        interdependence: the chain spec of every hidden layer (``chain``, ``multihop_chain``,
            ``inverse_approx_multihop_chain``, ``exponential_approx_multihop_chain``, or a mapping with its
            options); None: steps independent (a bag of steps).
        expansion: kappa of every hidden layer, per step; default ``"identity"``.
        remainder: pi of every hidden layer, per step (d_k -> d_{k+1}); default ``"linear"`` (the step's
            own weights V_k; ``"zero"`` leaves only the chain's mix).
        activation: processing spec after every hidden layer, or None.
        dropout: drop probability after every hidden layer's activation.
        readout: ``"mean"`` (default), ``"max"`` or ``"flatten"``.

    Shape:
        (..., L d_0) -> (..., dims[-1])

    Example:
        >>> import torch
        >>> model = RNN(length=6, dims=[3, 8, 8, 2])
        >>> model(torch.randn(4, 18)).shape, [layer.n for layer in model.layers]
        (torch.Size([4, 2]), [48, 48, 8, 2])
    """

    def __init__(
        self,
        length: int,
        dims: Sequence[int],
        interdependence: Any = "chain",
        expansion: Any = "identity",
        remainder: Any = "linear",
        activation: Any = "relu",
        dropout: float = 0.0,
        readout: str = "mean",
    ) -> None:
        length = check_int(length, "length")
        dims = _rnn_dims(dims)
        interdependence = _spec(interdependence, "interdependence", "interdependence", True, "chain")
        expansion = _spec(expansion, "expansion", KAPPA_KINDS)
        remainder = _spec(remainder, "remainder", "remainder")
        act = _processing(activation, "activation")
        dropout = check_fraction(dropout, "dropout")
        readout = check_choice(readout, "readout", ["mean", "max", "flatten"])
        layers = _rnn_layers(length, dims, interdependence, expansion, remainder, act, dropout)
        hidden = dims[-2]
        if readout == "flatten":
            layers.append(_linear_layer(length * hidden, dims[-1]))
        else:
            layers.append({"m": length * hidden, "n": hidden, "head": _pool_steps(length, hidden, readout)})
            layers.append(_linear_layer(hidden, dims[-1]))
        super().__init__(layers=layers)


@register("model", "regression_rnn")
class RegressionRNN(RNN):
    """The :class:`RNN` with a flattened read-out: the output layer sees every step's features.

    For sequence regression (forecasting the next values from L steps): chain layers over the steps as
    in :class:`RNN`, then one dense layer from the L d_K features to dims[-1] outputs (the reference's
    ``regression_rnn``, m = L dims[-2]).

    Args:
        length, dims, interdependence, expansion, remainder, activation, dropout: as :class:`RNN`.

    Shape:
        (..., L d_0) -> (..., dims[-1])

    Example:
        >>> import torch
        >>> RegressionRNN(length=5, dims=[1, 8, 1])(torch.randn(3, 5)).shape
        torch.Size([3, 1])
    """

    def __init__(
        self,
        length: int,
        dims: Sequence[int],
        interdependence: Any = "chain",
        expansion: Any = "identity",
        remainder: Any = "linear",
        activation: Any = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(length, dims, interdependence, expansion, remainder, activation, dropout, readout="flatten")


# ------------------------------------------------------------------------------------------ graphs


def _graph_dims(dims: Any) -> list[int]:
    dims = _ints(dims, "dims")
    if len(dims) < 2:
        raise ConfigError(f"dims needs at least two widths [input, ..., output], got {dims}", child_path("dims"))
    return dims


@register("model", "gcn", aliases=["graph_convolutional"])
class GCN(ZooRPN2):
    """A graph convolutional network (Kipf and Welling): graph heads over the N nodes of one graph.

    The rows of the input are the nodes (x in R^{N x d_0}, the whole graph at once)::

        H_k = dropout(act(A_hat H_{k-1} W_k + b_k))   (k < K),    logits = A_hat H_{K-1} W_K + b_K

    with A_hat = D^-1/2 (A + I) D^-1/2 (``torch_geometric``'s ``GCNConv`` stack). The graph reaches the
    model through the heads' ``adjacency: data`` interdependences: call
    ``rpnkit.interdependence.attach_graph(model, edge_index, num_nodes)`` before the first forward, or
    train with ``rpnkit train`` on a graph dataset (the experiment runner attaches its edges); a saved
    model keeps its graph.

    Args:
        dims: node widths [d_0, d_1, ..., d_K] (d_K: the classes).
        interdependence: the graph interdependence of every layer: a name (``graph``, ``multihop_graph``,
            ``pagerank``) or a mapping (the keys it omits are GCN's: ``adjacency: data``, undirected,
            self loops, symmetric normalisation); an ``adjacency`` edge list fixes the graph in the config.
            None: no graph (every node on its own: the node-features-only MLP baseline).
        expansion: kappa of every layer, per node; default ``"identity"``.
        activation: processing spec after every hidden layer, or None.
        dropout: drop probability after every hidden layer's activation.
        bias: learnable b_k.

    Shape:
        (..., N, d_0) -> (..., N, d_K)

    Example:
        >>> import torch
        >>> from rpnkit.interdependence import attach_graph
        >>> model = GCN([4, 8, 3])
        >>> attach_graph(model, torch.tensor([[0, 1, 2], [1, 2, 3]]), 5)
        2
        >>> model(torch.randn(5, 4)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        dims: Sequence[int],
        interdependence: Any = "graph",
        expansion: Any = "identity",
        activation: Any = "relu",
        dropout: float = 0.5,
        bias: bool = True,
    ) -> None:
        dims = _graph_dims(dims)
        xi = _spec(interdependence, "interdependence", "interdependence", True, "graph")
        expansion = _spec(expansion, "expansion", KAPPA_KINDS)
        act = _processing(activation, "activation")
        dropout = check_fraction(dropout, "dropout")
        bias = check_bool(bias, "bias")
        layers = []
        for i in range(len(dims) - 1):
            head = {"name": "graph", "instance_interdependence": copy.deepcopy(xi), "bias": bias}
            if expansion != "identity":
                head["expansion"] = copy.deepcopy(expansion)
            layers.append(_layer(dims[i], dims[i + 1], head, _between(act, dropout) if i < len(dims) - 2 else []))
        super().__init__(layers=layers)


@register("model", "gat", aliases=["graph_attention"])
class GAT(ZooRPN2):
    """A graph attention network (Velickovic et al.): graph-bilinear heads over the N nodes of one graph.

    Hidden layer k: ``heads`` attention heads over every node's neighbours (self loops included),
    concatenated (dims[k] = heads x head width), then the activation (ELU) and dropout; the output layer
    averages ``out_heads`` heads of width dims[-1]. With the defaults this is a stack of
    ``torch_geometric``'s ``GATConv(heads=heads)`` and ``GATConv(heads=out_heads, concat=False)``. The
    graph reaches the model as for :class:`GCN` (``attach_graph`` or ``rpnkit train``).

    Args:
        dims: node widths [d_0, d_1, ..., d_K]; every hidden width is a multiple of ``heads``.
        heads: attention heads of the hidden layers (concatenated).
        out_heads: attention heads of the output layer (averaged).
        interdependence: the ``graph`` interdependence spec giving the attention mask (keys as for
            :class:`GCN`; ``adjacency: data`` by default).
        scores: ``"additive"`` (GAT) or ``"bilinear"`` (query-key products).
        negative_slope: of the additive scores' LeakyReLU.
        attention_dropout: dropout on the attention weights while training.
        activation: processing spec after every hidden layer, or None; default ``"elu"``.
        dropout: drop probability after every hidden layer's activation.
        bias: learnable biases.

    Shape:
        (..., N, d_0) -> (..., N, d_K)

    Example:
        >>> import torch
        >>> from rpnkit.interdependence import attach_graph
        >>> model = GAT([4, 8, 3], heads=2)
        >>> attach_graph(model, torch.tensor([[0, 1, 2], [1, 2, 3]]), 5)
        2
        >>> model(torch.randn(5, 4)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        dims: Sequence[int],
        heads: int = 8,
        out_heads: int = 1,
        interdependence: Any = "graph",
        scores: str = "additive",
        negative_slope: float = 0.2,
        attention_dropout: float = 0.0,
        activation: Any = "elu",
        dropout: float = 0.5,
        bias: bool = True,
    ) -> None:
        dims = _graph_dims(dims)
        heads = check_int(heads, "heads")
        out_heads = check_int(out_heads, "out_heads")
        xi = _spec(interdependence, "interdependence", "interdependence", default_name="graph")
        scores = check_choice(scores, "scores", ["additive", "bilinear"])
        negative_slope = check_real(negative_slope, "negative_slope")
        attention_dropout = check_fraction(attention_dropout, "attention_dropout")
        act = _processing(activation, "activation")
        dropout = check_fraction(dropout, "dropout")
        bias = check_bool(bias, "bias")
        layers = []
        for i in range(len(dims) - 1):
            last = i == len(dims) - 2
            if not last and dims[i + 1] % heads:
                raise ConfigError(
                    f"hidden width dims[{i + 1}]={dims[i + 1]} must be a multiple of heads={heads} "
                    "(the heads are concatenated)",
                    child_path("dims") + f"[{i + 1}]",
                )
            head = {
                "name": "graph_bilinear",
                "heads": out_heads if last else heads,
                "concat": not last,
                "scores": scores,
                "negative_slope": negative_slope,
                "dropout": attention_dropout,
                "instance_interdependence": copy.deepcopy(xi),
                "bias": bias,
            }
            layers.append(_layer(dims[i], dims[i + 1], head, [] if last else _between(act, dropout)))
        super().__init__(layers=layers)


# ------------------------------------------------------------------------------------------ transformer


@register("model", "transformer", aliases=["transformer_encoder"])
class Transformer(ZooRPN2):
    """A Transformer encoder classifier: token embedding, attention and feed-forward blocks, pooling, logits.

    The row x in R^{L d_in} holds L tokens of width d_in, token-major. Attention runs among the tokens of
    each sample (never across the batch's rows)::

        X = token_embedding(x)                      (W_e x_t + b_e + p_t; a class token first with pool=cls)
        post-norm:  X = LN_1(X + SA(X));  X = LN_2(X + FF(X))           (nn.TransformerEncoderLayer)
        pre-norm:   X = X + SA(LN_1(X));  X = X + FF(LN_2(X));  LN at the end   (norm_first=True)
        SA = multi-head scaled dot-product self-attention (a bilinear head: q, k, v, o projections with biases)
        FF = W_2 act(W_1 X_t + b_1) + b_2 on every token (two chain heads without a chain)
        logits = W pool(X) + b       (pool: the mean over the tokens, or the class token)

    Each residual branch is a :class:`ResidualBlock` (identity remainder across the branch's heads, the
    token layer norm as its input or output processing): a head's own remainder adds pi of the head's
    input, which cannot span the feed-forward's two heads or skip the pre-norm. With the same weights a
    block pair equals ``nn.TransformerEncoderLayer(width, heads, ff_dim, batch_first=True,
    norm_first=(norm == "pre"))``.

    Args:
        length: L, the number of tokens.
        width: d_model, the token width inside the encoder.
        heads: attention heads (divides width).
        layers: the number of encoder layers (attention + feed-forward).
        ff_dim: the feed-forward's hidden width; default 4 width.
        classes: the output width.
        in_width: d_in, the input token width; default ``width``.
        pool: ``"mean"`` (over the tokens) or ``"cls"`` (a learned class token, read out at the end).
        norm: ``"post"`` (default, as ``nn.TransformerEncoderLayer``) or ``"pre"``.
        positional: learned position vectors in the embedding (without them the model is blind to order).
        activation: the feed-forward's activation (processing spec); default ``"relu"``.
        dropout: dropout on the attention weights and on both branches' outputs (and inside the
            feed-forward), as ``nn.TransformerEncoderLayer``.
        causal: token t attends to tokens <= t only.

    Shape:
        (..., L d_in) -> (..., classes)

    Example:
        >>> import torch
        >>> model = Transformer(length=6, width=8, heads=2, layers=1, classes=3, in_width=4)
        >>> model(torch.randn(5, 24)).shape, [layer.n for layer in model.layers]
        (torch.Size([5, 3]), [48, 48, 48, 8, 3])
    """

    def __init__(
        self,
        length: int,
        width: int = 64,
        heads: int = 4,
        layers: int = 2,
        ff_dim: int | None = None,
        classes: int = 2,
        in_width: int | None = None,
        pool: str = "mean",
        norm: str = "post",
        positional: bool = True,
        activation: Any = "relu",
        dropout: float = 0.0,
        causal: bool = False,
    ) -> None:
        length = check_int(length, "length")
        width = check_int(width, "width")
        heads = check_factor(heads, "heads", width, "width")
        depth = check_int(layers, "layers", 0)
        ff = check_int(4 * width if ff_dim is None else ff_dim, "ff_dim")
        classes = check_int(classes, "classes")
        d_in = check_int(width if in_width is None else in_width, "in_width")
        pool = check_choice(pool, "pool", ["mean", "cls"])
        norm = check_choice(norm, "norm", ["post", "pre"])
        positional = check_bool(positional, "positional")
        act = _processing(activation, "activation")
        dropout = check_fraction(dropout, "dropout")
        causal = check_bool(causal, "causal")
        tokens = length + (pool == "cls")
        n = tokens * width
        embed = {"name": "token_embedding", "length": length, "out_width": width, "positional": positional,
                 "cls": pool == "cls", "reconciliation": dict(LINEAR), "bias": False}  # fmt: skip
        specs: list[dict[str, Any]] = [{"m": length * d_in, "n": n, "head": embed}]
        drop = [{"name": "dropout", "p": float(dropout)}] if dropout > 0 else []
        for k in range(depth):
            attention = {"name": "bilinear", "length": tokens, "heads": heads, "causal": causal, "dropout": dropout,
                         **{key: dict(LINEAR) for key in ("query", "key", "value", "output")}}  # fmt: skip
            first = {"name": "chain", "n": tokens * ff, "length": tokens, "interdependence": None, "bias": True}
            second = {"name": "chain", "length": tokens, "interdependence": None, "bias": True}
            if drop:
                attention["output_processing"] = copy.deepcopy(drop)
                second["output_processing"] = copy.deepcopy(drop)
            if act is not None or drop:
                first["output_processing"] = _between(act, dropout)
            for branch in ([attention], [first, second]):
                block: dict[str, Any] = {"name": "residual", "m": n, "n": n, "heads": branch}
                token_norm = {"name": "token_layer_norm", "width": width}
                if norm == "post":
                    block["output_processing"] = token_norm
                else:
                    block["input_processing"] = token_norm
                    if k == depth - 1 and branch[0] is first:  # the encoder's final norm
                        block["output_processing"] = dict(token_norm)
                specs.append(block)
        read = _pool_steps(tokens, width, "mean") if pool == "mean" else _first_token(tokens, width)
        specs.append({"m": n, "n": width, "head": read})
        specs.append(_linear_layer(width, classes))
        super().__init__(layers=specs)
