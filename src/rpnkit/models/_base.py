"""What the zoo's models share: an :class:`rpnkit.RPN` built from the model's own arguments."""

from __future__ import annotations

from typing import Any

from ..component import to_plain
from ..nn import RPN

__all__ = ["ZooBase"]


class ZooBase(RPN):
    """Base of the model zoo: an :class:`RPN` whose constructor takes the architecture's own arguments.

    Subclasses register under kind ``"model"`` and pass :class:`RPN` the head or layer specs they
    compute; :meth:`to_config` returns ``{"name": <model>, **leading, **constructor arguments}``, which
    :func:`rpnkit.build_model` turns back into the same architecture.
    """

    def _leading(self) -> dict[str, Any]:
        """Config entries written right after the name (and not again from the constructor arguments)."""
        return {}

    def to_config(self) -> dict[str, Any]:
        """``{"name": <model>, **constructor arguments}``; :func:`rpnkit.build_model` rebuilds it."""
        config: dict[str, Any] = {"name": type(self).registry_name, **self._leading()}
        for key, value in self.hparams.items():
            if key not in config:
                config[key] = to_plain(value)
        return config
