"""Cases of the reconciliations added by the full catalogue (core.py holds the headline ones)."""

from . import Case

CASES = [
    Case("reconciliation", {"name": "constant", "c": 0.5}, {"n": 4, "D": 6}),
    Case(
        "reconciliation",
        {"name": "constant", "c": -1.5, "bias": True},
        {"n": 3, "D": 5},
        id="reconciliation/constant+bias",
    ),
    Case("reconciliation", "zero", {"n": 4, "D": 6}),
    Case("reconciliation", "one", {"n": 4, "D": 6}),
    Case("reconciliation", "constant_eye", {"n": 4, "D": 6}),
    Case("reconciliation", "constant_eye", {"n": 6, "D": 4}, id="reconciliation/constant_eye-tall"),
    Case(
        "reconciliation",
        {"name": "masking", "p": 0.7, "fixed_mask": False, "seed": 3},
        {"n": 4, "D": 6},
        id="reconciliation/masking-fresh-mask",
    ),
    Case(
        "reconciliation",
        {"name": "duplicated_padding", "p": 3, "q": 1, "bias": True},
        {"n": 6, "D": 4},
        id="reconciliation/duplicated_padding-p3q1",
    ),
    Case("reconciliation", {"name": "duplicated_diagonal_padding", "p": 2}, {"n": 4, "D": 6}),
    Case(
        "reconciliation",
        {"name": "duplicated_diagonal_padding", "p": 3, "q": 2},
        {"n": 6, "D": 4},
        id="reconciliation/duplicated_diagonal_padding-p>q",
    ),
    Case(
        "reconciliation",
        {"name": "duplicated_diagonal_padding", "p": 2, "q": 4},
        {"n": 4, "D": 8},
        id="reconciliation/duplicated_diagonal_padding-p<q",
    ),
    Case("reconciliation", {"name": "random_matrix_adaption", "rank": 3}, {"n": 4, "D": 6}),
    Case(
        "reconciliation",
        {"name": "random_matrix_adaption", "rank": 2, "seed": None, "bias": True},
        {"n": 3, "D": 5},
        id="reconciliation/random_matrix_adaption-unseeded",
    ),
    Case("reconciliation", {"name": "random_matrix_hypernet", "l": 5, "hidden_dim": 7, "rank": 2}, {"n": 4, "D": 6}),
    Case("reconciliation", {"name": "hypernet", "l": 5, "hidden_dim": 7}, {"n": 4, "D": 6}),
    Case(
        "reconciliation",
        {"name": "hypernet", "l": 5, "hidden_dim": 7, "static": False, "bias": True},
        {"n": 4, "D": 6},
        id="reconciliation/hypernet-trainable",
    ),
    Case(
        "reconciliation",
        {"name": "lowrank", "rank": 4, "gain": 2.0},
        {"n": 4, "D": 6},
        id="reconciliation/lowrank-rank=n",
    ),
    Case(
        "reconciliation",
        {"name": "dual_lphm", "p": 2, "q": 4, "rank": 2},
        {"n": 6, "D": 8},
        id="reconciliation/dual_lphm-rank=block",
    ),
]
