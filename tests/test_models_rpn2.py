"""The RPN 2 model zoo: cnn, resnet, rnn, regression_rnn, gcn, gat, transformer.

Equivalence with the classic modules (copied weights, float64), config / checkpoint round trips, the
model summary, argument errors, and small learning tests (fixed seeds, CPU).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import rpnkit as rk
from rpnkit.data import load_digits, load_sbm
from rpnkit.interdependence import attach_graph
from rpnkit.models.rpn2 import (
    CNN,
    GAT,
    GCN,
    RNN,
    RegressionRNN,
    ResidualBlock,
    ResNet,
    TokenEmbeddingHead,
    TokenLayerNorm,
    Transformer,
)
from rpnkit.train.model_summary import format_summary, summary

D64 = torch.float64

#: (registry name, constructor arguments, input shape) of one small instance of every model
SMALL = [
    ("cnn", {"h": 8, "w": 6, "in_channels": 2, "conv_channels": [3, 4], "fc_dims": [8], "classes": 5}, (3, 96)),
    ("resnet", {"h": 8, "stages": [3, 4], "blocks": 1, "fc_dims": [6], "classes": 5}, (3, 64)),
    ("rnn", {"length": 6, "dims": [3, 8, 8, 2]}, (3, 18)),
    ("regression_rnn", {"length": 5, "dims": [2, 6, 1]}, (3, 10)),
    ("gcn", {"dims": [4, 8, 3]}, (6, 4)),
    ("gat", {"dims": [4, 8, 3], "heads": 2, "out_heads": 2}, (6, 4)),
    ("transformer", {"length": 6, "width": 8, "heads": 2, "layers": 2, "in_width": 4, "classes": 3}, (3, 24)),
    (
        "transformer",
        {"length": 5, "width": 8, "heads": 4, "layers": 1, "classes": 3, "pool": "cls", "norm": "pre", "dropout": 0.1},
        (3, 40),
    ),
]
EDGES = torch.tensor([[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 5, 3]])


def small(name: str, kw: dict, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = rk.build_model({"name": name, **kw})
    if name in ("gcn", "gat"):
        assert attach_graph(model, EDGES, 6) == len(model.layers)
    return model


def random_graph(n: int, pairs: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(0, n, (pairs,), generator=gen)
    dst = (src + torch.randint(1, n, (pairs,), generator=gen)) % n
    ei = torch.stack([src, dst])
    return torch.unique(torch.cat([ei, ei.flip(0)], dim=1), dim=1)


@pytest.fixture
def one_thread():
    """Learning tests run single-threaded: small ops on shared cores are faster (and steadier) so."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fit(model, x, y, epochs: int, lr: float, batch: int = 64, seed: int = 0):
    """Adam on mini-batches of (x, y) with cross-entropy on the logits; returns the model in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(-1) == y).double().mean().item()


# ------------------------------------------------------------------------------ registry, configs, io


def test_models_are_registered():
    for name in ("cnn", "resnet", "rnn", "regression_rnn", "gcn", "gat", "transformer"):
        assert name in rk.registry.names("model")
    assert "residual" in rk.registry.names("layer")
    assert "token_embedding" in rk.registry.names("head")
    assert "token_layer_norm" in rk.registry.names("processing")


@pytest.mark.parametrize("name, kw, shape", SMALL, ids=[f"{s[0]}-{i}" for i, s in enumerate(SMALL)])
def test_round_trips_through_config_and_checkpoint(name, kw, shape, tmp_path):
    model = small(name, kw).eval()
    x = torch.randn(*shape)
    y = model(x)
    config = model.to_config()
    assert config["name"] == name and all(config[k] == v for k, v in kw.items())
    rebuilt = rk.build_model(config)
    assert type(rebuilt) is type(model) and rebuilt.to_config() == config
    assert [type(a) for a in rebuilt.layers] == [type(b) for b in model.layers]
    assert rebuilt.dims == model.dims
    rk.save(model, tmp_path / "ckpt")
    loaded = rk.load(tmp_path / "ckpt").eval()
    assert loaded.to_config() == config
    torch.testing.assert_close(loaded(x), y, rtol=0, atol=0)  # weights, buffers and the graph came back


@pytest.mark.parametrize("name, kw, shape", SMALL, ids=[f"{s[0]}-{i}" for i, s in enumerate(SMALL)])
def test_logits_and_no_processing_after_the_output_layer(name, kw, shape):
    model = small(name, kw).eval()
    last = model.layers[-1]
    heads = list(getattr(last, "heads", []))
    assert heads and all(getattr(h, "output_processing", None) is None for h in heads)
    y = model(torch.randn(*shape))
    assert not torch.allclose(y.sum(-1), torch.ones(y.shape[:-1]))  # no softmax
    assert not torch.allclose(torch.logsumexp(y, -1), torch.zeros(y.shape[:-1]), atol=1e-4)  # no log-softmax


@pytest.mark.parametrize("name, kw, shape", SMALL, ids=[f"{s[0]}-{i}" for i, s in enumerate(SMALL)])
def test_every_parameter_gets_a_gradient(name, kw, shape):
    model = small(name, kw).train()
    model(torch.randn(*shape)).square().sum().backward()
    missing = [k for k, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_summary_shows_every_layer():
    config = CNN(h=8, conv_channels=[4, 8], fc_dims=[16]).to_config()
    info = summary(config, batch_size=32)
    rows = info["layers"]
    assert [r["n"] for r in rows] == [256, 64, 128, 32, 16, 10]
    assert [r["m"] for r in rows] == [64, 256, 64, 128, 32, 16]
    assert rows[0]["D"] == 9 * 64 and rows[0]["l"] == 4 * 9 and rows[0]["parameters"] == 4 * 9 + 4
    assert rows[1]["parameters"] == 0 and all(r["activation_bytes"] > 0 for r in rows)
    assert info["parameters"] == sum(p.numel() for p in CNN(h=8, conv_channels=[4, 8], fc_dims=[16]).parameters())
    text = format_summary(info)
    assert text.splitlines()[0] == "cnn" and "activations (batch 32)" in text
    tf = summary(Transformer(length=6, width=8, heads=2, layers=1, classes=3).to_config())
    kinds = [r["heads"][0]["type"] for r in tf["layers"]]
    assert kinds[:3] == ["token_embedding", "bilinear", "chain"] and len(tf["layers"][2]["heads"]) == 2
    assert tf["layers"][2]["l"] == 2 * 8 * 32 and tf["layers"][2]["parameters"] == 2 * 8 * 32 + 32 + 8 + 2 * 8


def test_rpnkit_summary_command_on_a_model_config(tmp_path, capsys):
    from rpnkit.cli import main

    path = tmp_path / "transformer.yaml"
    path.write_text("name: transformer\nlength: 6\nwidth: 8\nheads: 2\nlayers: 1\nclasses: 3\n")
    assert main(["summary", str(path), "--batch-size", "16"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("transformer") and "activations (batch 16)" in out
    table = out.split("interdependences")[0]
    assert len([line for line in table.splitlines() if line[:1].isdigit()]) == 5  # embed, 2 blocks, pool, out


@pytest.mark.usefixtures("one_thread")
def test_gcn_from_an_experiment_gets_the_datasets_graph(tmp_path):
    from rpnkit.train import evaluate_run, run

    experiment = {
        "name": "sbm-gcn-model",
        "model": {"name": "gcn", "dims": ["auto", 16, "auto"], "dropout": 0.0},
        "data": {"name": "sbm", "num_nodes": 300, "feature_noise": 2.0, "seed": 0},
        "train": {"epochs": 60, "optimizer": {"name": "adam", "lr": 0.02}, "seed": 0},
        "metrics": ["accuracy"],
        "output": {"dir": str(tmp_path), "plots": False},
    }
    result = run(experiment, quiet=True)
    assert result.test["accuracy"] >= 0.85
    assert evaluate_run(result.run_dir)["accuracy"] == pytest.approx(result.test["accuracy"])


# ------------------------------------------------------------------------------ building blocks


def test_token_layer_norm_is_layer_norm_per_token():
    norm = TokenLayerNorm(4 * 6, width=6).to(D64)
    with torch.no_grad():
        norm.norm.weight.normal_()
        norm.norm.bias.normal_()
    x = torch.randn(3, 24, dtype=D64, requires_grad=True)
    expected = F.layer_norm(x.view(3, 4, 6), (6,), norm.norm.weight, norm.norm.bias).flatten(1)
    torch.testing.assert_close(norm(x), expected)
    assert torch.autograd.gradcheck(norm, (x,))
    assert rk.build("processing", norm.to_config(), m=24).to_config() == norm.to_config()
    with pytest.raises(rk.ConfigError, match="width=5 must be a positive divisor of m=24"):
        TokenLayerNorm(24, width=5)


def test_residual_block_spans_its_heads_and_round_trips():
    spec = {"m": 6, "n": 6, "heads": [{"n": 10, "output_processing": "tanh"}, {}], "input_processing": "layer_norm"}
    block = rk.build("layer", {"name": "residual", **spec}).to(D64)
    x = torch.randn(4, 6, dtype=D64, requires_grad=True)
    h1, h2 = block.heads
    expected = x + h2(h1(F.layer_norm(x, (6,))))  # the skip takes the raw x, the branch the normalised one
    torch.testing.assert_close(block(x), expected)
    assert torch.autograd.gradcheck(block, (x,))
    config = block.to_config()
    assert config["heads"][0]["n"] == 10 and "n" not in config["heads"][1]
    assert rk.build("layer", config).to_config() == config
    assert block.l == 6 * 10 + 10 * 6 and block.D == 10
    projected = ResidualBlock(6, 4, heads=["rpn"], remainder="skip")  # widths differ: a learned projection
    assert projected(torch.randn(2, 6)).shape == (2, 4)
    with pytest.raises(rk.ConfigError, match="identity remainder needs m == n"):
        ResidualBlock(6, 4, heads=["rpn"])
    with pytest.raises(rk.ConfigError, match="heads must be a list"):
        ResidualBlock(6, 6, heads=[])


def test_token_embedding_head():
    head = TokenEmbeddingHead(5 * 3, length=5, out_width=4, cls=True).to(D64)
    x = torch.randn(2, 15, dtype=D64, requires_grad=True)
    y = head(x).view(2, 6, 4)
    W = head.reconciliation.W
    torch.testing.assert_close(y[:, 0], head.cls.expand(2, 4))
    torch.testing.assert_close(y[:, 1:], x.view(2, 5, 3) @ W.T + head.bias + head.position)
    assert torch.autograd.gradcheck(head, (x,))
    assert rk.build("head", head.to_config(), m=15).to_config() == head.to_config()
    with pytest.raises(rk.ConfigError, match="n must be"):
        TokenEmbeddingHead(15, n=20, length=5)


# ------------------------------------------------------------------------------ equivalence: grids


@pytest.mark.parametrize("kernel, metric", [(3, "max"), (2, "max"), (5, "mean")])
def test_cnn_equals_conv2d_pool_linear(kernel, metric):
    torch.manual_seed(0)
    grid = {"in_channels": 2, "h": 12, "w": 16}
    model = CNN(**grid, conv_channels=[3, 5], kernel=kernel, pool_metric=metric, fc_dims=[7], classes=4).to(D64)
    conv1, pool1, conv2, pool2, fc1, fc2 = (layer.head for layer in model.layers)
    for conv in (conv1, conv2):
        with torch.no_grad():
            conv.bias.normal_()
    x = torch.randn(3, 2, 12, 16, dtype=D64, requires_grad=True)

    def kernel_of(conv):  # the shared kernel K viewed as an nn.Conv2d weight
        return conv.reconciliation.K.view(conv.out_channels, conv.in_channels, kernel, kernel)

    pool = F.max_pool2d if metric == "max" else F.avg_pool2d
    same = ((kernel - 1) // 2, kernel // 2) * 2  # 'same' padding; an even kernel pads one more cell after
    a = pool(F.relu(F.conv2d(F.pad(x, same), kernel_of(conv1), conv1.bias)), 2)
    a = pool(F.relu(F.conv2d(F.pad(a, same), kernel_of(conv2), conv2.bias)), 2)
    a = F.relu(F.linear(a.flatten(1), fc1.reconciliation.W, fc1.reconciliation.bias))
    expected = F.linear(a, fc2.reconciliation.W, fc2.reconciliation.bias)
    got = model(x.flatten(1))
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(got)
    (gx_expected,) = torch.autograd.grad((expected * g).sum(), x)
    (gx_got,) = torch.autograd.grad((got * g).sum(), x)
    torch.testing.assert_close(gx_got, gx_expected, rtol=1e-10, atol=1e-12)
    assert [layer.head.output_grid for layer in model.layers[:4]] == [
        (3, 12, 16, 1),
        (3, 6, 8, 1),
        (5, 6, 8, 1),
        (5, 3, 4, 1),
    ]


def test_cnn_with_pool_every_two_and_odd_grid_pools_like_ceil_mode():
    torch.manual_seed(1)
    model = CNN(h=5, conv_channels=[2, 3], pool_every=2, fc_dims=[], classes=3).to(D64)
    conv1, conv2, pool, fc = (layer.head for layer in model.layers)
    x = torch.randn(4, 1, 5, 5, dtype=D64)
    a = F.relu(F.conv2d(x, conv1.reconciliation.K.view(2, 1, 3, 3), conv1.bias, padding=1))
    a = F.relu(F.conv2d(a, conv2.reconciliation.K.view(3, 2, 3, 3), conv2.bias, padding=1))
    a = F.max_pool2d(a, 2, ceil_mode=True)  # 5 x 5 -> 3 x 3: the border windows hold the cells that exist
    expected = F.linear(a.flatten(1), fc.reconciliation.W, fc.reconciliation.bias)
    torch.testing.assert_close(model(x.flatten(1)), expected, rtol=1e-12, atol=1e-12)


def test_resnet_block_is_the_basic_block():
    torch.manual_seed(2)
    model = ResNet(in_channels=1, h=6, stages=[3], blocks=2, pool=2, classes=4).to(D64)
    stem, block1, block2, pool, fc = model.layers
    assert isinstance(block1, ResidualBlock) and block1.remainder.registry_name == "identity"

    def conv(head, a):
        return F.conv2d(a, head.reconciliation.K.view(3, -1, 3, 3), head.bias, padding=1)

    x = torch.randn(2, 1, 6, 6, dtype=D64)
    a = F.relu(conv(stem.head, x))
    for block in (block1, block2):
        a = F.relu(a + conv(block.heads[1], F.relu(conv(block.heads[0], a))))
    expected = F.linear(F.max_pool2d(a, 2).flatten(1), fc.head.reconciliation.W, fc.head.reconciliation.bias)
    torch.testing.assert_close(model(x.flatten(1)), expected, rtol=1e-12, atol=1e-12)
    assert sum(p.numel() for p in block1.parameters()) == 2 * (3 * 3 * 9 + 3)  # the skip has no parameters


# ------------------------------------------------------------------------------ equivalence: graphs


def test_gcn_equals_gcnconv_stack():
    tg = pytest.importorskip("torch_geometric.nn")
    nodes, dims = 14, [5, 8, 6, 3]
    ei = random_graph(nodes, 25, seed=3)
    torch.manual_seed(0)
    model = GCN(dims, dropout=0.5).to(D64)
    assert attach_graph(model, ei, nodes) == 3
    convs = [tg.GCNConv(dims[i], dims[i + 1]).to(D64) for i in range(3)]
    for conv, layer in zip(convs, model.layers):
        with torch.no_grad():
            conv.bias.normal_()
            layer.head.reconciliation.W.copy_(conv.lin.weight)
            layer.head.bias.copy_(conv.bias)
    x = torch.randn(nodes, 5, dtype=D64, requires_grad=True)
    a = x
    for i, conv in enumerate(convs):
        a = conv(a, ei)
        a = F.relu(a) if i < 2 else a
    got = model.eval()(x)
    torch.testing.assert_close(got, a, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(a)
    grads = torch.autograd.grad((a * g).sum(), [x, *(c.lin.weight for c in convs)])
    mine = torch.autograd.grad((got * g).sum(), [x, *(layer.head.reconciliation.W for layer in model.layers)])
    for ours, theirs in zip(mine, grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("heads, out_heads", [(2, 1), (4, 3)])
def test_gat_equals_gatconv_stack(heads, out_heads):
    tg = pytest.importorskip("torch_geometric.nn")
    nodes, dims = 12, [5, 8, 3]
    ei = random_graph(nodes, 20, seed=4)
    torch.manual_seed(0)
    model = GAT(dims, heads=heads, out_heads=out_heads).to(D64)
    attach_graph(model, ei, nodes)
    convs = [
        tg.GATConv(5, 8 // heads, heads=heads).to(D64),
        tg.GATConv(8, 3, heads=out_heads, concat=False).to(D64),
    ]
    for conv, layer in zip(convs, model.layers):
        head = layer.head
        with torch.no_grad():
            conv.bias.normal_()
            head.reconciliation.W.copy_(conv.lin.weight)
            head.att_src.copy_(conv.att_src[0])
            head.att_dst.copy_(conv.att_dst[0])
            head.bias.copy_(conv.bias)
    x = torch.randn(nodes, 5, dtype=D64)
    expected = convs[1](F.elu(convs[0](x, ei)), ei)
    torch.testing.assert_close(model.eval()(x), expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------ equivalence: transformer


def _copy_into_encoder(model: Transformer, encoder: torch.nn.TransformerEncoder, norm: str) -> None:
    """The weights of the model's blocks into an nn.TransformerEncoder (same numbers, classic layout)."""
    blocks = model.layers[1:-2]
    with torch.no_grad():
        for k, layer in enumerate(encoder.layers):
            attention, ff = blocks[2 * k], blocks[2 * k + 1]
            sa = attention.heads[0]
            layer.self_attn.in_proj_weight.copy_(torch.cat([sa.query.W, sa.key.W, sa.value.W]))
            layer.self_attn.in_proj_bias.copy_(torch.cat([sa.query.bias, sa.key.bias, sa.value.bias]))
            layer.self_attn.out_proj.weight.copy_(sa.output.W)
            layer.self_attn.out_proj.bias.copy_(sa.output.bias)
            layer.linear1.weight.copy_(ff.heads[0].reconciliation.W)
            layer.linear1.bias.copy_(ff.heads[0].bias)
            layer.linear2.weight.copy_(ff.heads[1].reconciliation.W)
            layer.linear2.bias.copy_(ff.heads[1].bias)
            key = "output_processing" if norm == "post" else "input_processing"
            for block, target in ((attention, layer.norm1), (ff, layer.norm2)):
                target.weight.copy_(getattr(block, key)[0].norm.weight)
                target.bias.copy_(getattr(block, key)[0].norm.bias)
        if norm == "pre":
            final = blocks[-1].output_processing[0].norm
            encoder.norm.weight.copy_(final.weight)
            encoder.norm.bias.copy_(final.bias)


