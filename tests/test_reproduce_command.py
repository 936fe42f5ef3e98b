"""`rpnkit reproduce`: a quick run of one tiny experiment writes REPRODUCTION.md with its table row."""

from __future__ import annotations

import re

import pytest

from rpnkit import reproduce
from rpnkit.cli import main


def test_quick_only_gcn_sbm_writes_the_table(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--only", "gcn_sbm", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "REPRODUCTION.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| experiment |"))
    for column in ("metric", "ours mean ± std", "paper", "MLP mean ± std", "met"):
        assert column in header
    row = next(line for line in text.splitlines() if line.startswith("| gcn_sbm |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "test accuracy"
    assert re.fullmatch(r"0\.\d{4} ± 0\.\d{4}", cells[4])  # ours: one seed
    assert re.fullmatch(r"0\.\d{4} ± 0\.\d{4}", cells[7])  # the MLP on the same split
    assert float(cells[4].split()[0]) > 0.5
    assert "## Not run here" in text and "cifar10" in text  # the experiments that need downloads are listed
    assert (tmp_path / "reproduction.png").stat().st_size > 0
    assert "[1/1] gcn_sbm" in capsys.readouterr().out  # a progress line per experiment


def test_unknown_name_is_a_config_error(tmp_path, capsys):
    assert main(["reproduce", "--only", "nope", "--out", str(tmp_path)]) == 2
    assert "gcn_sbm" in capsys.readouterr().err


def test_every_experiment_file_exists_and_paper_medians():
    root = reproduce._examples_dir()
    for spec in reproduce.EXPERIMENTS:
        assert (root / spec.path).is_file(), spec.path
    elementary = next(s for s in reproduce.EXPERIMENTS if s.name == "elementary")
    assert elementary.paper(elementary.items) == pytest.approx(2.56e-7)  # RPN-Ext median, Table 2
    feynman = next(s for s in reproduce.EXPERIMENTS if s.name == "feynman_dimensionless")
    assert len(feynman.items) == 27 and feynman.paper(feynman.items) == pytest.approx(4.98e-3, rel=0.05)


def test_a_diverged_run_counts_as_the_worst_score_and_the_report_goes_on(tmp_path, monkeypatch):
    boom = reproduce.Spec(
        "gcn_sbm_boom",
        "rpn2/gcn_sbm.yaml",
        "accuracy",
        overrides=["train.optimizer={name: sgd, lr: 1.0e+30}", "train.epochs=3"],
    )
    monkeypatch.setattr(reproduce, "EXPERIMENTS", [boom])
    rows = reproduce.reproduce(only=["gcn_sbm_boom"], quick=True, out=tmp_path, log=lambda line: None)
    assert rows[0]["diverged"] == {"ours": 1, "mlp": 1} and rows[0]["ours"][0] == 0.0
    text = (tmp_path / "REPRODUCTION.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| gcn_sbm_boom |"))
    assert "0.0000 ± 0.0000 (1 diverged)" in row


def test_max_epochs_caps_every_run_and_the_report_says_so(tmp_path):
    rows = reproduce.reproduce(only=["gcn_sbm"], seeds=1, max_epochs=2, out=tmp_path, log=lambda line: None)
    assert rows[0]["ours"][0] > 0.2
    text = (tmp_path / "REPRODUCTION.md").read_text(encoding="utf-8")
    assert "`rpnkit reproduce --only gcn_sbm --seeds 1 --max-epochs 2`" in text
    with pytest.raises(Exception, match="max_epochs"):
        reproduce.reproduce(only=["gcn_sbm"], max_epochs=0, out=tmp_path)
