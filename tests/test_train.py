"""The trainer: learning, resume, early stopping, best checkpoints, atomic checkpoints, experiments."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import rpnkit as rk
import rpnkit.data as rd
from rpnkit import ConfigError
from rpnkit.config import io as config_io
from rpnkit.train import Trainer, experiment, load_state, run, seed_everything
from rpnkit.train.checkpoint import STATE_FILE, save_checkpoint
from rpnkit.train.seeding import rng_state, set_rng_state


@pytest.fixture(autouse=True)
def _one_thread():
    """Small models train fastest (and least disturbed by other processes) on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_experiment(**train) -> dict:
    """Iris with a dropout layer (so resuming must restore the torch RNG too)."""
    return {
        "name": "tiny",
        "model": {
            "dims": [4, 8, 3],
            "head": {
                "expansion": {"name": "taylor", "degree": 2},
                "reconciliation": {"name": "lowrank", "rank": 2},
                "output_processing": [{"name": "dropout", "p": 0.2}],
            },
        },
        "data": {"name": "iris", "val_fraction": 0.2, "seed": 1},
        "train": {
            "epochs": 4,
            "batch_size": 16,
            "optimizer": {"name": "adamw", "lr": 0.02, "weight_decay": 1e-3},
            "scheduler": {"name": "exponential", "gamma": 0.9},
            "seed": 3,
            "device": "cpu",
            **train,
        },
        "output": {"plots": False},
    }


def weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


# ---------------------------------------------------------------------------------------- learning


def test_default_digits_experiment_learns(tmp_path):
    result = run(None, out=tmp_path / "run", quiet=True)
    assert result.test["accuracy"] >= 0.95, result.test
    run_dir = tmp_path / "run"
    for name in (
        "config.yaml",
        "history.json",
        "history.csv",
        "results.json",
        "best/model.safetensors",
        "last/training_state.pt",
        "plots/loss.png",
        "plots/metrics.png",
    ):
        assert (run_dir / name).is_file(), name
    resolved = config_io.read_config(run_dir / "config.yaml")
    assert resolved["data"]["name"] == "digits" and resolved["train"]["loss"] == {"name": "cross_entropy"}
    assert json.loads((run_dir / "results.json").read_text())["test"]["accuracy"] == result.test["accuracy"]
    model = rk.load(run_dir / "best")
    data = rd.load("digits", test_fraction=0.2, val_fraction=0.1, seed=0)
    with torch.no_grad():
        accuracy = (model.eval()(data.x_test).argmax(1) == data.y_test).double().mean().item()
    assert accuracy == pytest.approx(result.test["accuracy"])


def test_function_regression_and_plot(tmp_path):
    config = {
        "model": {"dims": [2, 1], "head": {"expansion": {"name": "taylor", "degree": 2}}},
        "data": {"name": "elementary", "equation": "E.2", "num": 400},
        "train": {"epochs": 40, "batch_size": 40, "optimizer": {"name": "adam", "lr": 0.05}, "device": "cpu"},
    }
    result = run(config, out=tmp_path / "fn", quiet=True)
    assert result.test["r2"] > 0.99 and result.monitor == "train_loss"
    assert (tmp_path / "fn" / "plots" / "function.png").stat().st_size > 1000


def test_graph_dataset_trains_transductively():
    data = rd.load("sbm", num_nodes=150, num_classes=3, num_features=8, feature_noise=0.5, num_val=30, num_test=60)
    seed_everything(0)
    model = rk.RPN([8, 3], head={"expansion": "taylor"})
    result = Trainer(model, epochs=30, optimizer={"name": "adam", "lr": 0.05}, quiet=True).fit(data)
    assert result.test["accuracy"] > 0.8
    assert result.monitor == "val_loss" and len(result.history) == 30


def test_binary_bce_and_lbfgs():
    data = rd.load("banknote", val_fraction=0.1)
    seed_everything(0)
    model = rk.RPN([4, 1], head={"expansion": "taylor"})
    result = Trainer(
        model,
        loss="bce_with_logits",
        epochs=3,
        optimizer={"name": "lbfgs", "lr": 0.5},
        batch_size=2000,
        metrics=["accuracy", "f1_binary"],
        quiet=True,
    ).fit(data)
    assert result.test["accuracy"] > 0.95


