"""Hardening (issue 14): size guards before allocation, no silent wrong results, one-line errors."""

from __future__ import annotations

import pickle
import resource
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import rpnkit as rk
from rpnkit.config.io import load_yaml
from rpnkit.errors import ConfigError, ShapeError
from rpnkit.memory import SizeGuard, parse_bytes
from rpnkit.train import checkpoint as ckpt
from rpnkit.train import run
from rpnkit.train.experiment import evaluate_run
from rpnkit.train.model_summary import summary

TAYLOR3_784 = {
    "dims": [784, 10],
    "head": {"expansion": {"name": "taylor", "degree": 3}, "reconciliation": {"name": "lowrank", "rank": 8}},
}


def _iris(**train):
    return {
        "model": {"dims": ["auto", 4, "auto"], "head": {"expansion": "taylor"}},
        "data": {"name": "iris", "val_fraction": 0.2},
        "train": {"epochs": 2, "batch_size": 32, **train},
        "output": {"plots": False},
    }


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hardening") / "run"
    run(_iris(), out=folder, quiet=True)
    return folder


# ------------------------------------------------------------------------------------------ 1. size guards


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_summary_never_allocates_the_model():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with SizeGuard(limit=64 * 2**20):  # every real factory allocation in the summary counts against 64 MiB
        info = summary(TAYLOR3_784)
    assert info["parameters"] == 8 * (10 + 482_505_744)
    assert info["layers"][0]["D"] == 482_505_744
    assert time.perf_counter() - started < 30
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 512 * 1024  # KiB: far below 15 GB


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_build_over_the_limit_names_layer_estimate_and_option():
    with pytest.raises(ConfigError) as err:
        rk.build_model(TAYLOR3_784, max_bytes="1GiB")
    message = str(err.value)
    assert message.startswith("layers[0].head.reconciliation: needs at least 14.4 GiB")
    assert "the limit is 1.0 GiB: raise max_bytes" in message and "\n" not in message
    with pytest.raises(ConfigError, match=r"model\.layers\[0\]\.head\.reconciliation: .*raise train\.memory_limit"):
        rk.build_model({"dims": [784, 10**9, 10]}, path="model", option="train.memory_limit")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_huge_degree_is_one_line_not_an_overflow():
    cfg = {"dims": [784, 10], "head": {"expansion": {"name": "taylor", "degree": 50}}}
    with pytest.raises(ConfigError, match=r"more than any machine can hold") as err:
        rk.build_model(cfg)
    assert "\n" not in str(err.value)


def test_rank_above_min_n_d_is_an_error():
    with pytest.raises(ConfigError, match=r"rank must be an int in \[1, max\(2, min\(n, D\)\) = 10\], got 100000"):
        rk.build_model({"dims": [784, 10], "head": {"reconciliation": {"name": "lowrank", "rank": 100000}}})
    with pytest.raises(ConfigError, match=r"min\(n, D\)\) = 3"):
        rk.build("reconciliation", {"name": "random_matrix_adaption", "rank": 4}, n=3, D=8)
    with pytest.raises(ConfigError, match=r"min\(s, t\)"):
        rk.build("reconciliation", {"name": "lphm", "p": 2, "q": 4, "rank": 3}, n=6, D=8)


def test_huge_function_dataset_is_refused_before_sampling():
    with pytest.raises(ConfigError, match=r"data\.num: 1,000,000,000,000 rows .* ask for fewer rows"):
        run({**_iris(), "data": {"name": "composite", "equation": "C.13", "num": 10**12}}, quiet=True)


