"""Property-based fuzzing (issue 14): random and mutated model configs, damaged checkpoints, hostile inputs.

Bounded: a few dozen examples each, no deadline, a few seconds per test.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import rpnkit as rk  # noqa: E402
from rpnkit.errors import ConfigError  # noqa: E402

from .cases import all_cases  # noqa: E402

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

EXPANSIONS = ["identity", "taylor", "bspline", "chebyshev", "fourier", "gaussian_rbf", "ricker_wavelet", "tayler"]
RECONCILIATIONS = ["identity", "lowrank", "lphm", "dual_lphm", "hm", "random_matrix_adaption", "constant", "lowrnk"]
REMAINDERS = ["zero", "linear", "identity", "skip", "nonlinear", None]
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(-2, 5), max_size=3),
    st.dictionaries(st.sampled_from(["name", "degree", "x"]), st.integers(-1, 3), max_size=2),
)


@st.composite
def model_configs(draw):
    """A plausible model config, then zero to three mutations (wrong types, missing keys, extremes, unknown names)."""
    dims = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    expansion = {"name": draw(st.sampled_from(EXPANSIONS))}
    if expansion["name"] in ("taylor", "chebyshev"):
        expansion["degree"] = draw(st.integers(1, 3))
    reconciliation = {"name": draw(st.sampled_from(RECONCILIATIONS))}
    if reconciliation["name"] in ("lowrank", "lphm", "dual_lphm", "random_matrix_adaption"):
        reconciliation["rank"] = draw(st.integers(1, 3))
    head = {"expansion": expansion, "reconciliation": reconciliation}
    remainder = draw(st.sampled_from(REMAINDERS))
    if remainder is not None:
        head["remainder"] = remainder
    config = {"dims": dims, "head": head}
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from([config, head, expansion, reconciliation]))
        kind = draw(st.sampled_from(["set", "delete", "extreme"]))
        key = draw(st.sampled_from(sorted(target) + ["degree", "rank", "width", "channels", "bogus"]))
        if kind == "delete":
            target.pop(key, None)
        elif kind == "extreme":
            target[key] = draw(st.sampled_from([0, -1, 10**9, 10**30, 2.5, math.nan, math.inf, "", [], {}]))
        else:
            target[key] = draw(WEIRD)
    return config


@FUZZ
@given(model_configs())
def test_random_configs_build_a_working_model_or_raise_config_error(config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = rk.build_model(config, max_bytes="64MiB")
        except ConfigError:
            return
    x = torch.randn(3, model.m)
    assert model(x).shape == (3, model.n)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz") / "model"
    model = rk.RPN([3, 4, 2], head={"expansion": "taylor", "reconciliation": {"name": "lowrank", "rank": 2}})
    rk.save(model, folder)
    return {name: (folder / name).read_bytes() for name in ("config.yaml", "model.safetensors")}


@FUZZ
@given(
    st.sampled_from(["config.yaml", "model.safetensors"]),
    st.sampled_from(["flip", "truncate", "insert"]),
    st.floats(0, 1),
    st.integers(0, 255),
)
def test_damaged_checkpoints_load_or_raise_rpnkit_errors(tmp_path_factory, saved, name, how, where, byte):
    folder = tmp_path_factory.mktemp("damaged")
    for file, data in saved.items():
        if file == name:
            i = min(int(where * len(data)), len(data) - 1)
            if how == "flip":
                data = data[:i] + bytes([data[i] ^ (byte or 1)]) + data[i + 1 :]
            elif how == "truncate":
                data = data[:i]
            else:
                data = data[:i] + bytes([byte]) + data[i:]
        (folder / file).write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = rk.load(folder)
        except ConfigError:
            return
    assert model(torch.randn(2, model.m)).shape == (2, model.n)


ROWWISE = [
    c
    for c in all_cases()
    if c.kind == "expansion" and not c.needs_fit and isinstance(c.dims.get("m"), int) and c.prefix
]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    st.sampled_from(ROWWISE),
    st.sampled_from(["nan", "inf", "huge", "constant", "zero"]),
    st.integers(0, 3),
)
def test_a_hostile_row_never_changes_the_other_rows(case, damage, row):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = rk.build(case.kind, case.spec, **case.dims).eval()
    x = case.make_input(dtype=torch.float32)
    x = torch.cat([x, x])[:4]
    with torch.no_grad():
        clean = module(x)
        hostile = x.clone()
        hostile[row] = {"nan": math.nan, "inf": math.inf, "huge": 1e30, "constant": 0.5, "zero": 0.0}[damage]
        out = module(hostile)
    others = [i for i in range(4) if i != row]
    torch.testing.assert_close(out[others], clean[others], equal_nan=True)
    if damage == "nan":
        assert out[row].isnan().any(), f"{case.label()}: a NaN row became finite"
