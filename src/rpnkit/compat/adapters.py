"""The reference toolkit's ``rpn_head`` / ``rpn_layer`` / ``rpn`` API as thin wrappers over rpnkit.

Each adapter takes the reference's constructor arguments (``m, n, channel_num,
data_transformation, parameter_fabrication, ... , *_configs``; ``heads, head_configs, width,
width_alloc, head_fusion[_configs]``; ``layers, layer_configs, depth, depth_alloc``) and builds the
rpnkit module that computes the same equation, held as ``.module``. Components may be given as
rpnkit specs or modules (``"taylor"``, ``{"name": "lowrank", "rank": 2}``, ``rk.expansion.Taylor(3)``)
or, through ``*_configs``, in the reference's ``{X_class, X_parameters}`` form.

Differences from the reference (see docs/migration.md): rpnkit's maths (a true Kronecker product in
hm/lphm/dual_lphm, correct Laguerre, ...); every head owns its parameters; the weights are
initialised when the module is built, on the fabricated W (``parameters_init_method`` and
``initialize_parameters(init_type)`` re-run rpnkit's initialisation); buffers are saved by
``save_ckpt`` (safetensors, nothing unpickled); ``device`` is applied once with ``.to()`` and
``forward(x)`` follows the input's device (its ``device`` argument is accepted and ignored).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from .. import registry
from ..component import to_plain
from ..errors import ConfigError
from ..nn import RPN, Head, Layer
from ..validation import check_bool, check_int
from .reader import _HEAD_SLOTS, Conversion, _alloc, _as_list, _Reader

__all__ = ["rpn_head", "rpn_layer", "rpn"]

_SUFFIX = {
    "expansion": "_expansion",
    "compression": "_compression",
    "reconciliation": "_reconciliation",
    "remainder": "_remainder",
    "fusion": "_fusion",
    "interdependence": "_interdependence",
}
_PREFIX = {
    "expansion": "data_transformation",
    "reconciliation": "parameter_fabrication",
    "remainder": "remainder",
    "fusion": "channel_fusion",
    "attribute_interdependence": "attribute_interdependence",
    "instance_interdependence": "instance_interdependence",
}


def _reader() -> _Reader:
    return _Reader(Conversion({}))


def _reset(module: nn.Module) -> None:
    for sub in module.modules():
        if sub is not module and hasattr(sub, "reset_parameters"):
            sub.reset_parameters()


def _reference_class(module: nn.Module) -> str:
    """``tinybig.<package>.<reference name>`` of an rpnkit component (its registered reference alias)."""
    kind, name = type(module).registry_kind, type(module).registry_name
    aliases = [a for a in registry.aliases_of(kind, name) if a.endswith(_SUFFIX.get(kind, "\0"))]
    return f"tinybig.{kind}.{aliases[0] if aliases else name}"


def _component_config(module: nn.Module | None, prefix: str) -> dict[str, Any] | None:
    if module is None:
        return None
    params = to_plain(module)
    params.pop("name", None)
    return {f"{prefix}_class": _reference_class(module), f"{prefix}_parameters": params}


def _save(module: nn.Module, cache_dir: str | os.PathLike, checkpoint_file: str) -> Path:
    from safetensors.torch import save_file

    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    path = folder / checkpoint_file
    save_file(state, str(path))
    return path


def _load(module: nn.Module, cache_dir: str | os.PathLike, checkpoint_file: str, strict: bool) -> None:
    from safetensors.torch import load_file

    path = Path(cache_dir) / checkpoint_file
    if not path.is_file():
        raise ConfigError(f"checkpoint {str(path)!r} does not exist")
    module.load_state_dict(load_file(str(path)), strict=check_bool(strict, "strict"))


class _Adapter(nn.Module):
    """Shared reference methods: get_m/get_n, initialize_parameters, save_ckpt/load_ckpt, forward(x, device)."""

    module: nn.Module

    def get_m(self) -> int:
        """The input width m."""
        return self.module.m

    def get_n(self) -> int:
        """The output width n."""
        return self.module.n

    def initialize_parameters(self, init_type: str | None = "xavier_uniform", init_bias: bool = True) -> None:
        """Re-run rpnkit's initialisation of every parameter (``init_type`` is accepted and ignored:
        rpnkit initialises the fabricated W so that its entries have variance gain^2/D)."""
        _reset(self.module)

    def forward(self, x: Tensor, device: Any = None, *args: Any, **kwargs: Any) -> Tensor:
        """The module's output; ``device`` is ignored (the computation follows x and the parameters)."""
        return self.module(x)

    def save_ckpt(self, cache_dir: str | os.PathLike = "./ckpt", checkpoint_file: str = "checkpoint") -> None:
        """Save the state (parameters and buffers) to ``cache_dir/checkpoint_file`` (safetensors)."""
        _save(self, cache_dir, checkpoint_file)

    def load_ckpt(
        self, cache_dir: str | os.PathLike = "./ckpt", checkpoint_file: str = "checkpoint", strict: bool = True
    ) -> None:
        """Load a state saved by :meth:`save_ckpt` (nothing is unpickled)."""
        _load(self, cache_dir, checkpoint_file, strict)


