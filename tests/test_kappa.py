"""kappa shared by expansions and compressions: names that round-trip, one composite, one patch geometry."""

from __future__ import annotations

import math

import pytest
import torch

import rpnkit as rk
from rpnkit.functional import geometric as G
from rpnkit.implicit import Block, bases_of, layout_of
from rpnkit.kappa import (
    KAPPA_KINDS,
    ExtendedComposite,
    NestedComposite,
    child_config,
    config_name,
    resolve_grid,
)

from .cases.compressions import CASES as COMPRESSION_CASES
from .cases.expansions import CASES as EXPANSION_CASES

DT = torch.float64
COMPRESSION_FIRST = ("compression", "expansion")
KAPPA_CASES = [c for c in EXPANSION_CASES + COMPRESSION_CASES if c.kind in ("expansion", "compression")]

# --- names -----------------------------------------------------------------------------------------

#: every name registered in both kinds, and the classes it has always resolved to: (head order, compression first)
SHARED_NAMES = {
    "identity": ("IdentityExpansion", "IdentityCompression"),
    "linear": ("Linear", "LinearCompression"),
    "reciprocal": ("Reciprocal", "ReciprocalCompression"),
    "combinatorial": ("Combinatorial", "CombinatorialCompression"),
    "nested": ("Nested", "NestedCompression"),
    "extended": ("Extended", "ExtendedCompression"),
}


def test_the_names_both_kinds_register_are_known_and_resolve_as_before():
    shared = set(rk.registry.names("expansion", aliases=True)) & set(rk.registry.names("compression", aliases=True))
    assert shared == set(SHARED_NAMES)
    for name, (head_order, compression_first) in SHARED_NAMES.items():
        assert rk.registry.get_class(KAPPA_KINDS, name).__name__ == head_order
        assert rk.registry.get_class(COMPRESSION_FIRST, name).__name__ == compression_first
        # the kind-suffixed aliases name one class whatever the order
        for kind, cls_name in (("expansion", head_order), ("compression", compression_first)):
            for kinds in (KAPPA_KINDS, COMPRESSION_FIRST):
                assert rk.registry.get_class(kinds, f"{name}_{kind}").__name__ == cls_name


def test_config_name_picks_the_first_name_that_resolves_to_the_class():
    compression, expansion = rk.compression, rk.expansion
    assert config_name(compression.IdentityCompression) == "identity_compression"
    assert config_name(compression.IdentityCompression, COMPRESSION_FIRST) == "identity"
    assert config_name(expansion.IdentityExpansion) == "identity"
    assert config_name(expansion.IdentityExpansion, COMPRESSION_FIRST) == "identity_expansion"
    assert config_name(compression.MaxCompression) == config_name(compression.MaxCompression, COMPRESSION_FIRST)
    # a name already written is kept when it resolves
    assert config_name(compression.IdentityCompression, COMPRESSION_FIRST, current="identity_compression") == (
        "identity_compression"
    )
    assert config_name(expansion.Taylor, current="taylor_expansion") == "taylor_expansion"


@pytest.mark.parametrize("case", KAPPA_CASES, ids=lambda c: c.label())
def test_every_kappa_config_rebuilds_its_class_under_both_lookup_orders(case):
    module = rk.build(case.kind, case.spec, **case.dims)
    config = module.to_config()
    # a head (expansions first)
    assert type(rk.build(KAPPA_KINDS, config, **case.dims)) is type(module)
    # a composite of either kind
    for composite in ("nested_expansion", "nested_compression"):
        outer = rk.build(KAPPA_KINDS, {"name": composite, "functions": [module]}, m=case.dims["m"])
        rebuilt = rk.build(KAPPA_KINDS, outer.to_config(), m=case.dims["m"])
        assert type(rebuilt) is type(outer) and type(rebuilt.functions[0]) is type(module)
        assert rebuilt.to_config() == outer.to_config()


