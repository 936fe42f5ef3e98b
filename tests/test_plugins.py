"""Plugins: an installed package's entry point (group rpnkit.components) and local modules (--plugin, plugins:)."""

import os
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path

import pytest
import yaml

import rpnkit as rk
from rpnkit import plugins, registry
from rpnkit.cli import main
from rpnkit.errors import ConfigError
from rpnkit.train.experiment import run

PLUGIN = '''
"""A tiny third-party plugin: one expansion."""
import torch

import rpnkit as rk


@rk.register("expansion", "{name}", aliases=["{name}_expansion"])
class {cls}(rk.Expansion):
    """kappa(x) = [x, x^3]; D = 2m."""

    def __init__(self, m: int, scale: float = 1.0) -> None:
        self.D = 2 * m
        super().__init__(m)
        self.scale = scale

    def transform(self, x):
        return torch.cat([x, self.scale * x**3], dim=-1)
'''

EXPERIMENT = """
name: plugin-run
{plugins}
model:
  dims: [2, 1]
  head: {{expansion: {{name: {name}, scale: 0.5}}, remainder: linear}}
data: {{name: composite, equation: C.13, num: 200, test_fraction: 0.5, seed: 0}}
train: {{epochs: 2, batch_size: 50, device: cpu}}
metrics: [mse]
output: {{plots: false}}
"""


def _forget(*modules: str) -> None:
    """Undo what the plugins registered, so the other tests see rpnkit's own registry."""
    for (kind, name), package in list(plugins._ORIGINS.items()):
        if any(m in package for m in modules):
            if name in registry.names(kind):
                registry.unregister(kind, name)
            plugins._ORIGINS.pop((kind, name))
    for key in [k for k in plugins._LOADED if any(m in k for m in modules)]:
        plugins._LOADED.discard(key)
    for module in modules:
        sys.modules.pop(module, None)
    plugins._FAILURES.clear()


def _install(root: Path, module: str, name: str, cls: str = "Cube", entry: str | None = None) -> None:
    """A package ``module`` with a dist-info whose entry point (group rpnkit.components) is ``entry``."""
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text(PLUGIN.format(name=name, cls=cls))
    dist = root / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{plugins.GROUP}]\ndemo = {entry or module}\n")


