"""--format html: a self-contained report with findings, fixes, effects and plots; rendered in Chromium."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch

import archlint
from archlint.load.construction import recording_sites
from archlint.plugin.host import build_plugin_host
from archlint.plugin.results import ModelReport, PlotData, Report
from archlint.report.html import render_html

from integration_support import CENSUS_CODE, USER_MODEL, CensusPlugin, import_file

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "render_html_report.py"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    project = tmp_path_factory.mktemp("htmlproject")
    path = project / "tiny.py"
    path.write_text(USER_MODEL)
    module = import_file(path, "tiny_html")
    with recording_sites():
        model = module.TinyNet()
    # the census rule runs no probe and receptive-field is clean here: the plots come from the runner's
    # shared analyses, not from the selected rules
    report = archlint.check(model, torch.randn(2, 3, 32, 32), plugins=(CensusPlugin(),),
                            select=[CENSUS_CODE], plots=True)
    return report, model, render_html(report)


def svg_after(page: str, heading: str) -> str:
    start = page.index(heading)
    return page[start:page.index("</svg>", start)]


def text_labels(svg: str) -> list[str]:
    """matplotlib writes each text element's string as an SVG comment before its glyphs."""
    return [t.strip() for t in re.findall(r"<!--(.*?)-->", svg, re.S)]


def test_summary_findings_fixes_and_effects(run):
    report, model, page = run
    assert page.startswith("<!DOCTYPE html>")
    total = sum(p.numel() for p in model.parameters())
    assert f"{total:,}" in page
    assert page.count('class="finding ') == len(report.findings) >= 2
    # the 7x7 stem: 3*8*49+8 parameters now, 3*8*9+8 with the 3x3 the fix suggests
    assert f"<td>{3 * 8 * 49 + 8:,} </td><td>{3 * 8 * 9 + 8:,} </td>" in page
    assert "nn.Conv2d(3, 8, 3, padding=1)" in page


def test_self_contained(run):
    page = run[2]
    # nothing is fetched: no script, no stylesheet link, no src/href to another file or host
    assert "<script" not in page and "<link" not in page
    assert not re.findall(r'(?:src|href)="(?!#)[^"]*"', page)
    assert "@import" not in page and "url(" not in page.replace("url(#", "")


def test_receptive_field_plot(run):
    report, _, page = run
    rows = report.models[0].plots.receptive_fields
    rf = {r["module"]: r["rf"][0] for r in rows if r["kind"] == "conv"}
    # stride-1 chain 7x7, 5x5, 3x3: RF = 1 + 6, + 4, + 2
    assert rf == {"stem": 7, "mid": 11, "last": 13}
    svg = svg_after(page, "Receptive field per layer")
    labels = text_labels(svg)
    assert "input 32px" in labels
    assert [r["module"] or r["node"] for r in rows] == [t for t in labels if t in {r["module"] or r["node"] for r in rows}]


def test_parameter_share_plot(run):
    report, model, page = run
    head = sum(p.numel() for p in model.fc.parameters())
    total = sum(p.numel() for p in model.parameters())
    assert report.models[0].plots.parameter_split["head"] == head == 16 * 10 + 10
    labels = text_labels(svg_after(page, "Parameter share"))
    assert f"head: {head:,} ({100 * head / total:.1f}%)" in labels
    assert f"body: {total - head:,} ({100 * (total - head) / total:.1f}%)" in labels


def test_gradient_norm_plot_in_depth_order(run):
    report, _, page = run
    series = report.models[0].plots.gradient_norms
    assert [s["layer"] for s in series] == ["stem", "mid", "last", "fc"]
    # the probe's loss is Σ out ⊙ R: every layer gets a gradient, measured, not zero
    assert all(s["grad_norm"] > 0 for s in series)
    labels = text_labels(svg_after(page, "Gradient norm per layer"))
    assert [t for t in labels if t in {"stem", "mid", "last", "fc"}] == ["stem", "mid", "last", "fc"]


def test_missing_plot_data_is_said_not_drawn(run):
    report, _, _ = run
    model = report.models[0]
    bare = Report(models=[type(model)(name="Bare", findings=[], plots=PlotData(
        receptive_fields={"unavailable": "model analysed on the meta device"}, parameter_split={},
        gradient_norms={"unavailable": "probe disabled (--no-probe)"}))])
    page = render_html(bare)
    assert "<svg" not in page
    assert "Plot omitted: model analysed on the meta device." in page
    assert "Plot omitted: probe disabled (--no-probe)." in page
    assert page.count("Plot omitted: the data has no rows to plot") == 1
    assert page.count("Plot omitted: no data") == 0
    unplotted = render_html(Report(models=[ModelReport(name="NoPlots")]))
    assert unplotted.count("Plot omitted: no data") == 3
    assert build_plugin_host().report_formats()["html"](bare) == page


def load_render_script():
    spec = importlib.util.spec_from_file_location("render_html_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_renders_in_headless_chromium_without_console_messages(run, tmp_path):
    script = load_render_script()
    if script.find_browser() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    html_path, png_path = tmp_path / "report.html", tmp_path / "report.png"
    html_path.write_text(run[2])
    assert script.render(str(html_path), str(png_path)) == []
    png = png_path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    # the console check can fail: a page that logs an error is caught
    noisy = tmp_path / "noisy.html"
    noisy.write_text('<html><body><script>console.error("plot failed")</script></body></html>')
    assert any("plot failed" in m for m in script.render(str(noisy), str(tmp_path / "noisy.png"), height=300))


def test_probe_rows_with_and_without_gradient():
    rows = [{"layer": "conv1", "kind": "conv", "grad_norm": 2.5}, {"layer": "frozen", "kind": "conv", "grad_norm": None},
            {"layer": "fc", "kind": "linear", "grad_norm": 0.5}]
    page = render_html(Report(models=[ModelReport(name="P", plots=PlotData(gradient_norms=rows))]))
    labels = text_labels(svg_after(page, "Gradient norm per layer"))
    assert [t for t in labels if t in {"conv1", "frozen", "fc"}] == ["conv1", "fc"]
    assert "No gradient reached 1 layer(s), not plotted: frozen." in page
