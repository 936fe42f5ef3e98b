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
from .distributed import SINGLE, ShardedBatchSampler, World, gather_rows, shard

__all__ = ["Batch", "Batches", "TabularBatches", "GraphBatches", "make_batches"]


@dataclass
class Batch:
    """One training step: the model reads ``inputs``; the loss sees the rows in ``mask`` (all when None).

    ``size`` is the number of rows the loss averages over: the batch's weight in the epoch's mean loss.
    ``total`` is the number of rows of the global batch this one is a share of (None: ``size``; they
    differ when several processes split each batch).
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor | None
    size: int
    total: int | None = None

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

    def __init__(
        self, data: Any, device: torch.device, generator: torch.Generator | None = None, world: World = SINGLE
    ) -> None:
        self.data, self.device, self.generator, self.world = data, device, generator, world

    def batch_sizes(self) -> list[int]:
        """The rows of every global training batch of an epoch, in order."""
        raise NotImplementedError

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
    """Shuffled mini-batches of ``batch_size`` rows (the ``generator`` draws the order).

    Under several processes (``world``) every process draws the same order and takes its share of each
    global batch (:class:`~rpnkit.train.distributed.ShardedBatchSampler`), and :meth:`outputs` runs each
    process's share of a split and gathers the outputs. With ``workers`` > 0 the training batches are
    gathered by that many DataLoader worker processes from CPU tensors (pinned when training on CUDA)
    and moved to the device as they arrive.
    """

    def __init__(
        self,
        data: Any,
        device: torch.device,
        batch_size: int,
        eval_batch_size: int,
        generator=None,
        world: World = SINGLE,
        workers: int = 0,
    ) -> None:
        super().__init__(data, device, generator, world)
        self.batch_size, self.eval_batch_size, self.workers = batch_size, eval_batch_size, workers
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

    def batch_sizes(self) -> list[int]:
        n, b = self.train_size, self.batch_size
        return [min(b, n - j * b) for j in range(self.num_batches)]

    def _make_loader(self) -> DataLoader:
        if self.generator is None:
            raise RuntimeError("training batches need the shuffling generator")
        if self.workers > 0:  # workers index CPU tensors; the batches move to the device in train()
            x, y = self.data.split("train")
        else:
            x, y = self._split("train")
        sampler: Any = BatchSampler(RandomSampler(range(len(x)), generator=self.generator), self.batch_size, False)
        if self.world.distributed:
            sampler = ShardedBatchSampler(sampler, self.world)
        if self.workers == 0:
            return DataLoader(TensorDataset(x, y), sampler=sampler, batch_size=None, generator=self.generator)
        return DataLoader(
            TensorDataset(x, y),
            sampler=sampler,
            batch_size=None,
            generator=self.generator,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
        )

    def train(self) -> Iterator[Batch]:
        if self._loader is None:
            self._loader = self._make_loader()
        sizes = self.batch_sizes()
        moving = self.workers > 0
        for j, (xb, yb) in enumerate(self._loader):
            if moving:
                xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
            total = sizes[j] if self.world.distributed else None
            yield Batch(xb, yb, None, len(xb), total)

    def has(self, split: str) -> bool:
        x = getattr(self.data, f"x_{split}")
        return x is not None and len(x) > 0

    @torch.no_grad()
    def outputs(self, model: nn.Module, split: str) -> tuple[Tensor, Tensor]:
        x, y = self._split(split)
        model.eval()
        step = self.eval_batch_size
        if not self.world.distributed:
            chunks = [model(x[i : i + step]) for i in range(0, len(x), step)]
            return (torch.cat(chunks) if chunks else torch.zeros(0)), y
        start, stop = shard(len(x), self.world)
        chunks = [model(x[i : min(i + step, stop)]) for i in range(start, stop, step)] or [model(x[start:start])]
        mine = torch.cat(chunks)
        if mine.dtype in (torch.float16, torch.bfloat16):  # gathered and scored in float32
            mine = mine.float()
        sizes = [b - a for a, b in (shard(len(x), World(r, self.world.size)) for r in range(self.world.size))]
        return gather_rows(mine, sizes, self.world), y


class GraphBatches(Batches):
    """The whole graph as one batch; the loss sees the training nodes."""

    def __init__(self, data: GraphDataset, device: torch.device, generator=None, world: World = SINGLE) -> None:
        super().__init__(data, device, generator, world)
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

    def batch_sizes(self) -> list[int]:
        return [self.train_size]

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
    data: Any,
    device: torch.device,
    batch_size: int,
    eval_batch_size: int,
    generator: torch.Generator | None = None,
    world: World = SINGLE,
    workers: int = 0,
) -> Batches:
    """The :class:`Batches` of a dataset: :class:`GraphBatches` for a graph, else :class:`TabularBatches`.

    A graph is one batch: it is never split across processes (see :mod:`rpnkit.train.distributed`).
    """
    if isinstance(data, GraphDataset):
        return GraphBatches(data, device, generator, world)
    return TabularBatches(data, device, batch_size, eval_batch_size, generator, world, workers)
