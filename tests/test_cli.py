"""The `rpnkit` command line, run in-process through rpnkit.cli.main."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest
import torch

from rpnkit import cli
from rpnkit.config.io import read_config
from rpnkit.train import callbacks

IRIS = """\
name: iris-test
model:
  dims: [4, 6, 3]
  head:
    expansion: {name: taylor, degree: 2}
    reconciliation: {name: lowrank, rank: 2}
data: {name: iris, val_fraction: 0.2}
train:
  epochs: 3
  batch_size: 16
  optimizer: {name: adam, lr: 2e-2}
  device: cpu
metrics: [accuracy, f1_weighted]
output: {plots: false}
"""


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def iris_config(tmp_path):
    path = tmp_path / "iris.yaml"
    path.write_text(IRIS)
    return path


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_train_evaluate_and_resume(tmp_path, iris_config, capsys):
    run_dir = tmp_path / "run"
    assert cli.main(["train", str(iris_config), "--out", str(run_dir), "--set", "train.epochs=2"]) == 0
    out = capsys.readouterr().out
    assert "epoch   1/2" in out and "test accuracy" in out and "f1_weighted" in out
    assert read_config(run_dir / "config.yaml")["train"]["optimizer"]["lr"] == 0.02  # YAML 1.2 style float

    assert cli.main(["train", "--resume", str(run_dir), "--set", "train.epochs=3", "--quiet"]) == 0
    history = json.loads((run_dir / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3]

    capsys.readouterr()
    assert cli.main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    results = json.loads((run_dir / "results.json").read_text())["test"]
    assert f"{results['accuracy']:.6g}" in out and "best checkpoint, test split" in out
    assert cli.main(["evaluate", str(run_dir), "--split", "val", "--checkpoint", "last"]) == 0


def test_default_example_runs_without_a_config(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--quiet", "--set", "train.epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("digits-rpn-")


def test_config_errors_exit_2_with_one_line(tmp_path, iris_config, capsys):
    cases = [
        (
            ["train", str(iris_config), "--set", "train.optimzer.lr=1"],
            "train.optimzer: unknown key 'optimzer'; did you mean 'optimizer'?",
        ),
        (["train", str(iris_config), "--set", "model.dims[1]=0"], "model.dims[1]: widths must be an int >= 1, got 0"),
        (["train", str(iris_config), "--set", "train.batch_size=zero"], "train.batch_size: expected an int >= 1"),
        (["train", str(tmp_path / "missing.yaml")], "is neither a file nor an embedded experiment"),
        (["train", "defualt"], "did you mean the embedded 'default'?"),
        (["train", str(iris_config), "--set", "train.epochs"], "an override is key.path=value"),
        (["train", str(iris_config), "--resume", str(tmp_path)], "give either a config or --resume RUN_DIR"),
        (["train", "--resume", str(tmp_path)], "is not a run directory"),
        (["evaluate", str(tmp_path / "nothing")], "is not a run directory"),
        (["components", "expanshun"], "unknown kind 'expanshun'; did you mean 'expansion'?"),
        (["summary", str(tmp_path / "missing.yaml")], "is neither a file nor an embedded experiment"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith("rpnkit: error: ") and message in line, (argv, line)


def test_broken_yaml_is_a_config_error(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("model: {dims: [4, 3\n")
    assert cli.main(["train", str(path)]) == 2
    assert "cannot parse" in capsys.readouterr().err


def test_interrupt_prints_how_to_resume(tmp_path, iris_config, capsys, monkeypatch):
    real = callbacks.HistoryFiles.write
    calls = {"n": 0}

    def write_then_interrupt(self, history):
        real(self, history)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(callbacks.HistoryFiles, "write", write_then_interrupt)
    run_dir = tmp_path / "run"
    assert cli.main(["train", str(iris_config), "--out", str(run_dir), "--quiet"]) == 130
    assert f"rpnkit train --resume {run_dir}" in capsys.readouterr().err
    monkeypatch.setattr(callbacks.HistoryFiles, "write", real)
    assert cli.main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    assert len(json.loads((run_dir / "history.json").read_text())) == 3


def test_summary_of_an_experiment_and_a_model(tmp_path, iris_config, capsys):
    assert cli.main(["summary", "default"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[1].split()
    assert header[:6] == ["layer", "m", "D", "n", "width", "l"]
    assert "4160" in out and "33,792" in out and "67,300" in out and "batch 32" in out
    model = tmp_path / "model.yaml"
    model.write_text("dims: [8, 16, 2]\nhead: {expansion: {name: taylor, degree: 2}}\n")
    assert cli.main(["summary", str(model), "--batch-size", "10"]) == 0
    out = capsys.readouterr().out
    assert "72" in out and "batch 10" in out  # D = 8 + 64
    auto = tmp_path / "auto.yaml"
    auto.write_text(IRIS.replace("dims: [4, 6, 3]", "dims: [auto, 6, auto]"))
    assert cli.main(["summary", str(auto)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[3][:4] == ["0", "4", "20", "6"] and rows[4][:4] == ["1", "6", "42", "3"]


def test_components(capsys):
    assert cli.main(["components"]) == 0
    out = capsys.readouterr().out
    for kind in ("expansion", "reconciliation", "remainder", "processing"):
        assert any(line.startswith(kind + " (") for line in out.splitlines()), kind
    assert cli.main(["components", "reconciliation"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("lowrank "))
    assert "W = A @ B.T" in line and "lorr" in line


def test_bench_delegates(monkeypatch, capsys):
    seen = {}

    def fake_main(argv):
        seen["argv"] = list(argv)
        return 0

    monkeypatch.setitem(sys.modules, "rpnkit.bench", types.SimpleNamespace(main=fake_main))
    assert cli.main(["bench", "--quick", "--cases", "mnist"]) == 0
    assert seen["argv"] == ["--quick", "--cases", "mnist"]
    monkeypatch.setitem(sys.modules, "rpnkit.bench", None)  # as if the module were missing
    assert cli.main(["bench"]) == 2
    assert "rpnkit.bench" in one_error_line(capsys.readouterr().err)


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "train" in capsys.readouterr().out


def test_python_dash_m():
    done = subprocess.run(
        [sys.executable, "-m", "rpnkit", "components", "model"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "rpn" in done.stdout


def test_imports_stay_light_and_offline():
    code = (
        "import sys, rpnkit, rpnkit.data, rpnkit.train, rpnkit.cli\n"
        "heavy = [m for m in ('sklearn', 'matplotlib', 'mlxtend', 'scipy') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
