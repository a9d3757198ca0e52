"""A verified fix as an edit of the user's source, made on the syntax tree with libcst (comments and formatting
kept): the constructor call that built a replaced layer becomes the replacement (`nn.Conv2d(64, 192, 5, padding=2)`
-> the stack; `nn.Dropout(0.5)` -> `nn.Dropout2d(0.5)`), an init call becomes the initialiser the fix names
(`nn.init.zeros_(self.fc.weight)` -> `nn.init.kaiming_normal_(self.fc.weight, nonlinearity='relu')`).

`fix.edit` in a report is the unified diff of one fix; `archlint check --diff` prints the diff of every fix of a
file applied together, and `--fix` writes it: atomically, only if the file still has the content that was linted,
only if the edited file parses and its models still build and lint without the fixed findings.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import libcst as cst
import torch
from libcst.metadata import MetadataWrapper, PositionProvider
from torch import nn

from archlint.mechanics.source import display_path
from archlint.plugin.changes import CallEdit, Change, FollowMode, Reinitialise, ReplaceModule
from archlint.plugin.findings import Finding


def call_edit(finding: Finding, replaced: Any, init_site: tuple[str, int] | None,
              change: Change | None = None) -> CallEdit | None:
    """The call edit of a finding's verified fix (`replaced`: the module a ReplaceModule replaces; `change`: the part
    of the fix's change that is this finding's own), or None when the fix is not an edit of one call."""
    fix = finding.fix
    if fix is None or not fix.verified:
        return None
    change = change if change is not None else fix.change
    if isinstance(change, ReplaceModule) and finding.file and finding.line and replaced is not None:
        return CallEdit(finding.file, finding.line, type(replaced).__name__, change.expression, builds=repr(replaced))
    if isinstance(change, FollowMode) and finding.file and finding.line:
        # F.dropout(input, p, training, inplace): `training` is the third argument
        return CallEdit(finding.file, finding.line, change.function, "", argument=("training", 2, "self.training"))
    if isinstance(change, Reinitialise) and init_site is not None:
        return CallEdit(init_site[0], init_site[1], "", change.call("TENSOR"), keep_first_argument=True)
    return None


def _callee_parts(call: cst.Call) -> tuple[str, str] | None:
    """(prefix, last name) of a call's function: `nn.init.` and `zeros_` for `nn.init.zeros_(...)`."""
    node, names = call.func, []
    while isinstance(node, cst.Attribute):
        names.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    names.append(node.value)
    names.reverse()
    return ".".join(names[:-1]) + ("." if len(names) > 1 else ""), names[-1]


class _CallReplacer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, edits: Sequence[CallEdit], default_indent: str):
        self.edits: dict[int, list[CallEdit]] = {}
        for edit in edits:
            self.edits.setdefault(edit.line, []).append(edit)
        self.done: set[tuple[int, str]] = set()      # (line, what the replaced call built): one fix per call
        self.default_indent = default_indent
        self.blocks: list[str] = []      # the indentation of each block around the call (libcst adds it to new lines)
        self.calls_on_line: dict[tuple[int, str], int] = {}
        self.made: set[tuple[int, str, int]] = set()
        self.module: cst.Module | None = None
        self.methods: list[bool] = []     # per enclosing function: whether it is a method (first parameter `self`)

    def visit_Module(self, node: cst.Module) -> None:
        self.module = node

    def _builds(self, call: cst.Call, edit: CallEdit, prefix: str) -> bool:
        """Whether `call` builds the layer the edit replaces: evaluated when its arguments are literals, else assumed
        when it is the only call of the class on its line."""
        assert self.module is not None
        if not edit.builds:
            return True
        text = self.module.code_for_node(call).replace(prefix, "nn.", 1)
        try:
            built = eval(text, {"nn": nn, "torch": torch})   # literal arguments only: a name raises NameError
        except Exception:
            return self.calls_on_line.get((edit.line, edit.callee), 0) == 1
        return repr(built) == edit.builds

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.blocks.append(node.indent if node.indent is not None else self.default_indent)

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        self.blocks.pop()
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        position = self.get_metadata(PositionProvider, original)
        parts = _callee_parts(original)
        if parts is None:
            return updated
        prefix, name = parts
        for edit in self.edits.get(position.start.line, []):
            if (edit.line, edit.builds) in self.done or (edit.line, edit.builds, id(edit)) in self.made:
                continue
            if edit.argument is not None:
                if name != edit.callee or not self.in_method:
                    continue     # `self.training` needs a method's `self`
                return self._argument_set(original, updated, edit)
            if edit.keep_first_argument:
                if not name.endswith("_") or not original.args:   # an init call: nn.init.zeros_(w)
                    continue
                module_prefix = prefix.removesuffix("init.")
            elif name != edit.callee or not prefix or not self._builds(original, edit, prefix):
                continue    # another call, or a bare `Conv2d(...)`: no `nn.` to build the replacement with
            else:
                module_prefix = prefix
            return self._replaced(original, edit, module_prefix, position.start.column)
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params.params
        self.methods.append(bool(params) and params[0].name.value == "self")

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.methods.pop()
        return updated

    @property
    def in_method(self) -> bool:
        return bool(self.methods) and self.methods[-1]

    def _argument_set(self, original: cst.Call, updated: cst.Call, edit: CallEdit) -> cst.Call:
        """The call with one argument given a new value: where it is passed (by position or keyword), else added."""
        assert edit.argument is not None
        name, position, text = edit.argument
        value = cst.parse_expression(text)
        args = list(updated.args)
        positional = [i for i, a in enumerate(args) if a.keyword is None and not a.star]
        keyword = next((i for i, a in enumerate(args) if a.keyword is not None and a.keyword.value == name), None)
        if keyword is not None:
            args[keyword] = args[keyword].with_changes(value=value)
        elif len(positional) > position:
            args[positional[position]] = args[positional[position]].with_changes(value=value)
        else:
            args.append(cst.Arg(value=value, keyword=cst.Name(name),
                                equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                      whitespace_after=cst.SimpleWhitespace(""))))
        self.done.add((edit.line, edit.builds))
        self.made.add((edit.line, edit.builds, id(edit)))
        return updated.with_changes(args=args)

    def _replaced(self, original: cst.Call, edit: CallEdit, module_prefix: str, column: int) -> cst.BaseExpression:
        text = edit.replacement.replace("nn.", module_prefix)
        # the block's lines at the call's indentation: libcst puts the enclosing blocks' indentation in front of them
        extra = max(0, column - len("".join(self.blocks)))
        replacement = cst.parse_expression(text.replace("\n", "\n" + " " * extra))
        if edit.keep_first_argument and isinstance(replacement, cst.Call):
            first = original.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            replacement = replacement.with_changes(args=[first, *replacement.args[1:]])
        # two fixes of one call (remove a dropout, or make it Dropout2d): the first is made, the other is not
        self.done.add((edit.line, edit.builds))
        self.made.add((edit.line, edit.builds, id(edit)))
        return replacement


