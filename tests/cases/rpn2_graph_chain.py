"""Cases of the RPN 2 graph, graph-bilinear and chain heads (kind "head").

The generic checks take a head's output width to be m and feed (…, 4, m) batches, so every case keeps
n == m, and the graph cases hold a fixed 4-node graph (one node per row).
"""

import rpnkit.nn.chain  # noqa: F401  (registers the heads until rpnkit.nn imports them)
import rpnkit.nn.graph  # noqa: F401

from . import Case

EDGES = [[0, 1], [1, 2], [2, 3], [3, 1]]

CASES = [
    Case("head", {"name": "graph", "instance_interdependence": {"adjacency": EDGES}}, {"m": 3, "n": 3}),
    Case(
        "head",
        {
            "name": "graph",
            "instance_interdependence": {"name": "multihop_graph", "adjacency": EDGES, "hops": 2, "cumulative": True},
            "expansion": {"name": "taylor", "degree": 2},
            "reconciliation": {"name": "lowrank", "rank": 2},
            "remainder": "linear",
            "output_processing": "tanh",
        },
        {"m": 3, "n": 3},
        id="head/graph+multihop+taylor+lowrank",
    ),  # fmt: skip
    Case(
        "head",
        {"name": "graph", "instance_interdependence": {"name": "pagerank", "adjacency": EDGES, "num_nodes": 4}},
        {"m": 2, "n": 2},
        id="head/graph+pagerank",
    ),
    Case(
        "head",
        {"name": "graph_bilinear", "heads": 2, "instance_interdependence": {"adjacency": EDGES}},
        {"m": 4, "n": 4},
    ),
    Case(
        "head",
        {
            "name": "graph_bilinear",
            "heads": 2,
            "concat": False,
            "scores": "bilinear",
            "instance_interdependence": {"adjacency": EDGES, "directed": True},
            "key": {"name": "lowrank", "rank": 1},
            "remainder": "identity",
        },
        {"m": 3, "n": 3},
        id="head/graph_bilinear+bilinear-mean",
    ),  # fmt: skip
    Case("head", {"name": "chain", "length": 3}, {"m": 6, "n": 6}),
    Case(
        "head",
        {
            "name": "chain",
            "length": 2,
            "interdependence": {"name": "inverse_approx_multihop_chain", "alpha": 0.5, "bidirectional": True},
            "expansion": {"name": "taylor", "degree": 2},
            "bias": True,
            "remainder": "linear",
            "input_processing": "layer_norm",
        },
        {"m": 4, "n": 4},
        id="head/chain+inverse+taylor",
    ),  # fmt: skip
    Case(
        "head",
        {"name": "chain", "kind": "instance", "interdependence": {"name": "multihop_chain", "hops": 2}},
        {"m": 3, "n": 3},
        id="head/chain+instance",
    ),
]