def test_expansions_inside_a_composite_compression_keep_their_class():
    # "identity", "linear" and "nested" resolve to compressions inside a compression composite, so the
    # expansion children are written under their *_expansion names there
    children = [
        rk.build("expansion", "identity", m=3),
        rk.build("expansion", {"name": "linear", "c": 2.0, "post_C": [[0, 1, 0], [1, 0, 0], [0, 0, 1]]}, m=3),
        rk.build("expansion", {"name": "nested", "functions": ["identity", "reciprocal"]}, m=3),
    ]
    outer = rk.build("compression", {"name": "extended", "functions": children}, m=3)
    config = outer.to_config()
    assert [f["name"] for f in config["functions"]] == ["identity_expansion", "linear_expansion", "nested_expansion"]
    # the expansion composite's own children are written for its (expansion-first) order
    assert [f["name"] for f in config["functions"][2]["functions"]] == ["identity", "reciprocal"]
    rebuilt = rk.build("compression", config, m=3)
    assert [type(c) for c in rebuilt.functions] == [type(c) for c in children]
    assert [type(c) for c in rebuilt.functions[2].functions] == [
        rk.expansion.IdentityExpansion,
        rk.expansion.Reciprocal,
    ]
    x = torch.tensor([[0.5, -2.0, 0.0]])
    assert torch.equal(rebuilt(x), outer(x))


def test_child_config_renames_only_what_would_resolve_elsewhere():
    max_pool = rk.build("compression", "max", m=3)
    assert child_config(max_pool, COMPRESSION_FIRST) == {"name": "max"}
    identity = rk.build("compression", "identity", m=3)
    assert child_config(identity, KAPPA_KINDS) == {"name": "identity_compression"}
    assert child_config(identity, COMPRESSION_FIRST) == {"name": "identity_compression"}


# --- composites ----------------------------------------------------------------------------------------


def test_one_composite_implementation_serves_both_kinds():
    assert issubclass(rk.expansion.Nested, NestedComposite) and issubclass(
        rk.compression.NestedCompression, NestedComposite
    )
    assert issubclass(rk.expansion.Extended, ExtendedComposite)
    assert issubclass(rk.compression.ExtendedCompression, ExtendedComposite)
    assert isinstance(rk.build("expansion", {"name": "nested", "functions": ["identity"]}, m=2), rk.Expansion)
    assert isinstance(rk.build("compression", {"name": "nested", "functions": ["identity"]}, m=2), rk.Compression)


@pytest.mark.parametrize("kind", ["expansion", "compression"])
def test_composites_of_both_kinds_compute_the_same(kind):
    x = torch.randn(4, 3, dtype=DT)
    specs = [{"name": "taylor", "degree": 2}, "max_compression", "chebyshev_expansion"]
    nested = rk.build(kind, {"name": "nested", "functions": specs}, m=3).double()
    extended = rk.build(kind, {"name": "extended", "functions": specs}, m=3).double()
    taylor = rk.build("expansion", {"name": "taylor", "degree": 2}, m=3).double()
    cheb1 = rk.build("expansion", "chebyshev", m=1).double()
    cheb3 = rk.build("expansion", "chebyshev", m=3).double()
    biggest = taylor(x).amax(-1, keepdim=True)
    assert nested.D == 2 and torch.equal(nested(x), cheb1(biggest))
    assert extended.D == 12 + 1 + 6
    assert torch.equal(extended(x), torch.cat([taylor(x), x.amax(-1, keepdim=True), cheb3(x)], dim=-1))


@pytest.mark.parametrize("kind", ["expansion", "compression"])
def test_composites_of_both_kinds_take_one_spec_as_a_list_of_one_and_fit_their_children(kind):
    single = rk.build(kind, {"name": "nested", "functions": {"name": "linear_compression", "c": 2.0}}, m=3)
    assert single.to_config()["functions"] == [{"name": "linear_compression", "c": 2.0}]
    X = torch.randn(30, 4, dtype=DT)
    spec = {
        "name": "nested",
        "functions": [{"name": "linear_compression", "c": 3.0}, {"name": "incremental_pca", "k": 2}],
    }
    nested = rk.build(kind, spec, m=4).double().fit(X)
    reference = rk.build("compression", {"name": "incremental_pca", "k": 2}, m=4).double().fit(3.0 * X)
    torch.testing.assert_close(nested(X), reference(3.0 * X))


