"""The experiment schema in rpnkit.config: resolve (with or without the catalogue), loading, overrides, YAML."""

from __future__ import annotations

import pytest

import rpnkit.config as rc
import rpnkit.train as rt
from rpnkit import ConfigError
from rpnkit.config.experiment import check_early_stopping
from rpnkit.config.io import load_yaml

IRIS = {
    "model": {"dims": [4, 3], "head": {"expansion": "taylor"}},
    "data": {"name": "iris", "val_fraction": 0.2, "batch_size": 8},
    "train": {"optimizer": "sgd", "early_stopping": 3},
    "metrics": "accuracy",
}


def test_resolve_fills_the_defaults_the_same_with_and_without_the_catalogue():
    exp = rt.resolve(IRIS, "iris-run")
    assert exp == rc.resolve(IRIS, "iris-run")
    assert exp["name"] == "iris-run" and exp["data"] == {"name": "iris", "val_fraction": 0.2}
    train = exp["train"]
    assert train["batch_size"] == 8 and train["epochs"] == rc.TRAIN_DEFAULTS["epochs"]
    assert train["optimizer"] == {"name": "sgd", "lr": 1e-3}
    assert train["early_stopping"] == {"patience": 3, "monitor": None, "mode": "auto", "min_delta": 0.0}
    assert exp["metrics"] == ["accuracy"] and exp["output"] == rc.OUTPUT_DEFAULTS


def test_dataset_and_metric_names_are_checked_through_the_catalogue():
    bad_data = {**IRIS, "data": {"name": "irs"}}
    rc.resolve(bad_data)  # the schema alone knows no datasets
    with pytest.raises(ConfigError, match=r"data\.name: unknown dataset 'irs'; did you mean 'iris'"):
        rt.resolve(bad_data)
    with pytest.raises(ConfigError, match=r"data\.name: data needs a name: one of .*iris"):
        rt.resolve({**IRIS, "data": {}})
    with pytest.raises(ConfigError, match=r"metrics\[1\]: unknown metric 'acuracy'; did you mean 'accuracy'"):
        rt.resolve({**IRIS, "metrics": ["f1", "acuracy"]})
    with pytest.raises(ConfigError, match=r"metrics: expected a list of metric names, got 3"):
        rc.resolve({**IRIS, "metrics": 3})


@pytest.mark.parametrize(
    "train, message",
    [
        ({"epochs": 0}, r"train\.epochs: expected an int >= 1, got 0"),
        ({"seed": -1}, r"train\.seed: expected an int >= 0, got -1"),
        ({"deterministic": 1}, r"train\.deterministic: expected true or false, got 1"),
        ({"mode": "mx"}, r"train\.mode: expected one of 'auto', 'min', 'max', got 'mx'; did you mean 'max'"),
        ({"grad_clip": 0}, r"train\.grad_clip: expected a number > 0 \(max gradient norm\) or null, got 0"),
        ({"monitor": 3}, r"train\.monitor: expected a name such as 'val_loss'"),
        ({"device": 0}, r"train\.device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got 0"),
        ({"optimizer": {"name": "adam", "lr": float("nan")}}, r"train\.optimizer\.lr: expected a finite number"),
        (
            {"batchsize": 3},
            r"train\.batchsize: unknown key 'batchsize'; did you mean 'batch_size'\? \(valid keys: epochs",
        ),
    ],
)
def test_train_section_errors(train, message):
    with pytest.raises(ConfigError, match=message):
        rc.resolve({**IRIS, "train": train})


def test_early_stopping_spec():
    assert check_early_stopping(None) is None and check_early_stopping(False) is None
    assert check_early_stopping({"patience": 2, "mode": "max"})["mode"] == "max"
    with pytest.raises(ConfigError, match=r"train\.early_stopping\.min_delta: expected a number >= 0, got -1"):
        check_early_stopping({"min_delta": -1})
    with pytest.raises(ConfigError, match=r"train\.early_stopping\.patience: expected an int >= 1, got True"):
        check_early_stopping({"patience": True})


def test_loading_experiments(tmp_path):
    assert {"default", "iris", "function"} <= set(rc.embedded_configs())
    raw, name = rc.load_experiment("iris")
    assert name == raw["name"] and isinstance(raw["train"]["optimizer"]["lr"], float)
    with pytest.raises(ConfigError, match="did you mean the embedded 'default'"):
        rc.load_experiment("defualt")
    path = tmp_path / "exp.yaml"
    path.write_text("model: {dims: [4, 3]}\ntrain: {optimizer: {lr: 5e-3}}\n")
    raw, name = rc.load_experiment(path)
    assert name == "exp" and raw["train"]["optimizer"]["lr"] == 0.005
    path.write_text("- 1\n")
    with pytest.raises(ConfigError, match="an experiment must be a mapping"):
        rc.load_experiment(path)


def test_yaml_reads_numbers_by_yaml_1_2_rules():
    assert load_yaml("[1e-3, .5e3, -.5e-3, +.5, 1.5E3, 1e3x, '1e3', -.inf]") == [
        0.001,
        500.0,
        -0.0005,
        0.5,
        1500.0,
        "1e3x",
        "1e3",  # quoted: text
        float("-inf"),
    ]


def test_overrides_parse_values_as_yaml():
    assert rc.parse_override("train.optimizer.lr=.5e-3") == (["train", "optimizer", "lr"], 0.0005)
    assert rc.parse_override("model.layers[-1].n=") == (["model", "layers", -1, "n"], None)
    with pytest.raises(ConfigError, match=r"cannot parse the key 'a\.\.b'"):
        rc.parse_override("a..b=1")
    out = rc.apply_overrides({"train": {"optimizer": "adam"}, "l": [1]}, ["train.optimizer.lr=1e-2", "l[0]=2"])
    assert out == {"train": {"optimizer": {"name": "adam", "lr": 0.01}}, "l": [2]}
    with pytest.raises(ConfigError, match=r"l: \[1\] is not a mapping, so it has no key 'x'"):
        rc.apply_overrides({"l": [1]}, ["l.x=1"])
    with pytest.raises(ConfigError, match=r"x: not a list \(it is \{\}\), so it cannot be indexed with \[0\]"):
        rc.apply_overrides({"x": {}}, ["x[0]=1"])
