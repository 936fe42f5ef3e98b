"""Cross-validation folds: the user's own (a list or a file), scikit-learn's, and val_fraction 0 inside a fold."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import yaml

import rpnkit.data as rd
from rpnkit.config.experiment import anchor_data_paths
from rpnkit.data.folds import check_folds, fold_splits
from rpnkit.errors import ConfigError
from rpnkit.train import evaluate_run, run

N = 40


@pytest.fixture
def table(tmp_path):
    """A CSV whose row i has features (i, i^2 mod 7) and label i mod 2, so rows can be read back from x."""
    lines = ["a,b,label"] + [f"{i},{i * i % 7},{'yes' if i % 2 else 'no'}" for i in range(N)]
    path = tmp_path / "rows.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def rows_of(x) -> list[int]:
    return [int(v) for v in x[:, 0].tolist()]


def all_labels(data) -> np.ndarray:
    """The labels of the whole table, put back together from the parts' rows."""
    n = sum(len(v) for v in data.rows.values())
    y = np.empty(n, dtype=data.y_train.numpy().dtype)
    for part in ("train", "val", "test"):
        if len(data.rows[part]):
            y[data.rows[part]] = getattr(data, f"y_{part}").numpy().reshape(len(data.rows[part]), -1)[:, 0]
    return y


# ---------------------------------------------------------------------------------------- user-given folds


def test_user_folds_give_exactly_the_test_rows(table):
    folds = [[7, 0, 3], [1, 2, 9, 11], [5, 4]]
    for k, given in enumerate(folds):
        data = rd.load_tabular("rows", path=table, folds=folds, fold=k, normalize=None)
        assert rows_of(data.x_test) == sorted(given)
        assert rows_of(data.x_train) == [i for i in range(N) if i not in given]  # rows in no fold always train
        assert data.rows["test"].tolist() == sorted(given) and data.rows["val"].tolist() == []
        assert data.rows["train"].tolist() == rows_of(data.x_train)
        assert data.y_test.tolist() == [i % 2 for i in sorted(given)]  # 'no' -> 0, 'yes' -> 1


def test_user_folds_accept_numpy_and_split_validation_from_the_training_part(table):
    folds = [np.arange(0, 20), np.arange(20, 40)]
    data = rd.load_tabular("rows", path=table, folds=folds, fold=1, val_fraction=0.2, normalize=None)
    assert rows_of(data.x_test) == list(range(20, 40))
    assert len(data.x_val) == 4 and len(data.x_train) == 16
    assert sorted(rows_of(data.x_train) + rows_of(data.x_val)) == list(range(20))
    assert data.rows["val"].tolist() == sorted(rows_of(data.x_val))


@pytest.mark.parametrize(
    "folds, fold, message",
    [
        (
            [[0, 1], [2, 40]],
            0,
            r"data\.folds\[1\]\[1\]: expected a row index in \[0, 40\) \(the data have 40 rows\), got 40",
        ),
        ([[0, -1]], 0, r"data\.folds\[0\]\[1\]: expected a row index in \[0, 40\) .*got -1"),
        ([[0, 1.0]], 0, r"data\.folds\[0\]\[1\]: expected a row index .*got 1\.0"),
        ([[0, True]], 0, r"data\.folds\[0\]\[1\]: expected a row index .*got True"),
        ([[0, "3"]], 0, r"data\.folds\[0\]\[1\]: expected a row index .*got '3'"),
        ([[0, 1], [5, 6, 1]], 0, r"data\.folds\[1\]\[2\]: row 1 is already in fold 0; folds must be disjoint"),
        ([[0, 4, 4]], 0, r"data\.folds\[0\]\[2\]: row 4 appears twice in fold 0"),
        ([[0], []], 0, r"data\.folds\[1\]: expected a non-empty list of test row indices, got \[\]"),
        ([[0], 3], 0, r"data\.folds\[1\]: expected a non-empty list of test row indices, got 3"),
        ([list(range(N))], 0, r"data\.folds\[0\]: the fold holds all 40 rows and leaves none to train on"),
        ([], 0, r"data\.folds: expected a non-empty list of folds"),
        (2.5, 0, r"data\.folds: expected an int >= 2 \(the number of folds\), a list of folds"),
        (1, 0, r"data\.folds: expected an int >= 2, got 1"),
        ([[0], [1], [2]], 3, r"data\.fold: fold must be an int in \[0, 2\], got 3"),
        (5, 5, r"data\.fold: fold must be an int in \[0, 4\], got 5"),
    ],
)
def test_bad_folds_name_their_path(table, folds, fold, message):
    with pytest.raises(ConfigError, match=message):
        rd.load_at("iris", {"path": str(table), "folds": folds, "fold": fold})  # the 40-row table named iris


