"""Values of the core: structured reconciliations, heads, layers, models, configs, checkpoints."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import rpnkit as rk
from rpnkit.config import dump_yaml, load_yaml
from rpnkit.functional.spline import uniform_knots

DT = torch.float64


def _z(D: int, batch: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, D, generator=torch.Generator().manual_seed(seed), dtype=DT)


# --- reconciliations: structured product == materialised twin == closed form ---------------------------

KRON_CASES = [
    ({"name": "hm", "p": 2, "q": 3}, 4, 6),
    ({"name": "hm", "p": 4, "q": 2}, 8, 6),
    ({"name": "lphm", "p": 2, "q": 4, "rank": 2}, 6, 8),
    ({"name": "dual_lphm", "p": 3, "q": 2, "rank": 2}, 6, 8),
    ({"name": "dual_lphm", "rank": 5}, 64, 4160),
]


@pytest.mark.parametrize("spec,n,D", KRON_CASES)
def test_kronecker_family_is_a_true_kronecker_product(spec, n, D):
    psi = rk.build("reconciliation", spec, n=n, D=D).to(DT)
    A, B = (f if isinstance(f, torch.Tensor) else f[0] @ f[1].T for f in psi.factors())
    assert A.shape == (psi.p, psi.q) and B.shape == (psi.s, psi.t)
    W = psi.weight()
    torch.testing.assert_close(W, torch.kron(A, B), rtol=0, atol=0)
    # element formula W[i*s + j, k*t + l] = A[i, k] B[j, l]
    i, j, k, l = psi.p - 1, psi.s - 1, 0, psi.t - 1
    assert W[i * psi.s + j, k * psi.t + l] == A[i, k] * B[j, l]
    z = _z(D)
    torch.testing.assert_close(psi(z), z @ W.T, rtol=1e-12, atol=1e-12)


def test_reference_einsum_is_not_a_kronecker_product():
    """Documents the reference defect: its 'hm' equals reshape(vec(A) vec(B)^T), which differs from kron."""
    A = torch.arange(1.0, 5.0, dtype=DT).reshape(2, 2)
    B = torch.arange(5.0, 9.0, dtype=DT).reshape(2, 2)
    reference = torch.einsum("pq,st->psqt", A.reshape(1, -1), B.reshape(1, -1)).reshape(4, 4)
    assert not torch.equal(reference, torch.kron(A, B))
    assert torch.linalg.matrix_rank(reference) == 1 and torch.linalg.matrix_rank(torch.kron(A, B)) == 4


@pytest.mark.parametrize(
    "spec,n,D,l",
    [
        ("identity", 4, 6, 24),
        ({"name": "lowrank", "rank": 2}, 4, 6, 2 * (4 + 6)),
        ({"name": "hm", "p": 2, "q": 3}, 4, 6, 2 * 3 + 2 * 2),
        ({"name": "lphm", "p": 2, "q": 4, "rank": 2}, 6, 8, 2 * 4 + 2 * (3 + 2)),
        ({"name": "dual_lphm", "p": 3, "q": 2, "rank": 2}, 6, 8, 2 * (3 + 2 + 2 + 4)),
        ({"name": "masking", "p": 0.5}, 4, 6, 24),
        ({"name": "duplicated_padding", "p": 2, "q": 3}, 4, 6, 2 * 2),
        ({"name": "dual_lphm", "p": 8, "q": 784, "rank": 5}, 64, 615440, 5 * (8 + 784 + 8 + 785)),
    ],
)
def test_l_matches_the_catalogue_formula(spec, n, D, l):
    assert rk.build("reconciliation", spec, n=n, D=D).l == l


def test_lowrank_weight_is_a_times_b_transposed():
    psi = rk.build("reconciliation", {"name": "lowrank", "rank": 3}, n=5, D=7).to(DT)
    torch.testing.assert_close(psi.weight(), psi.A @ psi.B.T)
    z = _z(7)
    torch.testing.assert_close(psi(z), z @ psi.weight().T)


def test_duplicated_padding_tiles_b():
    psi = rk.build("reconciliation", {"name": "duplicated_padding", "p": 2, "q": 3}, n=4, D=6).to(DT)
    torch.testing.assert_close(psi.weight(), torch.kron(torch.ones(2, 3, dtype=DT), psi.B))
    z = _z(6)
    torch.testing.assert_close(psi(z), z @ psi.weight().T)


def test_masking_mask_is_a_seeded_buffer_and_applies():
    a = rk.build("reconciliation", {"name": "masking", "p": 0.3, "seed": 5}, n=6, D=9)
    b = rk.build("reconciliation", {"name": "masking", "p": 0.3, "seed": 5}, n=6, D=9)
    assert "mask" in dict(a.named_buffers()) and torch.equal(a.mask, b.mask)
    assert 0 < a.mask.mean() < 1
    z = _z(9).float()
    torch.testing.assert_close(a(z), z @ (a.W * a.mask).T)


def test_structured_reconciliation_never_builds_w_in_forward(monkeypatch):
    psi = rk.build("reconciliation", {"name": "dual_lphm", "rank": 2, "p": 4, "q": 8}, n=16, D=64)
    monkeypatch.setattr(torch, "kron", lambda *a: pytest.fail("kron called in forward"))
    called = []
    monkeypatch.setattr(type(psi), "weight", lambda self: called.append(1))
    psi(torch.randn(3, 64))
    assert not called


# --- expansions -------------------------------------------------------------------------------------


def test_taylor_layout_matches_the_reference_order():
    out = rk.build("expansion", {"name": "taylor", "degree": 2}, m=2)(torch.tensor([[1.0, 2.0]]))
    assert out.tolist() == [[1.0, 2.0, 1.0, 2.0, 2.0, 4.0]]
    x = _z(3, batch=2)
    out = rk.build("expansion", {"name": "taylor", "degree": 3}, m=3)(x)
    assert out.shape == (2, 3 + 9 + 27)
    for j1 in range(3):
        for j2 in range(3):
            for j3 in range(3):
                torch.testing.assert_close(out[:, 12 + j1 * 9 + j2 * 3 + j3], x[:, j1] * x[:, j2] * x[:, j3])


def test_bspline_matches_scipy():
    from scipy.interpolate import BSpline as SciBSpline

    kappa = rk.build("expansion", {"name": "bspline", "t": 5, "d": 3}, m=2).to(DT)
    x = torch.linspace(-0.99, 0.99, 41, dtype=DT).reshape(-1, 1).repeat(1, 2)
    out = kappa(x).reshape(41, 2, 8)
    knots = uniform_knots(-1.0, 1.0, 5, 3).numpy()
    np.testing.assert_allclose(kappa.knots.numpy(), knots, atol=1e-6)
    for k in range(8):
        ref = SciBSpline.basis_element(knots[k : k + 5], extrapolate=False)(x[:, 0].numpy())
        np.testing.assert_allclose(out[:, 0, k].numpy(), np.nan_to_num(ref), atol=1e-12)
    assert kappa.D == 2 * 8


def test_chebyshev_matches_numpy():
    kappa = rk.build("expansion", {"name": "chebyshev", "degree": 4}, m=3).to(DT)
    x = _z(3).clamp(-1, 1)
    ref = np.polynomial.chebyshev.chebvander(x.numpy(), 4)[..., 1:]
    np.testing.assert_allclose(kappa(x).numpy(), ref.reshape(5, 12), atol=1e-12)


def test_gaussian_rbf_values_and_buffer():
    kappa = rk.build("expansion", {"name": "gaussian_rbf", "num_interval": 3, "epsilon": 2.0}, m=2).to(DT)
    x = _z(2)
    centres = torch.linspace(-1, 1, 3, dtype=DT)
    ref = torch.exp(-((2.0 * (x[..., None] - centres)) ** 2)).reshape(5, 6)
    torch.testing.assert_close(kappa(x), ref)
    assert "centers" in kappa.state_dict()


# --- head / layer / model ---------------------------------------------------------------------------


def test_head_equation_with_channels_remainder_and_processing():
    head = rk.Head(
        3,
        2,
        expansion={"name": "taylor", "degree": 2},
        reconciliation={"name": "lowrank", "rank": 2},
        remainder={"name": "linear", "bias": True},
        channels=3,
        output_processing="tanh",
    ).to(DT)
    x = _z(3)
    kx = rk.build("expansion", {"name": "taylor", "degree": 2}, m=3).to(DT)(x)
    channels = [kx @ psi.weight().T for psi in head.reconciliations]
    expected = torch.tanh(torch.stack(channels).mean(0) + x @ head.remainder.W.T + head.remainder.bias)
    torch.testing.assert_close(head(x), expected)
    assert head.D == 12 and head.l == 3 * 2 * (2 + 12) and head.channels == 3
    # each channel owns its parameters
    assert head.reconciliations[0].A.data_ptr() != head.reconciliations[1].A.data_ptr()


def test_concatenation_fusion_splits_the_width_between_channels_and_heads():
    head = rk.Head(4, 6, channels=3, fusion="concatenation")
    assert [psi.n for psi in head.reconciliations] == [2, 2, 2]
    layer = rk.Layer(4, 6, head={"expansion": "taylor"}, width=2, fusion="concatenation")
    assert [h.n for h in layer.heads] == [3, 3]
    x = torch.randn(5, 4)
    torch.testing.assert_close(layer(x), torch.cat([h(x) for h in layer.heads], -1))


def test_layer_heads_do_not_share_parameters():
    layer = rk.Layer(4, 3, head={"reconciliation": "lowrank"}, width=3)
    ptrs = {h.reconciliation.A.data_ptr() for h in layer.heads}
    assert len(ptrs) == 3
    assert not torch.equal(layer.heads[0].reconciliation.A, layer.heads[1].reconciliation.A)
    x = torch.randn(2, 4)
    torch.testing.assert_close(layer(x), torch.stack([h(x) for h in layer.heads]).mean(0))


def test_model_attributes_and_per_layer_heads():
    model = rk.RPN([5, 4, 3], head=[{"expansion": "taylor"}, {"reconciliation": "lowrank"}], width=2)
    assert model.depth == 2 and model.dims == [5, 4, 3] and model.m == 5 and model.n == 3
    assert model.layers[0].D == 5 + 25 and model.layers[1].D == 4 and model.layers[1].width == 2
    assert model(torch.randn(7, 5)).shape == (7, 3)
    repeated = rk.RPN(layers=[{"m": 4, "n": 4, "head": {"expansion": "chebyshev"}}], depth=3)
    assert repeated.depth == 3 and repeated.dims == [4, 4, 4, 4]


def test_batch_prefixes_through_the_model():
    model = rk.RPN([3, 4, 2], head={"expansion": "taylor", "reconciliation": "dual_lphm"})
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(model(x), model(x.reshape(10, 3)).reshape(2, 5, 2))


def test_instance_and_attribute_interdependence_hooks():
    head = rk.Head(
        3,
        2,
        attribute_interdependence={"name": "parameterized", "m_out": 4, "reconciliation": "lowrank"},
        instance_interdependence={"name": "parameterized", "b": 5, "b_out": 5},
    ).to(DT)
    x = _z(3)
    A_attr = head.attribute_interdependence.matrix(x)
    A_inst = head.instance_interdependence.matrix(x)
    expected = A_inst.T @ (x @ A_attr) @ head.reconciliation.weight().T
    assert head.D == 4
    torch.testing.assert_close(head(x), expected)


def test_processing_modules_are_registered_and_follow_eval():
    model = rk.RPN(
        [4, 8, 3], head={"input_processing": ["batch_norm"], "output_processing": {"name": "dropout", "p": 0.5}}
    )
    names = dict(model.named_parameters())
    assert any("input_processing" in n for n in names)
    assert any("running_mean" in n for n in model.state_dict())
    x = torch.randn(16, 4)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_model_returns_logits_not_probabilities():
    model = rk.RPN([4, 3])
    y = model(torch.randn(10, 4) * 3)
    assert not torch.allclose(y.sum(-1), torch.ones(10))


# --- configs and checkpoints ----------------------------------------------------------------------

MODEL_CONFIGS = [
    {"dims": [4, 6, 3], "head": {"expansion": {"name": "taylor", "degree": 2}, "reconciliation": "dual_lphm"}},
    {
        "layers": [
            {
                "m": 4,
                "n": 6,
                "heads": [{"expansion": "bspline"}, {"expansion": "chebyshev", "channels": 2}],
                "fusion": "sum",
            },
            {
                "m": 6,
                "n": 3,
                "head": {
                    "reconciliation": {"name": "masking", "p": 0.4},
                    "remainder": "linear",
                    "input_processing": ["layer_norm", "gelu"],
                },
            },
        ]
    },
    {
        "dims": [4, 4],
        "head": {"expansion": "gaussian_rbf", "fusion": "parameterized_concatenation", "channels": 2},
        "width": 2,
        "fusion": {"name": "parameterized_concatenation", "reconciliation": "lowrank"},
    },
]


@pytest.mark.parametrize("config", MODEL_CONFIGS)
def test_to_config_round_trips_through_yaml_and_build_model(config):
    model = rk.build_model(config)
    cfg = model.to_config()
    again = rk.build_model(load_yaml(dump_yaml(cfg)))
    assert again.to_config() == cfg
    assert sum(p.numel() for p in again.parameters()) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("config", MODEL_CONFIGS)
def test_save_load_gives_identical_output(tmp_path, config, dtype):
    model = rk.build_model(config).to(dtype)
    with torch.no_grad():
        for b in model.buffers():
            if b.is_floating_point():
                b.add_(0.01)  # buffers must come back from the file, not from the constructor
    rk.save(model, tmp_path / "ckpt")
    loaded = rk.load(tmp_path / "ckpt")
    x = torch.randn(6, config.get("dims", [4])[0], dtype=dtype)
    model.eval()
    loaded.eval()
    assert next(loaded.parameters()).dtype == dtype
    assert torch.equal(model(x), loaded(x))
    assert set(os.listdir(tmp_path / "ckpt")) == {"config.yaml", "model.safetensors"}


def test_save_is_atomic(tmp_path, monkeypatch):
    model = rk.RPN([3, 2])
    rk.save(model, tmp_path / "ckpt")
    before = {p: (tmp_path / "ckpt" / p).read_bytes() for p in ("config.yaml", "model.safetensors")}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("crash during save")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        rk.save(rk.RPN([3, 2]), tmp_path / "ckpt")
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["config.yaml", "model.safetensors"]
    after = {p: (tmp_path / "ckpt" / p).read_bytes() for p in before}
    assert after == before


def test_load_rejects_a_mismatching_checkpoint(tmp_path):
    rk.save(rk.RPN([3, 2]), tmp_path / "a")
    rk.save(rk.RPN([3, 2], head={"reconciliation": "lowrank"}), tmp_path / "b")
    (tmp_path / "a" / "model.safetensors").write_bytes((tmp_path / "b" / "model.safetensors").read_bytes())
    with pytest.raises(rk.ConfigError, match="does not match its config"):
        rk.load(tmp_path / "a")


def test_config_never_imports_dotted_paths():
    with pytest.raises(rk.ConfigError, match="unknown expansion/compression 'os.system'"):
        rk.build_model({"dims": [3, 2], "head": {"expansion": "os.system"}})
    with pytest.raises(rk.ConfigError):
        load_yaml("!!python/object/apply:os.system ['echo hi']")


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config,match",
    [
        (
            {"dims": [4, 8, 3], "head": {"reconciliation": {"name": "hm", "p": 3}}},
            r"^layers\[0\]\.head\.reconciliation\.p: p=3 must be a positive divisor of n=8; valid choices: 1, 2, 4, 8$",
        ),
        (
            {"layers": [{"m": 4, "n": 8}, {"m": 8, "n": 6, "head": {"reconciliation": {"name": "dual_lphm", "q": 5}}}]},
            r"^layers\[1\]\.head\.reconciliation\.q: q=5 must be a positive divisor of D=8; valid choices: 1, 2, 4, 8$",
        ),
        (
            {"dims": [4, 3], "head": {"reconciliation": "lowrnk"}},
            r"^layers\[0\]\.head\.reconciliation: unknown reconciliation 'lowrnk'; did you mean 'lowrank'",
        ),
        (
            {"dims": [4, 3], "head": {"reconciliation": {"name": "lowrank", "rnk": 2}}},
            r"layers\[0\]\.head\.reconciliation\.rnk: unknown key 'rnk' for LowRank; did you mean 'rank'\?",
        ),
        ({"dims": [4, 3], "hed": {}}, r"^hed: unknown key 'hed' for RPN; did you mean 'head'\?"),
        ({"layers": [{"n": 3}]}, r"layers\[0\]: missing required key\(s\) \['m'\]"),
        ({"layers": [{"m": 4, "n": 5}, {"m": 6, "n": 2}]}, r"layers\[1\]\.m: layer 1 expects m=6 inputs but layer 0"),
        (
            {"dims": [4, 3], "head": {"expansion": {"name": "taylor", "degree": 0}}},
            r"layers\[0\]\.head\.expansion\.degree: degree must be an int >= 1, got 0",
        ),
        (
            {"dims": [4, 3], "head": {"expansion": {"name": "taylor", "m": 5}}},
            r"layers\[0\]\.head\.expansion\.m: m=5 conflicts with the value 4 that the parent supplies",
        ),
        ({"dims": [4, 3], "head": {"remainder": "identity"}}, r"identity remainder needs m == n, got m=4, n=3"),
        ({"dims": [4, 5], "width": 2, "fusion": "concatenation"}, r"fusion: concatenation of 2 inputs needs"),
        ({"dims": [4]}, r"dims needs at least two widths"),
    ],
)
def test_config_errors_name_the_path_and_the_fix(config, match):
    with pytest.raises(rk.ConfigError, match=match):
        rk.build_model(config)


def test_forward_shape_errors_name_component_expected_and_got():
    with pytest.raises(rk.ShapeError, match=r"RPN: expected input of shape \(\.\.\., m=4\), got \(2, 5\)"):
        rk.RPN([4, 3])(torch.zeros(2, 5))
    with pytest.raises(rk.ShapeError, match=r"reconciliation lowrank: expected input of shape \(\.\.\., D=6\), got"):
        rk.build("reconciliation", "lowrank", n=3, D=6)(torch.zeros(2, 5))


def test_a_built_head_cannot_be_shared():
    head = rk.Head(4, 3)
    with pytest.raises(rk.ConfigError, match="cannot be repeated"):
        rk.Layer(4, 3, head=head, width=2)
    assert rk.Layer(4, 3, head=head).head is head
    with pytest.raises(rk.ConfigError, match="has m=4 but its place needs m=5"):
        rk.Layer(5, 3, head=rk.Head(4, 3))


# --- initialisation and learning --------------------------------------------------------------------


ALL_INIT_SPECS = [
    "identity",
    {"name": "lowrank", "rank": 4},
    {"name": "hm"},
    {"name": "lphm", "rank": 4},
    {"name": "dual_lphm", "rank": 4},
    {"name": "duplicated_padding"},
    {"name": "masking"},
]


@pytest.mark.parametrize("spec", ALL_INIT_SPECS)
def test_init_scales_the_fabricated_weight_for_its_fan_in(spec):
    """One layer, averaged over initialisations: E[y^2] = E[x^2] for standard-normal x (Var W_ij = 1/D)."""
    moments, weights = [], []
    for seed in range(30):
        torch.manual_seed(seed)
        psi = rk.build("reconciliation", spec, n=64, D=256).to(DT)
        weights.append(psi.weight().pow(2).mean().item() * 256)
        moments.append(psi(torch.randn(256, 256, dtype=DT)).pow(2).mean().item())
    assert 0.8 < float(np.mean(weights)) < 1.25
    assert 0.8 < float(np.mean(moments)) < 1.25


@pytest.mark.parametrize("spec", [s for s in ALL_INIT_SPECS if s != {"name": "duplicated_padding"}])
def test_deep_stacks_keep_the_second_moment_at_init(spec):
    """A 6-layer stack keeps the output's second moment in [0.1, 10] (median over 5 initialisations).

    Low-rank factors make a stack a product of random r x r maps, whose log-scale drifts from seed to
    seed; the median is the typical network. Stacked duplicated padding (p = q) tiles and re-sums the
    same block coherently, so it grows by q per layer by construction and is left out.
    """
    moments = []
    for seed in range(5):
        torch.manual_seed(seed)
        model = rk.RPN([64] * 7, head={"reconciliation": spec}).to(DT)
        moments.append(model(torch.randn(512, 64, dtype=DT)).pow(2).mean().item())
    assert 0.1 < float(np.median(moments)) < 10


def test_deep_taylor_stack_trains_out_of_the_box():
    torch.manual_seed(0)
    x = torch.rand(256, 4) * 2 - 1
    y = (x[:, :1] * x[:, 1:2] + torch.sin(x[:, 2:3])).detach()
    head = {"expansion": {"name": "taylor", "degree": 2, "postprocess": "layer_norm"}, "reconciliation": "identity"}
    model = rk.RPN([4, 16, 16, 16, 16, 16, 16, 1], head=head)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(200):
        loss = torch.nn.functional.mse_loss(model(x), y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.01 * first and loss.item() < 0.005


def test_small_rpn_learns_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    Xtr, Xte = torch.tensor(Xtr, dtype=torch.float32), torch.tensor(Xte, dtype=torch.float32)
    ytr, yte = torch.tensor(ytr), torch.tensor(yte)
    torch.manual_seed(0)
    model = rk.RPN(
        [64, 32, 10],
        head={
            "expansion": {"name": "taylor", "degree": 2},
            "input_processing": "layer_norm",
            "reconciliation": {"name": "lowrank", "rank": 8, "bias": True},
        },
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(15):
        perm = torch.randperm(len(Xtr))
        model.train()
        for i in range(0, len(Xtr), 64):
            idx = perm[i : i + 64]
            loss = torch.nn.functional.cross_entropy(model(Xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(Xte).argmax(-1) == yte).float().mean().item()
    assert accuracy >= 0.95