def test_trainer_without_run_dir_restores_the_best_weights_in_memory():
    data = rd.load("iris", val_fraction=0.2)
    seed_everything(0)
    model = rk.RPN([4, 3], head={"expansion": "taylor"})
    snapshots = {}

    def wreck(trainer, epoch, record):
        snapshots[epoch] = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        if epoch == 2:
            with torch.no_grad():
                for p in trainer.model.parameters():
                    p.add_(torch.randn_like(p) * 5)

    result = Trainer(model, epochs=4, optimizer={"name": "adam", "lr": 0.01}, quiet=True, callbacks=[wreck]).fit(data)
    assert result.best_epoch == 2
    for key, value in model.state_dict().items():
        assert torch.equal(value, snapshots[2][key])


# ---------------------------------------------------------------------------------------- resume


def test_resume_gives_bit_identical_weights(tmp_path):
    straight = run(tiny_experiment(), out=tmp_path / "a", quiet=True)

    def interrupt(trainer, epoch, record):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tiny_experiment(), out=tmp_path / "b", quiet=True, callbacks=[interrupt])
    assert load_state(tmp_path / "b" / "last")["epoch"] == 2
    resumed = run(resume=tmp_path / "b", quiet=True)
    for folder in ("last", "best"):
        a, b = weights(tmp_path / "a" / folder), weights(tmp_path / "b" / folder)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (folder, key)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history]
    assert straight.test == resumed.test and resumed.epochs_run == 4


def test_resume_can_extend_training(tmp_path):
    run(tiny_experiment(epochs=2), out=tmp_path / "r", quiet=True)
    result = run(resume=tmp_path / "r", overrides=["train.epochs=3"], quiet=True)
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert config_io.read_config(tmp_path / "r" / "config.yaml")["train"]["epochs"] == 3


def test_run_refuses_to_overwrite_a_run(tmp_path):
    run(tiny_experiment(epochs=1), out=tmp_path / "r", quiet=True)
    with pytest.raises(ConfigError, match="already holds a run; resume it with `rpnkit train --resume"):
        run(tiny_experiment(epochs=1), out=tmp_path / "r", quiet=True)


def test_rng_state_round_trip():
    import random

    import numpy as np

    seed_everything(5)
    state = rng_state()
    a = (random.random(), np.random.rand(), torch.rand(2))
    set_rng_state(state)
    b = (random.random(), np.random.rand(), torch.rand(2))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


# ---------------------------------------------------------------------------------------- selection


def test_early_stopping_stops():
    data = rd.load("iris", val_fraction=0.2)
    model = rk.RPN([4, 3], head={"expansion": "taylor"})
    result = Trainer(
        model,
        epochs=20,
        optimizer={"name": "sgd", "lr": 1e-9},
        early_stopping={"patience": 2, "min_delta": 1e-3},
        quiet=True,
    ).fit(data)
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 1


def test_early_stopping_on_a_metric(tmp_path):
    result = run(
        tiny_experiment(
            epochs=30, optimizer={"name": "sgd", "lr": 1e-9}, early_stopping={"patience": 3, "monitor": "val_accuracy"}
        ),
        out=tmp_path / "r",
        quiet=True,
    )
    assert result.stopped_early and result.epochs_run == 4


def test_best_checkpoint_is_the_best_epoch(tmp_path):
    def wreck(trainer, epoch, record):
        if epoch == 2:
            with torch.no_grad():
                for p in trainer.model.parameters():
                    p.add_(torch.randn_like(p) * 5)

    result = run(tiny_experiment(monitor="val_loss"), out=tmp_path / "r", quiet=True, callbacks=[wreck])
    losses = [r["val_loss"] for r in result.history]
    assert result.best_epoch == 1 + losses.index(min(losses)) <= 2  # the wrecked epochs 3-4 are worse
    best = config_io.read_config(tmp_path / "r" / "best" / "config.yaml")["extra"]
    assert best == {"epoch": result.best_epoch, "monitor": "val_loss", "value": min(losses)}
    assert config_io.read_config(tmp_path / "r" / "last" / "config.yaml")["extra"] == {"epoch": 4}
    best_w, last_w = weights(tmp_path / "r" / "best"), weights(tmp_path / "r" / "last")
    assert any(not torch.equal(best_w[k], last_w[k]) for k in best_w)
    from rpnkit.train import evaluate_run

    scores = evaluate_run(tmp_path / "r")
    assert scores == pytest.approx(result.test)
    assert evaluate_run(tmp_path / "r", split="val")["loss"] == pytest.approx(min(losses), rel=1e-5)


# ---------------------------------------------------------------------------------------- checkpoints


