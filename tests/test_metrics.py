"""rpnkit.train.metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rpnkit import ConfigError
from rpnkit.train import metrics as M

sk = pytest.importorskip("sklearn.metrics")

AVERAGES = ["micro", "macro", "weighted"]


def label_pairs():
    rng = np.random.default_rng(0)
    yield rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    true = rng.integers(0, 4, 100)
    pred = np.where(rng.random(100) < 0.7, true, rng.integers(0, 4, 100))
    yield true, pred
    # a class only predicted (5), a class never predicted (2), non-contiguous ids
    yield np.array([0, 0, 1, 1, 2, 2, 7]), np.array([0, 1, 1, 5, 0, 1, 7])
    yield np.array([3, 3, 3]), np.array([3, 3, 3])


@pytest.mark.parametrize("pair", list(label_pairs()), ids=["uniform", "noisy", "odd_labels", "one_class"])
def test_classification_matches_sklearn(pair):
    true, pred = pair
    assert M.accuracy(torch.as_tensor(true), torch.as_tensor(pred)) == pytest.approx(sk.accuracy_score(true, pred))
    for average in AVERAGES:
        for ours, theirs in ((M.precision, sk.precision_score), (M.recall, sk.recall_score), (M.f1, sk.f1_score)):
            expected = theirs(true, pred, average=average, zero_division=0)
            assert ours(torch.as_tensor(true), torch.as_tensor(pred), average=average) == pytest.approx(expected), (
                ours.__name__,
                average,
            )
            assert M.METRICS[f"{ours.__name__}_{average}"](true, pred) == pytest.approx(expected)


def test_binary_average_matches_sklearn():
    rng = np.random.default_rng(1)
    true, pred = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    for ours, theirs in ((M.precision, sk.precision_score), (M.recall, sk.recall_score), (M.f1, sk.f1_score)):
        assert ours(true, pred, average="binary") == pytest.approx(theirs(true, pred, zero_division=0))
    # no positive prediction at all: 0 by convention (zero_division=0)
    assert M.precision([0, 1], [0, 0], average="binary") == 0.0


def test_confusion_matrix_matches_sklearn():
    true, pred = np.array([0, 2, 2, 1, 5]), np.array([0, 2, 1, 1, 2])
    np.testing.assert_array_equal(M.confusion_matrix(true, pred).numpy(), sk.confusion_matrix(true, pred))
    np.testing.assert_array_equal(
        M.confusion_matrix(true, pred, labels=[2, 0, 1]).numpy(), sk.confusion_matrix(true, pred, labels=[2, 0, 1])
    )


def test_shorthands_are_macro():
    true, pred = [0, 1, 2, 2], [0, 2, 2, 2]
    assert M.METRICS["f1"](true, pred) == pytest.approx(sk.f1_score(true, pred, average="macro"))
    assert M.METRICS["precision"](true, pred) == pytest.approx(
        sk.precision_score(true, pred, average="macro", zero_division=0)
    )


@pytest.mark.parametrize("shape", [(50,), (40, 1), (30, 3)])
def test_regression_matches_sklearn(shape):
    rng = np.random.default_rng(2)
    true = rng.normal(size=shape)
    pred = true + rng.normal(scale=0.3, size=shape)
    t, p = torch.as_tensor(true, dtype=torch.float32), torch.as_tensor(pred, dtype=torch.float32)
    assert M.mse(t, p) == pytest.approx(sk.mean_squared_error(true, pred), rel=1e-5)
    assert M.mae(t, p) == pytest.approx(sk.mean_absolute_error(true, pred), rel=1e-5)
    assert M.rmse(t, p) == pytest.approx(np.sqrt(sk.mean_squared_error(true, pred)), rel=1e-5)
    assert M.r2(t, p) == pytest.approx(sk.r2_score(true, pred), rel=1e-5)


def test_r2_constant_target_follows_sklearn():
    assert M.r2([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]) == sk.r2_score([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]) == 1.0
    assert M.r2([1.0, 1.0, 1.0], [1.0, 2.0, 1.0]) == sk.r2_score([1.0, 1.0, 1.0], [1.0, 2.0, 1.0]) == 0.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="y_true has 3 labels but y_pred has 2"):
        M.accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"shape \(3, 1\) but y_pred has shape \(2, 1\)"):
        M.mse([0.0, 1.0, 2.0], [0.0, 1.0])


def test_metric_names_are_checked():
    assert M.check_metric_names(["accuracy", "f1_weighted"]) == ["accuracy", "f1_weighted"]
    with pytest.raises(ConfigError, match=r"metrics\[1\]: unknown metric 'acuracy'; did you mean 'accuracy'"):
        M.check_metric_names(["mse", "acuracy"])


def test_modes():
    assert M.mode_of("val_accuracy") == "max"
    assert M.mode_of("val_loss") == "min"
    assert M.mode_of("train_loss") == "min"
    assert M.mode_of("r2") == "max"
    assert M.mode_of("val_rmse") == "min"
