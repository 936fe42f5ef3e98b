"""Generic checks over every case of the component table (tests/cases)."""

from __future__ import annotations

import pytest
import torch

import rpnkit as rk
from rpnkit import registry

from .cases import Case, all_cases

CASES = all_cases()
KINDS = ["expansion", "compression", "reconciliation", "remainder", "fusion", "interdependence", "processing"]


def build(case: Case, dtype=torch.float64) -> torch.nn.Module:
    module = rk.build(case.kind, case.spec, **case.dims).to(dtype)
    if case.needs_fit is not None:
        case.needs_fit(module, case.make_input(dtype=dtype, seed=7))
    return module


def run(module, case: Case, x):
    if case.kind == "fusion":
        return module(x)
    return module(x)


def output_width(module, case: Case) -> int:
    if case.kind in ("expansion", "compression"):
        return module.D
    if case.kind in ("reconciliation", "remainder", "fusion", "head"):
        return module.n
    if case.kind == "interdependence":
        return module.m_out
    return case.dims["m"]


@pytest.mark.parametrize("case", CASES, ids=Case.label)
def test_shape_with_batch_prefixes(case: Case):
    module = build(case).eval()
    for lead in [(), (2,)] if case.prefix else [()]:
        x = case.make_input(lead)
        y = run(module, case, x)
        rows = case.batch
        if case.kind == "interdependence" and module.kind == "instance":
            rows = module.b_out or case.batch
        assert y.shape == (*lead, rows, output_width(module, case))
        assert torch.isfinite(y).all()


@pytest.mark.parametrize("case", [c for c in CASES if c.gradcheck], ids=Case.label)
def test_gradcheck_float64(case: Case):
    module = build(case).eval()
    x = case.make_input()
    if isinstance(x, list):
        inputs = tuple(t.requires_grad_() for t in x)
        assert torch.autograd.gradcheck(lambda *xs: module(list(xs)), inputs)
    else:
        assert torch.autograd.gradcheck(module, (x.requires_grad_(),))


@pytest.mark.parametrize("case", [c for c in CASES if c.grad_params], ids=Case.label)
def test_every_parameter_gets_a_gradient(case: Case):
    module = build(case, torch.float32).train()
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not params:
        pytest.skip("no learnable parameters")
    x = case.make_input(dtype=torch.float32)
    y = run(module, case, x)
    (y * torch.randn_like(y)).sum().backward()
    for name, p in params:
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name} got no gradient"


@pytest.mark.parametrize("case", CASES, ids=Case.label)
def test_config_round_trip_gives_identical_output(case: Case):
    module = build(case).eval()
    config = module.to_config()
    rebuilt = rk.build(case.kind, config, **case.dims).to(torch.float64)
    assert rebuilt.to_config() == config
    rebuilt.load_state_dict(module.state_dict())
    rebuilt.eval()
    x = case.make_input(seed=3)
    assert torch.equal(run(module, case, x), run(rebuilt, case, x))


@pytest.mark.parametrize("case", CASES, ids=Case.label)
def test_dtype_is_kept(case: Case):
    for dtype in (torch.float32, torch.float64):
        module = build(case, dtype).eval()
        y = run(module, case, case.make_input(dtype=dtype))
        assert y.dtype == dtype


@pytest.mark.parametrize("case", [c for c in CASES if c.kind in ("expansion", "compression")], ids=Case.label)
def test_wrong_input_width_is_a_clear_error(case: Case):
    module = build(case)
    m = case.dims["m"]
    with pytest.raises(rk.ShapeError, match=rf"{case.kind} .*expected input of shape \(\.\.\., m={m}\), got"):
        module(torch.zeros(2, m + 1, dtype=torch.float64))


@pytest.mark.parametrize("kind", KINDS)
def test_every_registered_component_has_a_case(kind: str):
    covered = {c.name for c in CASES if c.kind == kind}
    covered |= {registry.get_class(kind, c.name).registry_name for c in CASES if c.kind == kind}
    missing = [name for name in registry.names(kind) if name not in covered]
    assert not missing, f"registered {kind}s without a case in tests/cases: {missing}"


def _non_contiguous(x):
    if isinstance(x, list):
        return [_non_contiguous(t) for t in x]
    wide = torch.stack([x, torch.zeros_like(x)], dim=-1).flatten(-2)
    out = wide[..., ::2]  # the same values with stride 2 in the feature dimension
    assert not out.is_contiguous()
    return out


@pytest.mark.parametrize("case", CASES, ids=Case.label)
def test_non_contiguous_input_gives_the_same_output(case: Case):
    module = build(case).eval()
    x = case.make_input(seed=5)
    torch.testing.assert_close(run(module, case, _non_contiguous(x)), run(module, case, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=Case.label)
def test_pickle_round_trip(case: Case):
    import pickle

    module = build(case).eval()
    clone = pickle.loads(pickle.dumps(module))
    x = case.make_input(seed=6)
    assert torch.equal(run(module, case, x), run(clone, case, x))


@pytest.mark.parametrize("case", CASES, ids=Case.label)
def test_forward_follows_the_input_device(case: Case):
    """On the meta device every tensor must come from the input or the module: no CPU constants,
    no host round trips, no .item() in forward."""
    module = build(case, torch.float32).to("meta").eval()
    x = case.make_input(dtype=torch.float32)
    x = [t.to("meta") for t in x] if isinstance(x, list) else x.to("meta")
    assert run(module, case, x).device.type == "meta"
