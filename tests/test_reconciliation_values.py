"""Values of the reconciliations: structured product vs materialised W, closed forms, l, errors, save/load."""

from __future__ import annotations

import pytest
import torch

import rpnkit as rk
from rpnkit import registry
from rpnkit.fusion import ParameterizedConcatenation
from rpnkit.reconciliation import (
    HM,
    LPHM,
    DualLPHM,
    LowRank,
    RandomMatrixAdaption,
)

TOL = {"rtol": 1e-12, "atol": 1e-12}


def make(spec, n, D):
    return rk.build("reconciliation", spec, n=n, D=D).double().eval()


def inputs(D, seed=0, lead=(2, 3)):
    return torch.randn(*lead, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


# --- structured product == z @ weight().T, for every registered reconciliation --------------------------

# Extra specs covering the shapes and options that change the structured path.
TWIN_SPECS = [
    ({"name": "constant", "c": -0.7}, 5, 7),
    ("constant_eye", 3, 7),
    ("constant_eye", 7, 3),
    ("constant_eye", 4, 4),
    ({"name": "masking", "p": 0.3, "seed": 5}, 5, 7),
    ({"name": "duplicated_padding", "p": 3, "q": 2}, 6, 8),
    ({"name": "duplicated_padding", "p": 1, "q": 4}, 5, 8),
    ({"name": "duplicated_diagonal_padding", "p": 3, "q": 3}, 6, 9),
    ({"name": "duplicated_diagonal_padding", "p": 6, "q": 2}, 6, 8),
    ({"name": "duplicated_diagonal_padding", "p": 2, "q": 8}, 6, 8),
    ({"name": "lowrank", "rank": 6}, 6, 8),
    ({"name": "hm", "p": 3, "q": 2}, 6, 8),
    ({"name": "hm", "p": 1, "q": 8}, 6, 8),
    ({"name": "lphm", "p": 2, "q": 4, "rank": 2}, 6, 8),
    ({"name": "dual_lphm", "p": 6, "q": 1, "rank": 1}, 6, 8),
    ({"name": "random_matrix_adaption", "rank": 5, "seed": None}, 6, 8),
    ({"name": "random_matrix_hypernet", "l": 9, "hidden_dim": 11, "rank": 3}, 6, 8),
    ({"name": "hypernet", "l": 9, "hidden_dim": 11, "static": False}, 6, 8),
]


@pytest.mark.parametrize("name", registry.names("reconciliation"))
def test_default_product_equals_materialised_weight(name):
    psi = make(name, 6, 8)
    z = inputs(8)
    assert psi.weight().shape == (6, 8)
    torch.testing.assert_close(psi.product(z), z @ psi.weight().T, **TOL)


@pytest.mark.parametrize("spec,n,D", TWIN_SPECS, ids=lambda v: v if isinstance(v, str) else None)
def test_product_equals_materialised_weight(spec, n, D):
    psi = make(spec, n, D)
    z = inputs(D, seed=1)
    torch.testing.assert_close(psi.product(z), z @ psi.weight().T, **TOL)


@pytest.mark.parametrize("name", ["identity", "constant", "lowrank", "hm", "random_matrix_adaption", "hypernet"])
def test_forward_adds_the_bias(name):
    psi = make({"name": name, "bias": True}, 4, 6)
    with torch.no_grad():
        psi.bias.copy_(torch.arange(4.0))
    z = inputs(6)
    torch.testing.assert_close(psi(z), z @ psi.weight().T + torch.arange(4.0, dtype=torch.float64), **TOL)


STRUCTURED = [
    ("constant", 5, 7),
    ("zero", 5, 7),
    ("one", 5, 7),
    ("constant_eye", 5, 7),
    ("duplicated_padding", 6, 8),
    ("duplicated_diagonal_padding", 6, 8),
    ("lowrank", 6, 8),
    ("hm", 6, 8),
    ("lphm", 6, 8),
    ("dual_lphm", 6, 8),
    ("random_matrix_adaption", 6, 8),
]


@pytest.mark.parametrize("name,n,D", STRUCTURED)
def test_structured_forward_never_calls_weight(name, n, D):
    psi = make(name, n, D)
    expected = inputs(D) @ psi.weight().T

    def refuse():
        raise AssertionError("forward materialised W")

    psi.weight = refuse
    torch.testing.assert_close(psi(inputs(D)), expected, **TOL)


@pytest.mark.parametrize("name", ["constant", "one", "constant_eye"])
def test_parameter_free_weight_follows_dtype(name):
    assert make(name, 3, 4).weight().dtype == torch.float64
    assert rk.build("reconciliation", name, n=3, D=4).float().weight().dtype == torch.float32


# --- closed forms and l -------------------------------------------------------------------------------


def _eye_blocks(p, q, B):
    """kron(eye(p, q), B) by explicit block placement."""
    s, t = B.shape
    W = torch.zeros(p * s, q * t, dtype=B.dtype)
    for i in range(min(p, q)):
        W[i * s : (i + 1) * s, i * t : (i + 1) * t] = B
    return W


def _rm_hypernet(psi):
    hidden = torch.sigmoid(psi.w @ psi.P @ psi.Q.T)
    return psi.scale * (hidden @ psi.S @ psi.T.T).reshape(psi.n, psi.D)


def _hypernet(psi):
    hidden = torch.sigmoid(psi.hidden_weight @ psi.w + psi.hidden_bias)
    return (psi.out_weight @ hidden + psi.out_bias).reshape(psi.n, psi.D)


# (spec, n, D, closed form of W, l)
CLOSED_FORMS = [
    ("identity", 4, 6, lambda psi: psi.W, lambda psi: 4 * 6),
    ({"name": "constant", "c": 2.5}, 4, 6, lambda psi: torch.full((4, 6), 2.5, dtype=torch.float64), lambda psi: 0),
    ("zero", 4, 6, lambda psi: torch.zeros(4, 6, dtype=torch.float64), lambda psi: 0),
    ("one", 4, 6, lambda psi: torch.ones(4, 6, dtype=torch.float64), lambda psi: 0),
    ("constant_eye", 4, 6, lambda psi: torch.eye(4, 6, dtype=torch.float64), lambda psi: 0),
    ("constant_eye", 6, 4, lambda psi: torch.eye(6, 4, dtype=torch.float64), lambda psi: 0),
    ({"name": "masking", "p": 0.4}, 4, 6, lambda psi: psi.mask * psi.W, lambda psi: 4 * 6),
    (
        {"name": "duplicated_padding", "p": 2, "q": 3},
        4,
        6,
        lambda psi: torch.kron(torch.ones(2, 3, dtype=torch.float64), psi.B),
        lambda psi: (4 // 2) * (6 // 3),
    ),
    (
        {"name": "duplicated_diagonal_padding", "p": 2, "q": 3},
        4,
        6,
        lambda psi: _eye_blocks(2, 3, psi.B),
        lambda psi: (4 // 2) * (6 // 3),
    ),
    (
        {"name": "duplicated_diagonal_padding", "p": 3, "q": 2},
        6,
        4,
        lambda psi: torch.kron(torch.eye(3, 2, dtype=torch.float64), psi.B),
        lambda psi: (6 // 3) * (4 // 2),
    ),
    ({"name": "lowrank", "rank": 3}, 4, 6, lambda psi: psi.A @ psi.B.T, lambda psi: 3 * (4 + 6)),
    ({"name": "hm", "p": 2, "q": 3}, 4, 6, lambda psi: torch.kron(psi.A, psi.B), lambda psi: 2 * 3 + 2 * 2),
    (
        {"name": "lphm", "p": 3, "q": 2, "rank": 2},
        6,
        8,
        lambda psi: torch.kron(psi.A, psi.S @ psi.T.T),
        lambda psi: 3 * 2 + 2 * (2 + 4),
    ),
    (
        {"name": "dual_lphm", "p": 3, "q": 2, "rank": 2},
        6,
        8,
        lambda psi: torch.kron(psi.P @ psi.Q.T, psi.S @ psi.T.T),
        lambda psi: 2 * (3 + 2 + 2 + 4),
    ),
    (
        {"name": "random_matrix_adaption", "rank": 3},
        4,
        6,
        lambda psi: torch.diag(psi.lambda1) @ psi.A @ torch.diag(psi.lambda2) @ psi.B.T,
        lambda psi: 4 + 3,
    ),
    ({"name": "random_matrix_hypernet", "l": 7, "hidden_dim": 5, "rank": 3}, 4, 6, _rm_hypernet, lambda psi: 7),
    ({"name": "hypernet", "l": 7, "hidden_dim": 5}, 4, 6, _hypernet, lambda psi: 7),
    (
        {"name": "hypernet", "l": 7, "hidden_dim": 5, "static": False},
        4,
        6,
        _hypernet,
        lambda psi: 7 + 5 * (7 + 1) + 4 * 6 * (5 + 1),
    ),
]


def _id(entry):
    spec = entry[0]
    name = spec if isinstance(spec, str) else spec["name"]
    return f"{name}-{entry[1]}x{entry[2]}"


@pytest.mark.parametrize("entry", CLOSED_FORMS, ids=_id)
def test_weight_equals_closed_form_and_l_matches_catalogue(entry):
    spec, n, D, closed_form, l_formula = entry
    psi = make(spec, n, D)
    with torch.no_grad():
        torch.testing.assert_close(psi.weight(), closed_form(psi), **TOL)
    assert psi.l == l_formula(psi)
    assert psi.l == sum(p.numel() for name, p in psi.named_parameters() if p.requires_grad and name != "bias")


def test_default_factor_shapes_and_l():
    """Defaults from the catalogue: p, q near square roots, rank 2, l = 64 for the hypernets."""
    hm = make("hm", 12, 20)
    assert (hm.p, hm.q, hm.s, hm.t) == (3, 4, 4, 5)
    assert hm.l == 3 * 4 + 4 * 5
    assert make("lphm", 12, 20).l == 3 * 4 + 2 * (4 + 5)
    assert make("dual_lphm", 12, 20).l == 2 * (3 + 4 + 4 + 5)
    assert make("lowrank", 12, 20).l == 2 * (12 + 20)
    assert make("random_matrix_adaption", 12, 20).l == 12 + 2
    assert make("random_matrix_hypernet", 12, 20).l == 64
    assert make("hypernet", 12, 20).l == 64
    assert make("duplicated_padding", 12, 20).l == 6 * 10
    assert make("duplicated_diagonal_padding", 12, 20).l == 6 * 10


def test_duplicated_diagonal_padding_with_p_eq_q_eq_n_is_the_reference_layout():
    """p = q = n: W = I_n (x) w, row i holds w (length D/n) in columns [i t, (i+1) t)."""
    psi = make({"name": "duplicated_diagonal_padding", "p": 3}, 3, 12)
    w = psi.B[0]
    W = psi.weight()
    for i in range(3):
        torch.testing.assert_close(W[i, 4 * i : 4 * i + 4], w, **TOL)
        assert W[i].count_nonzero() == 4
    assert psi.l == 4


def test_kronecker_family_is_a_true_kronecker_product_of_full_rank():
    """The reference's einsum collapsed HM to rank 1; a true A (x) B has rank rank(A) rank(B)."""
    psi = make({"name": "hm", "p": 2, "q": 2}, 4, 4)
    assert torch.linalg.matrix_rank(psi.weight()) == 4
    z = inputs(4)
    Z = z.reshape(*z.shape[:-1], 2, 2)
    expected = (psi.A @ Z @ psi.B.T).reshape(*z.shape[:-1], 4)
    torch.testing.assert_close(psi(z), expected, **TOL)


def test_random_buffers_are_seeded_frozen_and_standard_normal():
    a = make({"name": "random_matrix_adaption", "rank": 4, "seed": 11}, 5, 7)
    b = make({"name": "random_matrix_adaption", "rank": 4, "seed": 11}, 5, 7)
    c = make({"name": "random_matrix_adaption", "rank": 4, "seed": 12}, 5, 7)
    assert torch.equal(a.A, b.A) and torch.equal(a.B, b.B)
    assert not torch.equal(a.A, c.A)
    assert {name for name, _ in a.named_buffers()} == {"A", "B"}
    assert {name for name, _ in a.named_parameters()} == {"lambda1", "lambda2"}
    big = make({"name": "random_matrix_adaption", "rank": 50}, 60, 70)
    assert abs(big.B.std().item() - 1.0) < 0.05 and abs(big.B.mean().item()) < 0.05


def test_static_hypernet_learns_only_w_and_trainable_one_learns_the_network():
    static = make({"name": "hypernet", "l": 6, "hidden_dim": 5}, 3, 4)
    assert [name for name, _ in static.named_parameters()] == ["w"]
    assert {"hidden_weight", "hidden_bias", "out_weight", "out_bias"} <= {n for n, _ in static.named_buffers()}
    trainable = make({"name": "hypernet", "l": 6, "hidden_dim": 5, "static": False}, 3, 4)
    assert {n for n, _ in trainable.named_parameters()} == {
        "w",
        "hidden_weight",
        "hidden_bias",
        "out_weight",
        "out_bias",
    }
    # Everything is registered at construction, so an optimizer built now sees every parameter.
    optimizer = torch.optim.SGD(trainable.parameters(), lr=0.1)
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == trainable.l


def test_masking_fresh_mask_in_training_and_stored_mask_in_eval():
    psi = rk.build("reconciliation", {"name": "masking", "p": 0.5, "fixed_mask": False}, n=40, D=50).double()
    z = inputs(50)
    psi.train()
    y1, y2 = psi(z), psi(z)
    assert not torch.allclose(y1, y2)
    stored = z @ psi.weight().T
    assert not torch.allclose(y1, stored)
    psi.eval()
    torch.testing.assert_close(psi(z), stored, **TOL)
    # The stored mask is the seeded draw, keeping about p of the entries.
    expected = (torch.rand(40, 50, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    assert torch.equal(psi.mask, expected)
    assert 0.4 < psi.mask.mean().item() < 0.6


def test_fixed_mask_is_used_in_training_too():
    psi = make({"name": "masking", "p": 0.5}, 6, 8).train()
    z = inputs(8)
    torch.testing.assert_close(psi(z), z @ psi.weight().T, **TOL)


def test_initial_weight_scale_is_gain_squared_over_D():
    """Entries of the fabricated W have mean square gain**2 / D: exactly for the orthogonal inits, in
    expectation over the random draw for the others."""
    n, D, gain = 48, 60, 1.7
    exact = [
        {"name": "lowrank", "rank": 5},
        {"name": "hm", "p": 4, "q": 6},
        {"name": "lphm", "rank": 3},
        {"name": "dual_lphm", "rank": 3},
        {"name": "duplicated_padding", "p": 2, "q": 3},
        {"name": "duplicated_diagonal_padding", "p": 4},
        {"name": "random_matrix_hypernet", "seed": None},  # exact over the draw of T given the code u
    ]
    approximate = [
        ({"name": "identity"}, 0.05),
        ({"name": "masking", "p": 0.5}, 0.1),
        ({"name": "random_matrix_adaption", "rank": 40}, 0.35),
        ({"name": "hypernet", "seed": None}, 0.2),
        ({"name": "hypernet", "static": False}, 0.2),
    ]
    for spec in exact:
        W = make({**spec, "gain": gain}, n, D).weight()
        rel = 0.1 if spec["name"] == "random_matrix_hypernet" else 1e-6
        assert W.pow(2).mean().item() == pytest.approx(gain**2 / D, rel=rel), spec
    for spec, rel in approximate:
        W = make({**spec, "gain": gain}, n, D).weight()
        assert W.pow(2).mean().item() == pytest.approx(gain**2 / D, rel=rel), spec


def test_kronecker_stack_of_square_factors_is_orthogonal_at_init():
    W = make({"name": "hm", "p": 4, "q": 4}, 16, 16).weight()
    torch.testing.assert_close(W @ W.T, torch.eye(16, dtype=torch.float64), rtol=0, atol=1e-6)
    W = make({"name": "dual_lphm", "p": 4, "q": 4, "rank": 4}, 16, 16).weight()
    torch.testing.assert_close(W @ W.T, torch.eye(16, dtype=torch.float64), rtol=0, atol=1e-6)


# --- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec,n,D,message",
    [
        ({"name": "hm", "p": 4}, 6, 8, r"p=4 must be a positive divisor of n=6; valid choices: 1, 2, 3, 6"),
        ({"name": "hm", "q": 3}, 6, 8, r"q=3 must be a positive divisor of D=8; valid choices: 1, 2, 4, 8"),
        ({"name": "lphm", "p": 0}, 6, 8, r"p=0 must be a positive divisor of n=6; valid choices: 1, 2, 3, 6"),
        ({"name": "dual_lphm", "q": 5}, 6, 8, r"q=5 must be a positive divisor of D=8; valid choices: 1, 2, 4, 8"),
        ({"name": "duplicated_padding", "p": 4}, 6, 8, r"p=4 must be a positive divisor of n=6; valid choices"),
        ({"name": "duplicated_padding", "p": 3}, 6, 8, r"q=3 must be a positive divisor of D=8; valid choices: 1, 2"),
        (
            {"name": "duplicated_diagonal_padding", "p": 5},
            6,
            8,
            r"p=5 must be a positive divisor of n=6; valid choices: 1, 2, 3, 6",
        ),
        (
            {"name": "duplicated_diagonal_padding", "p": 2, "q": 3},
            6,
            8,
            r"q=3 must be a positive divisor of D=8; valid choices: 1, 2, 4, 8",
        ),
        ({"name": "lowrank", "rank": 0}, 6, 8, r"rank must be an int in \[1, max\(2, min\(n, D\)\) = 6\], got 0"),
        (
            {"name": "random_matrix_adaption", "rank": 1.5},
            6,
            8,
            r"rank must be an int in \[1, max\(2, min\(n, D\)\) = 6\], got 1\.5",
        ),
        ({"name": "random_matrix_hypernet", "l": 0}, 6, 8, r"l must be an int >= 1, got 0"),
        ({"name": "hypernet", "hidden_dim": -1}, 6, 8, r"hidden_dim must be an int >= 1, got -1"),
        ({"name": "masking", "p": 0.0}, 6, 8, r"p \(keep probability\) must be in \(0, 1\], got 0.0"),
        ({"name": "masking", "seed": "x"}, 6, 8, r"seed must be an int or null, got 'x'"),
    ],
)
def test_bad_hyperparameters_raise_config_error_listing_valid_choices(spec, n, D, message):
    with pytest.raises(rk.ConfigError, match=message):
        rk.build("reconciliation", spec, n=n, D=D)


def test_bad_factor_inside_a_model_names_the_config_path():
    with pytest.raises(rk.ConfigError, match=r"reconciliation.*q=5 must be a positive divisor of D=6") as err:
        rk.RPN([6, 4], head={"reconciliation": {"name": "hm", "q": 5}})
    assert "valid choices: 1, 2, 3, 6" in str(err.value)


def test_unknown_reconciliation_suggests_close_names():
    with pytest.raises(rk.ConfigError, match=r"did you mean 'random_matrix_adaption'"):
        rk.build("reconciliation", "random_matrix_adaptation", n=3, D=4)


@pytest.mark.parametrize(
    "alias,cls",
    [
        ("constant_eye_reconciliation", "ConstantEyeReconciliation"),
        ("constant_c_reconciliation", "ConstantReconciliation"),
        ("zero_reconciliation", "ZeroReconciliation"),
        ("one_reconciliation", "OneReconciliation"),
        ("duplicated_diagonal_padding_reconciliation", "DuplicatedDiagonalPadding"),
        ("random_matrix_adaption_reconciliation", "RandomMatrixAdaption"),
        ("random_matrix_hypernet_reconciliation", "RandomMatrixHypernet"),
        ("hypernet_reconciliation", "Hypernet"),
        ("lorr_reconciliation", "LowRank"),
        ("masking_reconciliation", "Masking"),
    ],
)
def test_reference_names_are_aliases(alias, cls):
    assert registry.get_class("reconciliation", alias).__name__ == cls


# --- frozen random buffers survive save / load ------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "masking", "p": 0.5, "seed": None},
        {"name": "masking", "p": 0.5, "fixed_mask": False, "seed": 4},
        {"name": "random_matrix_adaption", "rank": 3, "seed": None},
        {"name": "random_matrix_adaption", "rank": 3},
        {"name": "random_matrix_hypernet", "l": 8, "hidden_dim": 6, "seed": None},
        {"name": "hypernet", "l": 8, "hidden_dim": 6, "seed": None},
        {"name": "hypernet", "l": 8, "hidden_dim": 6, "static": False},
    ],
    ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items() if k not in ("l", "hidden_dim", "p")),
)
def test_frozen_random_buffers_survive_save_and_load(spec, tmp_path):
    model = rk.RPN([6, 4], head={"reconciliation": spec}).eval()
    x = torch.randn(5, 6)
    expected = model(x)
    rk.save(model, tmp_path)
    torch.manual_seed(1234)  # a reload must not depend on the global generator
    loaded = rk.load(tmp_path).eval()
    torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
    before, after = model.state_dict(), loaded.state_dict()
    assert before.keys() == after.keys()
    for key in before:
        assert torch.equal(before[key], after[key]), key


# --- parameterised fusions equal their materialised twin ----------------------------------------------------

FUSION_TWINS = [
    ({"name": "parameterized_concatenation"}, [3, 3], "IdentityReconciliation", lambda f: 3 * 6),
    (
        {"name": "parameterized_concatenation", "n": 4, "reconciliation": {"name": "hm", "p": 2, "q": 5}},
        [4, 6],
        "HM",
        lambda f: 2 * 5 + 2 * 2,
    ),
    ({"name": "lowrank_parameterized_concatenation", "rank": 2}, [3, 3], "LowRank", lambda f: 2 * (3 + 6)),
    ({"name": "hm_parameterized_concatenation", "n": 4, "p": 2, "q": 3}, [3, 3], "HM", lambda f: 2 * 3 + 2 * 2),
    (
        {"name": "lphm_parameterized_concatenation", "rank": 2, "p": 2, "q": 2},
        [4, 4],
        "LPHM",
        lambda f: 2 * 2 + 2 * (2 + 4),
    ),
    (
        {"name": "dual_lphm_parameterized_concatenation", "rank": 2, "p": 2, "q": 4},
        [4, 4],
        "DualLPHM",
        lambda f: 2 * (2 + 4 + 2 + 2),
    ),
    (
        {"name": "random_matrix_adaption_parameterized_concatenation", "rank": 3},
        [3, 3],
        "RandomMatrixAdaption",
        lambda f: 3 + 3,
    ),
]


@pytest.mark.parametrize(
    "spec,dims,cls,l_formula", FUSION_TWINS, ids=lambda v: v["name"] if isinstance(v, dict) else None
)
def test_parameterized_concatenation_equals_materialised_twin(spec, dims, cls, l_formula):
    fusion = rk.build("fusion", spec, dims=dims).double()
    assert isinstance(fusion, ParameterizedConcatenation)
    assert type(fusion.reconciliation).__name__ == cls
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(2, 3, d, dtype=torch.float64, generator=gen) for d in dims]
    W = fusion.weight()
    assert W.shape == (fusion.n, sum(dims))
    torch.testing.assert_close(fusion(xs), torch.cat(xs, dim=-1) @ W.T, **TOL)
    assert fusion.l == l_formula(fusion)


def test_named_parameterized_concatenations_pass_their_hyperparameters():
    f = rk.build("fusion", {"name": "lphm_parameterized_concatenation", "rank": 2, "p": 2, "q": 4}, dims=[4, 4])
    assert isinstance(f.reconciliation, LPHM) and (f.reconciliation.rank, f.reconciliation.p, f.reconciliation.q) == (
        2,
        2,
        4,
    )
    f = rk.build("fusion", {"name": "dual_lphm_parameterized_concatenation", "rank": 3}, dims=[6, 6])
    assert isinstance(f.reconciliation, DualLPHM) and f.reconciliation.rank == 3
    f = rk.build("fusion", {"name": "hm_parameterized_concatenation"}, dims=[6, 6])
    assert isinstance(f.reconciliation, HM) and (f.reconciliation.p, f.reconciliation.q) == (2, 3)
    f = rk.build("fusion", "lowrank_parameterized_concatenation_fusion", dims=[6, 6])
    assert isinstance(f.reconciliation, LowRank) and f.reconciliation.rank == 2
    f = rk.build("fusion", {"name": "random_matrix_adaption_parameterized_concatenation", "seed": 9}, dims=[2, 2])
    assert isinstance(f.reconciliation, RandomMatrixAdaption) and f.reconciliation.seed == 9
    assert f.to_config() == {"name": "random_matrix_adaption_parameterized_concatenation", "n": 2, "rank": 2, "seed": 9}
    with pytest.raises(rk.ConfigError, match=r"q=5 must be a positive divisor of D=12; valid choices"):
        rk.build("fusion", {"name": "hm_parameterized_concatenation", "q": 5}, dims=[6, 6])
