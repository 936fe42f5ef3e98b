"""Data-parallel training on PyTorch's own engine: torchrun, process groups, DistributedDataParallel.

``torchrun --nproc-per-node N -m rpnkit train CONFIG`` (or ``rpnkit train CONFIG --nproc N``) starts N
processes with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in their
environment; :func:`init` joins them into a process group (backend ``nccl`` when training on CUDA,
``gloo`` otherwise) and returns the :class:`World` the trainer works in. Without those variables (or
with ``WORLD_SIZE=1``) nothing is initialised and training is the plain single-process loop.

What runs where (see ``docs/experiments.md``, "Several processes"):

* every process loads the data, builds the same model (same seed; DDP also broadcasts rank 0's
  weights) and wraps it in :class:`~torch.nn.parallel.DistributedDataParallel`;
* ``train.batch_size`` is the *global* batch: every process draws the same shuffled order from the
  shared seed (a new order every epoch) and trains on its own contiguous share of each global batch
  (:class:`ShardedBatchSampler`); each process's loss is weighted by its share of the rows, so the
  averaged gradient is the gradient of the global batch's mean loss, exactly as in one process;
* the epoch's training loss and the validation/test metrics are computed over every row: losses are
  summed across processes, and the outputs of each process's share of a split are gathered so that
  every metric (F1, R2...) is computed on the whole split, never as an average of averages;
* rank 0 alone prints, writes checkpoints, history, results and plots; ``--resume`` reloads the same
  ``last/`` checkpoint in every process (each process's random-generator state is saved in it).

Models whose heads mix the rows of a batch (instance interdependences: graph heads, chain heads of
the instance kind) cannot be split across processes; :func:`check_supported` refuses them, and full-
graph training, with a :class:`~rpnkit.errors.ConfigError` that says why. A module may declare
itself with a class attribute ``supports_data_parallel = False`` (and a ``data_parallel_note``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import Sampler

from ..base import Interdependence
from ..data.base import GraphDataset
from ..errors import ConfigError

__all__ = [
    "World",
    "SINGLE",
    "world_from_env",
    "init",
    "shutdown",
    "current",
    "backend_for",
    "check_supported",
    "ShardedBatchSampler",
    "shard",
    "all_sum",
    "gather_rows",
    "gather_objects",
    "broadcast_object",
    "broadcast_module",
    "barrier",
]


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (``size`` 1: no distribution)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process prints and writes files (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


#: One process, no process group.
SINGLE = World()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return default if value in (None, "") else int(value)
    except ValueError:
        raise ConfigError(f"the environment variable {name}={value!r} is not an int (set by torchrun)") from None


def world_from_env() -> World:
    """The :class:`World` described by torchrun's ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (default: one process)."""
    return World(_env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0))


