"""`--format html`: one self-contained HTML file per run, readable offline.

Per model: a summary (tracer, inputs, parameters, findings by severity), the findings with their
fix and measured effect, and plots where a picture says more than a table:

* receptive field per layer in depth order against the input size,
* parameter share of body and head,
* gradient norm per layer in depth order (from the shared probe).

The runner puts the data in `ModelReport.plots` from the graph and the shared probe, whichever rules
ran; because this format asks for the gradient norms (`render_html.needs_plots`), the probe runs for
them even when no selected rule needed it (unless `--no-probe`).

Plots are drawn with matplotlib (the optional `html` extra) and embedded as inline SVG; no script,
no stylesheet or font is fetched. A plot whose data is missing is left out with a sentence saying
why, and without matplotlib the report still renders, with that said at the top.
"""
from __future__ import annotations

import functools
import html
import io
import math
import statistics
from typing import Any, Callable, Iterable, Sequence

from archlint.plugin.findings import Finding, Metric, Race
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.results import ModelReport, OutputStyle, Report

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1b1f24}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:32px}
h3{font-size:15px;margin-bottom:4px}table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
.finding{border-left:4px solid #bf8700;padding:4px 12px;margin:12px 0;background:#fffdf5}
.finding.error{border-color:#cf222e;background:#fff8f8}.finding.info{border-color:#0969da;background:#f6faff}
.loc{font-family:ui-monospace,monospace;color:#57606a}pre{background:#f6f8fa;padding:8px;overflow-x:auto}
.note{color:#57606a}.plot svg{max-width:100%;height:auto}.errors{color:#cf222e}
"""


# -- data the runner puts into extras -------------------------------------------------------------------

def grad_norm_series(value: Any) -> list[tuple[str, float]]:
    """(layer, norm) pairs in depth order from the probe's gradient-norm rows (dict or rows)."""
    if isinstance(value, dict):
        items: Iterable[Any] = value.items()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return []
    series = []
    for item in items:
        if isinstance(item, dict):
            name = item.get("module") or item.get("name") or item.get("layer") or item.get("parameter")
            norm = next((item[k] for k in ("grad_norm", "norm", "value") if k in item), None)
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            name, norm = item
        else:
            continue
        if isinstance(norm, (int, float)) and not isinstance(norm, bool):
            series.append((str(name), float(norm)))
    return series


def layers_without_gradient(value: Any) -> list[str]:
    """Layers the probe lists with no gradient norm (no gradient reached them): named under the plot."""
    rows = value if isinstance(value, (list, tuple)) else []
    return [str(r.get("layer") or r.get("module") or r.get("name")) for r in rows
            if isinstance(r, dict) and r.get("grad_norm", 0) is None]


def _unavailable_reason(value: Any) -> str | None:
    if value is None:
        return "no data (the analysis did not run for this model)"
    if isinstance(value, BaseException):
        return str(value) or type(value).__name__
    if isinstance(value, dict) and "unavailable" in value:
        return str(value["unavailable"])
    return None


# -- plots ------------------------------------------------------------------------------------------------

def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A figure and its axes without pyplot, so the user's backend and open figures are left alone."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _layer_ticks(ax: Any, labels: Sequence[str]) -> None:
    step = max(1, math.ceil(len(labels) / 30))
    positions = list(range(0, len(labels), step))
    ax.set_xticks(positions)
    ax.set_xticklabels([labels[i] for i in positions], rotation=70, ha="right", fontsize=7)


def rf_plot(rows: Sequence[dict[str, Any]]) -> str:
    """Receptive field (per axis) after each spatial layer, with the input size as a dashed line."""
    fig, ax = _figure(9, 3.8)
    labels = [r.get("module") or r.get("node") or str(i) for i, r in enumerate(rows)]
    axes = max(len(r["rf"]) for r in rows)
    names = ["height", "width"] if axes == 2 else [f"axis {i}" for i in range(axes)]
    for axis in range(axes):
        values = [r["rf"][axis] if axis < len(r["rf"]) else math.nan for r in rows]
        if axis and values == [r["rf"][0] for r in rows]:
            continue  # square kernels: one line says it all
        ax.plot(range(len(rows)), values, marker=".", label=f"receptive field ({names[axis]})")
    sizes = sorted({s for r in rows for s in r.get("input_size") or () if s})
    for size in sizes:
        ax.axhline(size, linestyle="--", color="#cf222e", linewidth=1)
        ax.annotate(f"input {size}px", (len(rows) - 1, size), textcoords="offset points", xytext=(0, 3),
                    ha="right", fontsize=8, color="#cf222e")
    ax.set_ylabel("pixels of the input")
    ax.set_xlabel("layer (depth order)")
    _layer_ticks(ax, labels)
    ax.set_ylim(bottom=0, top=max([*sizes, *(v for r in rows for v in r["rf"])]) * 1.12)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _svg(fig)


def param_share_plot(share: dict[str, Any]) -> str:
    body, head = int(share["body"]), int(share["head"])
    total = max(1, body + head)
    fig, ax = _figure(7, 1.6)
    ax.barh([0], [body], color="#0969da", label="body")
    ax.barh([0], [head], left=[body], color="#bf8700", label="head")
    for start, count, name in ((0, body, "body"), (body, head, "head")):
        if not count:
            continue
        label = f"{name}: {count:,} ({100 * count / total:.1f}%)"
        if count / total > 0.25:
            ax.annotate(label, (start + count / 2, 0), ha="center", va="center", fontsize=8, color="white")
        else:  # a thin bar: the label goes above it
            ax.annotate(label, (start + count / 2, 0.45), ha="center", va="bottom", fontsize=8)
    ax.set_ylim(-0.6, 1.0)
    ax.set_yticks([])
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("parameters")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=2, fontsize=8)
    return _svg(fig)


def grad_norm_plot(series: Sequence[tuple[str, float]]) -> str:
    fig, ax = _figure(9, 3.8)
    values = [v for _, v in series]
    finite = [v for v in values if math.isfinite(v)]
    ax.plot(range(len(series)), values, marker=".", color="#8250df")
    if finite and min(finite) > 0 and max(finite) / min(finite) > 100:
        ax.set_yscale("log")
    ax.set_ylabel("gradient norm")
    ax.set_xlabel("layer (depth order, input side first)")
    _layer_ticks(ax, [name for name, _ in series])
    ax.grid(alpha=0.3)
    return _svg(fig)


def race_plot(race: Race) -> str:
    """Both sides' loss curves: the median over seeds as a line, the seeds' range as a band (as the cards show)."""
    fig, ax = _figure(6.5, 3.2)
    for curves, colour, label in ((race.before, "#cf222e", "model as it is"), (race.after, "#0969da", "with the fix")):
        steps = range(1, min(len(c) for c in curves) + 1)
        columns = [[c[i] for c in curves] for i in range(len(steps))]
        ax.fill_between(steps, [min(v) for v in columns], [max(v) for v in columns], color=colour, alpha=0.18,
                        linewidth=0)
        ax.plot(steps, [statistics.median(v) for v in columns], color=colour, label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss")
    ax.set_title(f"race: median of {len(race.seeds)} seeds, band = seed range; {race.verdict.value}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _svg(fig)


# -- HTML -------------------------------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any) -> str:
    from archlint.plugin.findings import format_number as text_number

    return text_number(value) if value is not None else "—"


def _effect_table(effect: Sequence[Metric]) -> str:
    rows = "".join(
        f"<tr><td>{_e(m.name)}</td><td>{_e(_number(m.before))} {_e(m.unit)}</td>"
        f"<td>{_e(_number(m.after)) + ' ' + _e(m.unit) if m.after is not None else '—'}</td>"
        f"<td>{_e(m.method)}</td></tr>" for m in effect)
    return ("<table><tr><th>measured</th><th>now</th><th>with the fix</th><th>how it was measured</th></tr>"
            f"{rows}</table>")


def finding_html(finding: Finding) -> str:
    from archlint.plugin.findings import location

    severity = str(finding.severity or "warning")
    parts = [f'<div class="finding {_e(severity)}">',
             f"<h3>{_e(finding.code)} {_e(finding.rule)} · {_e(severity)}</h3>",
             f'<div class="loc">{_e(location(finding))}{" · " + _e(finding.module) if finding.module else ""}</div>',
             f"<p>{_e(finding.message)}</p>"]
    if finding.fix:
        parts.append(f"<p><b>Fix:</b> {_e(finding.fix.summary)}</p>")
        if finding.fix.snippet:
            parts.append(f"<pre>{_e(finding.fix.snippet)}</pre>")
    if finding.effect:
        parts.append(_effect_table(finding.effect))
    if finding.race is not None:
        parts.append(_race_section(finding.race))
    if finding.unmeasured:
        parts.append("<ul class=note>" + "".join(f"<li>not measured: {_e(u)}</li>" for u in finding.unmeasured)
                     + "</ul>")
    parts.append("</div>")
    return "\n".join(parts)


def _race_section(race: Race) -> str:
    if not _matplotlib_available():
        return '<p class="note">Race curves omitted: matplotlib is not installed (pip install \'archlint[html]\').</p>'
    try:
        return f'<div class="plot">{race_plot(race)}</div>'
    except Exception as exc:  # a plot must never cost the user the rest of the report
        return f'<p class="note">Race curves omitted: drawing failed ({_e(type(exc).__name__)}: {_e(exc)}).</p>'


def _summary_table(model: ModelReport) -> str:
    counts: dict[str, int] = {}
    for f in model.findings:
        counts[str(f.severity)] = counts.get(str(f.severity), 0) + 1
    rows = [("target", model.target or "python"), ("tracer", model.tracer or "—"),
            ("inputs", ", ".join("×".join(map(str, s)) for s in model.input_shapes) or "—"),
            ("parameters", f"{model.parameters:,}" if model.parameters is not None else "unknown"),
            ("device", model.device),
            ("findings", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none")]
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def _plot_section(title: str, value: Any, valid: Callable[[Any], bool], draw: Callable[[Any], str],
                  have_matplotlib: bool) -> str:
    reason = _unavailable_reason(value)
    if reason is None and not valid(value):
        reason = "the data has no rows to plot"
    if reason is None and not have_matplotlib:
        reason = "matplotlib is not installed (pip install 'archlint[html]')"
    if reason is not None:
        return f'<h3>{_e(title)}</h3><p class="note">Plot omitted: {_e(reason)}.</p>'
    try:
        return f'<h3>{_e(title)}</h3><div class="plot">{draw(value)}</div>'
    except Exception as exc:  # a plot must never cost the user the rest of the report
        return f'<h3>{_e(title)}</h3><p class="note">Plot omitted: drawing failed ({_e(type(exc).__name__)}: {_e(exc)}).</p>'


def _has_rf_rows(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(r, dict) and r.get("rf") for r in value)


def _rf_rows(value: Any) -> list[dict[str, Any]]:
    return [r for r in value if isinstance(r, dict) and r.get("rf")]


def model_html(model: ModelReport, have_matplotlib: bool) -> str:
    plots = model.plots
    parts = [f'<section id="{_e(model.name)}"><h2>{_e(model.name)}</h2>', _summary_table(model)]
    parts.extend(f'<p class="note">note: {_e(n.text)}</p>' for n in model.notes)
    parts.append(f"<h3>Findings ({len(model.findings)})</h3>")
    parts.extend(finding_html(f) for f in model.findings)
    if not model.findings:
        parts.append("<p>No findings.</p>")
    parts.append(_plot_section("Receptive field per layer against the input size", plots.receptive_fields if plots else None,
                               _has_rf_rows, lambda v: rf_plot(_rf_rows(v)), have_matplotlib))
    parts.append(_plot_section("Parameter share: body and head", plots.parameter_split if plots else None,
                               lambda v: isinstance(v, dict) and "body" in v and "head" in v,
                               param_share_plot, have_matplotlib))
    parts.append(_plot_section("Gradient norm per layer (depth order)", plots.gradient_norms if plots else None,
                               lambda v: bool(grad_norm_series(v)), lambda v: grad_norm_plot(grad_norm_series(v)),
                               have_matplotlib))
    missing = layers_without_gradient(plots.gradient_norms if plots else None)
    if missing:
        parts.append(f'<p class="note">No gradient reached {len(missing)} layer(s), not plotted: '
                     f'{_e(", ".join(missing))}.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _scoped_css(scope: str) -> str:
    """The stylesheet with every selector under `scope`, so an embedded report does not restyle its page."""
    rules = []
    for rule in _CSS.strip().split("}"):
        if "{" not in rule:
            continue
        selectors, body = rule.split("{", 1)
        scoped = ",".join(scope if s.strip() == "body" else f"{scope} {s.strip()}" for s in selectors.split(","))
        rules.append(f"{scoped}{{{body}}}")
    return "".join(rules)


def render_html(report: Report, embedded: bool = False) -> str:
    """The whole document; with `embedded`, a fragment for a page that shows it (a notebook cell)."""
    have_matplotlib = _matplotlib_available()
    total = len(report.findings)
    body = [f"<h1>archlint report</h1><p>{total} finding(s) in {len(report.models)} model(s), "
            f"{len(report.errors)} error(s).</p>"]
    if not have_matplotlib:
        body.append('<p class="note">Plots are missing: matplotlib is not installed '
                    "(pip install 'archlint[html]').</p>")
    if report.models:
        body.append("<ul>" + "".join(f'<li><a href="#{_e(m.name)}">{_e(m.name)}</a> — '
                                     f"{len(m.findings)} finding(s)</li>" for m in report.models) + "</ul>")
    if report.errors:
        body.append('<h2>Errors</h2><ul class="errors">' + "".join(f"<li>{_e(e)}</li>" for e in report.errors)
                    + "</ul>")
    body.extend(model_html(m, have_matplotlib) for m in report.models)
    if embedded:
        return f'<div class="archlint-report"><style>{_scoped_css(".archlint-report")}</style>' + "\n".join(body) + "</div>"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>archlint report</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


render_html.needs_plots = True  # type: ignore[attr-defined]


@hookimpl
def archlint_report_formats(style: OutputStyle) -> dict[str, Callable[[Report], str]]:
    if not style.embedded:
        return {"html": render_html}
    render = functools.partial(render_html, embedded=True)
    render.needs_plots = True  # type: ignore[attr-defined]
    return {"html": render}