def test_given_folds_refuse_the_sklearn_method():
    with pytest.raises(ConfigError, match=r"data\.fold_method: 'sklearn' makes folds from their number"):
        rd.load("iris", folds=[[0, 1]], fold_method="sklearn")
    with pytest.raises(ConfigError, match=r"data\.fold_method: expected one of 'rpnkit', 'sklearn', got 'skl'"):
        rd.load("iris", folds=5, fold_method="skl")
    with pytest.raises(ConfigError, match=r"data\.fold_method: fold_method 'sklearn' makes folds: set data\.folds"):
        rd.load("iris", fold_method="sklearn")


def test_check_folds_directly():
    assert [f.tolist() for f in check_folds([[3, 1], np.array([0])], 4)] == [[1, 3], [0]]
    pairs = fold_splits([[3, 1]], 5, seed=0)
    assert [(tr.tolist(), te.tolist()) for tr, te in pairs] == [([0, 2, 4], [1, 3])]


# -------------------------------------------------------------------------------------------- fold files


def test_fold_file_round_trip(tmp_path, table):
    folds = [[7, 0, 3], [1, 2, 9, 11], [5, 4]]
    for name in ("folds.txt", "folds.json", "folds.csv"):
        file = rd.write_folds(tmp_path / name, [np.asarray(f) for f in folds])
        assert rd.read_folds(file) == folds
        by_file = rd.load_tabular("rows", path=table, folds=str(file), fold=1, normalize=None)
        assert rows_of(by_file.x_test) == [1, 2, 9, 11]
    assert json.loads((tmp_path / "folds.json").read_text()) == folds
    assert (tmp_path / "folds.txt").read_text().splitlines()[1:] == ["7, 0, 3", "1, 2, 9, 11", "5, 4"]


def test_fold_file_text_format(tmp_path):
    file = tmp_path / "mine.folds"
    file.write_text("# my folds\n\n0 1, 2\t3   # the first\n4,5,6,\n  +7 8\n")
    assert rd.read_folds(file) == [[0, 1, 2, 3], [4, 5, 6], [7, 8]]
    file.write_text("[[0, 1], [2, 3]]")  # JSON by its first character, whatever the suffix
    assert rd.read_folds(file) == [[0, 1], [2, 3]]


