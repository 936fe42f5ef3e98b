"""Issue 14, items 5-8: data paths beside the config, finite expansions at 1e30 (or a documented domain),
``train.threads``, ``Trainer(run_dir=...)`` never overwriting silently, and docs/experiments.md's outputs."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import rpnkit as rk
import rpnkit.train
from rpnkit.errors import ConfigError
from rpnkit.train import Trainer
from rpnkit.train.experiment import embedded_configs, evaluate_run, run
from rpnkit.train.threads import choose_threads, threads_for

from .cases import all_cases

ROOT = Path(__file__).resolve().parents[1]


def _csv_experiment(folder: Path, **train) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] > 0).astype(int)
    (folder / "data.csv").write_text("a,b,label\n" + "".join(f"{u:.4f},{v:.4f},{c}\n" for (u, v), c in zip(x, y)))
    exp = {
        "model": {"dims": ["auto", "auto"], "head": {"expansion": "identity"}},
        "data": {"name": "iris", "path": "data.csv"},
        "train": {"epochs": 1, **train},
        "output": {"plots": False},
    }
    (folder / "exp.yaml").write_text(yaml.safe_dump(exp))
    return folder / "exp.yaml"


# ------------------------------------------------------------------------------------------ 5. paths


def test_a_config_names_a_csv_beside_it_and_the_run_evaluates_from_anywhere(tmp_path, monkeypatch):
    config = _csv_experiment(tmp_path / "exp")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run(str(config), out=str(tmp_path / "run"), quiet=True)
    stored = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["path"]
    assert Path(stored).is_absolute() and Path(stored) == (tmp_path / "exp" / "data.csv").resolve()
    monkeypatch.chdir(tmp_path.anchor)
    assert set(evaluate_run(tmp_path / "run")) >= {"loss", "accuracy"}
    run(resume=tmp_path / "run", overrides=["train.epochs=2"], quiet=True)


def test_dict_and_override_paths_are_the_working_directorys(tmp_path, monkeypatch):
    config = _csv_experiment(tmp_path)
    monkeypatch.chdir(tmp_path)
    raw = yaml.safe_load(config.read_text())
    run(raw, out="run1", quiet=True)
    assert yaml.safe_load(Path("run1/config.yaml").read_text())["data"]["path"] == str(tmp_path / "data.csv")
    (tmp_path / "sub").mkdir()
    config.rename(tmp_path / "sub" / "exp.yaml")
    run("sub/exp.yaml", overrides=["data.path=data.csv"], out="run2", quiet=True)
    assert yaml.safe_load(Path("run2/config.yaml").read_text())["data"]["path"] == str(tmp_path / "data.csv")


def test_an_old_run_with_a_working_directory_path_still_loads_with_a_warning(tmp_path, monkeypatch):
    config = _csv_experiment(tmp_path)
    monkeypatch.chdir(tmp_path)
    run(str(config), out="run", quiet=True)
    cfg = yaml.safe_load(Path("run/config.yaml").read_text())
    cfg["data"]["path"] = "data.csv"  # relative to the working directory, as older runs stored it
    Path("run/config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.warns(UserWarning, match="working directory"):
        evaluate_run("run")


# ------------------------------------------------------------------------------------------ 6. numbers

EXPANSIONS = [c for c in all_cases() if c.kind == "expansion" and not c.needs_fit]


def _declares_domain(module: torch.nn.Module) -> bool:
    return any(getattr(m, "finite_domain", None) for m in module.modules())


@pytest.mark.parametrize("case", EXPANSIONS, ids=lambda c: c.label())
def test_every_expansion_at_1e30_is_finite_or_warns_of_its_documented_domain(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = rk.build(case.kind, case.spec, **case.dims).eval()
    x = case.make_input(dtype=torch.float32)
    for value in (1e30, -1e30):
        fresh = rk.build(case.kind, case.spec, **case.dims).eval() if _declares_domain(module) else module
        with warnings.catch_warnings(record=True) as caught, torch.no_grad():
            warnings.simplefilter("always")
            out = fresh(torch.full_like(x, value))
        if torch.isfinite(out).all():
            continue
        assert _declares_domain(fresh), f"{case.label()}: inf/NaN at {value} without a documented finite domain"
        assert any(issubclass(w.category, RuntimeWarning) and "finite domain" in str(w.message) for w in caught), (
            f"{case.label()}: inf/NaN at {value} without a warning"
        )


def test_ricker_and_cauchy_are_finite_by_construction():
    from rpnkit.functional.probabilistic import cauchy_log_pdf
    from rpnkit.functional.wavelet import ricker

    x = torch.tensor([0.0, 1e7, 1e30, -1e30, float("nan")], requires_grad=True)
    r = ricker(x, 1.0)
    assert r[2] == 0 and r[3] == 0 and r[4].isnan()
    c = cauchy_log_pdf(x)
    expected = [-np.log(np.pi), -np.log(np.pi) - np.log1p(1e14), -np.log(np.pi) - 2 * np.log(1e30)]
    np.testing.assert_allclose(c[:3].detach().numpy(), expected, rtol=1e-6)
    (r[:4].sum() + c[:4].sum()).backward()
    assert torch.isfinite(x.grad[:4]).all()


def test_the_domain_warning_stays_quiet_in_range():
    module = rk.build("expansion", {"name": "chebyshev", "degree": 3}, m=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module(torch.randn(4, 2))
        module(torch.tensor([[float("nan"), 1.0]]))  # a non-finite input is the caller's, not the family's


# ------------------------------------------------------------------------------------------ 7. threads


def test_threads_auto_picks_one_for_small_models_and_an_int_is_taken():
    model = rk.RPN([4, 3], head={"expansion": "taylor"})
    assert choose_threads("auto", model, 64) == 1
    assert choose_threads(3, model, 64) == 3
    assert choose_threads("auto", model, 64, "cuda") is None
    for bad in (0, -1, "many", True, 1.5):
        with pytest.raises(ConfigError, match="train.threads"):
            rk.train.resolve({"model": {"dims": [4, 3]}, "data": {"name": "iris"}, "train": {"threads": bad}})


def test_a_run_applies_its_thread_count_and_restores_it(tmp_path, monkeypatch):
    config = _csv_experiment(tmp_path, threads=2)
    seen = []
    before = torch.get_num_threads()
    with threads_for(3):
        run(
            str(config),
            out=str(tmp_path / "run"),
            quiet=True,
            callbacks=[lambda t, e, r: seen.append(torch.get_num_threads())],
        )
        assert torch.get_num_threads() == 3
    assert seen == [2] and torch.get_num_threads() == before


# ------------------------------------------------------------------------------------------ 8. docs, run_dir


def test_trainer_never_overwrites_a_run_silently(tmp_path):
    from rpnkit.data import load

    data = load("iris", val_fraction=0.2)

    def trainer(**kw):
        return Trainer(rk.RPN([4, 3], head={"expansion": "taylor"}), epochs=1, run_dir=tmp_path / "r", quiet=True, **kw)

    trainer().fit(data)
    with pytest.raises(ConfigError, match="already holds a run"):
        trainer().fit(data)
    trainer(overwrite=True).fit(data)
    trainer().fit(data, resume=True)


def _doc_blocks(command: str) -> list[tuple[str, str]]:
    """(argument, printed output) of every indented ``$ rpnkit COMMAND ARG`` block of docs/experiments.md."""
    text = (ROOT / "docs" / "experiments.md").read_text()
    out = []
    for m in re.finditer(rf"^    \$ rpnkit {command} (\S+)\n((?:    .*\n|\n)+?)(?=\S|\Z)", text, re.M):
        arg, body = m.group(1), m.group(2)
        out.append((arg, "\n".join(line[4:] for line in body.rstrip().splitlines())))
    return out


def test_experiments_md_summary_output_is_what_the_tool_prints(capsys):
    from rpnkit import cli

    blocks = [(arg, body) for arg, body in _doc_blocks("summary") if arg in embedded_configs()]
    assert blocks, "docs/experiments.md shows no `rpnkit summary <example>` output"
    for arg, body in blocks:
        assert cli.main(["summary", arg]) == 0
        printed = capsys.readouterr().out.rstrip()
        assert printed == body, f"docs/experiments.md's `rpnkit summary {arg}` differs from the tool"
