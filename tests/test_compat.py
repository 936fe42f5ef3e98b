"""rpnkit.compat: the reference (tinyBIG) YAML reader, `rpnkit convert`, the parameter aliases and the adapters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import rpnkit as rk
from rpnkit.cli import main
from rpnkit.compat import convert, read_reference, rpn, rpn_head, rpn_layer
from rpnkit.config.io import load_yaml
from rpnkit.train.experiment import run

FIXTURES = Path(__file__).parent / "data" / "reference"

# (file, parameters the reference documents or its configs give, parameters with the normalisation
#  layers' affine weights that the reference never registered, trains offline)
EXAMPLES = {
    "elementary_configs.yaml": (47, 47, True),
    "iris_configs.yaml": (8, 8, True),
    "diabetes_configs.yaml": (44, 44, True),
    "banknote_configs.yaml": (14, 14, True),
    "iris_interdependence_configs.yaml": (76, 76, True),
    "mnist_configs.yaml": (39_696_000, 39_696_000 + 2 * (615_440 + 4_160 + 4_160), False),
    "mnist_dual_lphm_configs.yaml": (9_330, 9_330 + 2 * (615_440 + 4_160 + 4_160), False),
}


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _build(model_config: dict, meta: bool) -> torch.nn.Module:
    if meta:  # MNIST: count without allocating 160 MB
        with torch.device("meta"):
            return rk.build_model(model_config)
    return rk.build_model(model_config)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_reference_example_builds_with_the_documented_parameter_count(name):
    expected, with_norm, _ = EXAMPLES[name]
    experiment = read_reference(FIXTURES / name).experiment
    meta = "mnist" in name
    assert _count(_build(experiment["model"], meta)) == expected
    affine = load_yaml(
        rk.config.dump_yaml(experiment["model"]).replace("elementwise_affine: false", "elementwise_affine: true")
    )
    assert _count(_build(affine, meta)) == with_norm


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_converted_yaml_builds_an_identical_model(name, tmp_path):
    out = tmp_path / "converted.yaml"
    text = convert(FIXTURES / name, out=out)
    assert out.read_text() == text
    assert "# " in text  # the differences are commented
    converted = load_yaml(text)
    original = read_reference(FIXTURES / name).experiment
    assert converted == original
    meta = "mnist" in name
    a, b = _build(original["model"], meta), _build(converted["model"], meta)
    assert a.to_config() == b.to_config()
    if not meta:
        b.load_state_dict(a.state_dict(), strict=True)
        x = torch.rand(5, a.m)
        torch.testing.assert_close(a(x), b(x))


@pytest.mark.parametrize("name", sorted(n for n, (_, _, offline) in EXAMPLES.items() if offline))
def test_reference_example_trains_one_step(name, tmp_path):
    experiment = read_reference(FIXTURES / name).experiment
    result = run(
        experiment, overrides=["train.epochs=1", "train.device=cpu", "output.plots=false"], out=tmp_path, quiet=True
    )
    assert result.epochs_run == 1
    assert all(torch.isfinite(torch.tensor(v)) for v in result.test.values())
    if experiment["data"].get("task") == "regression" and experiment["data"]["name"] != "elementary":
        assert 0.0 <= result.test["rounded_accuracy"] <= 1.0


def test_regression_examples_use_rounded_accuracy():
    for name in ("iris_configs.yaml", "diabetes_configs.yaml", "banknote_configs.yaml"):
        experiment = read_reference(FIXTURES / name).experiment
        assert experiment["data"]["task"] == "regression"
        assert experiment["metrics"] == ["mse", "rounded_accuracy"]
        assert experiment["train"]["loss"] == "mse"


def test_reader_maps_the_learner_and_the_processing():
    conversion = read_reference(FIXTURES / "mnist_dual_lphm_configs.yaml")
    exp = conversion.experiment
    assert exp["train"]["optimizer"] == {"name": "adamw", "lr": 2e-3, "weight_decay": 2e-4}
    assert exp["train"]["scheduler"] == {"name": "exponential", "gamma": 0.9}
    assert exp["train"]["loss"] == "cross_entropy"
    assert exp["train"]["epochs"] == 20 and exp["train"]["batch_size"] == 64
    assert exp["metrics"] == ["accuracy"]
    head = exp["model"]["layers"][0]["head"]
    assert head["expansion"] == {
        "name": "taylor",
        "postprocess": [{"name": "layer_norm", "elementwise_affine": False}],
        "degree": 2,
    }
    assert head["reconciliation"] == {"name": "dual_lphm", "p": 8, "q": 784, "rank": 5}
    notes = " ".join(t for texts in conversion.notes.values() for t in texts)
    assert "Kronecker" in notes and "never registered" in notes


def _reference(**model_parameters) -> dict:
    head = {
        "head_class": "tinybig.module.rpn_head",
        "head_parameters": {
            "data_transformation_configs": {"data_transformation_class": "tinybig.expansion.taylor_expansion"},
        },
    }
    layer = {"layer_class": "tinybig.module.rpn_layer", "layer_parameters": {"m": 4, "n": 3, "head_configs": [head]}}
    return {
        "configurations": {
            "data_configs": {"data_class": "tinybig.data.iris"},
            "model_configs": {"model_class": "tinybig.model.rpn", "model_parameters": {"layer_configs": [layer]}},
            **model_parameters,
        }
    }


def test_unmapped_class_is_a_clear_error_listing_what_is_supported():
    config = _reference()
    head = config["configurations"]["model_configs"]["model_parameters"]["layer_configs"][0]["layer_parameters"]
    head["head_configs"][0]["head_parameters"]["data_transformation_configs"]["data_transformation_class"] = (
        "tinybig.expansion.my_expansion"
    )
    with pytest.raises(rk.ConfigError, match=r"unsupported reference expansion class .*supported: .*taylor_expansion"):
        read_reference(config)
    config = _reference()
    config["configurations"]["data_configs"]["data_class"] = "mypackage.data.Loader"
    with pytest.raises(
        rk.ConfigError, match=r"unsupported reference data class 'mypackage.data.Loader'.*tinybig.data.iris"
    ):
        read_reference(config)
    config = _reference(learner_configs={"learner_parameters": {"loss_configs": {"loss_class": "torch.nn.NLLLoss"}}})
    config["configurations"]["learner_configs"]["learner_class"] = "tinybig.learner.backward_learner"
    with pytest.raises(
        rk.ConfigError, match=r"unsupported reference loss 'torch.nn.NLLLoss'.*torch.nn.CrossEntropyLoss"
    ):
        read_reference(config)


def test_width_and_depth_allocation():
    config = _reference()
    params = config["configurations"]["model_configs"]["model_parameters"]
    params["depth"], params["depth_alloc"] = 2, [2]
    layer = params["layer_configs"][0]["layer_parameters"]
    layer["n"], layer["width"], layer["width_alloc"] = 4, 3, [3]
    model = rk.build_model(read_reference(config).experiment["model"])
    assert model.depth == 2 and [lay.width for lay in model.layers] == [3, 3]
    layer["width_alloc"] = [2]
    with pytest.raises(rk.ConfigError, match=r"width=3 but width_alloc \[2\] sums to 2"):
        read_reference(config)


def test_concatenation_fusion_follows_the_reference_width():
    config = _reference()
    layer = config["configurations"]["model_configs"]["model_parameters"]["layer_configs"][0]["layer_parameters"]
    layer["width"] = 2
    layer["head_fusion_configs"] = {"head_fusion_class": "tinybig.fusion.concatenation_fusion"}
    model = rk.build_model(read_reference(config).experiment["model"])
    assert model.n == 6 and model.layers[0].heads[0].n == 3


def test_cli_train_detects_the_reference_schema_and_convert_writes_yaml(tmp_path, capsys):
    out = tmp_path / "iris.yaml"
    assert main(["convert", str(FIXTURES / "iris_configs.yaml"), "-o", str(out)]) == 0
    assert load_yaml(out.read_text())["data"]["task"] == "regression"
    code = main(
        [
            "train",
            str(FIXTURES / "banknote_configs.yaml"),
            "--set",
            "train.epochs=1",
            "--set",
            "output.plots=false",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--no-tune-allocator",
        ]
    )
    assert code == 0
    assert "rounded_accuracy" in capsys.readouterr().out
    assert main(["convert", str(tmp_path / "missing.yaml")]) == 2


# ------------------------------------------------------------------------------------------ aliases


def test_reference_parameter_names_are_aliases_written_back_in_rpnkit_spelling():
    cases = [
        ("expansion", {"name": "taylor", "d": 3}, {"m": 2}, {"name": "taylor", "degree": 3}),
        ("expansion", {"name": "bspline", "t": 4, "d": 2}, {"m": 2}, {"grid_size": 4, "degree": 2}),
        ("expansion", {"name": "fourier", "P": 4.0, "N": 2}, {"m": 2}, {"period": 4.0, "harmonics": 2}),
        ("expansion", {"name": "haar_wavelet", "s": 2, "t": 3}, {"m": 2}, {"scales": 2, "translations": 3}),
        ("compression", {"name": "combinatorial", "d": 2, "k": 2}, {"m": 4}, {"degree": 2}),
        (
            "reconciliation",
            {"name": "lowrank", "r": 3, "enable_bias": True},
            {"n": 3, "D": 5},
            {"rank": 3, "bias": True},
        ),
        ("reconciliation", {"name": "dual_lphm", "r": 1}, {"n": 4, "D": 4}, {"rank": 1}),
        ("remainder", {"name": "linear", "enable_bias": True}, {"m": 2, "n": 3}, {"bias": True}),
        ("interdependence", {"name": "identity", "interdependence_type": "attribute"}, {"m": 3}, {"kind": "attribute"}),
        ("interdependence", {"name": "polynomial_kernel", "d": 2, "c": 1.0}, {"m": 3}, {"degree": 2, "coef0": 1.0}),
    ]
    for kind, spec, dims, expected in cases:
        module = rk.build(kind, spec, **dims)
        config = module.to_config()
        for key, value in expected.items():
            assert config[key] == value, (spec, config)
        assert not set(config) & (set(spec) - set(expected) - {"name", "k"}), config
        again = rk.build(kind, config, **dims)
        assert again.to_config() == config


def test_aliases_work_in_direct_construction_and_keep_the_old_attributes():
    spline = rk.expansion.BSpline(2, t=4, d=2)
    assert (spline.grid_size, spline.degree, spline.t, spline.d, spline.D) == (4, 2, 4, 2, 12)
    assert rk.expansion.BSpline(2, grid_size=4, degree=2).to_config() == spline.to_config()


def test_both_spellings_of_one_parameter_is_an_error_naming_both():
    with pytest.raises(rk.ConfigError, match=r"'degree' and 'd' are two spellings of one parameter of Taylor"):
        rk.build("expansion", {"name": "taylor", "degree": 2, "d": 3}, m=2)
    with pytest.raises(rk.ConfigError, match=r"'grid_size' and 't' are two spellings"):
        rk.expansion.BSpline(2, t=3, grid_size=4)
    with pytest.raises(rk.ConfigError, match=r"head.reconciliation.r: 'rank' and 'r' are two spellings"):
        rk.RPN([2, 1], head={"reconciliation": {"name": "lowrank", "rank": 1, "r": 1}})


def test_param_aliases_table_is_introspectable():
    assert rk.registry.param_aliases(rk.expansion.BSpline) == {"t": "grid_size", "d": "degree"}
    # an alias that is itself a parameter of the class is not applied (bilinear's d is its own parameter)
    assert "d" not in rk.registry.param_aliases(rk.registry.get_class("interdependence", "parameterized_bilinear"))


# ----------------------------------------------------------------------------------------- adapters


def test_rpn_head_adapter_reference_surface():
    head = rpn_head(
        m=4,
        n=3,
        channel_num=2,
        data_transformation_configs={
            "data_transformation_class": "tinybig.expansion.taylor_expansion",
            "data_transformation_parameters": {"d": 2},
        },
        parameter_fabrication={"name": "lowrank", "r": 1},
        remainder="linear",
    )
    assert (head.get_m(), head.get_n(), head.channel_num) == (4, 3, 2)
    assert head.l == 2 * (3 + 20)
    assert head(torch.randn(5, 4), device="cpu").shape == (5, 3)
    config = head.to_config()
    assert config["head_class"] == "tinybig.module.rpn_head"
    params = config["head_parameters"]
    assert params["data_transformation_configs"]["data_transformation_class"] == "tinybig.expansion.taylor_expansion"
    assert params["parameter_fabrication_configs"]["parameter_fabrication_parameters"]["rank"] == 1
    with pytest.raises(rk.ConfigError, match="l=7 but the reconciliation gives l="):
        rpn_head(4, 3, l=7)


def test_rpn_layer_adapter_concatenation_and_width():
    layer = rpn_layer(
        4,
        3,
        head_configs=[{"head_class": "tinybig.module.rpn_head", "head_parameters": {"channel_num": 1}}],
        width=2,
        head_fusion_configs={"head_fusion_class": "tinybig.fusion.concatenation_fusion"},
    )
    assert (layer.get_m(), layer.get_n(), layer.get_width()) == (4, 6, 2)
    assert layer(torch.randn(2, 4)).shape == (2, 6)
    assert len(layer.heads) == 2 and layer.heads[0].get_n() == 3
    outputs = [h(torch.ones(1, 4)) for h in layer.heads]
    assert layer.multi_head_fusion(outputs).shape == (1, 6)
    mean = rpn_layer(4, 3, heads=[rpn_head(4, 3), rpn_head(4, 3)])
    assert mean.get_n() == 3
    before = [p.clone() for p in mean.parameters()]
    mean.initialize_parameters("kaiming_uniform")
    assert any(not torch.equal(a, b) for a, b in zip(before, mean.parameters()))
    with pytest.raises(rk.ConfigError, match="every head of the layer maps 4 -> 3"):
        rpn_layer(4, 3, heads=[rpn_head(4, 2)])


RMA = "tinybig.reconciliation.random_matrix_adaption_reconciliation"


def test_rpn_adapter_checkpoint_and_config_round_trip(tmp_path):
    layers = [
        {
            "layer_class": "tinybig.module.rpn_layer",
            "layer_parameters": {
                "m": 2,
                "n": 2,
                "head_configs": {
                    "head_class": "tinybig.module.rpn_head",
                    "head_parameters": {
                        "data_transformation_configs": {
                            "data_transformation_class": "tinybig.expansion.bspline_expansion",
                            "data_transformation_parameters": {"t": 4, "d": 2},
                        },
                        "parameter_fabrication_configs": {
                            "parameter_fabrication_class": RMA,
                            "parameter_fabrication_parameters": {"r": 2},
                        },
                    },
                },
            },
        }
    ]
    model = rpn(layer_configs=layers, depth=2, depth_alloc=[2], device="cpu")
    assert (model.get_m(), model.get_n(), model.depth) == (2, 2, 2)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    model.save_ckpt(tmp_path, "checkpoint")
    other = rpn(layer_configs=layers, depth=2, device=None)
    x = torch.rand(4, 2)
    assert not torch.equal(model(x), other(x))
    other.load_ckpt(tmp_path, "checkpoint", strict=True)
    torch.testing.assert_close(model(x), other(x), rtol=0, atol=0)  # buffers (random factors) were saved too
    config = model.to_config()
    assert config["model_class"] == "tinybig.model.rpn"
    rebuilt = rpn(**{k: v for k, v in config["model_parameters"].items() if k != "name"})
    assert rebuilt.module.to_config() == model.module.to_config()
    with pytest.raises(rk.ConfigError, match="does not exist"):
        other.load_ckpt(tmp_path, "missing")