def test_interrupted_checkpoint_write_leaves_the_previous_one(tmp_path, monkeypatch):
    run_dir = tmp_path / "r"
    real_fsync = config_io.os.fsync
    calls = {"n": 0}

    def crash_later(epoch_to_crash):
        def hook(trainer, epoch, record):
            if epoch == epoch_to_crash - 1:

                def failing_fsync(fd):
                    calls["n"] += 1
                    if calls["n"] == 2:  # in the middle of the next checkpoint's files
                        raise OSError("disk full (simulated)")
                    return real_fsync(fd)

                monkeypatch.setattr(config_io.os, "fsync", failing_fsync)

        return hook

    with pytest.raises(OSError, match="disk full"):
        run(tiny_experiment(), out=run_dir, quiet=True, callbacks=[crash_later(3)])
    monkeypatch.setattr(config_io.os, "fsync", real_fsync)
    leftovers = [p.name for p in run_dir.rglob("*") if p.name.startswith(".") or p.name.endswith((".tmp", ".part"))]
    assert leftovers == []
    state = load_state(run_dir / "last")
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert config_io.read_config(run_dir / "last" / "config.yaml")["extra"] == {"epoch": 2}
    rk.load(run_dir / "last")
    result = run(resume=run_dir, quiet=True)
    assert result.epochs_run == 4


def test_checkpoint_swap_recovers_after_a_crash_between_renames(tmp_path):
    model = rk.RPN([2, 1])
    save_checkpoint(tmp_path / "last", model, {"epoch": 1})
    (tmp_path / "last").rename(tmp_path / ".last.old")  # as if the process died between the two renames
    assert load_state(tmp_path / "last")["epoch"] == 1


def test_training_state_is_loaded_with_weights_only(tmp_path):
    model = rk.RPN([2, 1])
    save_checkpoint(tmp_path / "last", model, {"epoch": 1})

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    torch.save({"epoch": 1, "payload": Evil()}, tmp_path / "last" / STATE_FILE)
    with pytest.raises(ConfigError, match="corrupt or untrusted") as err:  # never torch's weights_only=False advice
        load_state(tmp_path / "last")
    assert "weights_only" not in str(err.value)


# ---------------------------------------------------------------------------------------- errors


def test_loss_and_width_mismatches():
    data = rd.load("iris")
    with pytest.raises(
        ConfigError,
        match=r"train\.loss\.name: loss 'mse' is for regression but the data are a "
        "classification task",
    ):
        Trainer(rk.RPN([4, 3]), loss="mse", quiet=True).fit(data)
    with pytest.raises(
        ConfigError,
        match=r"model\.dims\[0\]: the model takes 5 input features but the data 'iris' "
        "have 4",
    ):
        Trainer(rk.RPN([5, 3]), quiet=True).fit(data)
    with pytest.raises(ConfigError, match=r"model\.dims\[-1\]: the model has 2 outputs but the data 'iris' have 3"):
        Trainer(rk.RPN([4, 2]), quiet=True).fit(data)
    with pytest.raises(ConfigError, match=r"train\.monitor: 'val_accuracy' needs a validation split"):
        Trainer(rk.RPN([4, 3]), monitor="val_accuracy", quiet=True).fit(data)
    with pytest.raises(ConfigError, match=r"metrics: metrics \['mse'\] do not apply to a classification task"):
        Trainer(rk.RPN([4, 3]), metrics=["mse"], quiet=True).fit(data)


def test_divergence_is_reported():
    from rpnkit.train import TrainingError

    data = rd.load("elementary", equation=3, num=400)
    model = rk.RPN([2, 1], head={"expansion": {"name": "taylor", "degree": 3}})
    with pytest.raises(TrainingError, match="training diverged at epoch 1: the training loss is (inf|nan)"):
        Trainer(model, epochs=2, optimizer={"name": "sgd", "lr": 1e12}, quiet=True).fit(data)


