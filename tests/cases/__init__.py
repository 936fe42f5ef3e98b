"""The component case table: one :class:`Case` per registered component (and more for options).

Each family adds its cases in a module of this package that defines ``CASES``; every module is
collected automatically. ``tests/test_components.py`` runs the generic checks over all of them and
fails if a registered name has no case.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Case:
    """A component to build and how to feed it.

    Attributes:
        kind: registry kind.
        spec: spec passed to ``rpnkit.build`` (a name or a dict).
        dims: injected dimensions (``m``, ``n``, ``D``, ``dims``).
        low, high: the input domain for uniform random inputs.
        gradcheck: run float64 gradcheck (False for piecewise-constant or sampling components).
        grad_params: every parameter must receive a gradient.
        batch: batch size of the test inputs (fixed for instance interdependences).
        prefix: whether extra leading batch dimensions are supported.
        id: test id (defaults to kind/name).
        needs_fit: callable(module, x) that fits a fit-once transform before use.
    """

    kind: str
    spec: Any
    dims: dict[str, Any]
    low: float = -1.0
    high: float = 1.0
    gradcheck: bool = True
    grad_params: bool = True
    batch: int = 4
    prefix: bool = True
    id: str | None = None
    needs_fit: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec if isinstance(self.spec, str) else self.spec["name"]

    def label(self) -> str:
        return self.id or f"{self.kind}/{self.name}"

    def input_width(self) -> int | list[int]:
        if self.kind == "fusion":
            return list(self.dims["dims"])
        if self.kind == "reconciliation":
            return self.dims["D"]
        return self.dims["m"]

    def make_input(self, lead: tuple[int, ...] = (), dtype=torch.float64, seed: int = 0):
        """A random input (or list of inputs for fusions) of shape (*lead, batch, width)."""
        gen = torch.Generator().manual_seed(seed)
        shape = (*lead, self.batch)

        def draw(width: int) -> torch.Tensor:
            u = torch.rand(*shape, width, generator=gen, dtype=torch.float64)
            return (self.low + (self.high - self.low) * u).to(dtype)

        width = self.input_width()
        if isinstance(width, list):
            return [draw(w) for w in width]
        return draw(width)


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases.extend(getattr(module, "CASES", []))
    return cases
