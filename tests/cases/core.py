"""Cases of the core components (headline expansions, reconciliations, remainders, fusions)."""

from . import Case

CASES = [
    # expansions
    Case("expansion", "identity", {"m": 3}),
    Case("expansion", {"name": "taylor", "degree": 3}, {"m": 3}),
    Case("expansion", {"name": "bspline", "t": 4, "d": 2}, {"m": 2}, low=-0.9, high=0.9),
    Case(
        "expansion",
        {"name": "bspline", "grid_size": 3, "degree": 3, "grid_range": [[-1.0, 1.0], [-0.5, 2.0]]},
        {"m": 2},
        low=-0.9,
        high=0.9,
        id="expansion/bspline+per-input-ranges",
    ),
    Case("expansion", {"name": "chebyshev", "degree": 4}, {"m": 3}),
    Case("expansion", {"name": "gaussian_rbf", "num_interval": 4}, {"m": 2}),
    Case(
        "expansion",
        {"name": "taylor", "degree": 2, "preprocess": "layer_norm", "postprocess": ["tanh"]},
        {"m": 3},
        id="expansion/taylor+processing",
    ),
    # reconciliations
    Case("reconciliation", "identity", {"n": 4, "D": 6}),
    Case("reconciliation", {"name": "identity", "bias": True}, {"n": 4, "D": 6}, id="reconciliation/identity+bias"),
    Case("reconciliation", {"name": "lowrank", "rank": 2}, {"n": 4, "D": 6}),
    Case("reconciliation", {"name": "hm", "p": 2, "q": 3}, {"n": 4, "D": 6}),
    Case("reconciliation", {"name": "lphm", "p": 2, "q": 2, "rank": 2}, {"n": 6, "D": 8}),
    Case("reconciliation", {"name": "dual_lphm", "p": 3, "q": 2, "rank": 2}, {"n": 6, "D": 8}),
    Case("reconciliation", {"name": "masking", "p": 0.6}, {"n": 4, "D": 6}),
    Case("reconciliation", {"name": "duplicated_padding", "p": 2, "q": 3}, {"n": 4, "D": 6}),
    # remainders
    Case("remainder", "zero", {"m": 3, "n": 3}, grad_params=False),
    Case("remainder", {"name": "constant", "c": 0.5}, {"m": 3, "n": 2}),
    Case("remainder", {"name": "identity", "activation": "silu"}, {"m": 3, "n": 3}),
    Case("remainder", {"name": "linear", "bias": True, "activation": "tanh"}, {"m": 3, "n": 2}),
    # fusions
    Case("fusion", "mean", {"dims": [3, 3, 3]}),
    Case("fusion", "sum", {"dims": [3, 3]}),
    Case("fusion", "max", {"dims": [3, 3]}),
    Case("fusion", "concatenation", {"dims": [2, 3]}),
    Case("fusion", {"name": "parameterized_concatenation", "n": 3}, {"dims": [2, 3]}),
    Case(
        "fusion",
        {"name": "parameterized_concatenation", "reconciliation": {"name": "lowrank", "rank": 1}},
        {"dims": [2, 2]},
        id="fusion/parameterized_concatenation+lowrank",
    ),
    # interdependences
    Case("interdependence", "identity", {"m": 3}),
    Case("interdependence", {"name": "parameterized", "m_out": 2, "reconciliation": "lowrank"}, {"m": 3}),
    Case(
        "interdependence",
        {"name": "parameterized", "kind": "instance", "b": 4, "b_out": 3},
        {"m": 3},
        prefix=False,
        id="interdependence/parameterized-instance",
    ),
    # processing
    Case("processing", "layer_norm", {"m": 3}),
    Case("processing", "batch_norm", {"m": 3}),
    Case("processing", {"name": "token_layer_norm", "width": 3}, {"m": 6}),
    Case("processing", {"name": "dropout", "p": 0.3}, {"m": 3}, grad_params=False),
    *[
        Case("processing", name, {"m": 3}, grad_params=False)
        for name in [
            "relu",
            "gelu",
            "silu",
            "tanh",
            "sigmoid",
            "softplus",
            "elu",
            "celu",
            "exp",
            "identity",
            "leaky_relu",
        ]
    ],
]
