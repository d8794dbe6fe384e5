"""The page: charts drawn by matplotlib as inline SVG, tables, one small inline script to sort tables.

matplotlib rather than Plotly: SVG needs no script to show, so a chart renders in any browser, offline,
printed or with scripts blocked, and the page stays small (Plotly's inlined JS alone is ~3.5 MB).
Figures are built without pyplot (no global state, no GUI backend).
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gtproc import __version__
from gtproc.domain.comparison import Agreement
from gtproc.domain.groundtruth import TaskType
from gtproc.report import analysis as an

OURS, THEIRS, AUTO = "#2563eb", "#f97316", "#9ca3af"
SERIES = ["#2563eb", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777", "#4b5563"]
Step = Callable[[str], None]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#111827;background:#f3f4f6}
header{background:#111827;color:#f9fafb;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#d1d5db}main{padding:8px 28px 40px;max-width:1280px}
section{background:#fff;border-radius:8px;padding:14px 20px;margin:16px 0;box-shadow:0 1px 2px #0001}
h2{font-size:17px;margin:4px 0 10px}h3{font-size:14px;margin:14px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#f9fafb;border:1px solid #e5e7eb;border-radius:6px;
padding:8px 14px;min-width:92px}.card b{display:block;font-size:20px}.card span{color:#6b7280;font-size:12px}
figure.chart{margin:8px 0;display:inline-block;vertical-align:top}figure.chart svg{max-width:100%;height:auto}
figcaption{color:#6b7280;font-size:12px;max-width:640px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f9fafb}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}table.sortable th[data-dir=asc]::after{content:" \\25B2"}
table.sortable th[data-dir=desc]::after{content:" \\25BC"}tr.flagged td{background:#fef2f2}
.note{color:#6b7280}.empty{font-size:16px;padding:30px 10px}code{font-size:12px;word-break:break-all}
.scroll{max-height:520px;overflow:auto}
"""

_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
      table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir;
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[col], v = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent;
        return cell.dataset.v !== undefined ? parseFloat(v) : v.toLowerCase();
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), c = typeof x === 'number' ? x - y : (x < y ? -1 : x > y ? 1 : 0);
        return dir === 'asc' ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.1%}"


class Charts:
    """Builds each chart as an inline <svg>; ids are salted per chart, so two charts never share one."""

    def __init__(self, on_step: Step | None = None) -> None:
        import matplotlib as mpl

        self.mpl = mpl
        self.count = 0
        self.on_step = on_step
        self.style = {
            "svg.fonttype": "none",  # text stays text: smaller, selectable, no font embedded
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
        }

    def figure(self, width: float, height: float) -> Any:
        from matplotlib.figure import Figure

        with self.mpl.rc_context(self.style):
            return Figure(figsize=(width, height), layout="constrained")

    def svg(self, fig: Any, name: str, caption: str = "") -> str:
        self.count += 1
        buffer = io.StringIO()
        with self.mpl.rc_context({**self.style, "svg.hashsalt": f"{name}-{self.count}"}):
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        text = buffer.getvalue()
        text = text[text.index("<svg") :]  # drop the XML prolog and doctype: inline SVG needs neither
        if self.on_step is not None:
            self.on_step(name)
        caption_html = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
        return f'<figure class="chart" data-chart="{_e(name)}">{text}{caption_html}</figure>'

    def axes(self, width: float, height: float, columns: int = 1) -> tuple[Any, list[Any]]:
        fig = self.figure(width, height)
        with self.mpl.rc_context(self.style):
            axes = fig.subplots(1, columns, squeeze=False)[0]
        return fig, list(axes)


def render(report: an.Report, on_step: Step | None = None) -> str:
    charts = Charts(on_step)
    title = f"{report.job}: labeling job report"
    head = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body>'
        f"<header><h1>{_e(title)}</h1><p>{_e(report.where)} · generated by gtproc {_e(__version__)} on"
        f" {_e(an.now_utc())}</p></header><main>"
    )
    if report.empty:
        body = (
            '<section class="empty" id="nothing"><h2>Nothing to show yet</h2><p>No manifest, worker response or'
            f" consolidation file of job <b>{_e(report.job)}</b> was found under <code>{_e(report.where)}</code>."
            "</p></section>"
        )
    else:
        parts = [
            _summary(report),
            _progress(report, charts),
            _balance(report, charts),
            _confidence(report, charts),
            _workers(report, charts),
            _crowd(report, charts),
            _look_at(report),
            _problems(report),
            _task_views(report, charts),
        ]
        body = "".join(p for p in parts if p)
    return f"{head}{body}</main><script>{_SCRIPT}</script></body></html>"


