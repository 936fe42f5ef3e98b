"""`rpnkit summary`: per-layer sizes and every head's interdependences (xi), RPN 1 and RPN 2 heads."""

from __future__ import annotations

import pytest
import torch

from rpnkit import cli
from rpnkit.bench import CASES, render, run_case, selected_cases
from rpnkit.train import summary
from rpnkit.train.model_summary import format_summary


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _xis(info, layer=0, head=0):
    return info["layers"][layer]["heads"][head]["interdependences"]


def test_rpn_head_lists_its_attribute_and_instance_xi():
    info = summary(
        {
            "dims": [8, 16, 2],
            "width": 2,
            "head": {
                "expansion": "taylor",
                "attribute_interdependence": {"name": "lowrank_parameterized", "m_out": 6},
                "instance_interdependence": "cosine_similarity",
            },
        }
    )
    assert len(info["layers"][0]["heads"]) == 2
    attribute, instance = _xis(info, 0, 1)
    assert attribute["slot"] == "attribute_interdependence" and attribute["name"] == "lowrank_parameterized"
    assert attribute["kind"] == "attribute" and attribute["output"] == 6
    assert attribute["parameters"] == 28  # A = U V^T: (8 + 6) x rank 2
    assert instance["name"] == "cosine_similarity" and instance["kind"] == "instance"
    assert instance["output"] is None and instance["parameters"] == 0  # b' = the batch's rows
    assert info["layers"][0]["D"] == 6 + 36  # taylor of the m' = 6 mixed features
    text = format_summary(info)
    assert "interdependences (xi) per head:" in text
    assert "lowrank_parameterized  attribute" in text and "m'=6" in text and "b'=b" in text


def test_model_without_xi_says_none():
    text = format_summary(summary({"dims": [8, 16, 2], "head": {"expansion": "taylor"}}))
    assert text.splitlines()[-1] == "interdependences (xi): none"


def test_rpn2_grid_and_bilinear_heads_report_their_built_in_xi():
    grid = summary({"dims": [3072, 16384], "head": {"name": "grid", "in_channels": 3, "out_channels": 16, "h": 32}})
    (patches,) = _xis(grid)
    assert patches["name"] == "cuboid_patch" and patches["kind"] == "attribute"
    assert patches["output"] == grid["layers"][0]["D"] == 3 * 9 * 1024 and patches["parameters"] == 0
    assert grid["layers"][0]["parameters"] == 16 * 27 + 16
    pool_head = {"name": "grid_compression", "channels": 3, "h": 32, "cd_h": 2, "cd_w": 2}
    pool_head.update(p_h=0, p_h_prime=1, p_w=0, p_w_prime=1)
    pool = summary({"dims": [3072, 768], "head": pool_head})
    assert _xis(pool)[0]["output"] == 3 * 4 * 256  # 2x2 patches (p_h 0, p_h' 1) at stride 2
    att = summary({"dims": [512 * 64, 512 * 64], "head": {"name": "bilinear", "length": 512, "heads": 4}}, 8)
    (xi,) = _xis(att)
    assert xi["name"] == "bilinear" and xi["kind"] == "instance" and xi["output"] == 512
    assert xi["parameters"] == 2 * 64 * 64  # W_q and W_k
    assert att["layers"][0]["D"] is None and att["layers"][0]["parameters"] == 4 * 64 * 64
    assert att["activation_bytes"] == 8 * 4 * (2 * 512 * 64 + 4 * 512 * 64 + 4 * 512 + 512 * 64)
    assert " - " in format_summary(att).splitlines()[3]  # no D


def test_graph_head_with_data_adjacency_summarises_without_a_dataset():
    info = summary({"dims": [32, 16, 4], "head": {"name": "graph"}})
    for layer in (0, 1):
        (xi,) = _xis(info, layer)
        assert xi["name"] == "graph" and xi["kind"] == "instance" and xi["output"] is None
        assert "adjacency: data" in xi["note"]
    assert "b'=N" in format_summary(info)
    gat = summary({"dims": [8, 4], "head": {"name": "graph_bilinear", "heads": 2}})
    assert "mask the attention" in _xis(gat)[0]["note"]


