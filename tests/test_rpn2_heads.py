"""Values, errors and learning of the RPN 2 grid, grid compression and bilinear heads."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import rpnkit as rk
from rpnkit.nn import BilinearHead, GridCompressionHead, GridHead

D64 = torch.float64


def _grid(**kw) -> GridHead:
    m = kw["in_channels"] * kw["h"] * kw["w"] * kw.get("d", 1)
    return GridHead(m, **kw).to(D64)


def _copy_conv(head: GridHead, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Copy an nn.Conv2d weight (C_out, C_in, k_h, k_w) into the head's shared kernel K (cuboids)."""
    with torch.no_grad():
        head.reconciliation.K.copy_(weight.reshape(weight.shape[0], -1))
        if bias is not None:
            head.bias.copy_(bias)


# ------------------------------------------------------------------------------------ grid = conv


@pytest.mark.parametrize(
    "c_in, c_out, h, w, k_h, k_w, stride, padding",
    [
        (3, 4, 7, 6, 3, 3, 1, 1),
        (2, 5, 8, 8, 3, 3, 2, 0),
        (2, 3, 9, 7, 3, 3, 2, 1),
        (1, 2, 6, 9, 2, 4, 1, 0),  # rectangular kernel
        (3, 2, 10, 10, 5, 3, 3, 2),
        (2, 2, 5, 5, 1, 1, 2, 0),
    ],
)
def test_grid_head_equals_conv2d(c_in, c_out, h, w, k_h, k_w, stride, padding):
    conv = torch.nn.Conv2d(c_in, c_out, (k_h, k_w), stride=stride, padding=padding).to(D64)
    # an F.conv2d window of k cells with padding q: offsets [-q, k - 1 - q] around the centre
    head = _grid(
        in_channels=c_in, out_channels=c_out, h=h, w=w, p_h=padding, p_w=padding, p_h_prime=k_h - 1 - padding,
        p_w_prime=k_w - 1 - padding, cd_h=stride, cd_w=stride, padding=padding,
    )  # fmt: skip
    _copy_conv(head, conv.weight, conv.bias)
    x = torch.randn(5, c_in, h, w, dtype=D64)
    expected = conv(x)
    assert head.output_grid == (c_out, *expected.shape[2:], 1)
    torch.testing.assert_close(head(x.flatten(1)), expected.flatten(1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_grid_head_same_padding_is_zero_padding_around_the_centres(stride):
    """ "same": centres at 0, s, 2s, ...; offsets [-1, 2] x [-1, 1] read zeros outside the grid."""
    head = _grid(in_channels=2, out_channels=3, h=7, w=8, p_h=1, p_h_prime=2, p_w=1, cd_h=stride, cd_w=stride)
    x = torch.randn(4, 2, 7, 8, dtype=D64)
    kernel = head.reconciliation.K.reshape(3, 2, 4, 3)
    expected = F.conv2d(F.pad(x, (1, 1, 1, 2)), kernel, head.bias, stride=stride)
    p_h, p_w = -(-7 // stride), -(-8 // stride)
    expected = expected[..., :p_h, :p_w]
    assert head.output_grid == (3, p_h, p_w, 1)
    torch.testing.assert_close(head(x.flatten(1)), expected.flatten(1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "patch, extra, expansion",
    [
        ("cuboid", {"p_h": 1, "p_w": 2}, "cuboid_patch"),
        ("cylinder", {"p_r": 2}, "cylinder_patch"),
        ("sphere", {"p_r": 1}, "sphere_patch"),
    ],
)
@pytest.mark.parametrize("stride", [1, 2])
def test_grid_head_equals_patch_expansion_with_shared_kernel(patch, extra, expansion, stride):
    """The RPN equation spelled out: the patch expansion (a gather) and psi = shared_kernel."""
    grid = {"in_channels": 2, "out_channels": 3, "h": 6, "w": 5, "patch": patch, "cd_h": stride, "cd_w": stride}
    head = _grid(**grid, **extra)
    xi = {"name": expansion, "channels": 2, "h": 6, "w": 5, "cd_h": stride, "cd_w": stride, **extra}
    P = head.num_patches
    plain = rk.Head(head.m, head.n, expansion=xi, reconciliation={"name": "shared_kernel", "positions": P}).to(D64)
    assert plain.D == head.D
    with torch.no_grad():
        plain.reconciliation.K.copy_(head.reconciliation.K)
        head.bias.normal_()
    x = torch.randn(3, head.m, dtype=D64)
    bias = head.bias.repeat_interleave(P)
    torch.testing.assert_close(head(x), plain(x) + bias, rtol=1e-12, atol=1e-12)


def test_cylinder_grid_head_is_a_masked_kernel_convolution():
    head = _grid(in_channels=2, out_channels=4, h=9, w=9, patch="cylinder", p_r=2, cd_h=2, cd_w=2, padding=2)
    i, j = torch.meshgrid(torch.arange(-2, 3), torch.arange(-2, 3), indexing="ij")
    disk = (i**2 + j**2 <= 4).to(D64)
    assert head.patch_size == int(disk.sum()) == 13
    kernel = torch.zeros(4, 2, 5, 5, dtype=D64)
    kernel[..., disk.bool()] = head.reconciliation.K.reshape(4, 2, 13)
    x = torch.randn(3, 2, 9, 9, dtype=D64)
    expected = F.conv2d(x, kernel, head.bias, stride=2, padding=2)
    torch.testing.assert_close(head(x.flatten(1)), expected.flatten(1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(head.kernel(), kernel)


def test_sphere_on_a_3d_grid_is_conv3d():
    head = _grid(in_channels=1, out_channels=2, h=4, w=5, d=6, patch="sphere", p_r=1, padding=1)
    ball = torch.zeros(3, 3, 3, dtype=torch.bool)
    for a in range(3):
        for b in range(3):
            for c in range(3):
                ball[a, b, c] = (a - 1) ** 2 + (b - 1) ** 2 + (c - 1) ** 2 <= 1
    kernel = torch.zeros(2, 1, 3, 3, 3, dtype=D64)
    kernel[..., ball] = head.reconciliation.K.reshape(2, 1, 7)
    x = torch.randn(2, 1, 4, 5, 6, dtype=D64)
    expected = F.conv3d(x, kernel, head.bias, padding=1)
    torch.testing.assert_close(head(x.flatten(1)), expected.flatten(1), rtol=1e-12, atol=1e-12)


def test_sphere_on_an_image_uses_the_middle_slice():
    sphere = _grid(in_channels=2, out_channels=2, h=5, w=5, patch="sphere", p_r=2)
    cylinder = _grid(in_channels=2, out_channels=2, h=5, w=5, patch="cylinder", p_r=2)
    ball = torch.stack(torch.meshgrid(*[torch.arange(-2, 3)] * 3, indexing="ij"), -1).reshape(-1, 3)
    ball = ball[ball.square().sum(-1) <= 4]
    with torch.no_grad():  # copy the weights of the ball's dk = 0 cells; the others only meet padding
        sphere.reconciliation.K.view(2, 2, -1)[..., ball[:, 2] == 0] = cylinder.reconciliation.K.view(2, 2, -1)
    x = torch.randn(3, 50, dtype=D64)
    torch.testing.assert_close(sphere(x), cylinder(x), rtol=1e-12, atol=1e-12)


def test_per_value_taylor_expansion_adds_channels():
    head = _grid(in_channels=2, out_channels=3, h=5, w=4, expansion={"name": "taylor", "degree": 2})
    assert head.features == 2 and head.reconciliation.K.shape == (3, 2 * 2 * 9)
    x = torch.randn(3, 2, 5, 4, dtype=D64)
    features = torch.stack([x, x**2], 2).reshape(3, 4, 5, 4)  # channel c*2 + j = x_c^(j+1)
    expected = F.conv2d(features, head.reconciliation.K.reshape(3, 4, 3, 3), head.bias, padding=1)
    torch.testing.assert_close(head(x.flatten(1)), expected.flatten(1), rtol=1e-12, atol=1e-12)


def test_grid_head_gradcheck_with_stride_padding_and_remainder():
    head = _grid(in_channels=1, out_channels=2, h=4, w=3, cd_h=2, p_h_prime=2, padding=[1, 0])
    x = torch.randn(1, head.m, dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(head, (x,))
    residual = _grid(in_channels=1, out_channels=1, h=3, w=3, patch="cylinder", remainder="identity")
    assert torch.autograd.gradcheck(residual, (torch.randn(1, 9, dtype=D64, requires_grad=True),))


def test_grid_head_follows_the_input_dtype_and_batch_prefixes():
    head = GridHead(3 * 6 * 6, in_channels=3, out_channels=4, h=6, w=6, cd_h=2, cd_w=2)
    x = torch.randn(2, 5, 108)
    assert head(x).shape == (2, 5, 4 * 9) and head(x).dtype == torch.float32
    torch.testing.assert_close(head(x)[1], head(x[1]))


# ---------------------------------------------------------------------------------------- pooling


@pytest.mark.parametrize("k, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (3, 3, 0), (2, 1, 1)])
def test_grid_compression_equals_max_pool_and_avg_pool(k, stride, padding):
    x = torch.randn(4, 3, 9, 8, dtype=D64)
    geometry = dict(h=9, w=8, p_h=padding, p_w=padding, p_h_prime=k - 1 - padding, p_w_prime=k - 1 - padding)
    for metric, expected in [
        ("max", F.max_pool2d(x, k, stride, padding)),
        ("mean", F.avg_pool2d(x, k, stride, padding, count_include_pad=False)),
        ("min", -F.max_pool2d(-x, k, stride, padding)),
    ]:
        pool = GridCompressionHead(
            216, channels=3, metric=metric, cd_h=stride, cd_w=stride, padding=padding, **geometry
        )
        assert pool.output_grid == (3, *expected.shape[2:], 1)
        torch.testing.assert_close(pool(x.flatten(1)), expected.flatten(1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("metric", ["max", "mean", "min"])
@pytest.mark.parametrize(
    "shape, extra",
    [
        ("cuboid", {"p_h": 1, "p_w": 0, "p_w_prime": 2}),
        ("cylinder", {"p_r": 2}),
        ("cylinder", {"p_r": 1, "p_d": 1, "d": 3}),
        ("sphere", {"p_r": 2}),
        ("sphere", {"p_r": 1, "d": 4}),
    ],
)
@pytest.mark.parametrize("stride", [1, 2])
def test_grid_compression_equals_the_geometric_compression(metric, shape, extra, stride):
    """ "same" placement: the catalogue's gather-based pooling is the reference (borders excluded)."""
    extra = dict(extra)
    d = extra.pop("d", 1)
    m = 2 * 6 * 7 * d
    pool = GridCompressionHead(m, channels=2, h=6, w=7, d=d, metric=metric, patch=shape, cd_h=stride, cd_w=stride,
                               cd_d=stride, **extra)  # fmt: skip
    gather = rk.build("compression", {"name": shape, "metric": metric, "h": 6, "w": 7, "d": d, "cd_h": stride,
                                      "cd_w": stride, "cd_d": stride, **extra}, m=m)  # fmt: skip
    x = torch.randn(3, m, dtype=D64)
    assert pool.n == gather.D
    torch.testing.assert_close(pool(x), gather(x), rtol=1e-12, atol=1e-12)


def test_grid_compression_max_gradcheck_and_default_non_overlapping():
    pool = GridCompressionHead(2 * 4 * 4, channels=2, h=4, w=4, p_h=0, p_w=0, p_h_prime=1, p_w_prime=1)
    assert pool.output_grid == (2, 2, 2, 1)
    x = torch.randn(2, 32, dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(pool, (x,))
    disk = GridCompressionHead(25, h=5, w=5, patch="cylinder", p_r=2, cd_h=2, cd_w=2)
    assert torch.autograd.gradcheck(disk, (torch.randn(1, 25, dtype=D64, requires_grad=True),))


# --------------------------------------------------------------------------------------- bilinear


def _mha_and_head(L, d, H, causal=False):
    mha = torch.nn.MultiheadAttention(d, H, batch_first=True).to(D64)
    with torch.no_grad():
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    biased = {"name": "identity", "bias": True}
    head = BilinearHead(L * d, length=L, heads=H, query=biased, key=biased, value=biased, output=biased,
                        causal=causal).to(D64)  # fmt: skip
    with torch.no_grad():
        for i, psi in enumerate([head.query, head.key, head.value]):
            psi.W.copy_(mha.in_proj_weight[i * d : (i + 1) * d])
            psi.bias.copy_(mha.in_proj_bias[i * d : (i + 1) * d])
        head.output.W.copy_(mha.out_proj.weight)
        head.output.bias.copy_(mha.out_proj.bias)
    return mha, head


@pytest.mark.parametrize("H", [1, 2, 4])
@pytest.mark.parametrize("causal", [False, True])
def test_bilinear_head_equals_multihead_attention(H, causal):
    L, d = 7, 8
    mha, head = _mha_and_head(L, d, H, causal)
    X = torch.randn(3, L, d, dtype=D64)
    mask = torch.ones(L, L, dtype=torch.bool).triu(1) if causal else None
    expected, _ = mha(X, X, X, need_weights=False, attn_mask=mask)
    torch.testing.assert_close(head(X.flatten(1)), expected.flatten(1), rtol=1e-12, atol=1e-12)


def test_bilinear_head_equals_sdpa_and_the_explicit_bilinear_form():
    L, d, H = 6, 8, 2
    head = BilinearHead(L * d, width=d, heads=H, dim=12, out_width=5).to(D64)
    x = torch.randn(4, L * d, dtype=D64)
    X = x.view(4, L, d)
    Wq, Wk, Wv, Wo = (psi.weight() for psi in (head.query, head.key, head.value, head.output))
    split = lambda t: t.view(4, L, H, 6).transpose(1, 2)  # noqa: E731
    core = F.scaled_dot_product_attention(split(X @ Wq.T), split(X @ Wk.T), split(X @ Wv.T))
    expected = core.transpose(1, 2).reshape(4, L, 12) @ Wo.T
    torch.testing.assert_close(head(x), expected.flatten(1), rtol=1e-12, atol=1e-12)
    # the scores of head 0 are the bilinear form X W_q,0 W_k,0^T X^T / sqrt(d_head)
    A = torch.softmax(X @ Wq[:6].T @ Wk[:6] @ X.transpose(1, 2) / 6**0.5, -1)
    torch.testing.assert_close(A @ (X @ Wv[:6].T), core[:, 0])


def test_bilinear_head_never_mixes_batch_rows():
    head = BilinearHead(5 * 4, length=5, heads=2)
    x = torch.randn(6, 20)
    torch.testing.assert_close(head(x)[2:3], head(x[2:3]))
    assert head.n == 20 and head.l == 4 * 16


def test_bilinear_head_gradcheck():
    head = BilinearHead(12, length=3, heads=2, query={"name": "lowrank", "rank": 1}, causal=True).to(D64)
    assert torch.autograd.gradcheck(head, (torch.randn(2, 12, dtype=D64, requires_grad=True),))


# ------------------------------------------------------------------------------- configs and io


def _cnn_config() -> dict:
    conv = GridHead.geometry(h=8, w=8, in_channels=1, out_channels=8)
    pool = GridCompressionHead.geometry(h=8, w=8, channels=8, p_h=0, p_w=0, p_h_prime=1, p_w_prime=1)
    return {
        "layers": [
            {"m": conv.m, "n": conv.n, "head": {"name": "grid", "in_channels": 1, "out_channels": 8, "h": 8, "w": 8,
                                                "output_processing": "relu"}},
            {"m": pool.m, "n": pool.n, "head": {"name": "grid_compression", "channels": 8, "h": 8, "w": 8,
                                                "p_h": 0, "p_w": 0, "p_h_prime": 1, "p_w_prime": 1}},
            {"m": pool.n, "n": 10, "head": {"reconciliation": {"name": "identity", "bias": True}}},
        ]
    }  # fmt: skip


def test_grid_model_builds_from_a_config_and_round_trips_through_save_and_load(tmp_path):
    model = rk.build_model(_cnn_config()).to(D64)
    assert [layer.n for layer in model.layers] == [512, 128, 10]
    assert rk.build_model(model.to_config()).to_config() == model.to_config()
    attention = rk.build_model(
        {
            "layers": [{"m": 24, "n": 24, "head": {"name": "bilinear", "length": 4, "heads": 2}}, {"m": 24, "n": 3}]
        }  # fmt: skip
    )
    for i, net in enumerate([model.float(), attention]):
        rk.save(net, tmp_path / str(i))
        loaded = rk.load(tmp_path / str(i))
        x = torch.randn(3, net.m)
        assert torch.equal(loaded(x), net(x))


# ------------------------------------------------------------------------------------ bad inputs


def test_bad_grid_arguments_are_config_errors_with_the_path_and_the_expected_value():
    with pytest.raises(
        rk.ConfigError,
        match=r"layers\[0\]\.head: m must be in_channels \* h \* w \* d = 3 \* 8 \* 8 \* 1 = 192.*got m=190",
    ):  # noqa: E501
        rk.build_model({"layers": [{"m": 190, "n": 10, "head": {"name": "grid", "in_channels": 3, "h": 8, "w": 8}}]})
    with pytest.raises(
        rk.ConfigError, match=r"head\.n: n must be out_channels \* patches = 16 \* 64 = 1024 .*got 1000"
    ):
        rk.build("layer", {"name": "rpn", "m": 64, "n": 1000, "head": {"name": "grid", "out_channels": 16}})
    with pytest.raises(rk.ConfigError, match=r"head\.p_h: the cuboid patch is 7 cells along h .* at most h = 4"):
        rk.build("layer", {"name": "rpn", "m": 16, "n": 16, "head": {"name": "grid", "h": 4, "w": 4, "p_h": 3}})
    with pytest.raises(rk.ConfigError, match=r"p_r: .*5 cells along h .*at most h \+ 2 \* padding = 4"):
        GridCompressionHead(4, h=2, w=2, patch="cylinder", p_r=2, padding=1)
    with pytest.raises(rk.ConfigError, match=r"n must be channels \* patches = 2 \* 4 = 8"):
        GridCompressionHead(32, 9, channels=2, h=4, w=4, p_h=0, p_h_prime=1, p_w=0, p_w_prime=1)
    with pytest.raises(rk.ConfigError, match=r"patch must be one of .*did you mean 'cylinder'"):
        GridHead(16, patch="cylindre")
    with pytest.raises(rk.ConfigError, match=r"padding must be 'same'"):
        GridHead(16, padding="valid")
    with pytest.raises(rk.ShapeError, match=r"grid head: expected input of shape \(\.\.\., m=16\)"):
        GridHead(16)(torch.zeros(2, 15))


def test_bad_bilinear_arguments_are_config_errors():
    with pytest.raises(rk.ConfigError, match=r"m must be length \* width = 4 \* 5 = 20, got m=24"):
        BilinearHead(24, length=4, width=5)
    with pytest.raises(rk.ConfigError, match=r"head\.length: length=5 must divide m=24"):
        rk.build("layer", {"name": "rpn", "m": 24, "n": 24, "head": {"name": "bilinear", "length": 5}})
    with pytest.raises(rk.ConfigError, match=r"head\.n: n must be length \* out_width = 4 \* 6 = 24, got 20"):
        rk.build("layer", {"name": "rpn", "m": 24, "n": 20, "head": {"name": "bilinear", "length": 4}})
    with pytest.raises(rk.ConfigError, match=r"heads=4 must divide dim=6"):
        BilinearHead(24, length=4, heads=4)


# -------------------------------------------------------------------------------------- learning


def test_grid_rpn_learns_digits_as_8x8_images():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.manual_seed(0)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    model = rk.build_model(_cnn_config())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(25):
        for idx in torch.randperm(len(X_tr), generator=gen).split(64):
            opt.zero_grad()
            F.cross_entropy(model(X_tr[idx]), y_tr[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(X_te).argmax(-1) == y_te).float().mean().item()
    assert accuracy >= 0.97, accuracy