def test_deterministic_mode_is_restored():
    data = rd.load("iris")
    before = torch.are_deterministic_algorithms_enabled()
    Trainer(rk.RPN([4, 3]), epochs=1, deterministic=True, quiet=True).fit(data)
    assert torch.are_deterministic_algorithms_enabled() == before


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.optimzer.lr=0.1", r"train\.optimzer: unknown key 'optimzer'; did you mean 'optimizer'"),
        ("train.optimizer.lr=-1", r"train\.optimizer\.lr: expected a number > 0, got -1"),
        ("train.optimizer.name=adamm", r"train\.optimizer\.name: unknown optimizer 'adamm'; did you mean 'adam'"),
        ("train.optimizer.momentm=0.9", r"train\.optimizer\.momentm: unknown key 'momentm' for adamw"),
        ("train.scheduler.name=cosin", r"train\.scheduler\.name: unknown scheduler 'cosin'; did you mean 'cosine'"),
        ("train.scheduler={name: exponential}", r"train\.scheduler\.gamma: exponential needs gamma"),
        ("train.loss=cross_entropi", r"train\.loss\.name: unknown loss 'cross_entropi'; did you mean 'cross_entropy'"),
        ("train.epochs=0", r"train\.epochs: expected an int >= 1, got 0"),
        ("train.early_stopping.patiense=3", r"train\.early_stopping\.patiense: unknown key 'patiense'; did you mean"),
        ("data.name=irs", r"data\.name: unknown dataset 'irs'; did you mean 'iris'"),
        ("data.val_fracton=0.1", r"data\.val_fracton: unknown option 'val_fracton' for dataset 'iris'; did you mean"),
        ("metrics=[acc]", r"metrics\[0\]: unknown metric 'acc'"),
        ("output.plot=false", r"output\.plot: unknown key 'plot'; did you mean 'plots'"),
        ("modle.dims=[4, 3]", r"modle: unknown key 'modle'; did you mean 'model'"),
        ("model.head.reconciliation.rank=0", r"model\.layers\[0\]\.head\.reconciliation\.rank: rank must be an int"),
        ("model.dims[0]=5", r"model\.dims\[0\]: the model takes 5 input features but the data 'iris' have 4"),
        ("train.device=cuda:7", r"train\.device: CUDA is not available"),
    ],
)
def test_experiment_errors_name_the_path(tmp_path, override, message):
    if "cuda" in override and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError, match=message):
        run(tiny_experiment(), overrides=[override], out=tmp_path / "r", quiet=True)


def test_overrides():
    cfg = {"model": {"layers": [{"m": 4, "n": 8}, {"m": 8, "n": 3}]}, "train": {"optimizer": "adam"}}
    out = experiment.apply_overrides(
        cfg,
        [
            "model.layers[1].n=32",
            "train.optimizer.lr=1e-2",
            "data.name=iris",
            "model.layers[-1].head={expansion: taylor}",
            "train.epochs=5",
        ],
    )
    assert out["model"]["layers"][1] == {"m": 8, "n": 32, "head": {"expansion": "taylor"}}
    assert out["train"] == {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 5}
    assert out["data"] == {"name": "iris"}
    assert cfg["model"]["layers"][1]["n"] == 3  # the input is not modified
    with pytest.raises(ConfigError, match=r"model\.layers\[2\]: index 2 is out of range for a list of length 2"):
        experiment.apply_overrides(cfg, ["model.layers[2].n=1"])
    with pytest.raises(ConfigError, match=r"an override is key\.path=value"):
        experiment.apply_overrides(cfg, ["train.epochs"])
    with pytest.raises(
        ConfigError, match=r"train\.optimizer: not a list \(it is 'adam'\), so it cannot be indexed with \[0\]"
    ):
        experiment.apply_overrides(cfg, ["train.optimizer[0]=1"])


def test_auto_dims_and_resolved_config(tmp_path):
    config = tiny_experiment(epochs=1)
    config["model"]["dims"] = ["auto", 8, None]
    result = run(config, out=tmp_path / "r", quiet=True)
    saved = config_io.read_config(tmp_path / "r" / "config.yaml")
    assert saved["model"]["dims"] == [4, 8, 3]
    assert saved["train"]["optimizer"] == {"name": "adamw", "lr": 0.02, "weight_decay": 1e-3}
    assert saved["metrics"] == ["accuracy", "f1_macro"] and saved["output"]["dir"] == str(tmp_path / "r")
    assert result.epochs_run == 1


def test_plot_function_of_one_variable(tmp_path):
    from rpnkit.train import plots

    data = rd.load("feynman", equation="I.6.2a", num=100, normalize="standard")
    model = rk.RPN([1, 1], head={"expansion": {"name": "taylor", "degree": 3}})
    path = plots.plot_function(model, data, tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = plots.plot_history(
        [
            {"epoch": 1, "train_loss": 1.0, "val_loss": 2.0, "val_r2": 0.5},
            {"epoch": 2, "train_loss": 0.5, "val_loss": 1.0, "val_r2": 0.7},
        ],
        tmp_path,
    )
    assert [p.name for p in written] == ["loss.png", "metrics.png"]


def test_a_run_stopped_before_its_first_checkpoint_can_be_restarted(tmp_path, monkeypatch):
    from rpnkit.train import callbacks

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(callbacks, "save_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_experiment(epochs=1), out=tmp_path / "r", quiet=True)
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="has no checkpoint yet"):
        run(resume=tmp_path / "r", quiet=True)
    assert run(tiny_experiment(epochs=1), out=tmp_path / "r", quiet=True).epochs_run == 1