def test_run_over_memory_limit_is_refused_before_training(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.memory_limit: this run needs about .* raise train\.memory_limit"):
        run(_iris(memory_limit=2000), out=tmp_path / "r", quiet=True)
    assert not (tmp_path / "r").exists()
    assert parse_bytes("1.5 GiB", "p") == 3 * 2**29 and parse_bytes(2e9, "p") == 2 * 10**9
    for bad in ("lots", -1, 0, True, float("nan")):
        with pytest.raises(ConfigError, match="train.memory_limit"):
            rk.train.resolve(_iris(memory_limit=bad))


# ------------------------------------------------------------------------------------ 2. silent results


def test_head_beside_layers_is_an_error():
    cfg = {"layers": [{"m": 3, "n": 2}], "head": {"expansion": "taylor"}}
    with pytest.raises(ConfigError, match=r"model\.head: 'head' would be ignored beside 'layers'"):
        rk.build_model(cfg, path="model")
    with pytest.raises(ConfigError, match="'width' would be ignored"):
        rk.build_model({"layers": [{"m": 3, "n": 2}], "width": 2})


def _csv(tmp_path: Path, rows: list[str], name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    return path


def test_one_class_classification_is_an_error(tmp_path):
    path = _csv(tmp_path, [f"{i},{i * 2},yes" for i in range(20)])
    with pytest.raises(ConfigError, match=r"classification needs at least two classes"):
        rk.data.load("iris", path=str(path))


@pytest.mark.parametrize(
    "key, value",
    [
        ("early_stopping", {"patience": 2, "min_delta": float("nan")}),
        ("loss", {"name": "cross_entropy", "label_smoothing": float("nan")}),
        ("grad_clip", float("nan")),
        ("scheduler", {"name": "exponential", "gamma": float("nan")}),
        ("optimizer", {"name": "adam", "lr": float("inf")}),
        ("optimizer", {"name": "adam", "betas": [0.9, float("nan")]}),
    ],
)
def test_nan_and_inf_hyperparameters_are_refused_with_the_path(key, value):
    with pytest.raises(ConfigError, match=rf"train\.{key}(\.\w+(\[\d\])?)?: expected a finite number"):
        rk.train.resolve(_iris(**{key: value}))


def test_nan_in_a_component_config_is_refused():
    head = {"reconciliation": {"name": "identity", "gain": float("nan")}}
    with pytest.raises(ConfigError, match=r"reconciliation\.gain: (gain must be|expected) a finite number, got nan"):
        rk.build_model({"dims": [3, 2], "head": head})
    with pytest.raises(ConfigError, match=r"model\.head\.expansion\.degree"):
        rk.train.resolve({**_iris(), "model": {"dims": [4, 3], "head": {"expansion": {"degree": float("inf")}}}})


def test_duplicate_yaml_keys_are_an_error():
    with pytest.raises(ConfigError, match=r"f\.yaml: duplicate key 'lr' \(line 3; first at line 2\)"):
        load_yaml("train:\n  lr: 1\n  lr: 2\n", "f.yaml")
    assert load_yaml("a: &x {b: 1}\nc: *x\n") == {"a": {"b": 1}, "c": {"b": 1}}


def test_alias_bomb_is_refused_fast():
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="alias"):
        load_yaml("\n".join(lines))
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("name", [n for n in rk.registry.names("compression") if n.startswith("naive_")])
@pytest.mark.parametrize("log_prob", [False, True])
def test_naive_probabilistic_keeps_nan_rows_nan(name, log_prob):
    module = rk.build("compression", {"name": name, "log_prob": log_prob, "simply_sampling": not log_prob}, m=6)
    module.eval()  # the fixed evaluation draw: rows can be compared between calls
    x = torch.randn(4, 6)
    clean = module(x.clone())
    x[1, 2] = float("nan")
    out = module(x)
    assert out[1].isnan().all()
    assert torch.equal(out[[0, 2, 3]], clean[[0, 2, 3]])


# -------------------------------------------------------------------------------------- 3. NaN in data


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity"])
def test_nonfinite_csv_cell_is_refused_with_file_and_line(tmp_path, cell):
    rows = [f"{i},{i % 3},{'x' if i % 2 else 'y'}" for i in range(10)]
    rows[4] = f"{cell},1,x"
    path = _csv(tmp_path, rows)
    with pytest.raises(ConfigError, match=rf"t\.csv: line 6, column 'a' is '{cell}'.*data\.impute: mean"):
        rk.data.load("iris", path=str(path))


def test_impute_mean_fills_nonfinite_cells(tmp_path):
    rows = [f"{i},{i % 3},{'x' if i % 2 else 'y'}" for i in range(10)]
    rows[4], rows[5] = "nan,1,y", ",2,x"
    data = rk.data.load("iris", path=str(_csv(tmp_path, rows)), impute="mean", normalize=None, test_fraction=0.2)
    x = torch.cat([data.x_train, data.x_test])
    assert torch.isfinite(x).all()
    assert sorted(x[:, 0].tolist()).count(sum(i for i in range(10) if i not in (4, 5)) / 8) == 2


# --------------------------------------------------------------------------------- 4. one-line errors


def test_val_fraction_leaving_no_training_rows_leaves_no_run_dir(tmp_path):
    cfg = _iris()
    with pytest.raises(ConfigError, match=r"data\.val_fraction: .*no training rows.*lower val_fraction"):
        run(cfg, overrides=["data.val_fraction=0.999"], out=tmp_path / "r", quiet=True)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("damage", ["truncate", "foreign", "garbage"])
def test_evaluate_on_a_damaged_weights_file(tmp_path, finished_run, damage):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(finished_run, folder)
    weights = folder / "best" / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "foreign":
        from safetensors.torch import save_file

        save_file({"something": torch.zeros(3)}, str(weights))
    else:
        weights.write_bytes(b"\x00" * 64)
    match = "does not match its config" if damage == "foreign" else "is corrupt or not an rpnkit weights file"
    with pytest.raises(ConfigError, match=match):
        evaluate_run(folder)


def test_config_edited_to_another_shape_and_bad_dtype(tmp_path, finished_run):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(finished_run, folder)
    config = folder / "best" / "config.yaml"
    document = yaml.safe_load(config.read_text())
    document["model"]["dims"][1] = 7
    config.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=r"weights have other shapes .*was config\.yaml edited"):
        rk.load(folder / "best")
    document["model"]["dims"][1] = 4
    document["dtype"] = "save"
    config.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=r"dtype must name a floating dtype .* got 'save'"):
        rk.load(folder / "best")


