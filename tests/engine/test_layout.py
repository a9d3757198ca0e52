"""The layout is the architecture: imports flow one way, docs/design.md matches the tree, rules document
themselves, codes are unique, and a third-party plugin installs and runs like a built-in."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from archlint.plugin.host import PluginChoice, build_plugin_host
from archlint.plugin.rule import Rule
from archlint.rulekit import Finding, hookimpl

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "archlint"
RULES = ROOT / "rules" / "archlint_rules"     # the built-in rules: a plugin package of their own

# Rank of each part of the engine: a module may import its own part and parts of a lower rank only.
RANKS = {"mechanics": 0, "plugin": 1, "load": 2, "trace": 3, "analysis": 4, "rulekit": 5, "run": 6, "api": 7,
         "cli": 8, "pytest_plugin": 8, "integrations": 8, "__main__": 9}


@dataclass(frozen=True)
class Import:
    line: int
    module: str          # the archlint module imported (a submodule when `from pkg import submodule`)
    type_only: bool      # under `if TYPE_CHECKING:`


def part_of(module: str) -> str:
    if module.split(".")[0] == "archlint_rules":
        return "rules"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "archlint"


def _module_file(module: str) -> Path | None:
    top, *rest = module.split(".")
    base = {"archlint": PACKAGE, "archlint_rules": RULES}.get(top)
    if base is None:
        return None
    path = base.joinpath(*rest)
    return next((p for p in (path.with_suffix(".py"), path / "__init__.py") if p.exists()), None)


def imports_of(source: str) -> list[Import]:
    """Every import of archlint's own modules (the engine's or the built-in rules'), runtime or type-only."""
    tree = ast.parse(source)
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                 and getattr(node.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("archlint", "archlint_rules"):
            names = [a.name for a in node.names]
            if node.module == "archlint" and names == ["__version__"]:
                continue    # the version string is every layer's to read
            for name in names:   # `from archlint.plugin import hookspecs` imports the submodule
                submodule = f"{node.module}.{name}"
                found.append(Import(node.lineno, submodule if _module_file(submodule) else node.module,
                                    id(node) in type_only))
        elif isinstance(node, ast.Import):
            found.extend(Import(node.lineno, a.name, id(node) in type_only) for a in node.names
                         if a.name.split(".")[0] in ("archlint", "archlint_rules"))
    return found


def modules() -> list[tuple[str, Path]]:
    engine = [(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), p)
              for p in sorted(PACKAGE.rglob("*.py"))]
    rules = [(".".join(("archlint_rules", *p.relative_to(RULES).with_suffix("").parts)).removesuffix(".__init__"), p)
             for p in sorted(RULES.rglob("*.py"))]
    return engine + rules


def allowed(importer: str, imported: str, type_only: bool = False) -> bool:
    """Whether `importer` may import `imported`. Type-only imports may point up (an annotation names a type of a
    higher layer), but never into the rules, and they count for circles (`circles`)."""
    source, target = part_of(importer), part_of(imported)
    if source == "rules":              # a plugin: the public rule API and its own modules, nothing else
        return target == "rules" or imported == "archlint.rulekit" or imported.startswith("archlint.rulekit.")
    if target == "rules":              # the engine never imports the built-in rules: they load as plugins
        return False
    if source == "archlint":           # archlint/__init__.py: the user's facade may reach anything
        return True
    if source == "report":             # formats read reports: the plugin API and the shared mechanics
        return target in ("report", "plugin", "mechanics") or type_only
    if target == "report":             # nobody imports a format by name: they are plugins
        return False
    return type_only or RANKS[target] <= RANKS[source]


