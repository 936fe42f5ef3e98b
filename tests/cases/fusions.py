"""Cases of the fusions added by the full catalogue (core.py holds the headline ones)."""

from . import Case

CASES = [
    Case("fusion", "min", {"dims": [3, 3]}),
    Case("fusion", "prod", {"dims": [3, 3, 3]}),
    Case("fusion", "median", {"dims": [3, 3, 3]}),
    Case("fusion", "median", {"dims": [3, 3, 3, 3]}, id="fusion/median-even"),
    Case("fusion", "l1_norm", {"dims": [3, 3]}, low=0.1, high=1.0),
    Case("fusion", "l2_norm", {"dims": [3, 3]}),
    Case("fusion", {"name": "metric", "metric": "max"}, {"dims": [2, 2, 2]}),
    Case("fusion", {"name": "metric", "metric": "l2_norm"}, {"dims": [2]}, id="fusion/metric-l2_norm-single"),
    Case("fusion", {"name": "weighted", "weights": [0.5, -2.0, 1.0]}, {"dims": [3, 3, 3]}),
    Case("fusion", "weighted", {"dims": [2, 2]}, id="fusion/weighted-default"),
    Case("fusion", "parameterized_weighted", {"dims": [3, 3, 3]}),
    Case("fusion", {"name": "lowrank_parameterized_concatenation", "rank": 2}, {"dims": [3, 3]}),
    Case("fusion", {"name": "hm_parameterized_concatenation", "n": 4, "p": 2, "q": 3}, {"dims": [2, 4]}),
    Case("fusion", {"name": "lphm_parameterized_concatenation", "rank": 2, "p": 2, "q": 2}, {"dims": [4, 4]}),
    Case("fusion", {"name": "dual_lphm_parameterized_concatenation", "rank": 2, "p": 2, "q": 4}, {"dims": [4, 4]}),
    Case("fusion", {"name": "random_matrix_adaption_parameterized_concatenation", "rank": 3}, {"dims": [3, 3]}),
]
