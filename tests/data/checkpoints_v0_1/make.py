"""Writes the checkpoints in this folder; run once on main at 8bb94e7 (before the architecture refactor).

Each sub-folder is an ``rk.save`` checkpoint plus ``io.safetensors`` (a fixed input ``x`` and the
output ``y`` that model gave in float64). ``tests/test_checkpoint_compat.py`` loads them with
today's code and asserts the same output: configs and checkpoints written by older versions keep
loading and computing the same function.
"""

from pathlib import Path

import torch
from safetensors.torch import save_file

import rpnkit as rk

HERE = Path(__file__).parent

MODELS = {
    "taylor_lowrank": {
        "dims": [6, 8, 3],
        "head": {
            "expansion": {"name": "taylor", "degree": 2},
            "reconciliation": {"name": "lowrank", "rank": 3},
            "output_processing": "layer_norm",
            "remainder": "linear",
        },
    },
    "bspline_blockwise": {
        "dims": [5, 8, 4],
        "head": {
            "expansion": {"name": "bspline", "t": 5, "d": 3},
            "reconciliation": {"name": "blockwise_dual_lphm", "rank": 2, "p": 2},
            "channels": 2,
            "fusion": "sum",
            "input_processing": "batch_norm",
        },
    },
    "composites": {
        "layers": [
            {
                "m": 6,
                "n": 6,
                "width": 2,
                "fusion": "concatenation",
                "heads": [
                    {
                        "expansion": {"name": "extended", "functions": [{"name": "taylor", "degree": 2}, "chebyshev"]},
                        "reconciliation": {"name": "blockwise_hm", "p": 3},
                        "remainder": "linear",
                    },
                    {
                        "expansion": {"name": "nested", "functions": [{"name": "linear", "c": 0.5}, "gaussian_rbf"]},
                        "reconciliation": {"name": "hm", "p": 3},
                        "attribute_interdependence": {"name": "parameterized"},
                    },
                ],
            },
            {
                "m": 6,
                "n": 2,
                "head": {
                    "expansion": {"name": "extended", "functions": ["mean", "max", {"name": "identity"}]},
                    "reconciliation": {"name": "dual_lphm", "rank": 1},
                    "output_processing": ["tanh"],
                },
            },
        ],
    },
    "wavelet_masked": {
        "dims": [4, 6, 2],
        "head": {
            "expansion": {"name": "ricker_wavelet"},
            "reconciliation": {"name": "masking", "p": 0.5},
            "remainder": "skip",
            "channels": 2,
        },
        "fusion": "mean",
    },
}


def main() -> None:
    torch.manual_seed(0)
    for name, config in MODELS.items():
        model = rk.build_model(config).double().eval()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
        x = torch.randn(7, model.layers[0].m, dtype=torch.float64)
        with torch.no_grad():
            y = model(x)
        rk.save(model, HERE / name)
        save_file({"x": x, "y": y}, str(HERE / name / "io.safetensors"))
        print(name, tuple(y.shape))


if __name__ == "__main__":
    main()