class rpn_head(_Adapter):  # noqa: N801 - the reference's class name
    """The reference's ``rpn_head`` over :class:`rpnkit.Head`.

    Args:
        m, n: input and output widths.
        channel_num: C, the parameter channels (fused by ``channel_fusion``, default mean).
        data_transformation, parameter_fabrication, remainder, attribute_interdependence,
            instance_interdependence, channel_fusion: rpnkit specs or modules; or the same slots'
            ``*_configs`` in the reference's ``{X_class, X_parameters}`` form.
        input_process_functions, output_process_functions (and ``*_function_configs``): processing.
        l: must be None or equal to the computed l (rpnkit computes it).
        batch_num, create_parameters_at_init, parameters_init_method: accepted; rpnkit builds and
            initialises the parameters at construction.
        device: applied once with ``.to(device)``.

    Example:
        >>> import torch
        >>> head = rpn_head(4, 3, data_transformation="taylor", parameter_fabrication={"name": "lowrank", "r": 1})
        >>> head.get_m(), head.get_n(), head(torch.randn(2, 4)).shape
        (4, 3, torch.Size([2, 3]))
    """

    def __init__(
        self,
        m: int,
        n: int,
        name: str = "rpn_head",
        channel_num: int = 1,
        batch_num: int | None = None,
        l: int | None = None,  # noqa: E741
        data_transformation: Any = None,
        data_transformation_configs: Any = None,
        parameter_fabrication: Any = None,
        parameter_fabrication_configs: Any = None,
        remainder: Any = None,
        remainder_configs: Any = None,
        attribute_interdependence: Any = None,
        attribute_interdependence_configs: Any = None,
        instance_interdependence: Any = None,
        instance_interdependence_configs: Any = None,
        channel_fusion: Any = None,
        channel_fusion_configs: Any = None,
        input_process_functions: Any = None,
        input_process_function_configs: Any = None,
        output_process_functions: Any = None,
        output_process_function_configs: Any = None,
        create_parameters_at_init: bool = True,
        parameters_init_method: str | None = None,
        device: Any = "cpu",
    ) -> None:
        super().__init__()
        given = locals()
        reader = _reader()
        spec: dict[str, Any] = {}
        for prefix, slot in _HEAD_SLOTS.items():
            obj, cfg = given[prefix], given[f"{prefix}_configs"]
            if obj is not None:
                spec[slot] = _spec(obj, slot)
            elif cfg is not None:
                spec[slot] = reader.component(cfg, slot, slot)
        for ref, key in (
            ("input_process_function", "input_processing"),
            ("output_process_function", "output_processing"),
        ):
            obj, cfg = given[f"{ref}s"], given[f"{ref}_configs"]
            if obj is not None:
                spec[key] = obj
            elif cfg is not None:
                spec[key] = reader.processing(cfg, key) or None
        self.name = name
        self.module = Head(check_int(m, "m"), check_int(n, "n"), channels=check_int(channel_num, "channel_num"), **spec)
        if l is not None and l != self.module.l:
            raise ConfigError(f"l={l} but the reconciliation gives l={self.module.l}; leave l null", "l")
        if device is not None:
            self.to(device)

    @classmethod
    def _wrap(cls, head: Head, name: str = "rpn_head") -> rpn_head:
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self.name, self.module = name, head
        return self

    @property
    def channel_num(self) -> int:
        return self.module.channels

    @property
    def l(self) -> int:  # noqa: E743
        """The learnable numbers of the reconciliation (all channels)."""
        return self.module.l

    @property
    def data_transformation(self) -> nn.Module:
        return self.module.expansion

    @property
    def parameter_fabrication(self) -> nn.Module:
        """The first channel's reconciliation (every channel has its own, of the same class)."""
        return self.module.reconciliations[0]

    @property
    def remainder(self) -> nn.Module:
        return self.module.remainder

    def to_config(self) -> dict[str, Any]:
        """``{"head_class", "head_parameters"}`` in the reference's form (rpnkit's parameter names);
        :func:`rpnkit.compat.read_reference` reads it back."""
        head = self.module
        psi = head.reconciliations[0]
        params: dict[str, Any] = {"name": self.name, "m": head.m, "n": head.n, "channel_num": head.channels}
        for slot, module in (
            ("expansion", head.expansion),
            ("reconciliation", psi),
            ("remainder", head.remainder),
            ("attribute_interdependence", getattr(head, "attribute_interdependence", None)),
            ("instance_interdependence", getattr(head, "instance_interdependence", None)),
        ):
            config = _component_config(module, _PREFIX[slot])
            if config is not None:
                params[f"{_PREFIX[slot]}_configs"] = config
        if head.channels > 1:
            params["channel_fusion_configs"] = _component_config(head.fusion, "channel_fusion")
        full = head.to_config()
        for key, ref in (
            ("input_processing", "input_process_functions"),
            ("output_processing", "output_process_functions"),
        ):
            if full.get(key) is not None:
                params[ref] = full[key]
        return {"head_class": "tinybig.module.rpn_head", "head_parameters": params}