def test_graph_experiment_gets_the_datasets_graph_and_chain_heads():
    exp = {
        "name": "sbm-gcn",
        "model": {"dims": ["auto", 16, "auto"], "head": {"name": "graph"}},
        "data": {"name": "sbm", "num_nodes": 300, "seed": 0},
    }
    info = summary(exp)
    (xi,) = _xis(info)
    assert xi["output"] == 300 and xi["buffers"] > 0 and "300 nodes" in xi["note"]
    assert info["batch_size"] == 300 and info["batch_note"] == "the whole graph"
    assert summary(exp, batch_size=7)["batch_size"] == 7
    edges = summary({"dims": [4, 2], "head": {"name": "graph", "instance_interdependence": {"adjacency": [[0, 1]]}}})
    assert _xis(edges)[0]["output"] == 2
    chain = summary({"dims": [24, 16], "head": {"name": "chain", "length": 8}})
    assert _xis(chain)[0] == {
        "slot": "interdependence",
        "name": "chain",
        "kind": "attribute",
        "output": 24,
        "parameters": 0,
        "buffers": 0,
        "note": "",
    }
    bag = summary({"dims": [24, 16], "head": {"name": "chain", "length": 8, "interdependence": None}})
    assert _xis(bag) == []


def test_cli_summary_of_a_graph_yaml(tmp_path, capsys):
    path = tmp_path / "gcn.yaml"
    path.write_text("dims: [32, 16, 4]\nhead: {name: graph, instance_interdependence: {adjacency: data}}\n")
    assert cli.main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "instance_interdependence  graph  instance" in out and "no graph attached" in out


# --- rpnkit bench: the RPN 2 cases ---------------------------------------------------------------------


def test_bench_selects_the_graph_size_per_mode():
    quick, _ = selected_cases(True)
    full, _ = selected_cases(False)
    assert "graph-20k/graph-head" in quick and not any(n.startswith("graph-100k") for n in quick)
    assert "graph-100k/csr-floor" in full and not any(n.startswith("graph-20k") for n in full)
    for names in (quick, full):
        assert {"rpn2-grid/grid-head", "rpn2-grid/conv2d", "rpn2-bilinear/bilinear-head"} <= set(names)
    only, _ = selected_cases(True, ["rpn2-grid/"])
    assert only == ["rpn2-grid/grid-head", "rpn2-grid/conv2d"]


def test_bench_skips_gcnconv_without_torch_geometric(monkeypatch):
    import rpnkit.bench as bench

    monkeypatch.setattr(bench, "_has_torch_geometric", lambda: False)
    names, notes = bench.selected_cases(True)
    assert not any("gcnconv" in n for n in names) and "graph-20k/csr-floor" in names
    assert any("torch_geometric" in note for note in notes)


def test_bench_rpn2_cases_run_and_render(monkeypatch):
    import rpnkit.bench as bench

    # the same shapes, small: a 200-node graph instead of 20,000
    monkeypatch.setitem(bench.GRAPHS, "20k", (200, 2000))
    names = ["rpn2-grid/grid-head", "rpn2-grid/conv2d", "graph-20k/graph-head", "graph-20k/csr-floor"]
    results = []
    for name in names:
        if name.startswith("graph"):
            group, builder, width, _ = CASES[name]
            monkeypatch.setitem(CASES, name, (group, builder, width, 200))
        results.append(run_case(name, 1))
    assert all(r["ms"] > 0 for r in results)
    assert results[0]["params"] == results[1]["params"] == 16 * 27 + 16
    assert results[2]["params"] == results[3]["params"] == 64 * 64 + 64
    text = render(results, None)
    assert "| grid head vs nn.Conv2d (32x32x3 -> 16, 3x3, batch 64) |" in text
    assert "graph head vs bare CSR A_hat X W" in text