def _section(key: str, title: str, content: str) -> str:
    return f'<section id="{key}"><h2>{_e(title)}</h2>{content}</section>'


def _summary(report: an.Report) -> str:
    figures = an.summary(report)
    cards = "".join(
        f'<div class="card" data-key="{_e(k)}"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for k, v in figures.items()
    )
    notes = [f"Label attribute <code>{_e(report.attribute)}</code>."]
    if report.manifest:
        notes.append(f"Ground Truth's labels from <code>{_e(report.manifest)}</code>.")
    if report.method:
        notes.append(f"gtproc's labels: <b>{_e(report.method)}</b> over the worker responses.")
    if report.consolidation_error:
        notes.append(f"gtproc could not consolidate: {_e(report.consolidation_error)}.")
    return _section("summary", "1. Summary", f'<div class="cards">{cards}</div><p class="note">{" ".join(notes)}</p>')


def _progress(report: an.Report, charts: Charts) -> str:
    starts, series, counts, unit = an.progress(report.rows.values())
    if not starts:
        return _section("progress", "2. Progress over time", '<p class="note">No labeled object has a time.</p>')
    import matplotlib.dates as mdates

    fig, (ax,) = charts.axes(9, 3.2)
    width = 1 / 24 if unit == "hour" else 1.0
    bottom = np.zeros(counts.shape[1])
    for i, name in enumerate(series):
        color = AUTO if name == "auto" else SERIES[i % len(SERIES)]
        ax.bar(starts, counts[i], width=width * 0.9, bottom=bottom, align="edge", color=color, label=name)
        bottom += counts[i]
    ax.set_ylabel(f"objects labeled per {unit}")
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"Objects labeled per {unit} (UTC), by iteration")
    caption = "Human labels at their last worker's submission time; automated labels at their creation-date."
    return _section("progress", "2. Progress over time", charts.svg(fig, "progress", caption))


def _balance(report: an.Report, charts: Charts) -> str:
    classes, ours, theirs = an.class_balance(report)
    if not classes:
        return ""
    shown = classes[:30]
    fig, (ax,) = charts.axes(8, max(1.8, 0.9 + 0.3 * len(shown)))
    y = np.arange(len(shown))
    ax.barh(y - 0.2, ours[: len(shown)], 0.4, color=OURS, label="gtproc")
    ax.barh(y + 0.2, theirs[: len(shown)], 0.4, color=THEIRS, label="Ground Truth")
    ax.set_yticks(y, shown)
    ax.invert_yaxis()
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    what = {TaskType.OBJECT_DETECTION: "boxes", TaskType.TEXT_SPAN: "entities"}.get(report.kind, "objects")
    ax.set_xlabel(f"{what} per class")
    ax.set_title("Class balance")
    more = f" The 30 commonest of {len(classes)} classes." if len(classes) > 30 else ""
    caption = "gtproc labels the objects with worker responses; Ground Truth's include automated labels." + more
    return _section("balance", "3. Class balance", charts.svg(fig, "class-balance", caption))


