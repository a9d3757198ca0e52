"""`archlint mcp`: a Model Context Protocol server on stdio, for coding agents (built on the official `mcp` SDK).

Tools: `list_rules`, `explain_rule`, and `check` (a file, a folder or `module:attr`, with the usual options): the
report as structured content (findings with their fixes, measured effects and what was not measured), and its text.

The server is one archlint process kept warm: torch, the plugins and the run's plugin host are loaded once, so a
second check of an edited file pays only for the lint (each check re-imports the file, so edits are seen). It reads
and executes only files under the roots it was started with (the working folder by default): a target outside them,
a missing file, bad options or a bad configuration is a tool error in one line, and the server keeps serving.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Sequence

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from archlint.load.inputs import parse_input_shapes
from archlint.load.targets import split_target
from archlint.plugin.host import PluginHost
from archlint.plugin.results import OutputStyle, Report
from archlint.run.config import ConfigError, Overrides
from archlint.run.session import lint_targets
from archlint.run.setup import config_for, open_run, plan_run


class Roots:
    """The folders whose files the server may read and execute."""

    def __init__(self, folders: Sequence[Path]):
        self.folders = [folder.resolve() for folder in folders]

    def contains(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved == folder or folder in resolved.parents for folder in self.folders)

    def checked_target(self, target: str) -> str:
        """`target` if what it executes lies under a root, else a ToolError saying why not."""
        where, attr = split_target(target)
        path = Path(where)
        if where.endswith((".py", ".ipynb")) or path.exists() or os.sep in where:
            path = path if path.is_absolute() else Path.cwd() / path
            if not self.contains(path):
                raise ToolError(f"{target}: outside the folders this server may read ({self.shown()})")
            if not path.exists():
                raise ToolError(f"{target}: no such file or directory")
            return str(path)
        if attr is None:
            raise ToolError(f"{target}: not a file, a folder or package.module:Name")
        module_file = _module_file(where)
        if module_file is None:
            raise ToolError(f"{target}: no module {where!r} on the import path")
        if not self.contains(module_file):
            raise ToolError(f"{target}: module {where!r} is at {module_file}, outside the folders this server may "
                            f"read ({self.shown()})")
        return target

    def shown(self) -> str:
        return ", ".join(str(folder) for folder in self.folders)


def _module_file(dotted: str) -> Path | None:
    """The file of `package.module`, found without importing anything (importing a package runs its code)."""
    parts = dotted.split(".")
    for entry in ["", *sys.path]:
        folder = Path(entry or os.getcwd())
        for suffix in (Path(*parts).with_suffix(".py"), Path(*parts, "__init__.py")):
            if (folder / suffix).is_file() and all((folder / Path(*parts[:i]) / "__init__.py").is_file()
                                                    for i in range(1, len(parts))):
                return folder / suffix
    return None


def _codes(values: Sequence[str] | None) -> list[str]:
    return [code.strip() for value in values or () for code in value.split(",") if code.strip()]


def build_server(roots: Sequence[Path], host: PluginHost | None = None) -> MCPServer:
    """The server and its tools; `host` is the plugin host every call uses (built here once)."""
    allowed = Roots(roots)
    host = host or open_run()
    server = MCPServer("archlint", log_level="WARNING", instructions=(
        "archlint reviews PyTorch model architectures: call `check` on a model file after writing or editing an "
        "nn.Module; each finding has a fix written for the model and effects measured on it."))

    @server.tool()
    def list_rules() -> dict[str, Any]:
        """The installed rules: code, name, severity, summary, sub-codes and the plugin that provides each."""
        return {"rules": [{"code": r.code, "name": r.name, "severity": str(r.severity), "summary": r.summary,
                           "codes": dict(r.all_codes()), "plugin": host.plugin_label(r)} for r in host.rules]}

    @server.tool()
    def explain_rule(rule: str) -> dict[str, Any]:
        """A rule's documentation (what it finds, why it matters, example, fix, options), by code or name."""
        key = rule.strip()
        found = next((r for r in host.rules if key in (r.name, r.code) or key.upper() in r.all_codes()), None)
        if found is None:
            raise ToolError(f"no rule {rule!r} (installed: {', '.join(f'{r.code} {r.name}' for r in host.rules)})")
        return {"code": found.code, "name": found.name, "severity": str(found.severity), "docs": found.docs()}

    @server.tool()
    def check(target: str, select: list[str] | None = None, ignore: list[str] | None = None,
              input_shape: list[str] | None = None, probe: bool = True, fail_on: str = "warning") -> dict[str, Any]:
        """Lint the models of a file, folder or `module:attr`. Options as on the command line: `select` / `ignore`
        take codes, prefixes or rule names; `input_shape` strings like "1,3,224,224" (one per input); `probe=False`
        skips the measurements that run the model. Returns the report: per model its findings (location, message,
        fix, measured effects with their method, what was not measured) and notes; errors for what was not linted."""
        checked = allowed.checked_target(target)
        try:
            overrides = Overrides(select=_codes(select) or None, ignore=_codes(ignore), fail_on=fail_on,
                                  probe=None if probe else False,
                                  input_shapes=parse_input_shapes(input_shape) if input_shape else ())
            plan = plan_run(host, config_for([checked]), overrides, [checked])
        except (ConfigError, ValueError) as exc:
            raise ToolError(str(exc)) from None
        linted = lint_targets(plan.specs, plan.settings, host, progress=False)
        report = Report(models=linted.models, errors=[*plan.errors, *linted.errors], skipped=linted.skipped)
        text = host.report_formats(OutputStyle())["text"](report)
        return {"summary": report.summary(), "exit_code": report.exit_code(plan.settings.fail_on), "text": text,
                **report.to_dict()}

    return server


def serve(roots: Sequence[Path]) -> None:
    """Run the server on stdio until the client closes it."""
    build_server(roots).run("stdio")


__all__ = ["Roots", "build_server", "serve"]