def test_fold_file_errors_name_file_line_and_entry(tmp_path):
    file = tmp_path / "folds.txt"
    file.write_text("# comment\n0, 1, 2\n\n3, 4, x5\n")
    with pytest.raises(ConfigError, match=r"data\.folds: file '.*folds\.txt', line 4 \(fold 1\): .*got 'x5'"):
        rd.load("iris", folds=str(file))
    file.write_text("0, 1, 2\n3, 1000\n")
    with pytest.raises(
        ConfigError,
        match=r"data\.folds: file '.*folds\.txt', line 2 \(fold 1, entry 1\): expected a row index in \[0, 150\)"
        r" \(the data have 150 rows\), got 1000",
    ):
        rd.load("iris", folds=file)
    file.write_text("0, 1, 2\n\n# c\n5, 2\n")
    with pytest.raises(ConfigError, match=r"line 4 \(fold 1, entry 1\): row 2 is already in fold 0"):
        rd.load("iris", folds=str(file))
    file.write_text("# nothing\n")
    with pytest.raises(ConfigError, match=r"data\.folds: file .* holds no folds"):
        rd.load("iris", folds=str(file))
    bad = tmp_path / "f.json"
    bad.write_text('{"folds": [[0]]}')
    with pytest.raises(ConfigError, match=r"data\.folds: file .*: expected a JSON list of folds"):
        rd.load("iris", folds=str(bad))
    bad.write_text("[[0, 1], [2,")
    with pytest.raises(ConfigError, match=r"data\.folds: file .*: not valid JSON"):
        rd.load("iris", folds=str(bad))
    with pytest.raises(ConfigError, match=r"data\.folds: fold file '10' does not exist \(for that many folds"):
        rd.load("iris", folds="10")


def test_fold_file_paths_are_anchored_like_other_data_paths(tmp_path):
    config = {"data": {"name": "iris", "folds": "sub/folds.txt"}}
    assert anchor_data_paths(config, tmp_path)["data"]["folds"] == str(tmp_path / "sub" / "folds.txt")
    for given in (10, [[0, 1], [2]]):
        assert anchor_data_paths({"data": {"name": "iris", "folds": given}}, tmp_path)["data"]["folds"] == given


# ------------------------------------------------------------------------------------ scikit-learn's folds


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_sklearn_method_equals_stratified_kfold(seed):
    model_selection = pytest.importorskip("sklearn.model_selection")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 97)
    ours = rd.kfold_indices(97, 5, seed=seed, stratify=y, method="sklearn")
    theirs = list(model_selection.StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros((97, 2)), y))
    assert len(ours) == 5
    for (tr, te), (str_, ste) in zip(ours, theirs):
        assert set(te.tolist()) == set(ste.tolist()) and set(tr.tolist()) == set(str_.tolist())
    ours = rd.kfold_indices(97, 4, seed=seed, method="sklearn")
    theirs = list(model_selection.KFold(4, shuffle=True, random_state=seed).split(np.zeros((97, 2))))
    for (tr, te), (str_, ste) in zip(ours, theirs):
        assert set(te.tolist()) == set(ste.tolist()) and set(tr.tolist()) == set(str_.tolist())


@pytest.mark.parametrize("seed", [0, 3])
def test_sklearn_method_through_the_loader(seed):
    model_selection = pytest.importorskip("sklearn.model_selection")
    for k in (0, 4, 9):
        data = rd.load("wine_quality", folds=10, fold=k, fold_method="sklearn", seed=seed)
        y = all_labels(data)
        assert len(y) == 1599
        _, test = list(model_selection.StratifiedKFold(10, shuffle=True, random_state=seed).split(y, y))[k]
        assert data.rows["test"].tolist() == sorted(test.tolist())
        regression = rd.load("wine_quality", task="regression", folds=10, fold=k, fold_method="sklearn", seed=seed)
        _, test = list(model_selection.KFold(10, shuffle=True, random_state=seed).split(np.zeros((1599, 1))))[k]
        assert regression.rows["test"].tolist() == sorted(test.tolist())
    # the iris species come in blocks of 50, so the raw labels are easy to rebuild for a baseline
    data = rd.load("iris", folds=10, fold=3, fold_method="sklearn", seed=seed)
    labels = np.repeat(["setosa", "versicolor", "virginica"], 50)
    train, test = list(model_selection.StratifiedKFold(10, shuffle=True, random_state=seed).split(labels, labels))[3]
    assert data.rows["test"].tolist() == test.tolist() and data.rows["train"].tolist() == train.tolist()