@pytest.mark.parametrize("kind", ["expansion", "compression"])
@pytest.mark.parametrize("functions", [None, [], 3])
def test_composite_errors_read_alike_in_both_kinds(kind, functions):
    spec = {"name": "extended"} if functions is None else {"name": "extended", "functions": functions}
    with pytest.raises(
        rk.ConfigError, match=r"functions: extended needs `functions`: the functions must be a non-empty"
    ):
        rk.build(kind, spec, m=3)


# --- the implicit layout of the expansions (the protocol of rpnkit.implicit) ---------------------------------


def test_layouts_of_taylor_identity_and_bspline():
    taylor = rk.build("expansion", {"name": "taylor", "degree": 3}, m=4)
    assert taylor.implicit_layout() == [
        Block(4, "power", 1, 0, 4),
        Block(16, "power", 2, 0, 4),
        Block(64, "power", 3, 0, 4),
    ]
    identity = rk.build("expansion", "identity", m=5)
    assert identity.implicit_layout() == [Block(5, "power", 1, 0, 5)]
    bspline = rk.build("expansion", {"name": "bspline", "t": 3, "d": 2}, m=2)
    assert bspline.implicit_layout() == [Block(10, "bspline", 0, 0, 2, bspline)]
    x = torch.randn(3, 4)
    for module in (taylor, bspline, identity):
        y = x[:, : module.m]
        assert len(module.implicit_bases(y)) == 1 and module.implicit_bases(y)[0] is y


def test_layouts_of_the_composite_expansions():
    extended = rk.build(
        "expansion", {"name": "extended", "functions": ["taylor", "gaussian_rbf", {"name": "bspline", "t": 2}]}, m=3
    )
    taylor, rbf, bspline = extended.functions
    assert extended.implicit_layout() == [
        Block(3, "power", 1, 0, 3),
        Block(9, "power", 2, 0, 3),
        Block(rbf.D, "dense", 0, 1, rbf.D),
        Block(bspline.D, "bspline", 0, 2, 3, bspline),
    ]
    x = torch.randn(2, 3)
    bases = extended.implicit_bases(x)
    assert len(bases) == 3 and bases[0] is x and bases[2] is x and torch.equal(bases[1], rbf(x))
    nested = rk.build("expansion", {"name": "nested", "functions": [{"name": "linear", "c": 2.0}, "taylor"]}, m=3)
    assert nested.implicit_layout() == [Block(3, "power", 1, 0, 3), Block(9, "power", 2, 0, 3)]
    assert torch.equal(bases_of(nested, x)[0], 2.0 * x)
    # post-processing of a child hides its layout; the composite then treats it as one dense block
    hidden = rk.build("expansion", {"name": "extended", "functions": [{"name": "taylor", "postprocess": "tanh"}]}, m=3)
    assert layout_of(hidden) == [Block(12, "dense", 0, 0, 12)]


def test_composite_compressions_keep_the_explicit_path():
    for name in ("nested", "extended"):
        kappa = rk.build("compression", {"name": name, "functions": [{"name": "taylor", "degree": 2}]}, m=3)
        assert layout_of(kappa) is None
        head = rk.Head(3, 2, expansion=kappa.to_config(), reconciliation="identity")
        assert not head.uses_implicit_path


