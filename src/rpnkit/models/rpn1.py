"""RPN 1 models: ``mlp``, ``kan``, ``svm``, ``naive_bayes`` and ``pgm`` (kind ``"model"``).

Each model is an :class:`rpnkit.RPN` whose constructor takes the architecture's own arguments and
builds its layers from head specs, so ``.layers``, the model summary, ``rk.save`` / ``rk.load`` and
the trainer treat it like any RPN. ``to_config()`` returns ``{"name": <model>, "dims": [...],
**the constructor arguments}``, which :func:`rpnkit.build_model` turns back into the same architecture.

Against the reference system's ready-made models:

* no model applies a softmax (the reference ``mlp`` ended *every* layer, the output included, with
  ReLU -> Dropout(0.5) -> Softmax): models return logits, and the losses take logits;
* normalisation, activation and dropout run *between* layers only (as the next layer's input
  processing, after the heads are fused), never after the output layer;
* every head of a layer is built separately (the reference repeated one head object ``width`` times,
  so the "heads" shared their weights);
* ``kan``'s base branch is KAN's ``w_b silu(x)`` (the reference's remainder was ``silu(W x)``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigError
from ..kappa import KAPPA_KINDS
from ..registry import get_class, register
from ..validation import check_bool, check_choice, check_fraction, check_int, check_real, child_path
from ._base import ZooBase

__all__ = ["ZooModel", "MLP", "KAN", "SVM", "NaiveBayes", "PGM"]

#: normalisations that may run between layers
NORMALIZATIONS = (None, "batch_norm", "layer_norm")


# ------------------------------------------------------------------------------------------ helpers


def _layer_count(dims: Any) -> int:
    """The number of layers dims define (the widths themselves are checked by :class:`RPN`)."""
    if not isinstance(dims, (list, tuple)) or len(dims) < 2:
        raise ConfigError(f"dims needs at least two widths [input, ..., output], got {dims!r}", child_path("dims"))
    return len(dims) - 1


def _spec(value: Any, name: str, kinds: str | tuple[str, ...], allow_none: bool = False) -> Any:
    """A spec of a registered component (a name or a mapping with ``name``), looked up now.

    The model builds one component per layer (and per head) from it, so built modules are refused;
    an unknown name fails here, with a did-you-mean hint under the model's own argument.
    """
    if value is None and allow_none:
        return None
    label = kinds if isinstance(kinds, str) else "/".join(kinds)
    if isinstance(value, str):
        key = value
    elif isinstance(value, dict) and isinstance(value.get("name"), str):
        key = value["name"]
    else:
        raise ConfigError(
            f"{name} must be a {label} name or a mapping with a 'name' (the model builds one per layer)"
            f"{' or null' if allow_none else ''}, got {value!r}",
            child_path(name),
        )
    get_class(kinds, key, child_path(f"{name}.name" if isinstance(value, dict) else name))
    return copy.deepcopy(value)


def _reconciliation(spec: Any, bias: Any) -> dict[str, Any]:
    """The reconciliation spec with the model's ``bias`` (a mapping's own ``bias`` wins)."""
    spec = _spec(spec, "reconciliation", "reconciliation")
    spec = {"name": spec} if isinstance(spec, str) else spec
    return {"bias": check_bool(bias, "bias"), **spec}


def _range(value: Any, name: str) -> list[float]:
    """A pair [low, high] of finite numbers with low < high."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"{name} must be a pair [low, high], got {value!r}", child_path(name))
    low = check_real(value[0], path=child_path(name) + "[0]")
    high = check_real(value[1], path=child_path(name) + "[1]")
    if not low < high:
        raise ConfigError(f"{name} must have low < high, got {value!r}", child_path(name))
    return [low, high]


