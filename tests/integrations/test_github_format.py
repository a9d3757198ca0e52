"""--format github: workflow annotation lines, escaped as the Actions runner expects."""
from __future__ import annotations

import os

from archlint.plugin.findings import Finding, Fix, Metric, Severity
from archlint.report.github import annotation, escape_data, escape_property, render_github
from archlint.plugin.results import ModelReport, Report, TargetError


def unescape(text: str) -> str:
    """The runner's decoding, written out independently: %0D, %0A, %3A, %2C, then %25."""
    for encoded, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(encoded, raw)
    return text


def test_escaping_round_trips():
    raw = "50% of 7x7, then: a\r\nb"
    assert escape_data(raw) == "50%25 of 7x7, then: a%0D%0Ab"
    assert escape_property(raw) == "50%25 of 7x7%2C then%3A a%0D%0Ab"
    assert unescape(escape_property(raw)) == raw and unescape(escape_data(raw)) == raw
    # an already-escaped-looking text is not decoded twice
    assert unescape(escape_data("%0A")) == "%0A"


def test_annotation_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    finding = Finding(code="AL501", rule="large-kernel", model="Net, v2", module="stem",
                      file=os.path.join(str(tmp_path), "models", "net.py"), line=12, severity=Severity.WARNING,
                      message="7x7 conv: 2.4x the params of two 3x3, 100% of them",
                      fix=Fix("use two 3x3", "nn.Conv2d(3, 64, 3)"),
                      effect=(Metric("params", 9408, 3456, "", "counted"),))
    line = annotation(finding)
    command, _, message = line.partition("::")[2].partition("::")
    assert line.startswith("::warning file=models/net.py,line=12,title=")
    title = command.split("title=")[1]
    assert unescape(title) == "AL501 large-kernel (Net, v2)" and "," not in title
    decoded = unescape(message).splitlines()
    assert decoded[0] == "7x7 conv: 2.4x the params of two 3x3, 100% of them (stem)"
    assert decoded[1:] == ["Fix: use two 3x3", "nn.Conv2d(3, 64, 3)", "Effect: params: 9,408 -> 3,456  [counted]"]
    assert "\n" not in line


def test_levels_and_errors():
    findings = [Finding(code=f"AL{i}", message="m", severity=s, model="M")
                for i, s in zip((101, 201, 301), (Severity.ERROR, Severity.WARNING, Severity.INFO))]
    report = Report(models=[ModelReport(name="M", findings=findings)],
                    errors=[TargetError("bad.py", "SyntaxError: invalid syntax (bad.py, line 3)")])
    lines = render_github(report).splitlines()
    assert [line.split(" ")[0] for line in lines] == ["::error", "::warning", "::notice", "::error"]
    assert unescape(lines[-1].split("::")[2]) == "bad.py: SyntaxError: invalid syntax (bad.py, line 3)"
    assert "file=" not in lines[0]   # a finding without a file is a plain annotation
