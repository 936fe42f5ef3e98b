"""Data-parallel training: torchrun / DDP on CPU (gloo), sharding, reduced metrics, resume, refusals.

The multi-process tests use two CPU processes and a tiny model: one starts the real command
(``python -m torch.distributed.run --nproc-per-node 2 -m rpnkit train``), one forks two workers with
``torch.multiprocessing`` that run several experiments in one process group.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file
from torch.utils.data import BatchSampler, RandomSampler

import rpnkit as rk
import rpnkit.data as rd
from rpnkit import ConfigError
from rpnkit.cli import _torchrun_command, main
from rpnkit.config.io import dump_yaml
from rpnkit.train import Trainer, run
from rpnkit.train.distributed import (
    SINGLE,
    ShardedBatchSampler,
    World,
    backend_for,
    check_supported,
    gather_rows,
    shard,
    world_from_env,
)

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def experiment(dropout: bool = False, **train) -> dict:
    """Iris, a batch of 15 (96 training rows: the last batch has 6, and the shares differ by one row)."""
    head = {"expansion": {"name": "taylor", "degree": 2}, "reconciliation": {"name": "lowrank", "rank": 2}}
    if dropout:
        head["output_processing"] = [{"name": "dropout", "p": 0.2}]
    return {
        "name": "ddp",
        "model": {"dims": [4, 8, 3], "head": head},
        "data": {"name": "iris", "val_fraction": 0.2, "seed": 1},
        "train": {
            "epochs": 4,
            "batch_size": 15,
            "optimizer": {"name": "adamw", "lr": 0.02, "weight_decay": 1e-3},
            "scheduler": {"name": "exponential", "gamma": 0.9},
            "seed": 3,
            "device": "cpu",
            **train,
        },
        "metrics": ["accuracy", "f1_macro"],
        "output": {"plots": False},
    }


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def history(folder: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads((folder / "history.json").read_text())]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------- pieces


def test_shards_cover_every_global_batch_once():
    def batches():  # every process draws the same order from the same seed
        return BatchSampler(RandomSampler(range(23), generator=torch.Generator().manual_seed(0)), 7, False)

    whole = list(batches())
    for size in (1, 2, 3):
        shares = []
        for rank in range(size):
            sampler = ShardedBatchSampler(batches(), World(rank, size))
            shares.append(list(sampler))
            assert len(sampler) == len(whole)
        joined = [sum((shares[r][j] for r in range(size)), []) for j in range(len(whole))]
        assert joined == whole
    assert [shard(5, World(r, 3)) for r in range(3)] == [(0, 2), (2, 4), (4, 5)]
    assert shard(1, World(1, 2)) == (1, 1)  # an empty share


def test_world_from_the_environment(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert world_from_env() == SINGLE and not SINGLE.distributed and SINGLE.main
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    world = world_from_env()
    assert world == World(3, 4, 1) and world.distributed and not world.main
    assert backend_for(torch.device("cpu")) == "gloo" and backend_for(torch.device("cuda", 0)) == "nccl"
    part = torch.ones(2, 3)
    assert gather_rows(part, [2], SINGLE) is part


def test_models_that_mix_instances_are_refused():
    two = World(0, 2)
    plain = rk.RPN([4, 3], head={"expansion": "taylor"})
    check_supported(plain, rd.load("iris"), two)
    check_supported(plain, rd.load("iris"), SINGLE)
    graph_head = {"name": "graph", "instance_interdependence": {"name": "graph", "adjacency": [[0, 1], [1, 2]]}}
    mixing = rk.build_model({"dims": [4, 3], "head": graph_head})
    with pytest.raises(ConfigError, match="does not support data-parallel training: its instance interdependence"):
        check_supported(mixing, rd.load("iris"), two)
    check_supported(mixing, rd.load("iris"), SINGLE)
    with pytest.raises(ConfigError, match="whole graph in one batch"):
        graph = rd.load("sbm", num_nodes=60, num_features=4, train_per_class=5, num_val=10, num_test=10)
        check_supported(plain, graph, two)

    class Declared(torch.nn.Linear):
        supports_data_parallel = False
        data_parallel_note = "it normalises over the whole batch"

    model = torch.nn.Sequential(torch.nn.Linear(4, 4), Declared(4, 3))
    with pytest.raises(ConfigError, match=r"model \(1\): this model does not support .*whole batch"):
        check_supported(model, rd.load("iris"), two)


def test_nproc_starts_torchrun(monkeypatch):
    argv = ["train", "my.yaml", "--set", "train.epochs=2", "--nproc", "4", "--out", "o", "--nproc=4", "--quiet"]
    command = _torchrun_command(argv, 4)
    assert command[:5] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=4"]
    assert command[5:] == ["-m", "rpnkit", "train", "my.yaml", "--set", "train.epochs=2", "--out", "o", "--quiet"]
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", "my.yaml", "--nproc", "2"]) == 2  # not inside torchrun


# ---------------------------------------------------------------------------------------- two processes


def test_torchrun_two_processes_match_one_process(tmp_path):
    """`torchrun --nproc-per-node 2 -m rpnkit train` == one process with the same global batch."""
    config = tmp_path / "ddp.yaml"
    config.write_text(dump_yaml(experiment()))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += ["-m", "rpnkit", "train", str(config), "--out", str(tmp_path / "two")]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with subprocess.Popen(command, env=env, cwd=tmp_path, **pipes) as p:
        run(experiment(), out=tmp_path / "one", quiet=True)  # meanwhile, the same in this process
        stdout, stderr = p.communicate(timeout=240)
    assert p.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert stdout.count("test accuracy") == 1 and stdout.count("epoch   4/4") == 1  # rank 0 reports
    one, two = weights(tmp_path / "one" / "last"), weights(tmp_path / "two" / "last")
    assert one.keys() == two.keys()
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)
    for a, b in zip(history(tmp_path / "one"), history(tmp_path / "two")):
        assert a.keys() == b.keys()
        for key in a:  # the loss over every row, metrics of the whole validation split
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), key
    results = [json.loads((tmp_path / f / "results.json").read_text())["test"] for f in ("one", "two")]
    assert results[1]["accuracy"] == results[0]["accuracy"]


class Stop(Exception):
    pass


def _stop_after_two(trainer, epoch, record):
    if epoch == 2:
        raise Stop


def _worker(rank: int, port: int, folder: str) -> None:
    """Three runs in one two-process group: straight, stopped after epoch 2, resumed."""
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        folder = Path(folder)
        straight = run(experiment(dropout=True), out=folder / "straight", quiet=True)
        try:
            run(experiment(dropout=True), out=folder / "cut", quiet=True, callbacks=[_stop_after_two])
        except Stop:
            pass
        else:
            raise AssertionError("the run did not stop")
        resumed = run(resume=folder / "cut", quiet=True)
        assert resumed.test == straight.test
        (folder / f"rank{rank}.json").write_text(json.dumps(resumed.test))
    finally:
        dist.destroy_process_group()


def test_two_processes_stopped_after_a_checkpoint_resume_identically(tmp_path):
    mp.start_processes(_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    assert json.loads((tmp_path / "rank0.json").read_text()) == json.loads((tmp_path / "rank1.json").read_text())
    for folder in ("last", "best"):
        a, b = weights(tmp_path / "straight" / folder), weights(tmp_path / "cut" / folder)
        for key in a:
            assert torch.equal(a[key], b[key]), (folder, key)
    assert history(tmp_path / "straight") == history(tmp_path / "cut")
    state = torch.load(tmp_path / "cut" / "last" / "training_state.pt", weights_only=True)
    assert len(state["rank_rng"]) == 2  # each process's generators (dropout masks differ per process)
    assert not torch.equal(state["rank_rng"][0]["torch"], state["rank_rng"][1]["torch"])


# ---------------------------------------------------------------------------------------- one process


def test_accumulation_equals_the_larger_batch():
    """K micro-batches of B rows take the step of one batch of K x B rows (the order is the same)."""
    data = rd.load("iris", val_fraction=0.2, seed=1)

    def train(batch_size: int, accumulate: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        model = rk.RPN([4, 8, 3], head={"expansion": "taylor", "reconciliation": {"name": "lowrank", "rank": 2}})
        options = {"name": "sgd", "lr": 0.1}
        Trainer(model, epochs=2, batch_size=batch_size, accumulate=accumulate, optimizer=options, quiet=True).fit(data)
        return model.state_dict()

    big, small = train(96, 1), train(32, 3)  # one step per epoch either way (96 training rows)
    for key in big:
        torch.testing.assert_close(small[key], big[key], rtol=1e-5, atol=1e-6)
    uneven = train(40, 2)  # 40 + 40 | 16: the last step averages its 16 rows
    assert all(torch.isfinite(v).all() for v in uneven.values())


def test_loader_workers_give_the_same_run(tmp_path):
    a = run(experiment(epochs=2), out=tmp_path / "a", quiet=True)
    b = run({**experiment(epochs=2), "data": {**experiment()["data"], "workers": 1}}, out=tmp_path / "b", quiet=True)
    assert a.test == b.test
    wa, wb = weights(tmp_path / "a" / "last"), weights(tmp_path / "b" / "last")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.workers=-1", "data.workers: expected an int >= 0, got -1"),
        ("train.accumulate=0", "train.accumulate: expected an int >= 1, got 0"),
        ("train.optimizer={name: lbfgs, lr: 1}", "lbfgs re-evaluates the whole loss"),
    ],
)
def test_scale_options_are_validated(tmp_path, override, message):
    overrides = [override] + (["train.accumulate=2"] if "lbfgs" in override else [])
    with pytest.raises(ConfigError, match=message):
        run(experiment(), overrides=overrides, out=tmp_path / "r", quiet=True)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_torchrun_on_two_gpus(tmp_path):  # pragma: no cover - GPU machines only
    config = tmp_path / "ddp.yaml"
    config.write_text(dump_yaml(experiment(device="cuda")))
    command = [sys.executable, "-m", "rpnkit", "train", str(config), "--out", str(tmp_path / "r"), "--nproc", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "r" / "results.json").is_file()
