"""The examples/ folder, `rpnkit reproduce`, and training that does not need a guide (issue 13)."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import pytest
import torch

import rpnkit as rk
from rpnkit import ConfigError
from rpnkit import data as rd
from rpnkit.config.experiment import load_experiment
from rpnkit.config.model import build_model
from rpnkit.config.optim import LBFGS_OBJECTIVE_SCALE, build_optimizer, check_optimizer
from rpnkit.train import Trainer, TrainingError, run
from rpnkit.train.schema import resolve

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*/*.yaml"))
#: Examples whose data ship with rpnkit / scikit-learn or are generated: trained for one epoch here.
OFFLINE = {"function", "tabular"}
OFFLINE_FILES = {
    "digits_identity",
    "digits_lowrank",
    "digits_dual_lphm",
    "cnn_digits",
    "rnn_digits",
    "gcn_sbm",
    "gat_sbm",
}


def _offline(path: Path) -> bool:
    return path.parent.name in OFFLINE or path.stem in OFFLINE_FILES


def _dummy_widths(model: dict) -> dict:
    """Fill ``auto`` widths with numbers so that a model whose data are not here still builds."""
    model = copy.deepcopy(model)
    dims = model.get("dims")
    if isinstance(dims, list):
        dims = list(dims)
        if dims[0] in ("auto", None):
            dims[0] = 100
        if dims[-1] in ("auto", None):
            dims[-1] = 4
        model["dims"] = dims
    return model


def test_every_documented_experiment_has_an_example():
    stems = {p.stem for p in EXAMPLES}
    assert {"elementary", "composite", "feynman", "feynman_dimensionless"} <= stems
    for name in ("iris", "pima_diabetes", "banknote"):
        assert {name, f"{name}_regression"} <= stems
    for data in ("digits", "mnist"):
        assert {f"{data}_identity", f"{data}_lowrank", f"{data}_dual_lphm"} <= stems
    assert {"cifar10", "imdb", "ag_news", "sst2", "kan_imdb"} <= stems
    assert {"cnn_digits", "cnn_mnist", "gcn_sbm", "gat_sbm", "gcn_cora", "gat_cora", "rnn_digits"} <= stems
    for folder in {p.parent for p in EXAMPLES}:
        assert (folder / "README.md").is_file()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_resolves_and_builds(path):
    raw, name = load_experiment(path)
    exp = resolve(raw, name)
    config = _dummy_widths(exp["model"])
    # the large RPN 1 models are sized on the meta device; the zoo's small models are built for real
    model = build_model(config, path="model", meta="name" not in config)
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("path", [p for p in EXAMPLES if _offline(p)], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_offline_example_trains_one_epoch(path, tmp_path):
    overrides = ["train.epochs=1", "output.plots=false", "train.device=cpu"]
    if path.parent.name == "function":
        overrides.append("data.num=300")
    result = run(path, overrides=overrides, out=tmp_path / "run", quiet=True)
    assert result.epochs_run == 1 and result.test


# ---------------------------------------------------------------- training that does not need a guide


def test_lbfgs_uses_a_line_search_by_default():
    assert check_optimizer("lbfgs")["line_search_fn"] == "strong_wolfe"
    assert check_optimizer({"name": "lbfgs", "line_search_fn": None})["line_search_fn"] is None
    assert "line_search_fn" not in check_optimizer("adam")


def test_lbfgs_objective_scale_is_checked_and_kept_out_of_torch():
    spec = check_optimizer("lbfgs")
    assert spec["objective_scale"] == LBFGS_OBJECTIVE_SCALE == 1e6
    assert check_optimizer({"name": "lbfgs", "objective_scale": 1})["objective_scale"] == 1
    with pytest.raises(ConfigError, match=r"train.optimizer.objective_scale"):
        check_optimizer({"name": "lbfgs", "objective_scale": 0})
    with pytest.raises(ConfigError, match="objective_scale"):  # only L-BFGS has one
        check_optimizer({"name": "adam", "objective_scale": 10})
    opt = build_optimizer(spec, [torch.nn.Parameter(torch.zeros(2))])
    assert "objective_scale" not in opt.defaults


def _lbfgs_fit(scale: float, epochs: int = 30):
    data = rd.load("elementary", equation="E.0", num=400, seed=1)
    torch.manual_seed(0)
    model = rk.RPN([2, 1], head={"expansion": {"name": "bspline", "grid_size": 5}})
    opt = {"name": "lbfgs", "lr": 1, "max_iter": 20, "history_size": 50, "objective_scale": scale}
    trainer = Trainer(model, epochs=epochs, batch_size=400, optimizer=opt, loss="mse", quiet=True)
    return trainer, trainer.fit(data), data


def test_lbfgs_objective_scale_lets_small_losses_keep_falling():
    # torch's L-BFGS drops curvature pairs with y.s <= 1e-10 and stops when the loss moves by < 1e-9:
    # unscaled, the fit stalls near MSE 1e-7; the default scale keeps it going.
    _, plain, _ = _lbfgs_fit(1.0)
    trainer, scaled, data = _lbfgs_fit(LBFGS_OBJECTIVE_SCALE)
    assert scaled.test["mse"] < plain.test["mse"] / 10
    # the reported training loss is the unscaled mean loss of the final weights' epoch
    with torch.no_grad():
        mse = torch.mean((trainer.model(data.x_train) - data.y_train.reshape(-1, 1)) ** 2).item()
    assert trainer.history[-1]["train_loss"] == pytest.approx(mse, rel=0.5, abs=1e-9)


def _breaking_lbfgs(monkeypatch, breaks: set[int]):
    """L-BFGS whose k-th step (k in ``breaks``, 1-based) ends with a NaN weight, as a line-search breakdown does."""
    real = torch.optim.LBFGS.step
    calls = {"n": 0}

    def step(self, closure):
        loss = real(self, closure)
        calls["n"] += 1
        if calls["n"] in breaks:
            with torch.no_grad():
                self.param_groups[0]["params"][0].view(-1)[0] = float("nan")
        return loss

    monkeypatch.setattr(torch.optim.LBFGS, "step", step)


def _lbfgs_run(epochs: int):
    data = rd.load("elementary", equation="E.0", num=200, seed=0)
    torch.manual_seed(0)
    model = rk.RPN([2, 1], head={"expansion": {"name": "bspline", "grid_size": 4}})
    trainer = Trainer(model, epochs=epochs, batch_size=200, optimizer="lbfgs", loss="mse", quiet=True)
    return trainer, data


def test_a_line_search_breakdown_is_undone_and_lbfgs_restarts(monkeypatch):
    trainer, data = _lbfgs_run(epochs=5)
    _breaking_lbfgs(monkeypatch, {3})
    result = trainer.fit(data)  # no TrainingError: the weights of before step 3 come back
    assert len(trainer.history) == 5 and not result.stopped_early
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())
    assert trainer.history[-1]["train_loss"] < trainer.history[0]["train_loss"]


def test_two_breakdowns_in_a_row_stop_the_run_with_the_weights_before_them(monkeypatch):
    trainer, data = _lbfgs_run(epochs=8)
    _breaking_lbfgs(monkeypatch, set(range(3, 9)))
    with pytest.warns(RuntimeWarning, match="line search broke down twice in a row at epoch 4"):
        result = trainer.fit(data)
    assert result.stopped_early and len(trainer.history) == 4
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())


def _sgd_fit(lr: float):
    data = rd.load("elementary", equation="E.0", num=200, seed=0)
    torch.manual_seed(0)
    model = rk.RPN([2, 1], head={"expansion": {"name": "taylor", "degree": 1}})
    trainer = Trainer(model, epochs=8, batch_size=200, optimizer={"name": "sgd", "lr": lr}, loss="mse", quiet=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(data)
    return [str(w.message) for w in caught if "rose" in str(w.message)], [r["train_loss"] for r in trainer.history]


def test_a_training_loss_that_keeps_rising_gets_one_warning_naming_the_fixes():
    rising, losses = _sgd_fit(2.0)  # one full-batch step an epoch, past the stable step size
    assert all(b > a for a, b in zip(losses, losses[1:]))  # it rose all 8 epochs ...
    assert len(rising) == 1  # ... and is reported once, after three rises
    assert f"({losses[0]:.4g} at epoch 1 -> {losses[3]:.4g} at epoch 4)" in rising[0]
    assert "train.optimizer.lr (now 2)" in rising[0] and "postprocess: layer_norm" in rising[0]
    quiet, losses = _sgd_fit(1.0)
    assert losses[-1] < losses[0] and quiet == []


def test_divergence_stops_with_the_epoch_the_loss_and_what_to_try():
    data = rd.load("elementary", equation=3, num=400)
    model = rk.RPN([2, 1], head={"expansion": {"name": "taylor", "degree": 3}})
    with pytest.raises(TrainingError) as err:
        Trainer(model, epochs=3, optimizer={"name": "sgd", "lr": 1e12}, quiet=True).fit(data)
    message = str(err.value)
    assert "training diverged at epoch 1" in message
    assert "train.optimizer.lr (now 1e+12)" in message and "train.grad_clip" in message
    assert "normalise" in message and "layer_norm" in message


def test_lbfgs_without_line_search_that_diverges_is_stopped():
    data = rd.load("elementary", equation=3, num=400)
    model = rk.RPN([2, 1], head={"expansion": {"name": "taylor", "degree": 3}})
    opt = {"name": "lbfgs", "lr": 1e8, "line_search_fn": None}
    with pytest.raises(TrainingError, match="training diverged at epoch .*line_search_fn: strong_wolfe"):
        Trainer(model, epochs=5, batch_size=400, optimizer=opt, quiet=True).fit(data)


def _fit_warnings(model, data) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Trainer(model, epochs=2, quiet=True).fit(data)
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def test_unnormalised_polynomial_on_wide_inputs_warns_once_naming_the_fix():
    data = rd.load("digits", normalize="standard")
    model = rk.RPN([64, 16, 10], head={"expansion": "taylor", "reconciliation": {"name": "lowrank", "rank": 2}})
    messages = [m for m in _fit_warnings(model, data) if "outside [-1, 1]" in m]
    assert len(messages) == 1
    assert "layers.0.heads.0.expansion" in messages[0] and "postprocess: layer_norm" in messages[0]
    # once per model: a second fit of the same model stays quiet
    assert not [m for m in _fit_warnings(model, data) if "outside [-1, 1]" in m]


@pytest.mark.parametrize(
    "head",
    [
        {"expansion": {"name": "taylor", "postprocess": "layer_norm"}},
        {"expansion": "identity"},
    ],
)
def test_normalised_or_non_polynomial_expansions_do_not_warn(head):
    data = rd.load("digits", normalize="standard")
    assert not [m for m in _fit_warnings(rk.RPN([64, 10], head=head), data) if "outside [-1, 1]" in m]


def test_inputs_inside_the_unit_interval_do_not_warn():
    data = rd.load("digits")  # pixels in [0, 1]; the second layer follows a layer norm
    head = {"expansion": "taylor", "reconciliation": {"name": "lowrank", "rank": 2}, "output_processing": "layer_norm"}
    assert not [m for m in _fit_warnings(rk.RPN([64, 16, 10], head=head), data) if "outside [-1, 1]" in m]


def test_moderate_ranges_that_train_well_stay_quiet():
    """Standardised iris (|x| <= 2.2 at degree 2) trains as well as logistic regression: no warning."""
    data = rd.load("iris", normalize="standard", val_fraction=0.2)
    model = rk.RPN([4, 3], head={"expansion": {"name": "taylor", "degree": 2}})
    assert not [m for m in _fit_warnings(model, data) if "outside [-1, 1]" in m]