@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_blocks_equal_transformer_encoder(norm, activation):
    L, d, H, ff, depth = 7, 8, 2, 12, 2
    torch.manual_seed(0)
    model = Transformer(
        length=L, width=d, heads=H, layers=depth, ff_dim=ff, classes=3, norm=norm, activation=activation
    )
    model = model.to(D64)
    for p in model.parameters():  # non-trivial norms and biases
        with torch.no_grad():
            p.add_(0.1 * torch.randn_like(p))
    layer = torch.nn.TransformerEncoderLayer(
        d, H, ff, dropout=0.0, activation=activation, batch_first=True, norm_first=norm == "pre", dtype=D64
    )
    final = torch.nn.LayerNorm(d, dtype=D64) if norm == "pre" else None
    encoder = torch.nn.TransformerEncoder(layer, depth, norm=final, enable_nested_tensor=False)
    _copy_into_encoder(model, encoder, norm)
    x = torch.randn(4, L * d, dtype=D64)
    embed, *blocks, pool, out = model.layers
    X = embed(x)
    got = X
    for block in blocks:
        got = block(got)
    expected = encoder(X.view(4, L, d))
    torch.testing.assert_close(got, expected.flatten(1), rtol=1e-12, atol=1e-12)
    # the whole model: embedding (W x_t + p_t), the encoder, the mean over tokens, the classifier
    e = embed.head
    X2 = x.view(4, L, d) @ e.reconciliation.W.T + e.reconciliation.bias + e.position
    logits = F.linear(encoder(X2).mean(1), out.head.reconciliation.W, out.head.reconciliation.bias)
    torch.testing.assert_close(model(x), logits, rtol=1e-12, atol=1e-12)