def _between(normalization: Any, activation: Any, dropout: Any) -> list[Any]:
    """The processing between two layers: normalisation -> activation -> dropout (each optional)."""
    steps: list[Any] = []
    if check_choice(normalization, "normalization", NORMALIZATIONS) is not None:
        steps.append(normalization)
    if _spec(activation, "activation", "processing", allow_none=True) is not None:
        steps.append(copy.deepcopy(activation))
    if check_fraction(dropout, "dropout") > 0:
        steps.append({"name": "dropout", "p": float(dropout)})
    return steps


#: what a model's head builder returns: (the head spec of every layer, the processing between layers)
Parts = tuple[dict[str, Any], list[Any]]


def _layers(dims: Any, width: Any, fusion: Any, parts: Callable[..., Parts], *args: Any) -> dict[str, Any]:
    """:class:`RPN`'s arguments: ``dims`` checked first, then ``parts(*args)`` gives the head spec of every
    layer and the processing between layers (normalisation, activation, dropout), which the layers
    after the first take as their input processing, i.e. after the heads are fused."""
    layers = _layer_count(dims)
    head, between = parts(*args)
    heads = []
    for i in range(layers):
        spec = copy.deepcopy(head)
        if i > 0 and between:
            spec["input_processing"] = copy.deepcopy(between)
        heads.append(spec)
    width = check_int(width, "width")
    return {"dims": dims, "head": heads, "width": width, "fusion": _spec(fusion, "fusion", "fusion")}


class ZooModel(ZooBase):
    """Base of the RPN 1 models: an :class:`RPN` built from the model's own arguments.

    Subclasses register under kind ``"model"``, take ``dims`` first and pass :class:`RPN` one head
    spec per layer (see :func:`_layers`). :meth:`to_config` returns ``{"name", "dims", **arguments}``.

    Arguments every model takes, besides its own:

    * bias: learnable b in every layer (a reconciliation mapping's own ``bias`` wins);
    * reconciliation: psi of every layer; default ``"identity"`` (a dense W);
    * width: heads per layer (each with its own weights), fused by ``fusion``;
    * fusion: head fusion of every layer; default ``"mean"``.

    Shape:
        (..., d0) -> (..., dK), logits.
    """

    def _leading(self) -> dict[str, Any]:
        return {"dims": self.dims}

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


# ------------------------------------------------------------------------------------------- models


def _mlp_parts(expansion: Any, psi: Any, bias: Any, remainder: Any, norm: Any, act: Any, dropout: Any) -> Parts:
    head = {
        "expansion": _spec(expansion, "expansion", KAPPA_KINDS),
        "reconciliation": _reconciliation(psi, bias),
        "remainder": _spec(remainder, "remainder", "remainder"),
    }
    return head, _between(norm, act, dropout)


@register("model", "mlp", aliases=["perceptron", "multilayer_perceptron"])
class MLP(ZooModel):
    """A multilayer perceptron: linear layers with normalisation, activation and dropout between them.

    With a_0 = x and K = len(dims) - 1 layers::

        h_k = W_k kappa(a_{k-1}) + b_k + pi(a_{k-1}),   a_k = dropout(act(norm(h_k)))   (k < K)
        logits = h_K

    kappa is the identity by default (a plain ``nn.Linear`` stack); ``expansion`` gives each layer
    a polynomial (or any) expansion, ``reconciliation`` a structured W (``lowrank``, ``lphm``...).
    Normalisation, activation and dropout run only between layers, never after the output layer,
    and there is no softmax (the reference ``mlp`` applied ReLU, Dropout(0.5) and Softmax after every
    layer, the output included). Dropout is off in ``eval()``.

    Args:
        dims: widths [d0, d1, ..., dK]: input, hidden layers, output.
        activation: processing spec between layers (``"relu"``, ``"gelu"``, ``{"name": "leaky_relu",
            "negative_slope": 0.1}``...), or None.
        dropout: drop probability between layers (after the activation); 0 for none.
        normalization: ``None``, ``"batch_norm"`` or ``"layer_norm"`` between layers (before the activation).
        bias: learnable b_k in every layer (a reconciliation mapping's own ``bias`` wins).
        expansion: kappa of every layer; default ``"identity"``.
        reconciliation: psi of every layer; default ``"identity"`` (a dense W_k).
        remainder: pi of every layer; default ``"zero"`` (``"skip"`` gives residual connections).
        width: heads per layer (each with its own weights), fused by ``fusion``; the processing
            between layers runs in each head of the next layer (its own normalisation, its own
            dropout mask) on the fused output.
        fusion: head fusion of every layer; default ``"mean"``.

    Shape:
        (..., d0) -> (..., dK), logits.

    Example:
        >>> import torch, rpnkit as rk
        >>> model = MLP([4, 16, 3], dropout=0.1)
        >>> model(torch.randn(5, 4)).shape, model.to_config()["activation"]
        (torch.Size([5, 3]), 'relu')
        >>> rk.build_model(model.to_config()).to_config() == model.to_config()
        True
    """

    def __init__(
        self,
        dims: Sequence[int],
        activation: Any = "relu",
        dropout: float = 0.0,
        normalization: str | None = None,
        bias: bool = True,
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        remainder: Any = "zero",
        width: int = 1,
        fusion: Any = "mean",
    ) -> None:
        parts = (expansion, reconciliation, bias, remainder, normalization, activation, dropout)
        super().__init__(**_layers(dims, width, fusion, _mlp_parts, *parts))


