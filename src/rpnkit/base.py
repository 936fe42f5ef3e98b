"""One abstract base per role of the RPN equation g(x|w) = <kappa_xi(x), psi(w)> + pi(x).

* :class:`Expansion` / :class:`Compression` (kappa): (..., m) -> (..., D), no parameters.
* :class:`Interdependence` (xi): attribute type (..., b, m) -> (..., b, m'); instance type mixes
  the rows: (b, D) -> (b', D).
* :class:`Reconciliation` (psi): owns l learnable numbers that define W in R^{n x D};
  ``forward(z)`` returns ``z @ W.T`` (+ bias) computed *through the structure* by ``product``;
  ``weight()`` materialises W.
* :class:`Remainder` (pi): (..., m) -> (..., n).
* :class:`Fusion`: a list of k tensors (..., d_i) -> (..., n).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor, nn

from .component import Component, check_last_dim
from .errors import ConfigError, ShapeError
from .processing import build_processing, processing_config
from .validation import check_count, check_int, check_width

if TYPE_CHECKING:
    from .implicit import Block

__all__ = [
    "Transformation",
    "Expansion",
    "Compression",
    "Reconciliation",
    "Remainder",
    "Fusion",
    "Interdependence",
    "positive_int",
]


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Validate an integer hyperparameter (``bool`` is rejected); see :func:`rpnkit.validation.check_int`."""
    return check_int(value, name, minimum)


#: Ranks up to this are accepted on any size, so that the default rank (2) works on narrow layers
#: (a single regression output, n = 1), where it is merely redundant.
ALWAYS_VALID_RANK = 2


def check_rank(value: Any, sizes: dict[str, int]) -> int:
    """A rank in [1, max(2, min(sizes))]: a factor pair of inner width r above both outer sizes adds
    parameters without adding rank (``sizes`` names the outer sizes, e.g. ``{"n": 10, "D": 20}``).
    Ranks up to :data:`ALWAYS_VALID_RANK` (the default) are accepted whatever the sizes."""
    bound = max(min(sizes.values()), ALWAYS_VALID_RANK)
    names = ", ".join(sizes)
    return check_int(value, "rank", 1, bound, describe=f"an int in [1, max(2, min({names})) = {bound}]")


class Transformation(Component):
    """Base of data transformations kappa: R^m -> R^D (expansions and compressions).

    Subclasses set ``self.D`` in ``__init__`` (before or after calling this constructor) and
    implement :meth:`transform`. Optional ``preprocess`` acts on the input (width m) and
    ``postprocess`` on the output (width D); both are registered modules.

    Args:
        m: input width.
        preprocess: processing spec applied to x before the transformation.
        postprocess: processing spec applied to kappa(x).

    Shape:
        (..., m) -> (..., D)
    """

    #: ``"expansion"`` or ``"compression"``.
    role: ClassVar[str] = "transformation"
    #: None: the output is finite for every finite input. Otherwise the family's finite domain in words
    #: (a polynomial of degree d overflows float32 near |x| = 3.4e38 ** (1/d)); a forward pass that turns
    #: finite inputs into inf/NaN then warns once per module with a :class:`RuntimeWarning` saying so.
    finite_domain: ClassVar[str | None] = None
    #: True for the one-variable polynomial families of ``self.degree`` (Taylor, Chebyshev, Legendre, ...):
    #: outside [-1, 1] their features grow as |x|^degree, and the trainer warns once when such an
    #: expansion with no normalisation gets inputs there.
    polynomial_growth: ClassVar[bool] = False
    #: Inputs up to this magnitude are not checked (every family with a finite domain is finite there).
    DOMAIN_CHECK_ABOVE: ClassVar[float] = 100.0

    def __init__(self, m: int, preprocess: Any = None, postprocess: Any = None) -> None:
        super().__init__()
        self.m = positive_int(m, "m")
        if not hasattr(self, "D"):
            self.D = self.output_dim(self.m)
        self.preprocess = build_processing(preprocess, self.m, "preprocess")
        self.postprocess = build_processing(postprocess, self.D, "postprocess")

    def output_dim(self, m: int) -> int:
        """D for input width m; override, or set ``self.D`` before calling ``super().__init__``."""
        raise NotImplementedError(f"{type(self).__name__} must set D or implement output_dim")

    def transform(self, x: Tensor) -> Tensor:
        """kappa(x) for x of shape (..., m) after pre-processing; returns (..., D)."""
        raise NotImplementedError

    # --- implicit-path protocol (see rpnkit.implicit) ---------------------------------------------

    def implicit_layout(self) -> list[Block] | None:
        """kappa(x)'s columns as :class:`~rpnkit.implicit.Block` s, or None (the default: no layout).

        An expansion that declares a layout lets a head contract its features with a reconciliation
        that :meth:`Reconciliation.supports_layout` it, without building kappa(x).
        """
        return None

    def implicit_bases(self, x: Tensor) -> list[Tensor]:
        """The base tensors the layout's blocks index, for a pre-processed x (only with a layout)."""
        raise NotImplementedError(f"{type(self).__name__} declares no implicit layout")

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, self._label())
        given = x
        if self.preprocess is not None:
            x = self.preprocess(x)
        z = self.transform(x)
        if self.postprocess is not None:
            z = self.postprocess(z)
        if self.finite_domain is not None and not getattr(self, "_domain_warned", False):
            self._check_domain(given, z)
        return z

    def _check_domain(self, x: Tensor, z: Tensor) -> None:
        """Warn (once) when finite inputs gave a non-finite output outside :attr:`finite_domain`."""
        # CPU tensors only (elsewhere the host sync would cost more than the warning tells), and only
        # when some |x| exceeds DOMAIN_CHECK_ABOVE: one pass over x (width m), not over the D features
        if torch.compiler.is_compiling() or torch.jit.is_tracing() or x.device.type != "cpu" or not x.numel():
            return
        with torch.no_grad():
            largest = float(x.detach().abs().amax())
            if not largest > self.DOMAIN_CHECK_ABOVE or not math.isfinite(largest):
                return
            if bool(torch.isfinite(z).all()):
                return
        self._domain_warned = True
        warnings.warn(
            f"{self._label()}: finite inputs (largest |x| = {largest:.3g}) gave inf/NaN features; "
            f"its finite domain: {self.finite_domain}. Normalize the inputs (data.normalize, a preprocess "
            "such as layer_norm or a bounded activation) or choose a bounded family",
            RuntimeWarning,
            stacklevel=2,
        )

    def _label(self) -> str:
        return f"{self.role} {self.registry_name or type(self).__name__}"

    def extra_repr(self) -> str:
        return f"m={self.m}, D={self.D}"

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        for key in ("preprocess", "postprocess"):
            if key in config:
                module = getattr(self, key)
                if module is None:
                    config.pop(key)
                else:
                    config[key] = processing_config(module)
        return config


