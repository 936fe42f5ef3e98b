"""Cases of the remainders added by the full catalogue (core.py holds the headline ones)."""

from . import Case

CASES = [
    Case("remainder", "one", {"m": 3, "n": 2}),
    Case("remainder", {"name": "one", "activation": "tanh"}, {"m": 3, "n": 2}, id="remainder/one+tanh"),
    Case("remainder", "nonlinear", {"m": 3, "n": 2}),
    Case(
        "remainder",
        {"name": "nonlinear", "bias": True, "activation": ["tanh", "gelu"]},
        {"m": 4, "n": 3},
        id="remainder/nonlinear+bias+activations",
    ),
    Case("remainder", "skip", {"m": 3, "n": 3}),
    Case("remainder", {"name": "skip", "activation": "relu"}, {"m": 3, "n": 5}, id="remainder/skip-projection"),
]
