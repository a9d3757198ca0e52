"""What a fix changes, as data the engine can execute: on a copy of the model (to verify and measure the fixed
model) and as an edit of the user's source (`archlint check --diff` / `--fix`).

A change is a description, not code a rule runs itself: the snippet shown to the user is generated from the same
description the engine executes, so the two cannot drift.
"""
from __future__ import annotations

from dataclasses import dataclass


def code_path(module_path: str, root: str = "model") -> str:
    """How the user's code reaches a submodule: `features.3.conv` -> `model.features[3].conv`."""
    text = root
    for part in module_path.split("."):
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


@dataclass(frozen=True)
class ReplaceModule:
    """The submodule at `path` becomes the module that `expression` builds: Python source over `nn` (torch.nn) and
    `torch`, such as `nn.Dropout2d(0.3)` or `nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), ...)`."""

    path: str
    expression: str

    def snippet(self) -> str:
        return f"{code_path(self.path)} = {self.expression}"


@dataclass(frozen=True)
class Reinitialise:
    """Parameter `parameter` is drawn again by the initialiser `function` of `torch.nn.init` (`kaiming_normal_`),
    with `arguments` after the tensor (`nonlinearity='relu'`)."""

    parameter: str
    function: str
    arguments: str = ""

    def call(self, tensor: str) -> str:
        return f"nn.init.{self.function}({tensor}{', ' + self.arguments if self.arguments else ''})"

    def snippet(self) -> str:
        owner, _, name = self.parameter.rpartition(".")
        return self.call(f"{code_path(owner)}.{name}" if owner else f"model.{name}")


@dataclass(frozen=True)
class AppendModule:
    """The submodule at `path` is followed by the module `expression` builds (the two in an `nn.Sequential`)."""

    path: str
    expression: str

    def snippet(self) -> str:
        return f"{code_path(self.path)} = nn.Sequential({code_path(self.path)}, {self.expression})"


@dataclass(frozen=True)
class Combined:
    """Several changes made together (pool the map where it is made, and replace the head that reads it)."""

    changes: tuple["ReplaceModule | AppendModule | Reinitialise", ...]

    def snippet(self) -> str:
        return "\n".join(change.snippet() for change in self.changes)


Change = ReplaceModule | Reinitialise | AppendModule | Combined


@dataclass(frozen=True)
class CallEdit:
    """A change as an edit of the user's source: the call that starts on `line` of `file` and calls `callee` (its
    last name: `Conv2d`) becomes `replacement` (with `nn.` for torch.nn); an init call (`keep_first_argument`) keeps
    the tensor it initialises."""

    file: str
    line: int
    callee: str
    replacement: str
    keep_first_argument: bool = False
    # the layer the call must build (its repr), to tell apart several calls of one class on the line
    builds: str = ""


__all__ = ["AppendModule", "CallEdit", "Change", "Combined", "ReplaceModule", "Reinitialise", "code_path"]
