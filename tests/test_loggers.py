"""Experiment tracking: output.loggers (tensorboard, csv, mlflow) as training callbacks."""

import csv
import json
import os
import socket
import sys
import types

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import yaml

from rpnkit import ConfigError
from rpnkit.cli import main
from rpnkit.train import run
from rpnkit.train.loggers import flatten


def experiment(*loggers, epochs: int = 3) -> dict:
    return {
        "name": "tracked",
        "model": {"dims": [4, 3], "head": {"expansion": {"name": "taylor", "degree": 2}}},
        "data": {"name": "iris", "val_fraction": 0.2, "seed": 1},
        "train": {"epochs": epochs, "batch_size": 32, "device": "cpu", "optimizer": {"name": "adam", "lr": 0.05}},
        "metrics": ["accuracy"],
        "output": {"plots": False, "loggers": list(loggers)},
    }


def test_tensorboard_event_file_holds_the_scalars_the_config_and_the_final_metrics(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing import event_accumulator

    result = run(experiment("tensorboard"), out=tmp_path / "run", quiet=True)
    events = list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1
    acc = event_accumulator.EventAccumulator(str(events[0]), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    scalars = acc.Tags()["scalars"]
    for tag in ("train_loss", "val_loss", "val_accuracy", "lr", "test_accuracy", "test_loss", "best_epoch"):
        assert tag in scalars, tag
    train_loss = acc.Scalars("train_loss")
    assert [e.step for e in train_loss] == [1, 2, 3]
    assert [e.value for e in train_loss] == pytest.approx([r["train_loss"] for r in result.history], rel=1e-6)
    assert acc.Scalars("test_accuracy")[0].value == pytest.approx(result.test["accuracy"])
    # the resolved config: as text, and as HParams (with the final metrics)
    text = acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "taylor" in text and "epochs: 3" in text
    content = acc.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(content)
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["train.epochs"].number_value == 3
    assert hparams["model.head.expansion.name"].string_value == "taylor"
    assert hparams["data.name"].string_value == "iris"


def test_csv_logger_writes_metrics_and_hparams(tmp_path):
    result = run(experiment("csv"), out=tmp_path / "run", quiet=True)
    folder = tmp_path / "run" / "csv"
    rows = list(csv.DictReader((folder / "metrics.csv").open()))
    assert [r["step"] for r in rows] == ["1", "2", "3", "3"]
    assert float(rows[0]["train_loss"]) == pytest.approx(result.history[0]["train_loss"])
    assert float(rows[-1]["test_accuracy"]) == pytest.approx(result.test["accuracy"])
    assert rows[-1]["train_loss"] == "" and rows[0]["test_accuracy"] == ""
    hparams = yaml.safe_load((folder / "hparams.yaml").read_text())
    assert hparams["output"]["loggers"] == ["csv"] and hparams["model"]["dims"] == [4, 3]


def test_mlflow_logger_uses_the_mlflow_api(tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("mlflow")
    for name in ("set_tracking_uri", "set_experiment", "log_params", "end_run"):
        setattr(fake, name, lambda *a, _n=name, **k: calls.append((_n, a, k)))
    fake.start_run = lambda **k: calls.append(("start_run", (), k)) or object()
    fake.log_metrics = lambda metrics, step: calls.append(("log_metrics", (dict(metrics),), {"step": step}))
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    spec = {"name": "mlflow", "experiment": "my-exp"}
    result = run(experiment(spec, epochs=2), out=tmp_path / "run", quiet=True)
    names = [c[0] for c in calls]
    assert names == ["set_tracking_uri", "set_experiment", "start_run", "log_params"] + ["log_metrics"] * 3 + [
        "end_run"
    ]
    assert calls[0][1][0] == (tmp_path / "run" / "mlruns").resolve().as_uri()
    assert calls[1][1][0] == "my-exp"
    assert calls[3][1][0]["train.epochs"] == "2"
    assert calls[4][1][0]["train_loss"] == result.history[0]["train_loss"] and calls[4][2]["step"] == 1
    assert calls[6][1][0]["test_accuracy"] == result.test["accuracy"]


def test_a_missing_tracker_is_a_config_error_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    with pytest.raises(
        ConfigError, match=r"output.loggers: the mlflow logger needs the 'mlflow' package.*rpnkit\[mlflow\]"
    ):
        run(experiment("mlflow"), out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run" / "last").exists()


@pytest.mark.parametrize(
    ("loggers", "message"),
    [
        (["tensorbord"], r"output.loggers\[0\].*did you mean 'tensorboard'"),
        (["csv", "csv"], r"output.loggers\[1\]: the csv logger is listed twice"),
        ([{"name": "mlflow", "uri": "x"}], r"output.loggers\[0\].uri: unknown key 'uri'.*tracking_uri"),
        ([{"name": "csv", "tracking_uri": "x"}], r"output.loggers\[0\].tracking_uri: unknown key"),
    ],
)
def test_logger_specs_are_validated(tmp_path, loggers, message):
    with pytest.raises(ConfigError, match=message):
        run({**experiment(), "output": {"loggers": loggers}}, out=tmp_path / "run", quiet=True)


def test_cli_set_turns_a_logger_on(tmp_path, capsys):
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump(experiment(epochs=1)))
    assert main(["train", str(config), "--out", str(tmp_path / "r"), "--quiet", "--set", "output.loggers=[csv]"]) == 0
    assert (tmp_path / "r" / "csv" / "metrics.csv").is_file()


def test_flatten_gives_scalar_hyperparameters():
    flat = flatten({"a": {"b": {"c": 1.5}, "d": [1, 2]}, "e": None, "f": {}, "g": True})
    assert flat == {"a.b.c": 1.5, "a.d": "[1, 2]", "e": "null", "f": "{}", "g": True}


# ------------------------------------------------------------------------------------ rank 0 only


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, folder: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    os.environ.update(LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        seen: list[str] = []

        def record(trainer, epoch, record) -> None:
            seen[:] = [type(c).__name__ for c in trainer.active_callbacks]

        run(experiment("csv", epochs=1), out=os.path.join(folder, "run"), quiet=True, callbacks=[record])
        with open(os.path.join(folder, f"rank{rank}.json"), "w") as f:
            json.dump(seen, f)
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_only_rank_zero_logs(tmp_path):
    mp.start_processes(_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    assert "CSVLogger" in json.loads((tmp_path / "rank0.json").read_text())
    assert "CSVLogger" not in json.loads((tmp_path / "rank1.json").read_text())
    rows = list(csv.DictReader((tmp_path / "run" / "csv" / "metrics.csv").open()))
    assert [r["step"] for r in rows] == ["1", "1"]