def _calls_per_line(wrapper: MetadataWrapper) -> dict[tuple[int, str], int]:
    """How many calls of each callee start on each line."""
    positions = wrapper.resolve(PositionProvider)
    counts: dict[tuple[int, str], int] = {}
    for node, position in positions.items():
        if isinstance(node, cst.Call):
            parts = _callee_parts(node)
            if parts is not None:
                key = (position.start.line, parts[1])
                counts[key] = counts.get(key, 0) + 1
    return counts


def calls_on_line(file: str, line: int, callee: str) -> int:
    """How many calls of `callee` (a last name, `Conv2d`) start on `line` of `file` (0 if it cannot be read)."""
    try:
        wrapper = MetadataWrapper(cst.parse_module(Path(file).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, cst.ParserSyntaxError):
        return 0
    return _calls_per_line(wrapper).get((line, callee), 0)


def apply_edits(source: str, edits: Sequence[CallEdit]) -> tuple[str, list[CallEdit]]:
    """The source with the edits made, and the edits that found their call."""
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module)
    replacer = _CallReplacer(edits, module.default_indent)
    replacer.calls_on_line = _calls_per_line(wrapper)
    updated = wrapper.visit(replacer)
    return updated.code, [e for e in edits if (e.line, e.builds, id(e)) in replacer.made]


def unified_diff(path: str, before: str, after: str) -> str:
    shown = display_path(path)
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{shown}", f"b/{shown}"))


def single_diff(edit: CallEdit) -> str | None:
    """The unified diff of one edit, or None when its call is not in the file (or the file cannot be read)."""
    try:
        source = Path(edit.file).read_text(encoding="utf-8")
        updated, made = apply_edits(source, [edit])
    except (OSError, UnicodeDecodeError, cst.ParserSyntaxError):
        return None
    return unified_diff(edit.file, source, updated) if made else None


@dataclass
class FileFix:
    """The fixes of one file, applied together: the text linted, the edited text, what was and was not done."""

    file: str
    before: str
    after: str
    made: list[CallEdit]
    digest: str

    def diff(self) -> str:
        return unified_diff(self.file, self.before, self.after)


def file_fixes(edits: Sequence[CallEdit]) -> list[FileFix]:
    by_file: dict[str, list[CallEdit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    fixes = []
    for file, wanted in sorted(by_file.items()):
        try:
            before = Path(file).read_text(encoding="utf-8")
            after, made = apply_edits(before, wanted)
        except (OSError, UnicodeDecodeError, cst.ParserSyntaxError):
            continue
        if made:
            fixes.append(FileFix(file, before, after, made, hashlib.sha256(before.encode()).hexdigest()))
    return fixes


def write_fix(fix: FileFix, codes: Sequence[str]) -> str | None:
    """Write the edited file, or say why not: the file changed since it was linted, the edit does not parse, or its
    models no longer build (linted again, in a separate `archlint check` of the edited text beside the file)."""
    path = Path(fix.file)
    try:
        current = path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"cannot read it again ({exc.strerror or exc})"
    if hashlib.sha256(current.encode()).hexdigest() != fix.digest:
        return "it changed since it was linted; run archlint again"
    try:
        compile(fix.after, str(path), "exec")
    except SyntaxError as exc:
        return f"the edited file does not parse ({exc.msg} at line {exc.lineno})"
    handle, temporary = tempfile.mkstemp(suffix=path.suffix, prefix=f".{path.stem}.archlint-fix-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(fix.after)
        problem = _still_builds(Path(temporary), codes)
        if problem is not None:
            return problem
        os.replace(temporary, path)      # atomic: the file is the old text or the new, never half of one
        return None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _still_builds(edited: Path, codes: Sequence[str]) -> str | None:
    import json

    command = [sys.executable, "-m", "archlint", "check", str(edited), "--no-probe", "--format", "json", "--exit-zero"]
    if codes:
        command += ["--select", ",".join(sorted(set(codes)))]
    done = subprocess.run(command, capture_output=True, text=True, cwd=edited.parent)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return "the edited file could not be linted again"
    if report.get("errors"):
        return f"the edited file's models do not build: {report['errors'][0]['message']}"
    return None


__all__ = ["CallEdit", "FileFix", "apply_edits", "call_edit", "calls_on_line", "file_fixes", "single_diff",
           "unified_diff", "write_fix"]
