"""The layout is the architecture: imports flow one way, docs/design.md matches the tree, rules document
themselves, codes are unique, and a third-party plugin installs and runs like a built-in."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archlint.plugin.host import PluginChoice, build_plugin_host
from archlint.plugin.rule import Rule
from archlint.rulekit import Finding, hookimpl

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "archlint"

# Rank of each part: a module may import its own part and parts of a lower rank only.
RANKS = {"mechanics": 0, "plugin": 1, "load": 2, "trace": 3, "analysis": 4, "rulekit": 5, "run": 6, "api": 7,
         "cli": 8, "pytest_plugin": 8, "__main__": 9}


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "archlint"


def runtime_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every archlint import that runs (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text())
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                 and getattr(node.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "archlint":
            names = [a.name for a in node.names]
            if node.module == "archlint" and all(n in ("__version__",) for n in names):
                continue    # the version string is every layer's to read
            for name in names:   # `from archlint.plugin import hookspecs` imports the submodule
                found.append((node.lineno, f"{node.module}.{name}" if node.module.count(".") == 1
                              and (PACKAGE / node.module.split(".")[1] / f"{name}.py").exists() else node.module,
                              [name]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "archlint")
    return found


def modules() -> list[tuple[str, Path]]:
    return [(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), p)
            for p in sorted(PACKAGE.rglob("*.py"))]


def allowed(importer: str, imported: str) -> bool:
    source, target = part_of(importer), part_of(imported)
    if source == "archlint":           # archlint/__init__.py: the user's facade may reach anything
        return True
    if source == "rules":              # a rule knows its lesson and the rule-author surface, nothing else
        return target in ("rulekit", "rules")
    if source == "report":             # formats read reports: the plugin API and the shared mechanics
        return target in ("report", "plugin", "mechanics")
    if target in ("report", "rules"):  # nobody imports a format or a rule by name: they are plugins
        return False
    return RANKS[target] <= RANKS[source]


def test_imports_flow_one_way() -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line}: {name} imports {imported}"
             for name, path in modules() for line, imported, _ in runtime_imports(path)
             if not allowed(name, imported)]
    assert not wrong, "\n".join(wrong)


def test_the_check_can_fail() -> None:
    assert not allowed("archlint.plugin.context", "archlint.analysis.probe")
    assert not allowed("archlint.load.targets", "archlint.api")
    assert not allowed("archlint.rules.large_kernel", "archlint.analysis.cost")
    assert allowed("archlint.report.sarif", "archlint.plugin.findings")
    assert not allowed("archlint.run.runner", "archlint.report.html")


def design_table() -> list[str]:
    text = (ROOT / "docs" / "design.md").read_text()
    section = text[text.index("## Modules"):text.index("## Node kinds")]
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


def test_design_module_table_matches_the_tree() -> None:
    listed = design_table()
    on_disk = {str(p.relative_to(ROOT)) for _, p in modules() if p.name != "__init__.py" or p.parent == PACKAGE}
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
