"""archlint in a notebook, executed by a real Jupyter kernel (nbclient + ipykernel): a Report draws itself with its
findings, fixes, measured effects and plots; `%archlint` and `%%archlint` lint models of the notebook; a mistake in
a magic's line is one line of output, not a traceback."""
from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

MODEL = '''
import torch
from torch import nn

class WideKernelNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.body = nn.Conv2d(32, 64, 7, padding=3)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(torch.relu(self.body(torch.relu(self.stem(x)))).mean(dim=(2, 3)))

torch.manual_seed(0)
model = WideKernelNet()
x = torch.randn(2, 3, 32, 32)
'''

CELL_MAGIC = '''%%archlint --select large-kernel
class AnotherWideNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.conv = nn.Conv2d(16, 32, 5, padding=2)
        self.fc = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc(self.conv(torch.relu(self.stem(x))).mean(dim=(2, 3)))

def example_inputs():
    return (torch.randn(2, 3, 32, 32),)
'''


@pytest.fixture(scope="module")
def executed() -> list:
    cells = ["%load_ext archlint", MODEL,
             "import archlint\nreport = archlint.check(model, x)\nreport",
             "%archlint model x --select AL5",
             CELL_MAGIC,
             "%archlint no_such_model",
             "%archlint model x --select",
             "\"AL501\" in [f.code for f in report.findings]"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=False).execute()
    return notebook.cells


def _data(cell, mime: str) -> str:
    return "".join(o.get("data", {}).get(mime, "") for o in cell.outputs if o.output_type == "execute_result")


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_a_report_draws_its_findings_fixes_effects_and_plots(executed) -> None:
    html = _data(executed[2], "text/html")
    assert html.startswith('<div class="archlint-report">') and "<html" not in html
    assert "AL501" in html and "7×7 conv (32→64" in html              # the finding
    assert "Replace the 7×7 conv with 3 stacked small convs" in html  # its fix
    assert "<table" in html and "the same measure on the fixed copy of the model, verified" in html   # effects + method
    assert html.count("<svg") >= 2                                      # receptive field and parameter plots
    markdown = _data(executed[2], "text/markdown")
    assert "- **AL501** [warning]" in markdown and "```python" in markdown
    plain = _data(executed[2], "text/plain")
    assert "AL501 [warning]" in plain and "fix:" in plain and "effect:" in plain


def test_line_magic_lints_a_model_of_the_notebook(executed) -> None:
    html = _data(executed[3], "text/html")
    assert "AL501" in html and "1 finding(s) in 1 model(s)" in html


def test_cell_magic_lints_the_models_the_cell_defines(executed) -> None:
    html = _data(executed[4], "text/html")
    assert "AnotherWideNet" in html and "5×5 conv (16→32" in html
    assert "WideKernelNet" not in html        # defined by an earlier cell: not this cell's model


def test_a_bad_magic_line_is_one_line_not_a_traceback(executed) -> None:
    assert _printed(executed[5]).strip() == ("%archlint: cannot evaluate the model `no_such_model`: NameError: "
                                             "name 'no_such_model' is not defined")
    assert _printed(executed[6]).strip() == "%archlint: argument --select: expected one argument"
    assert not [o for cell in executed for o in cell.outputs if o.output_type == "error"]
    assert _data(executed[7], "text/plain") == "True"
