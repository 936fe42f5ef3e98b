"""Checkpoints written by rpnkit 0.1.0 (main before the architecture refactor) load and compute the same."""

import importlib.util
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import rpnkit as rk

FOLDER = Path(__file__).parent / "data" / "checkpoints_v0_1"
NAMES = sorted(p.name for p in FOLDER.iterdir() if p.is_dir())


def _hand_written_configs() -> dict:
    spec = importlib.util.spec_from_file_location("make_v0_1", FOLDER / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MODELS


def test_all_checkpoints_present():
    assert NAMES == sorted(_hand_written_configs())


@pytest.mark.parametrize("name", NAMES)
def test_saved_checkpoint_gives_identical_output(name):
    model = rk.load(FOLDER / name).eval()
    io = load_file(str(FOLDER / name / "io.safetensors"))
    with torch.no_grad():
        y = model(io["x"])
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, io["y"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_config_builds_the_same_model(name):
    """The config as a user wrote it (not its to_config form) builds a model the weights fit exactly."""
    model = rk.build_model(_hand_written_configs()[name]).double().eval()
    model.load_state_dict(load_file(str(FOLDER / name / "model.safetensors")), strict=True)
    io = load_file(str(FOLDER / name / "io.safetensors"))
    with torch.no_grad():
        torch.testing.assert_close(model(io["x"]), io["y"], rtol=1e-12, atol=1e-12)
