"""`rpnkit explain RUN_DIR`: a trained run's readout and plots written into RUN_DIR/explain."""

from __future__ import annotations

import json

import pytest
import torch

from rpnkit.cli import main


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_explain_a_taylor_run(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    run_dir = tmp_path / "run"
    overrides = ["--set", "train.epochs=2", "--set", "data.num=200", "--set", "output.plots=false"]
    assert main(["train", "function", "--out", str(run_dir), "--quiet", *overrides]) == 0
    assert main(["explain", str(run_dir)]) == 0
    out = capsys.readouterr().out
    folder = run_dir / "explain"
    assert "written to" in out
    summary = json.loads((folder / "explain.json").read_text())
    assert summary["plots"] == ["coefficients_layer0.png", "coefficients_layer1.png"]
    assert summary["readout"]["degree"] == 9
    text = (folder / "readout.txt").read_text()
    assert text.startswith("y1 = ") and "*x^2*y" in text  # the variables are the dataset's x and y
    assert main(["explain", str(run_dir), "--prune"]) == 0
    assert "skipped" in json.loads((folder / "explain.json").read_text())["prune"]


def test_explain_needs_a_run_directory(tmp_path, capsys):
    assert main(["explain", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