def _spec(obj: Any, slot: str) -> Any:
    """An rpnkit spec or module given for a head slot (reference parameter names allowed)."""
    return obj


class rpn_layer(_Adapter):  # noqa: N801 - the reference's class name
    """The reference's ``rpn_layer`` over :class:`rpnkit.Layer`.

    Args:
        m, n: the widths of every head (the reference's heads all map m -> n).
        heads: a list of :class:`rpn_head` (or rpnkit ``Head``) objects; or
        head_configs: reference head configs, repeated by ``width`` / ``width_alloc`` as the reference's
            ``process_num_alloc_configs`` does.
        head_fusion / head_fusion_configs: the fusion of the heads (default mean). With
            concatenation the layer's output width is width * n, as in the reference (``get_n``).
        parameters_init_method, device: as for :class:`rpn_head`.

    Example:
        >>> import torch
        >>> layer = rpn_layer(4, 3, heads=[rpn_head(4, 3), rpn_head(4, 3)], head_fusion="concatenation")
        >>> layer.get_width(), layer.get_n(), layer(torch.randn(2, 4)).shape
        (2, 6, torch.Size([2, 6]))
    """

    def __init__(
        self,
        m: int,
        n: int,
        name: str = "rpn_layer",
        heads: Sequence[Any] | None = None,
        head_configs: Any = None,
        width: int | None = None,
        width_alloc: Any = None,
        head_fusion: Any = None,
        head_fusion_configs: Any = None,
        parameters_init_method: str | None = "xavier_uniform",
        device: Any = "cpu",
    ) -> None:
        super().__init__()
        m, n = check_int(m, "m"), check_int(n, "n")
        reader = _reader()
        if heads is not None:
            built = [h.module if isinstance(h, rpn_head) else h for h in _as_list(heads)]
        elif head_configs is not None:
            configs = _alloc(width, width_alloc, _as_list(head_configs), "width", "head_configs")
            built = [reader.head(cfg, f"head_configs[{i}]")[0] for i, cfg in enumerate(configs)]
        else:
            raise ConfigError("give heads or head_configs", "heads")
        for i, head in enumerate(built):
            if isinstance(head, nn.Module) and (getattr(head, "m", m), getattr(head, "n", n)) != (m, n):
                raise ConfigError(f"head {i} maps {head.m} -> {head.n}; every head of the layer maps {m} -> {n}")
        if head_fusion is not None:
            fusion = head_fusion
        elif head_fusion_configs is not None:
            fusion = reader.component(head_fusion_configs, "fusion", "head_fusion_configs")
            fusion.pop("dims", None)
        else:
            fusion = "mean"
        fusion_name = fusion if isinstance(fusion, str) else getattr(fusion, "registry_name", None)
        if isinstance(fusion, dict):
            fusion_name = fusion.get("name")
        if fusion_name in ("concatenation", "concatenation_fusion"):
            n_out = n * len(built)
        else:
            n_out = n
        self.name = name
        self.module = Layer(m, n_out, heads=built, fusion=fusion)
        self._head_n = n
        if device is not None:
            self.to(device)

    @classmethod
    def _wrap(cls, layer: Layer, name: str = "rpn_layer") -> rpn_layer:
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self.name, self.module, self._head_n = name, layer, layer.heads[0].n
        return self

    @property
    def heads(self) -> list[rpn_head]:
        """The heads, each wrapped as an :class:`rpn_head` (sharing the parameters)."""
        return [rpn_head._wrap(h) for h in self.module.heads]

    @property
    def head_fusion(self) -> nn.Module:
        return self.module.fusion

    @property
    def m(self) -> int:
        return self.module.m

    @property
    def n(self) -> int:
        """The width of every head (the reference's layer n)."""
        return self._head_n

    def get_width(self) -> int:
        """The number of heads."""
        return self.module.width

    def get_n(self) -> int:
        """The fused output width (width * n for concatenation)."""
        return self.module.n

    def initialize_fusion_parameters(self) -> None:
        """Re-initialise the head fusion's parameters (if it has any)."""
        _reset(self.module.fusion)
        if hasattr(self.module.fusion, "reset_parameters"):
            self.module.fusion.reset_parameters()

    def multi_head_fusion(self, x: Sequence[Tensor], w: Any = None) -> Tensor:
        """Fuse the heads' outputs (``w`` is the fusion's own parameter here, so it is ignored)."""
        return self.module.fusion(list(x))

    def forward(self, x: Tensor, fusion_strategy: Any = None, device: Any = None, *args: Any, **kwargs: Any) -> Tensor:
        """The fused output (``fusion_strategy`` and ``device`` are accepted and ignored, as in the reference)."""
        return self.module(x)

    def to_config(self) -> dict[str, Any]:
        """``{"layer_class", "layer_parameters"}`` in the reference's form."""
        params: dict[str, Any] = {
            "name": self.name,
            "m": self.m,
            "n": self.n,
            "head_configs": [h.to_config() for h in self.heads],
        }
        if self.get_width() > 1 or type(self.module.fusion).registry_name != "mean":
            params["head_fusion_configs"] = _component_config(self.module.fusion, "head_fusion")
        return {"layer_class": "tinybig.module.rpn_layer", "layer_parameters": params}