class Expansion(Transformation):
    """Base of expansion functions kappa: R^m -> R^D (usually D > m)."""

    role = "expansion"


class Compression(Transformation):
    """Base of compression functions kappa: R^m -> R^D (usually D < m)."""

    role = "compression"


class Reconciliation(Component):
    """Base of parameter reconciliation functions psi: R^l -> R^{n x D}.

    A reconciliation owns its factors (l learnable numbers in total) and applies W to the
    expansion output through its structure; :meth:`weight` materialises W for inspection, export
    and tests only. ``reset_parameters`` initialises the factors so that the *fabricated* W has
    entries of variance ``gain**2 / D`` (variance preserving, fan-in aware), whatever the structure.

    Args:
        n: output width.
        D: input width (the expansion's output width).
        bias: add a learnable bias b in R^n (not counted in l).
        gain: scale of the initial W (std of its entries is ``gain / sqrt(D)``).

    Shape:
        (..., D) -> (..., n)
    """

    def __init__(self, n: int, D: int, bias: bool = False, gain: float = 1.0) -> None:
        super().__init__()
        self.n = positive_int(n, "n")
        self.D = positive_int(D, "D")
        self.gain = float(gain)
        if bias:
            self.bias = nn.Parameter(torch.empty(self.n))
        else:
            self.register_parameter("bias", None)

    @property
    def l(self) -> int:  # noqa: E743 - the papers' name for the parameter count
        """Number of learnable numbers that define W (the bias is not counted)."""
        return self.num_weight_parameters()

    def num_weight_parameters(self) -> int:
        return sum(p.numel() for name, p in self.named_parameters() if name != "bias" and p.requires_grad)

    def reset_parameters(self) -> None:
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def weight(self) -> Tensor:
        """The materialised W of shape (n, D)."""
        raise NotImplementedError

    def product(self, z: Tensor) -> Tensor:
        """z @ W.T through the structure, without the bias."""
        raise NotImplementedError

    # --- implicit-path protocol (see rpnkit.implicit) ---------------------------------------------

    def supports_layout(self, layout: list[Block]) -> bool:
        """Whether :meth:`contract` can apply W to features with this block layout (default: no)."""
        return False

    def contract(self, layout: list[Block], bases: list[Tensor]) -> Tensor:
        """kappa(x) @ W.T (no bias) computed from the layout's base tensors, never building kappa(x)."""
        raise NotImplementedError(f"{type(self).__name__} has no implicit path")

    def forward(self, z: Tensor) -> Tensor:
        check_last_dim(z, self.D, f"reconciliation {self.registry_name or type(self).__name__}", "D")
        y = self.product(z)
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return f"n={self.n}, D={self.D}, l={self.l}, bias={self.bias is not None}"

    def _std(self) -> float:
        return self.gain / math.sqrt(self.D)