def import_graph(extra: dict[str, str] = {}) -> dict[str, set[str]]:
    """module -> the modules it imports, runtime and type-only; `extra` adds source text to a module."""
    graph: dict[str, set[str]] = {}
    for name, path in modules():
        found = imports_of(path.read_text() + "\n" + extra.get(name, ""))
        graph[name] = {i.module for i in found if i.module != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of `graph` (strongly connected groups of more than one module, or self-imports)."""
    import networkx as nx

    g = nx.DiGraph((src, dst) for src, targets in graph.items() for dst in targets)
    return [sorted(group) for group in nx.strongly_connected_components(g) if len(group) > 1]


def test_imports_flow_one_way() -> None:
    wrong = [f"{path.relative_to(ROOT)}:{i.line}: {name} imports {i.module}{' (type-only)' if i.type_only else ''}"
             for name, path in modules() for i in imports_of(path.read_text())
             if not allowed(name, i.module, i.type_only)]
    assert not wrong, "\n".join(wrong)


def test_no_import_circle_type_only_imports_included() -> None:
    assert circles(import_graph()) == []


def test_the_checks_can_fail() -> None:
    assert not allowed("archlint.analysis.probe.passes", "archlint.rulekit.context")
    assert not allowed("archlint.load.targets", "archlint.api")
    assert not allowed("archlint_rules.large_kernel", "archlint.analysis.cost")
    assert not allowed("archlint.run.runner", "archlint_rules.large_kernel", type_only=True)
    assert allowed("archlint.report.sarif", "archlint.plugin.findings")
    assert not allowed("archlint.run.runner", "archlint.report.html")
    # a planted wrong-way import is caught in a real module's source
    planted = imports_of("from archlint.run.session import lint_targets\n")
    assert not allowed("archlint.trace.tracers", planted[0].module, planted[0].type_only)
    # a planted type-only import that closes a circle: the context imports the graph, the graph names the context
    type_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from archlint.rulekit.context import CheckContext\n"
    assert imports_of(type_only)[0].type_only
    found = circles(import_graph({"archlint.analysis.graph": type_only}))
    assert any({"archlint.analysis.graph", "archlint.rulekit.context"} <= set(group) for group in found), found


def test_the_built_in_rules_are_a_package_of_their_own() -> None:
    # the engine never imports them, not even by name at run time (the `import` statements are checked above)
    dynamic = re.compile(r"import_module\(\s*[\"']archlint_rules|__import__\(\s*[\"']archlint_rules")
    assert not [p for _, p in modules() if p.is_relative_to(PACKAGE) and dynamic.search(p.read_text())]
    project = (ROOT / "pyproject.toml").read_text()
    registered = set(re.findall(r'^[a-z-]+ = "(archlint_rules\.[a-z_]+)"$', project, re.M))
    assert registered == {name for name, _ in modules() if name.startswith("archlint_rules.")}


def design_table() -> list[str]:
    text = (ROOT / "docs" / "design.md").read_text()
    section = text[text.index("## Modules"):text.index("## Node kinds")]
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


def _has_code(path: Path) -> bool:
    """A package `__init__.py` with statements besides its docstring (a package's API, not only its docs)."""
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in body)


def test_design_module_table_matches_the_tree() -> None:
    listed = design_table()
    on_disk = {str(p.relative_to(ROOT)) for _, p in modules() if p.name != "__init__.py" or p.parent == PACKAGE
               or _has_code(p)}
    patterns = [re.compile(re.escape(entry).replace(r"\*", "[^/]+") + "$") for entry in listed]
    missing = sorted(f for f in on_disk if not any(p.match(f) for p in patterns))
    stale = sorted(e for e, p in zip(listed, patterns) if not any(p.match(f) for f in on_disk))
    assert not missing, f"modules not in docs/design.md: {missing}"
    assert not stale, f"docs/design.md names modules that do not exist: {stale}"


def test_design_layout_table_names_every_package() -> None:
    text = (ROOT / "docs" / "design.md").read_text()
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    listed = set(re.findall(r"^\| `archlint/([a-z_]+)/` \|", text, re.M))
    assert listed == packages


def installed_rules() -> list[Rule]:
    host = build_plugin_host()
    builtin = [r for r in host.rules if type(r).__module__.startswith("archlint_rules.")]
    assert len(builtin) == 8, [r.name for r in host.rules]
    return builtin


@pytest.mark.parametrize("rule", installed_rules(), ids=lambda r: r.name)
def test_every_rule_documents_itself(rule: Rule) -> None:
    docs = rule.docs()
    headings = [line for line in docs.splitlines() if line and not line.startswith(" ")]
    for section in Rule.REQUIRED_SECTIONS:
        assert any(h.startswith(section) for h in headings), f"{rule.name}: no '{section}' section"
    module_doc = sys.modules[type(rule).__module__].__doc__
    assert "\nOptions" not in module_doc, f"{rule.name}: options are generated from Option(), not written twice"
    for option in rule.options:
        assert f"{option.name.replace('_', '-')} = {option.default!r}" in docs


def test_codes_are_unique_across_installed_plugins() -> None:
    host = build_plugin_host()
    codes = [code for rule in host.rules for code in rule.all_codes()]
    assert len(codes) == len(set(codes)) and not host.load_errors, host.load_errors


class _Taken(Rule):
    code, name, summary = "AL501", "copy-of-large-kernel", "test: claims a built-in code"

    def check(self, ctx):
        return [Finding(self.code, "should never run")]


class _TakenPlugin:
    @hookimpl
    def archlint_rules(self):
        return [_Taken()]


def test_a_duplicate_code_is_a_load_error_and_the_first_rule_stays() -> None:
    host = build_plugin_host(extra_plugins=[_TakenPlugin()])
    assert [r.name for r in host.rules if r.code == "AL501"] == ["large-kernel"]
    [error] = host.load_errors
    assert "AL501, already taken by large-kernel" in error.error


def test_choice_disables_a_builtin() -> None:
    host = build_plugin_host(PluginChoice(disabled=("large-kernel",)))
    assert "large-kernel" not in {r.name for r in host.rules} and len(host.rules) == 7


WIDE_MODEL = '''
import torch
from torch import nn


class WideHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 32 * 32, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


def example_inputs():
    return (torch.randn(2, 3, 32, 32),)
'''


def test_example_third_party_plugin_installs_and_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--target", str(site), str(ROOT / "examples" / "plugin")],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    (tmp_path / "net.py").write_text(WIDE_MODEL)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "archlint", "check", "net.py", "--select", "XW101", "--no-probe"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "net.py:10: XW101 [warning] Linear reads 16,384 features (limit 8,192) and holds 163,850" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "archlint", "rules"], capture_output=True, text=True, env=env)
    assert re.search(r"XW101\s+wide-linear\s+warning\s+wide-linear \(archlint-wide-linear 0.1.0\)", listed.stdout)
