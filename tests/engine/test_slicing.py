"""The names a statement of a slice reads: what it needs from the statements before it."""
from __future__ import annotations

import ast

import pytest

from archlint.load.slicing import read_names


def reads(source: str) -> set[str]:
    return read_names(ast.parse(source).body[0])


@pytest.mark.parametrize("source, expected", [
    # a class's methods read their own `self` and parameters: only what the class body takes from outside
    ("class Net(nn.Module):\n    def __init__(self, width=WIDTH):\n        super().__init__()\n"
     "        self.fc = nn.Linear(width, OUT)\n", {"nn", "WIDTH", "super", "OUT"}),
    # a function's locals and a comprehension's variables are its own; the first iterable is read outside
    ("def f(x, y=D):\n    z = x + G\n    return [a * b for a in z for b in H if a > T]\n", {"D", "G", "H", "T"}),
    ("sizes = [s * 2 for s in widths if s > least]", {"widths", "least"}),
    # an attribute of `self` read in the statement's own scope is its own name
    ("model = Model(self.hidden, cfg.width)", {"Model", "self.hidden", "cfg"}),
    # a name declared global is read from the module even where the function binds it
    ("def g():\n    global COUNT\n    COUNT = 1\n    return COUNT + STEP\n", {"COUNT", "STEP"}),
    ("scale = lambda t: t * factor + offset", {"factor", "offset"}),
    # decorators, annotations and defaults are evaluated where the def is; an import inside is local
    ("@register(kind)\ndef h(a: Size) -> Out:\n    import os\n    return os.path.join(a, base)\n",
     {"register", "kind", "Size", "Out", "base"}),
])
def test_a_statement_reads_only_the_names_it_takes_from_outside_its_nested_scopes(source: str,
                                                                                   expected: set[str]) -> None:
    assert reads(source) == expected


def test_an_augmented_assignment_reads_its_target() -> None:
    # `model += [block]` in a loop needs the `model = [...]` before it, or the loop stops at its first pass
    loop = "for ratio in ratios:\n    model += [Block(ratio)]\n    mult *= 2\n"
    assert reads(loop) == {"ratios", "ratio", "model", "Block", "mult"}
