"""Mixed precision (autocast, gradient scaler), torch.compile and their validation."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import rpnkit as rk
import rpnkit.data as rd
from rpnkit import ConfigError
from rpnkit.train import Trainer, load_state, run


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(dropout: float = 0.2, **train) -> dict:
    return {
        "name": "tiny",
        "model": {
            "dims": [4, 8, 3],
            "head": {
                "expansion": {"name": "taylor", "degree": 2},
                "reconciliation": {"name": "lowrank", "rank": 2},
                "implicit": False,  # see test_mixed_precision_through_the_implicit_path
                "output_processing": [{"name": "dropout", "p": dropout}],
            },
        },
        "data": {"name": "iris", "val_fraction": 0.2, "seed": 1},
        "train": {"epochs": 4, "batch_size": 16, "optimizer": {"name": "adamw", "lr": 0.02}, "seed": 3, **train},
        "output": {"plots": False},
    }


def digits(implicit: bool | None = False, **train) -> dict:
    return {
        "name": "digits",
        "model": {
            "dims": [64, 32, 10],
            "head": {
                "expansion": {"name": "taylor", "degree": 2},
                "reconciliation": {"name": "lowrank", "rank": 4},
                "output_processing": "layer_norm",
                "implicit": implicit,
            },
        },
        "data": {"name": "digits", "test_fraction": 0.2, "val_fraction": 0.1, "seed": 0},
        "train": {"epochs": 6, "batch_size": 32, "optimizer": {"name": "adamw", "lr": 3e-3}, "seed": 0, **train},
        "output": {"plots": False},
    }


def test_bf16_autocast_learns_digits(tmp_path):
    result = run(digits(precision="bf16", device="cpu"), out=tmp_path / "r", quiet=True)
    assert result.test["accuracy"] > 0.8  # chance: 0.1
    losses = [r["train_loss"] for r in result.history]
    assert losses[-1] < losses[0] / 2


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_through_the_implicit_path(tmp_path, precision):
    result = run(digits(implicit=None, precision=precision, epochs=1, device="cpu"), out=tmp_path / "r", quiet=True)
    assert result.test["accuracy"] > 0.5


def test_bf16_runs_under_autocast():
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
            return x

    model = torch.nn.Sequential(rk.RPN([4, 3], head={"expansion": "taylor"}), Probe())
    Trainer(model, epochs=1, precision="bf16", quiet=True).fit(rd.load("iris", val_fraction=0.2))
    assert seen and all(s == (True, torch.bfloat16) for s in seen)
    seen.clear()
    Trainer(model, epochs=1, quiet=True).fit(rd.load("iris", val_fraction=0.2))  # fp32: no autocast
    assert seen and not any(enabled for enabled, _ in seen)


def test_fp16_scaler_state_resumes_bit_identically(tmp_path):
    straight = run(tiny(precision="fp16", device="cpu"), out=tmp_path / "a", quiet=True)

    def interrupt(trainer, epoch, record):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tiny(precision="fp16", device="cpu"), out=tmp_path / "b", quiet=True, callbacks=[interrupt])
    assert "scale" in load_state(tmp_path / "b" / "last")["grad_scaler"]
    resumed = run(resume=tmp_path / "b", quiet=True)
    a, b = (load_file(str(tmp_path / f / "last" / "model.safetensors")) for f in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.test == resumed.test


def test_compile_follows_the_eager_loss_curve_fast_backend(tmp_path):
    """The compile wiring with the aot_eager backend (traced, no code generation: seconds)."""
    eager = run(tiny(dropout=0.0, epochs=2), out=tmp_path / "e", quiet=True)
    compiled = run(tiny(dropout=0.0, epochs=2, compile={"backend": "aot_eager"}), out=tmp_path / "c", quiet=True)
    for a, b in zip(eager.history, compiled.history):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4)
    weights = load_file(str(tmp_path / "c" / "last" / "model.safetensors"))
    assert not any("_orig_mod" in k for k in weights)  # checkpoints hold the plain model


@pytest.mark.slow
def test_compile_true_follows_the_eager_loss_curve(tmp_path):
    """``train.compile: true`` (inductor; ~40 s of compilation on 2 CPU cores). Without dropout: compiled
    dropout draws its masks from another generator."""
    eager = run(tiny(dropout=0.0), out=tmp_path / "e", quiet=True)
    compiled = run(tiny(dropout=0.0, compile=True), out=tmp_path / "c", quiet=True)
    for a, b in zip(eager.history, compiled.history):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ({"precision": "bf15"}, r"train.precision: expected one of 'fp32', 'bf16', 'fp16', got 'bf15'; did you mean"),
        ({"compile": "yes"}, "train.compile: expected true, false or a mapping"),
        ({"compile": {"mod": "max-autotune"}}, "train.compile.mod: unknown key 'mod'.*did you mean 'mode'"),
        ({"compile": {"mode": "fast"}}, "train.compile.mode: expected one of 'default'"),
        ({"compile": {"backend": "aot_eager", "mode": "max-autotune"}}, "train.compile.mode: .*inductor backend only"),
        ({"compile": {"fullgraph": 1}}, "train.compile.fullgraph"),
        ({"precision": "fp16", "optimizer": {"name": "lbfgs"}}, "train.precision: lbfgs .* gradient scaler"),
    ],
)
def test_precision_and_compile_are_validated(tmp_path, train, message):
    with pytest.raises(ConfigError, match=message):
        run(tiny(**train), out=tmp_path / "r", quiet=True)


def test_defaults_resolve_to_the_plain_loop():
    exp = rk.train.resolve(tiny())
    assert (exp["train"]["precision"], exp["train"]["compile"], exp["train"]["accumulate"]) == ("fp32", False, 1)
    assert "workers" not in exp["data"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_mixed_precision_with_workers(tmp_path, precision):  # pragma: no cover - GPU machines only
    exp = digits(precision=precision, device="cuda")
    exp["data"]["workers"] = 2
    result = run(exp, out=tmp_path / "r", quiet=True)
    assert result.test["accuracy"] > 0.8