def _confidence(report: an.Report, charts: Charts) -> str:
    ours = [c for r in report.rows.values() for c in an.confidences(r.ours)]
    theirs = [c for r in report.rows.values() if r.status == "labeled" for c in an.confidences(r.gt)]
    if not ours and not theirs:
        return ""
    fig, axes = charts.axes(9, 2.8, 2)
    edges = np.linspace(0, 1, an.BINS + 1)
    for ax, values, name, color in ((axes[0], ours, "gtproc", OURS), (axes[1], theirs, "Ground Truth", THEIRS)):
        ax.bar(edges[:-1], an.histogram(values), width=0.1, align="edge", color=color, edgecolor="white")
        ax.set_xlim(0, 1)
        ax.set_title(f"{name}: {len(values)} confidences")
        ax.set_xlabel("confidence")
    axes[0].set_ylabel("count")
    content = charts.svg(fig, "confidence", "One confidence per label, picked class, box or entity; 10 equal bins.")
    truth = an.against_truth(report)
    if report.truth is not None and truth is None:
        content += '<p class="note">--truth applies to single-label classification only.</p>'
    if truth:
        rows = "".join(
            f"<tr><td>{_e(side)}</td><td class=n>{c.n}</td><td class=n>{_pct(c.accuracy)}</td>"
            f"<td class=n>{'' if math.isnan(c.ece) else f'{c.ece:.3f}'}</td></tr>"
            for side, c in truth.items()
        )
        content += (
            '<h3>Against the true labels</h3><table id="truth"><thead><tr><th>labels</th><th>objects</th>'
            f"<th>accuracy</th><th>ECE (10 bins)</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        fig, axes = charts.axes(8, 3.4, 2)
        for ax, (side, c), color in zip(axes, truth.items(), (OURS, THEIRS), strict=True):
            centres = edges[:-1] + 0.05
            accuracy = [b[2] if b[0] else 0.0 for b in c.bins]
            ax.bar(centres, accuracy, width=0.1, color=color, edgecolor="white", label="accuracy")
            ax.plot([0, 1], [0, 1], color="#6b7280", linestyle="--", linewidth=1, label="perfect calibration")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xlabel("confidence")
            ax.set_title(f"{side}: ECE {c.ece:.3f}" if c.n else f"{side}: no object")
        axes[0].set_ylabel("accuracy in the bin")
        axes[0].legend(frameon=False, fontsize=8, loc="upper left")
        content += charts.svg(fig, "reliability", "Reliability: accuracy per confidence bin against the diagonal.")
    return _section("confidence", "4. Confidence", content)


def _workers(report: an.Report, charts: Charts) -> str:
    rows = an.workers(report)
    if not rows:
        return ""
    truth = any(w.truth_answers for w in rows)
    head = ["worker", "answers", "estimated accuracy", "95% interval", "agreement with consensus", "median time"]
    head += ["accuracy on truth"] if truth else []
    body = []
    for w in rows:
        seconds = w.median_seconds
        cells = [
            f"<td><code>{_e(w.worker_id)}</code>{' ⚑' if w.flagged else ''}</td>",
            f'<td class=n data-v="{w.answers}">{w.answers}</td>',
            f'<td class=n data-v="{w.accuracy:.6f}">{_pct(w.accuracy)}</td>',
            f'<td class=n data-v="{w.low:.6f}">{_pct(w.low)} to {_pct(w.high)}</td>',
            f'<td class=n data-v="{w.agreement:.6f}">{_pct(w.agreement)}</td>',
            f'<td class=n data-v="{-1 if seconds is None else seconds:.3f}">'
            f"{'' if seconds is None else f'{seconds:.0f} s'}</td>",
        ]
        if truth:
            value = -1 if w.truth_accuracy is None else w.truth_accuracy
            shown = "" if w.truth_accuracy is None else f"{_pct(w.truth_accuracy)} of {w.truth_answers}"
            cells.append(f'<td class=n data-v="{value:.6f}">{shown}</td>')
        body.append(f'<tr class="{"flagged" if w.flagged else ""}">{"".join(cells)}</tr>')
    table = (
        f'<div class="scroll"><table class="sortable" id="workers"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )
    estimate = "the Dawid-Skene model's" if report.estimated else "the smoothed agreement"
    note = (
        f"<p class=\"note\">Estimated accuracy: {estimate}; the interval is Wilson's over the worker's answers. "
        "⚑ flagged: the whole interval lies below the crowd's median. Click a heading to sort.</p>"
    )
    fig, (ax,) = charts.axes(6, 3.4)
    flagged = [w.flagged for w in rows]
    x = [w.answers for w in rows]
    y = [w.accuracy for w in rows]
    errors = [[w.accuracy - w.low for w in rows], [w.high - w.accuracy for w in rows]]
    ax.errorbar(x, y, yerr=errors, fmt="none", ecolor="#d1d5db", linewidth=1)
    colors = ["#dc2626" if f else OURS for f in flagged]
    ax.scatter(x, y, c=colors, s=18, zorder=3)
    if max(x) > 50 * max(1, min(x)):
        ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("answers")
    ax.set_ylabel("estimated accuracy")
    ax.set_title("Workers: accuracy against answers (red: flagged)")
    content = table + note + charts.svg(fig, "workers-scatter")
    shown = [w for w in rows if w.flagged and w.confusion is not None][:6]
    if shown:
        fig, axes = charts.axes(min(3.2 * len(shown), 13), 3.2, len(shown))
        for ax, w in zip(axes, shown, strict=True):
            _heatmap(ax, np.nan_to_num(w.confusion), report.classes, annotate_up_to=5)
            ax.set_title(f"…{w.worker_id[-10:]}", fontsize=9)
        caption = "Flagged workers' estimated confusion: row = gtproc's label, column = the worker's answer."
        content += "<h3>Flagged workers</h3>" + charts.svg(fig, "flagged-confusion", caption)
    return _section("workers", "5. Workers", content)


def _heatmap(ax: Any, matrix: np.ndarray, classes: Sequence[str], annotate_up_to: int = 12) -> None:
    k = len(classes)
    ax.pcolormesh(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xlim(0, k)
    ax.set_ylim(k, 0)
    names = [c if len(c) <= 12 else c[:11] + "…" for c in classes]
    ax.set_xticks(np.arange(k) + 0.5, names, rotation=45, ha="right")
    ax.set_yticks(np.arange(k) + 0.5, names)
    if k <= annotate_up_to:
        for i in range(k):
            for j in range(k):
                if matrix[i, j] >= 0.005:
                    color = "white" if matrix[i, j] > 0.6 else "#111827"
                    ax.text(j + 0.5, i + 0.5, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7, color=color)


def _crowd(report: an.Report, charts: Charts) -> str:
    matrix = an.crowd_confusion(report.quality)
    if matrix is None:
        return ""
    k = len(report.classes)
    size = max(3.5, min(10, 0.45 * k + 2))
    fig, (ax,) = charts.axes(size, size * 0.85)
    _heatmap(ax, matrix, report.classes)
    ax.set_xlabel("answered")
    ax.set_ylabel("gtproc's label")
    ax.set_title("The crowd's confusion matrix")
    caption = "Share of all answers per (gtproc's label, class answered); off-diagonal cells are the mix-ups."
    return _section("crowd", "6. The crowd's confusion matrix", charts.svg(fig, "crowd-confusion", caption))


def _object_table(report: an.Report, rows: Sequence[an.ObjectRow], key: str) -> str:
    body = []
    for r in rows:
        ours, theirs = an.label_confidence(r.ours), an.label_confidence(r.gt)
        body.append(
            f"<tr><td class=n>{_e(r.oid)}</td><td><code>{_e(r.source or '')}</code></td>"
            f"<td>{_e(an.votes(report.task_type, r.answers))}</td>"
            f"<td>{_e(an.describe(report.task_type, r.ours))}</td><td class=n>{'' if ours is None else ours}</td>"
            f"<td>{_e(an.describe(report.task_type, r.gt))}</td><td class=n>{'' if theirs is None else theirs}</td>"
            + (f"<td>{_e(report.truth.get(r.oid, ''))}</td>" if report.truth is not None else "")
            + "</tr>"
        )
    truth = "<th>true label</th>" if report.truth is not None else ""
    return (
        f'<table id="{key}"><thead><tr><th>id</th><th>source-ref</th><th>votes</th><th>gtproc</th><th>confidence</th>'
        f"<th>Ground Truth</th><th>confidence</th>{truth}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _look_at(report: an.Report) -> str:
    shown, total, least = an.to_look_at(report)
    compared = sum(1 for r in report.rows.values() if r.agree in (Agreement.SAME, Agreement.DIFFERENT))
    if not compared and not least:
        return ""
    if compared:
        content = f"<h3>gtproc and Ground Truth disagree: {total} of {compared} objects compared</h3>"
    else:
        content = '<p class="note">No object has both a gtproc and a Ground Truth label to compare.</p>'

    if shown:
        more = f" (the {len(shown)} least confident shown)" if total > len(shown) else ""
        content += f'<p class="note">Least confident first{more}.</p>' + _object_table(report, shown, "disagreements")
    if least:
        content += "<h3>Least confident (gtproc)</h3>" + _object_table(report, least, "least-confident")
    return _section("look-at", "7. Objects to look at", content)


def _problems(report: an.Report) -> str:
    parts = []
    codes = an.invalid_by_code(report.invalid)
    if codes:
        rows = "".join(
            f"<tr><td><code>{_e(code)}</code></td><td class=n>{n}</td><td>"
            + "<br>".join(f"line {line}: {_e(message)}" for line, message in first)
            + "</td></tr>"
            for code, n, first in codes
        )
        parts.append(
            f'<h3>Invalid lines of the manifest</h3><table id="invalid"><thead><tr><th>rule</th><th>lines</th>'
            f"<th>first lines</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    reasons = an.failures_by_reason(report.rows.values())
    if reasons:
        rows = "".join(
            f"<tr><td>{_e(reason)}</td><td class=n>{len(ids)}</td><td>{_e(', '.join(ids[:20]))}"
            f"{' …' if len(ids) > 20 else ''}</td></tr>"
            for reason, ids in reasons
        )
        parts.append(
            '<h3>Failed objects</h3><table id="failed"><thead><tr><th>reason</th><th>objects</th><th>ids</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>"
        )
    if report.unusable:
        rows = "".join(f"<tr><td><code>{_e(f)}</code></td><td>{_e(why)}</td></tr>" for f, why in report.unusable[:100])
        more = f'<p class="note">… and {len(report.unusable) - 100} more.</p>' if len(report.unusable) > 100 else ""
        parts.append(
            f'<h3>Unusable files ({len(report.unusable)})</h3><table id="unusable"><thead><tr><th>file</th>'
            f"<th>why</th></tr></thead><tbody>{rows}</tbody></table>{more}"
        )
    if report.consolidation_failures:
        rows = "".join(
            f"<tr><td class=n>{_e(oid)}</td><td>{_e(why)}</td></tr>" for oid, why in report.consolidation_failures[:100]
        )
        parts.append(
            '<h3>Objects gtproc could not consolidate</h3><table id="not-consolidated"><thead><tr><th>id</th>'
            f"<th>why</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    content = "".join(parts) or '<p class="note">No problem found.</p>'
    return _section("problems", "8. Problems", content)


def _task_views(report: an.Report, charts: Charts) -> str:
    if report.kind is TaskType.OBJECT_DETECTION:
        ours, theirs = an.boxes_per_image(report)
        agreement = an.box_agreement(report)
        fig, axes = charts.axes(9, 2.8, 2)
        top = max([*ours, *theirs, 1])
        bins = np.arange(top + 2) - 0.5
        axes[0].hist([ours, theirs], bins=bins, color=[OURS, THEIRS], label=["gtproc", "Ground Truth"])
        axes[0].set_xlabel("boxes per image")
        axes[0].set_ylabel("images")
        axes[0].legend(frameon=False)
        axes[0].set_title("Boxes per image")
        axes[1].hist(agreement, bins=np.linspace(0, 1, 11), color=OURS, edgecolor="white")
        axes[1].set_xlabel("mean pairwise IoU between workers")
        axes[1].set_title(f"Worker agreement (IoU), {len(agreement)} images")
        caption = "Agreement: same-class boxes of two workers matched one to one by IoU; a missed box counts 0."
        return _section("task", "9. Bounding boxes", charts.svg(fig, "boxes", caption))
    if report.kind is TaskType.TEXT_SPAN:
        agreement = an.span_agreement(report)
        if not agreement:
            return ""
        fig, (ax,) = charts.axes(5, 2.8)
        ax.hist(agreement, bins=np.linspace(0, 1, 11), color=OURS, edgecolor="white")
        ax.set_xlabel("mean pairwise span overlap between workers")
        ax.set_ylabel("texts")
        ax.set_title(f"Span agreement, {len(agreement)} texts")
        caption = "Same-label spans of two workers matched one to one by overlap (Jaccard); a missed span counts 0."
        return _section("task", "9. Named entities", charts.svg(fig, "spans", caption))
    return ""