@pytest.fixture
def installed(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    _install(tmp_path / "site", "rpnkit_demo_plugin", "demo_cube")
    yield tmp_path
    _forget("rpnkit_demo_plugin", "rpnkit-demo-plugin")


def test_an_installed_entry_point_registers_its_components_and_a_yaml_run_names_them(installed, capsys):
    added = plugins.discover(strict=True)
    assert ("expansion", "demo_cube") in added
    assert plugins.origin("expansion", "demo_cube") == "rpnkit-demo-plugin"
    assert plugins.origin("expansion", "taylor") is None
    assert plugins.discover(strict=True) == []  # loaded once

    config = installed / "exp.yaml"
    config.write_text(EXPERIMENT.format(plugins="", name="demo_cube_expansion"))  # the alias works too
    result = run(str(config), out=str(installed / "run"), quiet=True)
    assert result.epochs_run == 2 and "mse" in result.test
    assert main(["evaluate", str(installed / "run"), "--no-tune-allocator"]) == 0

    capsys.readouterr()
    assert main(["components", "expansion"]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if x.strip().startswith("demo_cube "))
    assert "kappa(x) = [x, x^3]" in line and "[plugin: rpnkit-demo-plugin]" in line
    assert "[plugin:" not in next(x for x in lines if x.strip().startswith("taylor "))


def test_import_rpnkit_loads_installed_plugins(tmp_path):
    _install(tmp_path, "rpnkit_demo_plugin", "demo_cube")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    code = "import rpnkit; print(rpnkit.plugins.origin('expansion', 'demo_cube'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "rpnkit-demo-plugin"


def test_discovery_at_import_can_be_turned_off(installed, monkeypatch):
    monkeypatch.setenv(plugins.DISABLE_ENV, "1")
    plugins._discover_on_import()
    assert "demo_cube" not in registry.names("expansion")
    monkeypatch.setenv(plugins.DISABLE_ENV, "0")
    plugins._discover_on_import()
    assert "demo_cube" in registry.names("expansion")


def test_a_callable_entry_point_is_called(tmp_path, monkeypatch):
    root = tmp_path / "site"
    monkeypatch.syspath_prepend(str(root))
    _install(root, "rpnkit_call_plugin", "called_cube", entry="rpnkit_call_plugin.setup:register_all")
    # the package registers nothing on import; its function does
    (root / "rpnkit_call_plugin" / "setup.py").write_text(
        "def register_all():\n    import importlib\n    importlib.import_module('rpnkit_call_plugin.impl')\n"
    )
    (root / "rpnkit_call_plugin" / "impl.py").write_text(PLUGIN.format(name="called_cube", cls="Cube"))
    (root / "rpnkit_call_plugin" / "__init__.py").write_text("")
    try:
        assert plugins.discover(strict=True) == [("expansion", "called_cube")]
    finally:
        _forget("rpnkit_call_plugin", "rpnkit-call-plugin")
        sys.modules.pop("rpnkit_call_plugin.setup", None)
        sys.modules.pop("rpnkit_call_plugin.impl", None)


def test_a_plugin_that_takes_a_builtin_name_is_an_error_naming_both(tmp_path, monkeypatch):
    root = tmp_path / "site"
    monkeypatch.syspath_prepend(str(root))
    _install(root, "rpnkit_bad_plugin", "taylor", cls="MyTaylor")
    try:
        with pytest.raises(
            ConfigError,
            match=r"'taylor' is already registered to rpnkit\.expansion\..*Taylor.*"
            r"rpnkit_bad_plugin\.MyTaylor",
        ):
            plugins.discover(strict=True)
        assert registry.get_class("expansion", "taylor") is rk.expansion.Taylor
        # at import time a failure warns (rpnkit stays importable) and the CLI reports it as an error
        plugins._LOADED.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            plugins.discover()
        assert any(issubclass(w.category, plugins.PluginWarning) for w in caught)
        with pytest.raises(ConfigError, match="rpnkit-bad-plugin"):
            plugins.check()
        assert main(["components", "expansion"]) == 2
    finally:
        _forget("rpnkit_bad_plugin", "rpnkit-bad-plugin")


def test_local_modules_from_the_experiment_and_the_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "my_local_cubes.py").write_text(PLUGIN.format(name="local_cube", cls="LocalCube"))
    config = tmp_path / "cfg" / "exp.yaml"
    config.write_text(EXPERIMENT.format(plugins="plugins: [my_local_cubes]", name="local_cube"))
    monkeypatch.chdir(tmp_path)
    try:
        assert main(["train", str(config), "--out", "run1", "--quiet", "--no-tune-allocator"]) == 0
        assert "local_cube" in registry.names("expansion")
        assert plugins.origin("expansion", "local_cube") == "local module my_local_cubes"
        assert yaml.safe_load((tmp_path / "run1" / "config.yaml").read_text())["plugins"] == ["my_local_cubes"]
    finally:
        _forget("my_local_cubes")
    # --plugin: the module in the working directory, the experiment without a plugins list
    (tmp_path / "my_cli_cubes.py").write_text(PLUGIN.format(name="cli_cube", cls="CliCube"))
    config.write_text(EXPERIMENT.format(plugins="", name="cli_cube"))
    try:
        assert main(["train", str(config), "--out", "run2", "--quiet", "--plugin", "my_cli_cubes"]) == 0
        assert yaml.safe_load((tmp_path / "run2" / "config.yaml").read_text())["plugins"] == ["my_cli_cubes"]
        assert main(["components", "expansion", "--plugin", "my_cli_cubes"]) == 0
        assert "[plugin: local module my_cli_cubes]" in capsys.readouterr().out
    finally:
        _forget("my_cli_cubes")


def test_plugin_errors_name_the_config_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"plugins\[0\].*module name 'cubes'"):
        run({"plugins": ["cubes.py"], "model": {"dims": [2, 1]}, "data": {"name": "iris"}})
    with pytest.raises(ConfigError, match=r"plugins\[1\].*'no_such_plugin_module' not found"):
        plugins.load_modules(["json", "no_such_plugin_module"], [tmp_path])
    with pytest.raises(ConfigError, match=r"--plugin\[0\].*'a/b'"):
        run({"model": {"dims": [2, 1]}, "data": {"name": "iris"}}, plugins=["a/b"])
    # a spec still cannot name a dotted path
    with pytest.raises(ConfigError, match="unknown expansion 'json.loads'"):
        rk.build("expansion", "json.loads", m=2)
    assert metadata.entry_points(group=plugins.GROUP) is not None
