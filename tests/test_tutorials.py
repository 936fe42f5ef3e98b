"""The tutorials (docs/tutorials/*.md): their code blocks run as doctests (pyproject's --doctest-glob);
here, the figure script's code path on a tiny setting, and every picture a tutorial shows is committed."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "docs" / "tutorials"


def test_every_tutorial_picture_exists_and_the_script_makes_it(tmp_path):
    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("make_tutorial_figures", ROOT / "tools" / "make_tutorial_figures.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--tiny", "--out", str(tmp_path)]) == 0
    made = {p.name for p in tmp_path.glob("*.png")}
    shown = {m for page in TUTORIALS.glob("*.md") for m in re.findall(r"\]\(img/([\w.-]+\.png)\)", page.read_text())}
    assert shown and shown == made, (shown, made)
    for name in shown:
        assert (TUTORIALS / "img" / name).stat().st_size > 5000, name
        assert (tmp_path / name).stat().st_size > 5000, name