def test_default_method_is_unchanged_and_differs_from_sklearn():
    pytest.importorskip("sklearn")
    y = np.repeat([0, 1, 2], 50)
    ours = rd.kfold_indices(150, 5, seed=0, stratify=y)
    assert np.bincount(y[ours[0][1]]).tolist() == [10, 10, 10]
    theirs = rd.kfold_indices(150, 5, seed=0, stratify=y, method="sklearn")
    assert any(a[1].tolist() != b[1].tolist() for a, b in zip(ours, theirs))


def test_sklearn_method_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.model_selection", None)  # its import now raises ImportError
    with pytest.raises(ConfigError, match=r"data\.fold_method: fold_method 'sklearn' needs scikit-learn: pip install"):
        rd.load("iris", folds=5, fold_method="sklearn")
    assert len(rd.load("iris", folds=5).x_test) == 30  # the default method needs no scikit-learn


def test_sklearn_refusal_is_a_config_error():
    pytest.importorskip("sklearn")
    with pytest.raises(ConfigError, match=r"data\.folds: scikit-learn cannot make 60 folds"):
        rd.load("iris", folds=60, fold_method="sklearn")


# ------------------------------------------------------------------------- val_fraction 0 inside a fold


def _experiment(folds, out):
    return {
        "name": "iris-cv",
        "model": {
            "dims": ["auto", "auto"],
            "head": {
                "expansion": {"name": "taylor", "degree": 2},
                "reconciliation": {"name": "identity", "bias": True},
            },
        },
        "data": {"name": "iris", "folds": folds, "fold": 3, "val_fraction": 0, "seed": 0},
        "train": {"epochs": 8, "batch_size": 16, "optimizer": {"name": "adam", "lr": 0.05}, "device": "cpu"},
        "metrics": ["accuracy"],
        "output": {"dir": str(out), "plots": False},
    }


def test_ten_fold_experiment_without_validation(tmp_path):
    lines: list[str] = []
    result = run(_experiment(10, tmp_path / "run"), log=lines.append)
    assert result.monitor == "train_loss" and result.epochs_run == 8
    assert result.best_epoch == int(np.argmin([r["train_loss"] for r in result.history])) + 1
    assert all("val_loss" not in r for r in result.history)
    assert set(result.test) == {"loss", "accuracy"} and result.test["accuracy"] >= 0.8
    assert any(line.startswith("no validation split: the best epoch is chosen by train_loss") for line in lines)
    assert any("train 135, test 15" in line for line in lines)  # 10 folds of 150 rows, nothing held out
    # the run's test rows are fold 3 of rpnkit's folds, and evaluating the run reloads the same ones
    assert evaluate_run(tmp_path / "run")["accuracy"] == pytest.approx(result.test["accuracy"])
    with pytest.raises(
        ConfigError, match=r"train\.monitor: 'val_loss' needs a validation split: set data\.val_fraction"
    ):
        exp = _experiment(10, tmp_path / "other")
        exp["train"]["monitor"] = "val_loss"
        run(exp, quiet=True)


def test_experiment_file_with_a_fold_file_beside_it(tmp_path, monkeypatch):
    y = np.repeat([0, 1, 2], 50)
    folds = [test for _, test in rd.kfold_indices(150, 10, seed=5, stratify=y)]
    folder = tmp_path / "exp"
    folder.mkdir()
    rd.write_folds(folder / "iris_folds.txt", folds)
    (folder / "cv.yaml").write_text(yaml.safe_dump(_experiment("iris_folds.txt", tmp_path / "run")))
    monkeypatch.chdir(tmp_path)  # the fold file is found beside the experiment, not in the working directory
    result = run(str(folder / "cv.yaml"), quiet=True)
    assert result.monitor == "train_loss" and 0.0 <= result.test["accuracy"] <= 1.0
    stored = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert stored["data"]["folds"] == str(folder / "iris_folds.txt")
    data = rd.load("iris", folds=str(folder / "iris_folds.txt"), fold=3)
    assert data.rows["test"].tolist() == folds[3].tolist() and len(data.x_test) == 15
    assert evaluate_run(tmp_path / "run")["accuracy"] == pytest.approx(result.test["accuracy"])