def _kan_parts(t: Any, d: Any, grid_range: Any, base_activation: Any, norm: Any, psi: Any, bias: Any) -> Parts:
    spline = {
        "name": "bspline",
        "grid_range": _range(grid_range, "grid_range"),
        "t": check_int(t, "grid_size"),
        "d": check_int(d, "spline_order", minimum=0),
    }
    base = _spec(base_activation, "base_activation", "processing", allow_none=True)
    if base is None:
        expansion: Any = spline
    else:
        expansion = {"name": "extended", "functions": [{"name": "identity", "postprocess": base}, spline]}
    return {"expansion": expansion, "reconciliation": _reconciliation(psi, bias)}, _between(norm, None, 0.0)


@register("model", "kan", aliases=["kolmogorov_arnold_network"])
class KAN(ZooModel):
    """A Kolmogorov-Arnold network: B-spline functions on every edge plus a SiLU base branch.

    Each layer maps x (m inputs) to n outputs with learnable univariate functions on its edges::

        y_j = sum_i w_b[j, i] silu(x_i) + sum_i sum_k c[j, i, k] B_k(x_i)   (+ b_j with ``bias``)

    where B_k are the t + d B-spline bases of degree d (``spline_order``) on a uniform grid of
    t (``grid_size``) intervals over ``grid_range`` (extended by d knots on each side; inputs outside
    [low - d h, high + d h), h = (high - low) / t, get no spline contribution). As an RPN head:
    kappa(x) = [silu(x), B(x)] (the ``extended`` expansion of an identity with SiLU post-processing
    and a ``bspline``), D = m (1 + t + d), and W = [w_b | c] is the reconciliation (identity: dense;
    ``lowrank`` etc. give structured KANs). The B-spline part never builds B(x) (the implicit path).
    The reference's KAN remainder was ``silu(W x)``, which is not KAN's base branch ``W silu(x)``.
    Layers follow one another directly (no activation between them; a ``normalization`` between
    layers keeps hidden values on the grid); the output is logits. The grid is fixed (no grid
    extension or update during training).

    Args:
        dims: widths [d0, d1, ..., dK].
        grid_size: t, the number of grid intervals.
        spline_order: d, the B-spline degree (3: cubic).
        grid_range: (low, high) of the grid.
        base_activation: the base branch's function, a processing spec (default ``"silu"``), or None
            for splines only (kappa = B(x), D = m (t + d)).
        normalization: ``None``, ``"batch_norm"`` or ``"layer_norm"`` between layers.
        bias: learnable b in every layer (KAN has none; a reconciliation mapping's own ``bias`` wins).
        reconciliation, width, fusion: as for every :class:`ZooModel`; the output is logits.

    Example:
        >>> import torch
        >>> model = KAN([4, 6, 3], grid_size=5, spline_order=3)
        >>> model(torch.randn(5, 4)).shape, [layer.D for layer in model.layers]
        (torch.Size([5, 3]), [36, 54])
    """

    def __init__(
        self,
        dims: Sequence[int],
        grid_size: int = 5,
        spline_order: int = 3,
        grid_range: Sequence[float] = (-1.0, 1.0),
        base_activation: Any = "silu",
        normalization: str | None = None,
        bias: bool = False,
        reconciliation: Any = "identity",
        width: int = 1,
        fusion: Any = "mean",
    ) -> None:
        parts = (grid_size, spline_order, grid_range, base_activation, normalization, reconciliation, bias)
        super().__init__(**_layers(dims, width, fusion, _kan_parts, *parts))


