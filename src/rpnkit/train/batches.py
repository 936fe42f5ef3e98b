"""What the trainer reads from a dataset: training batches and the outputs of a split.

Tables and graphs differ only here. A :class:`~rpnkit.data.Dataset` gives shuffled mini-batches and
evaluates a split in chunks of ``eval_batch_size``; a :class:`~rpnkit.data.GraphDataset` is trained
transductively: one batch per epoch holds the whole graph and a mask of the training nodes (the loss
sees those), and a split is evaluated by running the whole graph and keeping that split's nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from ..data.base import GraphDataset

__all__ = ["Batch", "Batches", "TabularBatches", "GraphBatches", "make_batches"]


@dataclass
class Batch:
    """One training step: the model reads ``inputs``; the loss sees the rows in ``mask`` (all when None).

    ``size`` is the number of rows the loss averages over: the batch's weight in the epoch's mean loss.
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor | None
    size: int

    def select(self, output: Tensor) -> tuple[Tensor, Tensor]:
        """The output rows and the targets that the loss sees."""
        if self.mask is None:
            return output, self.targets
        return output[self.mask], self.targets[self.mask]


class Batches:
    """A dataset as the trainer sees it (tensors are moved to ``device`` when first used).

    Attributes:
        inputs: the training inputs (for checking the model's input width).
        train_size: the rows the training loss covers per epoch.
        num_batches: training batches per epoch.
    """

    inputs: Tensor
    train_size: int
    num_batches: int

    def __init__(self, data: Any, device: torch.device, generator: torch.Generator | None = None) -> None:
        self.data, self.device, self.generator = data, device, generator

    def train(self) -> Iterator[Batch]:
        """One epoch of training batches."""
        raise NotImplementedError

    def has(self, split: str) -> bool:
        """Whether ``split`` (``train``, ``val``, ``test``) has any rows."""
        raise NotImplementedError

    def outputs(self, model: nn.Module, split: str) -> tuple[Tensor, Tensor]:
        """The model's outputs on ``split`` (eval mode, no gradients) and the split's targets."""
        raise NotImplementedError


class TabularBatches(Batches):
    """Shuffled mini-batches of ``batch_size`` rows (the ``generator`` draws the order)."""

    def __init__(self, data: Any, device: torch.device, batch_size: int, eval_batch_size: int, generator=None) -> None:
        super().__init__(data, device, generator)
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.inputs = data.x_train
        self.train_size = len(data.x_train)
        self.num_batches = -(-self.train_size // batch_size)
        self._splits: dict[str, tuple[Tensor, Tensor]] = {}
        self._loader: DataLoader | None = None

    def _split(self, name: str) -> tuple[Tensor, Tensor]:
        if name not in self._splits:
            x, y = self.data.split(name)
            self._splits[name] = (x.to(self.device), y.to(self.device))
        return self._splits[name]

    def train(self) -> Iterator[Batch]:
        if self._loader is None:
            if self.generator is None:
                raise RuntimeError("training batches need the shuffling generator")
            x, y = self._split("train")
            sampler = BatchSampler(RandomSampler(range(len(x)), generator=self.generator), self.batch_size, False)
            self._loader = DataLoader(TensorDataset(x, y), sampler=sampler, batch_size=None, generator=self.generator)
        for xb, yb in self._loader:
            yield Batch(xb, yb, None, len(xb))

    def has(self, split: str) -> bool:
        x = getattr(self.data, f"x_{split}")
        return x is not None and len(x) > 0

    @torch.no_grad()
    def outputs(self, model: nn.Module, split: str) -> tuple[Tensor, Tensor]:
        x, y = self._split(split)
        model.eval()
        step = self.eval_batch_size
        chunks = [model(x[i : i + step]) for i in range(0, len(x), step)]
        return (torch.cat(chunks) if chunks else torch.zeros(0)), y


class GraphBatches(Batches):
    """The whole graph as one batch; the loss sees the training nodes."""

    def __init__(self, data: GraphDataset, device: torch.device, generator=None) -> None:
        super().__init__(data, device, generator)
        self.inputs = data.x
        self.train_size = int(data.train_mask.sum())
        self.num_batches = 1
        self._graph: tuple[Tensor, Tensor, Tensor] | None = None

    def _nodes(self) -> tuple[Tensor, Tensor, Tensor]:
        """Features, labels and the training mask on the device."""
        if self._graph is None:
            data = self.data
            self._graph = (data.x.to(self.device), data.y.to(self.device), data.train_mask.to(self.device))
        return self._graph

    def train(self) -> Iterator[Batch]:
        x, y, train_mask = self._nodes()
        yield Batch(x, y, train_mask, self.train_size)

    def has(self, split: str) -> bool:
        return bool(self.data.mask(split).any())

    @torch.no_grad()
    def outputs(self, model: nn.Module, split: str) -> tuple[Tensor, Tensor]:
        mask = self.data.mask(split).to(self.device)
        x, y, _ = self._nodes()
        model.eval()
        return model(x)[mask], y[mask]


def make_batches(
    data: Any, device: torch.device, batch_size: int, eval_batch_size: int, generator: torch.Generator | None = None
) -> Batches:
    """The :class:`Batches` of a dataset: :class:`GraphBatches` for a graph, else :class:`TabularBatches`."""
    if isinstance(data, GraphDataset):
        return GraphBatches(data, device, generator)
    return TabularBatches(data, device, batch_size, eval_batch_size, generator)
