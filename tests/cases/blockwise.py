"""Cases of the blockwise Kronecker reconciliations (built alone: D is one dense block)."""

from . import Case

CASES = [
    Case("reconciliation", {"name": "blockwise_hm", "p": 2}, {"n": 4, "D": 6}),
    Case("reconciliation", {"name": "blockwise_lphm", "p": 3, "rank": 2}, {"n": 6, "D": 8}),
    Case("reconciliation", {"name": "blockwise_dual_lphm", "rank": 2, "bias": True}, {"n": 4, "D": 9}),
]

CASES.append(Case("reconciliation", {"name": "shared_kernel", "positions": 3}, {"n": 6, "D": 9}))