#: svm kernel -> expansion name
KERNELS = {"linear": "identity", "gaussian_rbf": "gaussian_rbf", "inverse_quadratic_rbf": "inverse_quadratic_rbf"}


def _svm_parts(kernel: Any, base_range: Any, num_interval: Any, epsilon: Any, psi: Any, bias: Any) -> Parts:
    check_choice(kernel, "kernel", list(KERNELS))
    low, high = _range(base_range, "base_range")
    K = check_int(num_interval, "num_interval")
    eps = check_real(epsilon, "epsilon", gt=0)
    expansion: Any = KERNELS[kernel]
    if kernel != "linear":
        expansion = {"name": expansion, "base_range": [low, high], "num_interval": K, "epsilon": eps}
    return {"expansion": expansion, "reconciliation": _reconciliation(psi, bias)}, []


@register("model", "svm", aliases=["support_vector_machine"])
class SVM(ZooModel):
    """A support vector machine in feature form: logits = W kappa(x) + b with a fixed kernel basis.

    ``kernel="linear"``: kappa(x) = x (D = m). The RBF kernels expand every feature on K centres
    c = linspace(low, high, K) (``base_range``, ``num_interval``), feature-major, D = m K::

        gaussian_rbf:           exp(-(epsilon (x_j - c_k))^2)
        inverse_quadratic_rbf:  1 / (1 + (epsilon (x_j - c_k))^2)

    (per-feature bases, not a Gram matrix over training samples). Train it with any loss (the
    ``cross_entropy`` of the logits, or a hinge loss outside the trainer); a maximum-margin fit adds
    weight decay. More than two ``dims`` stack such layers (no activation between them: the kernel
    bases are the non-linearity). No softmax: the output is logits.

    Args:
        dims: widths [d0, ..., dK] (usually [features, classes]).
        kernel: ``"linear"``, ``"gaussian_rbf"`` or ``"inverse_quadratic_rbf"``.
        base_range: (low, high) of the RBF centres.
        num_interval: K, the number of RBF centres per feature.
        epsilon: the RBF shape parameter.
        bias: learnable b (a reconciliation mapping's own ``bias`` wins).
        reconciliation, width, fusion: as for every :class:`ZooModel`; the output is logits.

    Example:
        >>> import torch
        >>> model = SVM([4, 3], kernel="gaussian_rbf", num_interval=8)
        >>> model(torch.randn(5, 4)).shape, model.layers[0].D
        (torch.Size([5, 3]), 32)
    """

    def __init__(
        self,
        dims: Sequence[int],
        kernel: str = "linear",
        base_range: Sequence[float] = (-1.0, 1.0),
        num_interval: int = 10,
        epsilon: float = 1.0,
        bias: bool = True,
        reconciliation: Any = "identity",
        width: int = 1,
        fusion: Any = "mean",
    ) -> None:
        parts = (kernel, base_range, num_interval, epsilon, reconciliation, bias)
        super().__init__(**_layers(dims, width, fusion, _svm_parts, *parts))


#: naive_bayes distribution -> expansion name
DISTRIBUTIONS = {name: f"naive_{name}" for name in ("normal", "exponential", "cauchy", "gamma", "chi2", "laplace")}