class Remainder(Component):
    """Base of remainder functions pi: R^m -> R^n, added to the head's output.

    Args:
        m: input width.
        n: output width.
        activation: optional processing spec applied to the remainder's output.

    Shape:
        (..., m) -> (..., n) (or a tensor that broadcasts to it)
    """

    #: True for the zero remainder, which the head skips.
    is_zero: ClassVar[bool] = False

    def __init__(self, m: int, n: int, activation: Any = None) -> None:
        super().__init__()
        self.m = positive_int(m, "m")
        self.n = positive_int(n, "n")
        self.activation = build_processing(activation, self.n, "activation")

    def compute(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, f"remainder {self.registry_name or type(self).__name__}")
        y = self.compute(x)
        if self.activation is not None:
            y = self.activation(y)
        return y

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}"

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        if "activation" in config:
            if self.activation is None:
                config.pop("activation")
            else:
                config["activation"] = processing_config(self.activation)
        return config


class Fusion(Component):
    """Base of fusion functions: k tensors of widths ``dims`` -> one tensor of width n.

    Args:
        dims: the widths of the k inputs.

    Shape:
        k tensors (..., d_i) -> (..., n)
    """

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        dims = [positive_int(d, "dims[i]") for d in dims]
        if not dims:
            raise ConfigError("a fusion needs at least one input (dims is empty)")
        self.dims = dims
        if not hasattr(self, "n"):
            self.n = self.output_dim(dims)

    @property
    def k(self) -> int:
        return len(self.dims)

    @classmethod
    def input_dim(cls, n: int, k: int) -> int:
        """The width each of k inputs needs so that the fused output has width n."""
        return n

    def output_dim(self, dims: list[int]) -> int:
        if len(set(dims)) != 1:
            raise ConfigError(f"{type(self).__name__} needs inputs of equal width, got dims={dims}")
        return dims[0]

    def fuse(self, xs: list[Tensor]) -> Tensor:
        raise NotImplementedError

    def forward(self, xs: Sequence[Tensor]) -> Tensor:
        xs = list(xs)
        who = f"fusion {self.registry_name}"
        check_count(xs, self.k, who)
        for i, (x, d) in enumerate(zip(xs, self.dims)):
            check_width(x, d, who, f"input {i}")
        return self.fuse(xs)

    def extra_repr(self) -> str:
        return f"dims={self.dims}, n={self.n}"


class Interdependence(Component):
    """Base of data interdependence functions xi.

    * ``kind="attribute"``: mixes features, ``xi(x) = x @ A`` with A in R^{m x m'};
      (..., m) -> (..., m').
    * ``kind="instance"``: mixes instances (rows), ``xi(z) = A.T @ z`` with A in R^{b x b'};
      (b, D) -> (b', D). A may be built from the head's (processed) input x.

    Subclasses implement :meth:`matrix` (A), and may override :meth:`mix` with a structured
    product that never builds A.

    Args:
        m: feature width of the data it mixes (injected by the head).
        kind: ``"attribute"`` or ``"instance"``.
        b: number of instances for instance types that need it (fixed-size A).
    """

    KINDS: ClassVar[tuple[str, ...]] = ("attribute", "instance")

    def __init__(self, m: int, kind: str = "attribute", b: int | None = None) -> None:
        super().__init__()
        if kind not in self.KINDS:
            raise ConfigError(f"interdependence kind must be one of {list(self.KINDS)}, got {kind!r}")
        self.m = positive_int(m, "m")
        self.kind = kind
        self.b = None if b is None else positive_int(b, "b")
        if not hasattr(self, "m_out"):
            self.m_out = self.m
        if not hasattr(self, "b_out"):
            self.b_out = self.b

    def matrix(self, x: Tensor) -> Tensor:
        """A: (m, m') for the attribute kind or (b, b') for the instance kind."""
        raise NotImplementedError

    def mix(self, x: Tensor, data: Tensor) -> Tensor:
        A = self.matrix(x)
        if self.kind == "attribute":
            return data @ A
        return A.transpose(-1, -2) @ data

    def forward(self, x: Tensor, data: Tensor | None = None) -> Tensor:
        """xi applied to ``data`` (default x), with A computed from x."""
        data = x if data is None else data
        if self.kind == "attribute":
            check_last_dim(data, self.m, f"interdependence {self.registry_name}")
        elif self.b is not None and (data.dim() < 2 or data.shape[-2] != self.b):
            raise ShapeError(
                f"instance interdependence {self.registry_name}: expected {self.b} instances, got {tuple(data.shape)}"
            )
        return self.mix(x, data)

    def extra_repr(self) -> str:
        return f"m={self.m}, m_out={self.m_out}, kind={self.kind!r}" + (f", b={self.b}" if self.b else "")
