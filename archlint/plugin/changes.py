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

    changes: tuple["ReplaceModule | AppendModule | Reinitialise | RemoveModule", ...]

    def snippet(self) -> str:
        return "\n".join(change.snippet() for change in self.changes)


@dataclass(frozen=True)
class AddShortcuts:
    """Identity shortcuts y = F(x) + x rewired into the traced graph: for each `(first, last)` pair of graph node
    names, the input of `first` is added to the output of `last`, and every later use of `last` reads the sum. It has
    no source edit: a shortcut needs a new block class in the user's code, which the rule's snippet writes out."""

    spans: tuple[tuple[str, str], ...]
    # how the user's code names each span's ends (`features.0`, `features.5`), for the snippet
    shown: tuple[tuple[str, str], ...] = ()

    def snippet(self) -> str:
        pairs = self.shown or self.spans
        return "\n".join(f"# shortcut: the input of `{first}` is added to the output of `{last}`"
                         for first, last in pairs)


@dataclass(frozen=True)
class RemoveModule:
    """The submodule at `path` is deleted (a module no op of forward reads)."""

    path: str

    def snippet(self) -> str:
        owner, _, name = self.path.rpartition(".")
        return f"del {code_path(owner)}.{name}" if owner else f"del model.{name}"


@dataclass(frozen=True)
class FollowMode:
    """A functional call that ignores the module's mode (`F.dropout(x, 0.5)`, training=True by default) follows it,
    as `training=self.training` makes it: in the source, the call's `training` argument becomes `self.training`; on
    the traced graph, the call at node `node` becomes a call of the module `expression` builds (`nn.Dropout(p=0.5)`),
    which is on in train mode and off in eval mode."""

    node: str
    function: str       # the call's last name: dropout, dropout2d, alpha_dropout ...
    expression: str

    def snippet(self) -> str:
        return f"x = F.{self.function}(x, p=..., training=self.training)"


Change = ReplaceModule | Reinitialise | AppendModule | Combined | AddShortcuts | RemoveModule | FollowMode


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
    # instead of replacing the call, set one of its arguments: (name, position when passed positionally, new value)
    argument: tuple[str, int, str] | None = None


__all__ = ["AddShortcuts", "AppendModule", "CallEdit", "Change", "Combined", "FollowMode", "RemoveModule", "ReplaceModule", "Reinitialise", "code_path"]
