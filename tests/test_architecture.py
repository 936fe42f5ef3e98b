"""The package's shape: layers that import only downward, and no import cycle anywhere inside rpnkit."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("importlinter", reason="import-linter is a test extra (pip install -e '.[test]')")
grimp = pytest.importorskip("grimp")


def test_import_contracts_hold():
    """The contracts in pyproject.toml ([tool.importlinter]), exactly as `lint-imports` checks them."""
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (components with more than one module are import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_strongly_connected_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in _strongly_connected(graph) if len(c) > 1] == [{"a", "b", "c"}]


def test_no_import_cycle_between_any_two_modules():
    """Module level, function-level imports included: no module reaches itself through imports."""
    graph = grimp.build_graph("rpnkit", cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    cycles = [sorted(c) for c in _strongly_connected(edges) if len(c) > 1]
    assert cycles == []


def test_registry_imports_no_catalogue():
    """Discovery is the package's job: importing rpnkit imports the catalogues; the registry imports none."""
    graph = grimp.build_graph("rpnkit", cache_dir=None)
    imported = graph.find_modules_directly_imported_by("rpnkit.registry")
    assert all(not m.startswith(("rpnkit.expansion", "rpnkit.compression", "rpnkit.reconciliation")) for m in imported)
    assert imported <= {"rpnkit.errors", "rpnkit.validation"}


def test_architecture_doc_lists_the_contracted_layers():
    """docs/architecture.md's layer diagram is the import-linter contract, line for line."""
    import tomllib

    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("## Layers", 1)[1].split("**Discovery.**", 1)[0]
    documented = [line.strip() for line in block.splitlines() if line.startswith("    rpnkit")]
    assert documented == contract["layers"]
