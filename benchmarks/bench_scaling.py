"""Data-parallel scaling: training samples/s in 1 and N processes, and the share of communication.

Every configuration trains the same experiment with :class:`rpnkit.train.Trainer` (the code path of
``rpnkit train`` / ``torchrun -m rpnkit train``): digits, a 64-256-10 RPN (Taylor degree 2, rank-16
low-rank reconciliation), global batch 64 (``--batch-size``), AdamW, no validation split. Samples/s is the training rows
of the timed epochs (every epoch after the first, which is warm-up) divided by their time, summed over
the processes' rows (the batches are split, so the total is the dataset once per epoch).

The communication share of an N-process run is measured by running it a second time with a DDP
communication hook that skips the gradient all-reduce (each process keeps its own gradient; the
compute is identical): share = 1 - t(no all-reduce) / t(DDP). It includes the waits for the slower
process, which is what communication costs on a shared machine.

    python benchmarks/bench_scaling.py                     # CPU: 1 process x 1 and 2 threads, 2 processes x 1 thread
    python benchmarks/bench_scaling.py --nproc 1 2 4 8 --device cuda   # one GPU per process (NCCL)
    python benchmarks/bench_scaling.py --batch-size 512    # more compute per all-reduce
    python benchmarks/bench_scaling.py --quick             # fewer epochs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rpnkit.train.callbacks import Callback

DIMS = [64, 256, 10]
HEAD = {"expansion": {"name": "taylor", "degree": 2}, "reconciliation": {"name": "lowrank", "rank": 16}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _skip_allreduce(state, bucket):
    """A DDP communication hook that returns the local gradient: the same step without communication."""
    future: torch.futures.Future = torch.futures.Future()
    future.set_result(bucket.buffer())
    return future


class _Timer(Callback):
    """Callback: the time of every epoch after the first (warm-up)."""

    def __init__(self, comm: bool) -> None:
        self.comm, self.times, self.started = comm, [], 0.0

    def on_fit_start(self, trainer) -> None:
        if not self.comm and trainer._ddp is not None:
            trainer._ddp.register_comm_hook(None, _skip_allreduce)

    def on_epoch_start(self, trainer, epoch: int) -> None:
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        self.started = time.perf_counter()

    def on_epoch_end(self, trainer, record) -> None:
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        self.times.append(time.perf_counter() - self.started)


def _train(
    rank: int, size: int, threads: int, device: str, epochs: int, batch: int, comm: bool, port: int, out: str
) -> None:
    from rpnkit.runtime import tune_cpu_allocator

    tune_cpu_allocator()
    torch.set_num_threads(threads)
    import rpnkit as rk
    import rpnkit.data as rd
    from rpnkit.train import Trainer

    if size > 1:
        os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(rank))
        backend = "nccl" if device == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(rank)
        dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size)
    try:
        data = rd.load("digits", test_fraction=0.2, val_fraction=0.0, seed=0)
        torch.manual_seed(0)
        model = rk.RPN(DIMS, head=HEAD)
        timer = _Timer(comm)
        trainer = Trainer(
            model,
            epochs=epochs,
            batch_size=batch,
            optimizer={"name": "adamw", "lr": 2e-3},
            device=device,
            quiet=True,
            restore_best=False,
            callbacks=[timer],
        )
        trainer.fit(data)
        if rank == 0:
            seconds = sum(timer.times[1:])
            rows = len(data.x_train) * (epochs - 1)
            Path(out).write_text(json.dumps({"seconds": seconds, "samples_per_s": rows / seconds}))
    finally:
        if size > 1:
            dist.destroy_process_group()


def measure(size: int, threads: int, device: str, epochs: int, batch: int, comm: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "result.json")
        args = (size, threads, device, epochs, batch, comm, _free_port(), out)
        if size == 1:
            _train(0, *args)
        else:
            mp.start_processes(_train, args=args, nprocs=size, join=True, start_method="spawn")
        return json.loads(Path(out).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2], help="process counts (default 1 2)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--epochs", type=int, default=6, help="epochs per run (the first is warm-up)")
    parser.add_argument("--batch-size", type=int, default=64, help="the global batch (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="repeats of every configuration (median kept)")
    parser.add_argument("--quick", action="store_true", help="3 epochs, 1 round")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.rounds = 3, 1
    cores = os.cpu_count() or 1
    configs = []  # (label, processes, threads per process)
    for n in args.nproc:
        if args.device == "cpu":
            configs.append((f"{n} process{'es' if n > 1 else ''} x 1 thread", n, 1))
            if n == 1 and max(args.nproc) > 1:  # the same cores as the largest run, in one process
                configs.append((f"1 process x {min(max(args.nproc), cores)} threads", 1, min(max(args.nproc), cores)))
        else:
            configs.append((f"{n} GPU{'s' if n > 1 else ''}", n, 1))
    rows = []
    for label, n, threads in configs:
        runs = [measure(n, threads, args.device, args.epochs, args.batch_size) for _ in range(args.rounds)]
        runs.sort(key=lambda r: r["samples_per_s"])
        row = {"config": label, "processes": n, "threads": threads, **runs[len(runs) // 2]}
        if n > 1:
            local = sorted(
                measure(n, threads, args.device, args.epochs, args.batch_size, comm=False)["seconds"]
                for _ in range(args.rounds)
            )
            row["comm_share"] = max(0.0, 1 - local[len(local) // 2] / row["seconds"])
        rows.append(row)
        share = f"  communication {row['comm_share']:.0%}" if "comm_share" in row else ""
        print(f"{label:<28} {row['samples_per_s']:>9.0f} samples/s{share}", flush=True)
    base = rows[0]["samples_per_s"]
    for row in rows:
        row["speedup"] = row["samples_per_s"] / base
    info = {
        "device": args.device,
        "cpu_count": cores,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "model": {"dims": DIMS, "head": HEAD},
        "batch_size": args.batch_size,
        "epochs_timed": args.epochs - 1,
        "rows": rows,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(info, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