def current() -> World:
    """The process group's :class:`World` when one is initialised, else :data:`SINGLE`."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return World(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0))
    return SINGLE


def backend_for(device: torch.device) -> str:
    """``nccl`` for CUDA devices, ``gloo`` for everything else."""
    return "nccl" if device.type == "cuda" else "gloo"


def local_device(device: torch.device, world: World) -> torch.device:
    """Under several processes, ``cuda`` without an index becomes ``cuda:LOCAL_RANK`` (one GPU per process)."""
    if world.distributed and device.type == "cuda" and device.index is None:
        return torch.device("cuda", world.local_rank)
    return device


def init(device: torch.device) -> tuple[World, bool]:
    """Join the process group that torchrun describes (if any); the :class:`World` and whether it was created here.

    An existing process group is used as it is. With one process nothing is initialised.
    """
    if dist.is_available() and dist.is_initialized():
        return current(), False
    world = world_from_env()
    if not world.distributed:
        return SINGLE, False
    if not dist.is_available():
        raise ConfigError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = backend_for(device)
    if backend == "nccl":
        torch.cuda.set_device(local_device(device, world))
    dist.init_process_group(backend=backend)
    return current(), True


def shutdown(created: bool, wait: bool = True) -> None:
    """Destroy the process group if :func:`init` created it (after a barrier when ``wait``).

    After an error ``wait`` is False: the other processes may be inside another collective.
    """
    if created and dist.is_available() and dist.is_initialized():
        if wait:  # nobody tears the group down while another process still uses it
            dist.barrier()
        dist.destroy_process_group()


# ------------------------------------------------------------------------------------------ support


def _unsupported(model: nn.Module) -> tuple[str, str] | None:
    """(module name, reason) of the first module that mixes the rows of a batch, or None."""
    for name, module in model.named_modules():
        declared = getattr(type(module), "supports_data_parallel", None)
        if declared is False:
            note = getattr(module, "data_parallel_note", "") or "it mixes the rows of a batch"
            return name, note
        if declared is True:
            continue
        if isinstance(module, Interdependence) and getattr(module, "kind", None) == "instance":
            what = getattr(module, "registry_name", type(module).__name__)
            return name, (
                f"its instance interdependence {what!r} mixes the rows of a batch, so a batch split across "
                "processes would compute something else"
            )
    return None


def check_supported(model: nn.Module, data: Any, world: World) -> None:
    """Refuse, with a :class:`ConfigError` saying why, what data-parallel training cannot split."""
    if not world.distributed:
        return
    if isinstance(data, GraphDataset):
        raise ConfigError(
            f"{data.name!r} is trained on the whole graph in one batch (transductive), which cannot be split "
            f"across {world.size} processes; run it in one process (no torchrun / --nproc)",
            "data.name",
        )
    found = _unsupported(model)
    if found is not None:
        name, reason = found
        where = f"model ({name})" if name else "model"
        raise ConfigError(
            f"this model does not support data-parallel training: {reason}; run it in one process "
            "(no torchrun / --nproc)",
            where,
        )


# ------------------------------------------------------------------------------------------ sharding


def shard(n: int, world: World) -> tuple[int, int]:
    """The contiguous rows [start, stop) of ``n`` that process ``world.rank`` takes (sizes differ by at most 1)."""
    base, extra = divmod(n, world.size)
    start = world.rank * base + min(world.rank, extra)
    return start, start + base + (1 if world.rank < extra else 0)


class ShardedBatchSampler(Sampler[list[int]]):
    """This process's share of every global batch that ``batches`` (a batch sampler) yields.

    Every process iterates the same global batches (the same shuffling generator state), so together
    they cover each global batch exactly once, and one process (``world.size == 1``) sees them whole.
    """

    def __init__(self, batches: Sampler[list[int]], world: World) -> None:
        self.batches, self.world = batches, world

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            start, stop = shard(len(batch), self.world)
            yield batch[start:stop]

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ collectives


def all_sum(value: Tensor, world: World) -> Tensor:
    """The sum of ``value`` over every process (``value`` itself in one process)."""
    if world.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def gather_rows(part: Tensor, sizes: Sequence[int], world: World) -> Tensor:
    """Concatenate every process's ``part`` (rank order); ``sizes`` are the parts' row counts, known to all."""
    if not world.distributed:
        return part
    longest = max(sizes)
    padded = part.new_zeros((longest, *part.shape[1:]))
    padded[: part.shape[0]] = part
    pieces = [torch.empty_like(padded) for _ in range(world.size)]
    dist.all_gather(pieces, padded.contiguous())
    return torch.cat([piece[:size] for piece, size in zip(pieces, sizes)])


def gather_objects(value: Any, world: World) -> list[Any]:
    """Every process's ``value`` (picklable), in rank order, on every process."""
    if not world.distributed:
        return [value]
    out: list[Any] = [None] * world.size
    dist.all_gather_object(out, value)
    return out


def broadcast_object(value: Any, world: World) -> Any:
    """Rank 0's ``value`` on every process."""
    if not world.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_module(module: nn.Module, world: World) -> None:
    """Copy rank 0's parameters and buffers into ``module`` on every process."""
    if not world.distributed:
        return
    with torch.no_grad():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src=0)


def barrier(world: World) -> None:
    """Wait for every process."""
    if world.distributed:
        dist.barrier()