def _resume_dir(tmp_path: Path, finished_run: Path) -> Path:
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(finished_run, folder)
    return folder


def test_truncated_training_state_is_corrupt(tmp_path, finished_run):
    folder = _resume_dir(tmp_path, finished_run)
    state = folder / "last" / ckpt.STATE_FILE
    state.write_bytes(state.read_bytes()[:100])
    with pytest.raises(ConfigError, match=r"training_state\.pt is corrupt \(truncated or not a training state"):
        run(resume=folder, overrides=["train.epochs=3"], quiet=True)


class _Evil:
    def __reduce__(self):
        return (Path.touch, (Path("/tmp/rpnkit-hardening-pwned"),))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malicious_training_state_is_refused_without_weights_only_advice(tmp_path, finished_run):
    folder = _resume_dir(tmp_path, finished_run)
    target = Path("/tmp/rpnkit-hardening-pwned")
    target.unlink(missing_ok=True)
    (folder / "last" / ckpt.STATE_FILE).write_bytes(pickle.dumps({"epoch": 1, "x": _Evil()}))
    with pytest.raises(ConfigError) as err:
        run(resume=folder, overrides=["train.epochs=3"], quiet=True)
    assert "corrupt or untrusted" in str(err.value) and "weights_only" not in str(err.value)
    assert not target.exists()


def _rewrite_state(folder: Path, change) -> None:
    path = folder / "last" / ckpt.STATE_FILE
    state = torch.load(path, weights_only=True)
    change(state)
    ckpt.write_state(path, state)


def test_negative_epoch_is_refused(tmp_path, finished_run):
    folder = _resume_dir(tmp_path, finished_run)
    _rewrite_state(folder, lambda s: s.update(epoch=-5))
    with pytest.raises(ConfigError, match=r"is corrupt: its epoch is -5"):
        run(resume=folder, overrides=["train.epochs=3"], quiet=True)


def test_optimizer_state_of_the_wrong_shape_is_refused(tmp_path, finished_run):
    folder = _resume_dir(tmp_path, finished_run)

    def change(state):
        first = next(iter(state["optimizer"]["state"].values()))
        first["exp_avg"] = torch.zeros(2, 2, 2)

    _rewrite_state(folder, change)
    with pytest.raises(ConfigError, match=r"optimizer state 'exp_avg' of parameter \d+ has shape \(2, 2, 2\)"):
        run(resume=folder, overrides=["train.epochs=3"], quiet=True)


@pytest.mark.parametrize("x", [np.zeros((2, 4), dtype=np.float32), [[0.0] * 4] * 2])
def test_numpy_or_list_input_says_how_to_convert(x):
    model = rk.RPN([4, 3])
    with pytest.raises(ShapeError, match=r"RPN: expected a torch\.Tensor, got .*torch\.as_tensor"):
        model(x)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.int64])
def test_input_dtype_other_than_the_model_is_one_clear_error(dtype):
    model = rk.RPN([4, 3], head={"expansion": "bspline"})
    with pytest.raises(ShapeError, match=r"RPN: the input is \w+ but the model is float32; convert it with x\.to"):
        model(torch.zeros(2, 4, dtype=dtype))
    assert model.double()(torch.zeros(2, 4, dtype=torch.float64)).dtype == torch.float64