def _naive_bayes_parts(distribution: Any, psi: Any, bias: Any) -> Parts:
    check_choice(distribution, "distribution", list(DISTRIBUTIONS))
    return {"expansion": DISTRIBUTIONS[distribution], "reconciliation": _reconciliation(psi, bias)}, []


@register("model", "naive_bayes", aliases=["naive_bayes_classifier"])
class NaiveBayes(ZooModel):
    """Naive Bayes: class scores that add weighted per-feature log-densities and a class prior.

    ::

        logits_c = b_c + sum_j w_cj log p(x_j)

    with log p a fixed density evaluated elementwise (the ``naive_<distribution>`` expansion, D = m;
    ``exponential``, ``gamma`` and ``chi2`` see the squashed input 0.99 sigmoid(x) + 0.001 or
    sigmoid(x) + 0.001). The learned w_cj weigh each feature's evidence per class and b_c is the
    log-prior (``bias``). The standard normal, Cauchy and Laplace densities are even in x, so they
    see only |x| (use min-max normalised inputs, or a monotone density, when the sign matters).
    More than two ``dims`` stack such layers. No softmax: the output is logits.

    Args:
        dims: widths [d0, ..., dK] (usually [features, classes]).
        distribution: ``"normal"``, ``"exponential"``, ``"cauchy"``, ``"gamma"``, ``"chi2"`` or ``"laplace"``.
        bias: learnable b_c, the class log-prior (a reconciliation mapping's own ``bias`` wins).
        reconciliation, width, fusion: as for every :class:`ZooModel`; the output is logits.

    Example:
        >>> import torch
        >>> NaiveBayes([4, 3], distribution="laplace")(torch.randn(5, 4)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        dims: Sequence[int],
        distribution: str = "normal",
        bias: bool = True,
        reconciliation: Any = "identity",
        width: int = 1,
        fusion: Any = "mean",
    ) -> None:
        super().__init__(**_layers(dims, width, fusion, _naive_bayes_parts, distribution, reconciliation, bias))


def _pgm_parts(degree: Any, with_replacement: Any, psi: Any, bias: Any) -> Parts:
    expansion = {
        "name": "combinatorial_normal",
        "degree": check_int(degree, "degree"),
        "with_replacement": check_bool(with_replacement, "with_replacement"),
    }
    return {"expansion": expansion, "reconciliation": _reconciliation(psi, bias)}, []


@register("model", "pgm", aliases=["probabilistic_graphical_model"])
class PGM(ZooModel):
    """A probabilistic graphical model over feature subsets: weighted joint log-densities of every subset.

    ::

        logits_c = b_c + sum_S w_cS log N(x_S; 0, I_|S|)

    over the feature subsets S of sizes 1..d (``degree``; with repetition when ``with_replacement``),
    the ``combinatorial_normal`` expansion: D = sum_r C(m, r). The learned w_cS score how each
    subset's joint evidence supports class c; b_c is the log-prior (``bias``). The density is even in
    x (use min-max normalised inputs when the sign matters). More than two ``dims`` stack such
    layers. No softmax: the output is logits.

    Args:
        dims: widths [d0, ..., dK] (usually [features, classes]).
        degree: d, the largest subset size.
        with_replacement: allow a feature to repeat inside a subset.
        bias: learnable b_c (a reconciliation mapping's own ``bias`` wins).
        reconciliation, width, fusion: as for every :class:`ZooModel`; the output is logits.

    Example:
        >>> import torch
        >>> model = PGM([4, 2], degree=2)
        >>> model(torch.randn(5, 4)).shape, model.layers[0].D
        (torch.Size([5, 2]), 10)
    """

    def __init__(
        self,
        dims: Sequence[int],
        degree: int = 2,
        with_replacement: bool = False,
        bias: bool = True,
        reconciliation: Any = "identity",
        width: int = 1,
        fusion: Any = "mean",
    ) -> None:
        super().__init__(**_layers(dims, width, fusion, _pgm_parts, degree, with_replacement, reconciliation, bias))
