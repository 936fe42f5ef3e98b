"""RPN 2 from a config file alone: a GCN-like RPN on the generated SBM graph, the graph coming from the data."""

import pytest

from rpnkit.train import evaluate_run, run


def _experiment(graph: bool, out) -> dict:
    head = {"name": "graph", "output_processing": None}
    if not graph:
        head["instance_interdependence"] = None
    return {
        "name": "sbm-gcn" if graph else "sbm-features",
        "model": {"dims": ["auto", 16, "auto"], "head": head},
        "data": {"name": "sbm", "num_nodes": 300, "feature_noise": 2.0, "seed": 0},
        "train": {"epochs": 60, "optimizer": {"name": "adam", "lr": 0.02}, "seed": 0},
        "metrics": ["accuracy"],
        "output": {"dir": str(out), "plots": False},
    }


def test_graph_rpn_from_yaml_uses_the_datasets_graph(tmp_path):
    with_graph = run(_experiment(True, tmp_path / "g"), quiet=True)
    features_only = run(_experiment(False, tmp_path / "f"), quiet=True)
    acc_graph = with_graph.test["accuracy"]
    acc_features = features_only.test["accuracy"]
    assert acc_graph >= 0.85
    assert acc_graph - acc_features >= 0.15
    # the run directory reloads with its graph and evaluates to the same number
    again = evaluate_run(with_graph.run_dir)
    assert again["accuracy"] == pytest.approx(acc_graph)
