"""The documentation site builds with `mkdocs build --strict` (a broken link or reference fails), and the
pages generated from the code cover every registry kind; the Python sessions in docs/*.md run as doctests
(pytest's --doctest-glob in pyproject.toml)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
    pytest.importorskip("material", reason="mkdocs-material is not installed (the docs extra)")
    pytest.importorskip("mkdocstrings_handlers.python", reason="mkdocstrings-python is not installed (the docs extra)")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg", "RPNKIT_DISABLE_PLUGINS": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    expansions = (site / "components" / "expansion" / "index.html").read_text()
    assert "taylor" in expansions and "chebyshev_expansion" in expansions
    assert (site / "components" / "img" / "bspline.png").stat().st_size > 1000
    assert "rpnkit train" in (site / "cli" / "index.html").read_text()
    reference = (site / "reference" / "index.html").read_text()
    assert "rpnkit.registry.register" in reference and "rpnkit.train.loggers.TensorBoardLogger" in reference


def test_every_docs_page_is_in_the_navigation():
    yaml = pytest.importorskip("yaml")

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)

    def pages(nav):
        for item in nav:
            if isinstance(item, str):
                yield item
            else:
                for value in item.values():
                    yield from pages(value) if isinstance(value, list) else [value]

    listed = set(pages(config["nav"]))
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk <= listed, sorted(on_disk - listed)
