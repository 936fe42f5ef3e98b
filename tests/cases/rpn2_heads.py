"""Cases of the RPN 2 grid and bilinear heads (kind "head").

The generic checks of tests/test_components.py take a head's output width to be m, so every case
here keeps n == m (stride 1 and C_out = C_in for the grids, out_width = width for attention).
"""

from . import Case

CASES = [
    Case("head", {"name": "grid", "in_channels": 2, "out_channels": 2, "h": 4, "w": 3}, {"m": 24, "n": 24}),
    Case(
        "head",
        {
            "name": "grid",
            "in_channels": 2,
            "out_channels": 2,
            "h": 3,
            "w": 3,
            "patch": "cylinder",
            "p_r": 1,
            "expansion": {"name": "taylor", "degree": 2},
            "remainder": "identity",
            "output_processing": "tanh",
        },
        {"m": 18, "n": 18},
        id="head/grid+cylinder+taylor",
    ),  # fmt: skip
    Case(
        "head",
        {"name": "grid", "in_channels": 1, "out_channels": 1, "h": 3, "w": 3, "d": 3, "patch": "sphere"},
        {"m": 27, "n": 27},
        id="head/grid+sphere3d",
    ),
    Case(
        "head",
        {"name": "grid_compression", "channels": 2, "h": 3, "w": 3, "packing": "densest_packing"},
        {"m": 18, "n": 18},
        grad_params=False,
    ),
    Case(
        "head",
        {
            "name": "grid_compression",
            "channels": 1,
            "h": 4,
            "w": 4,
            "metric": "mean",
            "patch": "cylinder",
            "packing": "densest_packing",
        },
        {"m": 16, "n": 16},
        grad_params=False,
        id="head/grid_compression+cylinder-mean",
    ),  # fmt: skip
    Case(
        "head",
        {
            "name": "grid_compression",
            "channels": 1,
            "h": 4,
            "w": 4,
            "metric": "min",
            "patch": "cylinder",
            "packing": "densest_packing",
        },
        {"m": 16, "n": 16},
        grad_params=False,
        id="head/grid_compression+cylinder-min",
    ),  # fmt: skip
    Case("head", {"name": "bilinear", "length": 3, "heads": 2}, {"m": 12, "n": 12}),
    Case(
        "head",
        {
            "name": "bilinear",
            "width": 4,
            "causal": True,
            "query": {"name": "lowrank", "rank": 2},
            "remainder": "identity",
            "input_processing": "layer_norm",
        },
        {"m": 12, "n": 12},
        id="head/bilinear+causal+lowrank",
    ),  # fmt: skip
]
