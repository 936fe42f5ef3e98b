"""MkDocs hooks (mkdocs.yml `hooks:`): pages generated from the code at build time.

* `components/<kind>.md`: one page per registry kind: name, aliases, docstring summary and formula,
  arguments with their defaults, the plugin package when a plugin registered it, and for every
  expansion a plot of its basis functions on [-1, 1] (m = 1; PNGs drawn here with matplotlib);
* `cli.md`: every command's `--help`, from `rpnkit.cli.build_parser()`;
* `performance.md`: BENCHMARKS.md (its links rewritten for the site).
"""

from __future__ import annotations

import inspect
import io
import re
import textwrap
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]

#: Families with a page, in the order of the navigation; other kinds go on "other.md".
FAMILIES = {
    "expansion": "Expansions (kappa)",
    "compression": "Compressions (kappa)",
    "reconciliation": "Reconciliations (psi)",
    "remainder": "Remainders (pi)",
    "interdependence": "Interdependences (xi)",
    "fusion": "Fusions",
    "processing": "Processing modules",
    "head": "Heads",
    "layer": "Layers",
    "model": "Ready-made models",
}
MAX_CURVES = 12


def _doc_parts(cls: type) -> tuple[str, str]:
    """(summary line, the docstring's body up to its Args/Shape/Example sections)."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    if not doc:
        return "", ""
    summary, _, rest = doc.partition("\n")
    body = re.split(
        r"^\s*(Args|Arguments|Shape|Example|Examples|Attributes|Note|Raises|Returns):\s*$", rest, flags=re.M
    )
    return summary.strip(), body[0].strip()


def _arguments(cls: type) -> list[tuple[str, str]]:
    from rpnkit import registry

    out = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or name in registry.INJECTED or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        default = "required" if param.default is inspect.Parameter.empty else repr(param.default)
        out.append((name, default))
    return out


def _plot(module, name: str) -> bytes | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    x = torch.linspace(-1, 1, 201).unsqueeze(1)
    with torch.no_grad():
        y = module(x)
    if y.ndim != 2 or y.shape[0] != 201 or not torch.isfinite(y).all():
        return None
    fig, ax = plt.subplots(figsize=(4.2, 2.6), dpi=80)
    for j in range(min(y.shape[1], MAX_CURVES)):
        ax.plot(x[:, 0].numpy(), y[:, j].numpy(), lw=1.2)
    shown = f"first {MAX_CURVES} of {y.shape[1]}" if y.shape[1] > MAX_CURVES else f"all {y.shape[1]}"
    ax.set_title(f"{name}: {shown} basis functions (m = 1)", fontsize=9)
    ax.set_xlabel("x", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _component_page(kind: str, title: str, images: dict[str, bytes]) -> str:
    import torch

    from rpnkit import plugins, registry

    names = registry.names(kind)
    lines = [
        f"# {title}",
        "",
        f"The {len(names)} components registered under the kind `{kind}` (generated from the registry when the "
        f"site is built; `rpnkit components {kind}` prints the same list). A config names one by its name or an "
        "alias, with its arguments as keys: `{name: ..., argument: value}`. The parent injects the dimensions "
        "(`m`, `n`, `D`, `dims`), so they are not listed.",
        "",
    ]
    for name in names:
        cls = registry.get_class(kind, name)
        summary, body = _doc_parts(cls)
        lines += [f"## `{name}`", ""]
        meta = [f"class `{cls.__module__}.{cls.__qualname__}`"]
        aliases = registry.aliases_of(kind, name)
        if aliases:
            meta.append("aliases " + ", ".join(f"`{a}`" for a in aliases))
        package = plugins.origin(kind, name)
        if package:
            meta.append(f"plugin: {package}")
        lines += ["; ".join(meta), ""]
        if summary:
            lines += [summary.replace("<", "&lt;"), ""]
        if body:
            lines += ["```text", textwrap.dedent(body), "```", ""]
        args = _arguments(cls)
        if args:
            lines += ["| argument | default |", "|---|---|"]
            lines += [f"| `{a}` | `{d.replace('|', '&#124;')}` |" for a, d in args]
            lines.append("")
        if kind == "expansion":
            png = None
            for spec in ({"name": name, "degree": 4}, name):  # degree 4 where there is one: more curves
                try:
                    torch.manual_seed(0)
                    label = f"{name}, degree 4" if isinstance(spec, dict) else name
                    png = _plot(registry.build(kind, spec, m=1).eval(), label)
                    break
                except Exception:  # noqa: BLE001 - an expansion that needs more than m = 1 gets no plot
                    continue
            if png is not None:
                images[f"components/img/{name}.png"] = png
                lines += [f"![{name} basis functions on [-1, 1]](img/{name}.png)", ""]
    return "\n".join(lines) + "\n"


def _cli_page() -> str:
    from rpnkit.cli import build_parser

    parser = build_parser()
    lines = [
        "# Command line",
        "",
        "`rpnkit` (or `python -m rpnkit`) runs experiments; every command's `--help`, generated when the site is "
        "built. Configuration errors print one line naming the config path and exit with status 2. The "
        "experiment schema is on the [experiments page](experiments.md).",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        lines += [f"## `rpnkit {name}`", "", "```text", command.format_help().rstrip(), "```", ""]
    lines += [
        "`rpnkit bench` takes the benchmark suite's options (`rpnkit bench --help`); see "
        "[Performance](performance.md).",
        "",
    ]
    return "\n".join(lines)


def _performance_page() -> str:
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    text = text.replace("](docs/", "](").replace("](benchmarks/results/results.png)", "](img/benchmarks.png)")
    return text


def on_files(files: Files, config) -> Files:
    from rpnkit import registry

    images: dict[str, bytes] = {}
    for kind in [k for k in FAMILIES if k in registry.kinds()]:
        files.append(
            File.generated(config, f"components/{kind}.md", content=_component_page(kind, FAMILIES[kind], images))
        )
    others = [k for k in registry.kinds() if k not in FAMILIES]
    if others:
        raise RuntimeError(f"registry kinds without a docs page: {others}; add them to FAMILIES in {__file__}")
    for path, png in images.items():
        files.append(File.generated(config, path, content=png))
    files.append(File.generated(config, "cli.md", content=_cli_page()))
    files.append(File.generated(config, "performance.md", content=_performance_page()))
    figure = ROOT / "benchmarks" / "results" / "results.png"
    if figure.is_file():
        files.append(File.generated(config, "img/benchmarks.png", content=figure.read_bytes()))
    return files