# --- one patch geometry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "grid"),
    [
        ((24, 3, 4, 1), (3, 4, 1, 2)),  # channels inferred from h, w
        ((16, None, None, 1), (4, 4, 1, 1)),  # a square grid
        ((18, 3, None, 1, 2), (3, 3, 1, 2)),  # fixed channels, w inferred
        ((24, None, 2, 3), (4, 2, 3, 1)),
        ((40, 5, 4, 1, 2), (5, 4, 1, 2)),
    ],
)
def test_resolve_grid(args, grid):
    assert resolve_grid(*args) == grid


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((12, None, None, 1), r"cannot infer a square grid: m=12 .*; give h and w"),
        ((12, 5, 2, 1, 1), r"m = 12 must equal channels \* h \* w \* d = 1 \* 5 \* 2 \* 1"),
        ((12, 5, 5, 1), r"m=12 must be channels\*h\*w\*d, but h\*w\*d = 5\*5\*1 = 25 does not divide it"),
        ((12, 5, None, 1), r"m=12 is not a multiple of channels\*h\*d = 1\*5\*1 = 5"),
        ((12, None, 0, 1), r"w must be an int >= 1 or null, got 0"),
        ((12, 3, 4, 1, 0), r"channels must be an int >= 1 or null, got 0"),
    ],
)
def test_resolve_grid_errors(args, message):
    with pytest.raises(rk.ConfigError, match=message):
        resolve_grid(*args)


@pytest.mark.parametrize(
    ("expansion", "compression"),
    [
        (
            {"name": "cuboid_patch", "p_h": 1, "p_w": 2, "cd_h": 2, "cd_w": 1},
            {"name": "cuboid", "p_h": 1, "p_w": 2, "cd_h": 2, "cd_w": 1},
        ),
        (
            {"name": "cylinder_patch", "p_r": 1, "cd_h": 1, "cd_w": 3},
            {"name": "cylinder", "p_r": 1, "cd_h": 1, "cd_w": 3},
        ),
        (
            {"name": "sphere_patch", "p_r": 2, "d": 2, "cd_h": 2, "cd_w": 2},
            {"name": "sphere", "p_r": 2, "d": 2, "cd_h": 2, "cd_w": 2, "cd_d": 1},
        ),
    ],
    ids=["cuboid", "cylinder", "sphere"],
)
def test_patch_expansions_and_geometric_compressions_place_the_same_patches(expansion, compression):
    channels, h, w = 2, 5, 6
    d = expansion.get("d", 1)
    m = channels * h * w * d
    gather = rk.build("expansion", {**expansion, "h": h, "w": w, "channels": channels}, m=m).double()
    pool = rk.build("compression", {**compression, "h": h, "w": w, "metric": "max"}, m=m).double()
    for attribute in ("grid", "channels", "strides", "patch_size", "num_patches", "centres"):
        assert getattr(gather, attribute) == getattr(pool, attribute), attribute
    assert pool.num_patches == math.prod(pool.centres) == G.patch_count(pool.grid, pool.strides)
    # inputs > 0: the expansion's zero padding never wins a max, so pooling its patches is the compression
    x = torch.rand(3, m, dtype=DT) + 0.5
    patches = gather(x).reshape(3, channels, gather.patch_size, gather.num_patches)
    torch.testing.assert_close(patches.amax(dim=2).reshape(3, -1), pool(x), rtol=0, atol=0)


def test_patch_hyperparameters_read_alike_in_both_kinds():
    for name in ("cuboid_patch", "cuboid"):
        with pytest.raises(rk.ConfigError, match=r"p_w_prime must be an int >= 0, got -2"):
            rk.build(KAPPA_KINDS, {"name": name, "p_w_prime": -2}, m=16)
        with pytest.raises(rk.ConfigError, match=r"cd_d must be an int >= 1, got 0"):
            rk.build(KAPPA_KINDS, {"name": name, "cd_d": 0}, m=16)
    # p_w defaults to p_h in the compression; the expansion's default is 1 as before
    assert rk.build("compression", {"name": "cuboid", "p_h": 2}, m=36).patch_size == 25
    assert rk.build("expansion", {"name": "cuboid_patch", "p_h": 2}, m=36).patch_size == 15


def test_gather_index_is_the_patch_index():
    offsets = G.cylinder_offsets(1, 0, 1)
    cells, _, _ = G.patch_cells((4, 3, 2), offsets, (2, 1, 1))
    assert torch.equal(G.gather_index(cells, 3, 24), G.patch_index((4, 3, 2), 3, offsets, (2, 1, 1)))