class rpn(_Adapter):  # noqa: N801 - the reference's class name
    """The reference's ``rpn`` model over :class:`rpnkit.RPN`.

    Args:
        name: the model's name.
        layers: a list of :class:`rpn_layer` (or rpnkit ``Layer``) objects; or
        layer_configs: reference layer configs, repeated by ``depth`` / ``depth_alloc``.
        device: applied once with ``.to(device)``.

    Example:
        >>> import tempfile, torch
        >>> model = rpn(layers=[rpn_layer(4, 8, heads=[rpn_head(4, 8)]), rpn_layer(8, 2, heads=[rpn_head(8, 2)])])
        >>> model.get_m(), model.get_n(), model.depth
        (4, 2, 2)
        >>> folder = tempfile.mkdtemp()
        >>> model.save_ckpt(folder, "checkpoint")
        >>> again = rpn(layers=[rpn_layer(4, 8, heads=[rpn_head(4, 8)]), rpn_layer(8, 2, heads=[rpn_head(8, 2)])])
        >>> again.load_ckpt(folder, "checkpoint")
        >>> x = torch.randn(3, 4)
        >>> torch.equal(model(x), again(x))
        True
    """

    def __init__(
        self,
        name: str = "Reconciled_Polynomial_Network",
        layers: Sequence[Any] | None = None,
        layer_configs: Any = None,
        depth: int | None = None,
        depth_alloc: Any = None,
        device: Any = "cpu",
    ) -> None:
        super().__init__()
        if layers is not None:
            built = [layer.module if isinstance(layer, rpn_layer) else layer for layer in _as_list(layers)]
            if depth is not None and depth != len(built):
                raise ConfigError(f"depth={depth} but {len(built)} layers are given", "depth")
        elif layer_configs is not None:
            reader = _reader()
            configs = _alloc(depth, depth_alloc, _as_list(layer_configs), "depth", "layer_configs")
            built = [reader.layer(cfg, f"layer_configs[{i}]") for i, cfg in enumerate(configs)]
        else:
            raise ConfigError("give layers or layer_configs", "layers")
        self.name = name
        self.module = RPN(layers=built)
        if device is not None:
            self.to(device)

    @property
    def layers(self) -> list[rpn_layer]:
        """The layers, each wrapped as an :class:`rpn_layer` (sharing the parameters)."""
        return [rpn_layer._wrap(layer) for layer in self.module.layers]

    @property
    def depth(self) -> int:
        return self.module.depth

    def get_depth(self) -> int:
        return self.module.depth

    def to_config(self) -> dict[str, Any]:
        """``{"model_class", "model_parameters": {name, depth, layer_configs}}`` in the reference's form."""
        return {
            "model_class": "tinybig.model.rpn",
            "model_parameters": {
                "name": self.name,
                "depth": self.depth,
                "layer_configs": [layer.to_config() for layer in self.layers],
            },
        }