def test_transformer_attends_within_each_sample_only():
    torch.manual_seed(0)
    model = Transformer(length=5, width=8, heads=2, layers=2, classes=3, pool="cls").eval()
    x = torch.randn(6, 40)
    together = model(x)
    alone = torch.cat([model(x[i : i + 1]) for i in range(6)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)  # any batch size, no mixing of rows
    assert model(x[0]).shape == (3,)  # a single unbatched sample works too


def test_transformer_attention_is_scaled_dot_product():
    """One attention block against the explicit formula softmax(Q K^T / sqrt(d_head)) V W_o^T."""
    torch.manual_seed(0)
    L, d, H = 4, 6, 3
    model = Transformer(length=L, width=d, heads=H, layers=1, classes=2, causal=True).to(D64)
    block = model.layers[1]
    sa = block.heads[0]
    X = torch.randn(2, L, d, dtype=D64)
    q, k, v = (psi(X).view(2, L, H, d // H).transpose(1, 2) for psi in (sa.query, sa.key, sa.value))
    scores = q @ k.transpose(-1, -2) / (d // H) ** 0.5
    scores = scores.masked_fill(torch.ones(L, L, dtype=torch.bool).triu(1), -torch.inf)
    a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(2, L, d)
    norm = block.output_processing[0].norm
    expected = F.layer_norm(X + sa.output(a), (d,), norm.weight, norm.bias)
    torch.testing.assert_close(block(X.flatten(1)), expected.flatten(1), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------ argument errors


@pytest.mark.parametrize(
    "config, match",
    [
        ({"name": "cnn", "h": 4, "conv_channels": [2], "pool": 8}, r"^pool: pool=8 is larger than the 4 x 4 grid"),
        ({"name": "cnn", "h": 8, "kernel": 5}, r"^kernel: kernel=5 is larger than the 4 x 4 grid of convolution 1"),
        ({"name": "cnn", "h": 8, "conv_channels": []}, r"^conv_channels: .*at least one"),
        ({"name": "cnn", "h": 8, "conv_channels": [4, 0]}, r"^conv_channels\[1\]: "),
        ({"name": "cnn", "h": 8, "pool_metric": "avg"}, r"^pool_metric: "),
        ({"name": "cnn", "h": 8, "activation": "rleu"}, r"^activation: .*did you mean 'relu'"),
        ({"name": "resnet", "h": 8, "dropout": 1.5}, r"^dropout: "),
        ({"name": "rnn", "length": 4, "dims": [3, 2]}, r"^dims: .*at least three"),
        ({"name": "rnn", "length": 4, "dims": [3, 4, 2], "readout": "last"}, r"^readout: "),
        ({"name": "rnn", "length": 4, "dims": [3, 4, 2], "interdependence": "chian"}, r"did you mean 'chain'"),
        ({"name": "gcn", "dims": [4]}, r"^dims: "),
        ({"name": "gat", "dims": [4, 6, 2], "heads": 4}, r"^dims\[1\]: .*multiple of heads=4"),
        ({"name": "transformer", "length": 4, "width": 6, "heads": 4}, r"^heads: heads=4 must be a positive divisor"),
        ({"name": "transformer", "length": 4, "pool": "max"}, r"^pool: "),
        ({"name": "transformer", "length": 4, "norm": "mid"}, r"^norm: "),
    ],
)
def test_argument_errors_name_the_argument(config, match):
    with pytest.raises(rk.ConfigError, match=match):
        rk.build_model(config)


def test_graph_models_need_the_graph():
    model = GCN([4, 3])
    with pytest.raises(rk.ConfigError, match="attach_graph"):
        model(torch.randn(5, 4))
    baseline = GCN([4, 3], interdependence=None)  # the node-features-only baseline needs none
    assert baseline(torch.randn(5, 4)).shape == (5, 3)


# ------------------------------------------------------------------------------ learning (fixed seeds)


@pytest.mark.usefixtures("one_thread")
def test_cnn_learns_digits():
    data = load_digits(test_fraction=0.2, seed=0)
    torch.manual_seed(1)
    model = CNN(h=8, conv_channels=[16, 32], fc_dims=[64], classes=10)
    fit(model, data.x_train.float(), data.y_train, epochs=20, lr=1e-2, seed=1)
    assert accuracy(model, data.x_test.float(), data.y_test) >= 0.97


def bigram_task(n: int, seed: int, L: int = 10, V: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot token sequences; label: token 1 is immediately followed by token 2 somewhere (order matters)."""
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, V, (n, L), generator=gen)
    y = ((tokens[:, :-1] == 1) & (tokens[:, 1:] == 2)).any(1).long()
    return F.one_hot(tokens, V).float().flatten(1), y


@pytest.mark.usefixtures("one_thread")
def test_rnn_beats_a_bag_of_steps():
    x, y = bigram_task(3000, seed=0)
    xt, yt = bigram_task(1000, seed=1)
    results = {}
    for label, xi in (("rnn", "chain"), ("bag", None)):
        torch.manual_seed(0)
        model = RNN(length=10, dims=[4, 16, 16, 2], interdependence=xi)
        results[label] = accuracy(fit(model, x, y, epochs=8, lr=1e-2), xt, yt)
    assert results["rnn"] >= 0.97
    assert results["bag"] <= 0.75  # a bag of steps sees the token counts only


@pytest.mark.usefixtures("one_thread")
def test_regression_rnn_fits_a_linear_recurrence():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 8, generator=gen)
    weights = 0.6 ** torch.arange(7, -1, -1.0)  # y = sum_t 0.6^(L-1-t) x_t, a decaying memory
    y = (x @ weights).unsqueeze(-1)
    torch.manual_seed(0)
    model = RegressionRNN(length=8, dims=[1, 8, 1], activation=None)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3 * y.var().item()


def fit_nodes(model, x, y, train_mask, test_mask, epochs: int = 100, lr: float = 1e-2) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=5e-4)
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x)[train_mask], y[train_mask]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(-1) == y)[test_mask].double().mean().item()


@pytest.mark.usefixtures("one_thread")
def test_gcn_learns_a_stochastic_block_model_where_features_alone_fail():
    g = load_sbm(feature_noise=2.0, seed=0)  # 300 nodes, 3 blocks, noisy features, 20 labels per class
    results = {}
    for label, xi in (("gcn", "graph"), ("mlp", None)):
        torch.manual_seed(0)
        model = GCN([16, 16, 3], interdependence=xi)
        attach_graph(model, g.edge_index, g.num_nodes)
        results[label] = fit_nodes(model, g.x, g.y, g.train_mask, g.test_mask)
    assert results["gcn"] >= 0.85
    assert results["mlp"] <= results["gcn"] - 0.15


@pytest.mark.usefixtures("one_thread")
def test_gcn_on_zacharys_karate_club_with_four_labels():
    nx = pytest.importorskip("networkx")
    graph = nx.karate_club_graph()
    y = torch.tensor([int(graph.nodes[i]["club"] != "Mr. Hi") for i in graph.nodes])
    edges = torch.tensor(list(graph.edges)).T
    x = torch.eye(34)  # no features: the node's identity, as Kipf and Welling's demo
    train = torch.zeros(34, dtype=torch.bool)
    train[[0, 1, 32, 33]] = True  # the two leaders and one member of each club
    results = {}
    for label, xi in (("gcn", "graph"), ("mlp", None)):
        torch.manual_seed(0)
        model = GCN([34, 16, 2], interdependence=xi)
        attach_graph(model, edges, 34)
        results[label] = fit_nodes(model, x, y, train, ~train)
    assert results["gcn"] >= 0.9
    assert results["mlp"] <= 0.6


def order_task(n: int, seed: int, L: int = 8, V: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """One token 0 and one token 1 among fillers 2..V-1; label: the 0 comes before the 1."""
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(2, V, (n, L), generator=gen)
    where = torch.rand(n, L, generator=gen).argsort(1)[:, :2]
    rows = torch.arange(n)
    tokens[rows, where[:, 0]] = 0
    tokens[rows, where[:, 1]] = 1
    return F.one_hot(tokens, V).float().flatten(1), (where[:, 0] < where[:, 1]).long()


@pytest.mark.usefixtures("one_thread")
def test_transformer_learns_a_task_that_needs_token_order():
    x, y = order_task(2000, seed=0)
    xt, yt = order_task(1000, seed=1)
    results = {}
    for positional in (True, False):
        torch.manual_seed(0)
        model = Transformer(
            length=8, width=32, heads=2, layers=1, ff_dim=64, classes=2, in_width=6, positional=positional
        )
        results[positional] = accuracy(fit(model, x, y, epochs=10, lr=3e-3), xt, yt)
    assert results[True] >= 0.95
    assert results[False] <= 0.6  # without positions, attention + mean pooling cannot see the order
