"""The report page: one self-contained HTML file (inline CSS and SVG, no script, no network).

Every value from the run goes through :func:`esc`; a Content-Security-Policy forbids any
script or remote resource, so even a mistake here could not make the page load anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from devteam import __version__
from devteam.report.charts import timeline
from devteam.report.data import ReportData
from devteam.report.graph import END, START, GraphShape, draw, layout
from devteam.report.svg import esc

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;
background:#fff}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid
#e5e7eb;padding-bottom:4px}
.meta{color:#57606a}.badge{display:inline-block;padding:1px 9px;border-radius:10px;color:#fff;
font-weight:600}.passed{background:#2f855a}.failed,.error,.rejected{background:#c53030}
.budget_exhausted,.unfinished,.waiting{background:#b7791f}
table{border-collapse:collapse;margin:6px 0;width:100%}th,td{border:1px solid #e5e7eb;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}td.n{text-align:right}
tr.chosen td{background:#e6f4ea;font-weight:600}
pre{background:#f6f8fa;padding:10px;overflow:auto;white-space:pre-wrap;word-break:break-word;
max-height:420px}
.warning{color:#9a6700}.error-note{color:#c53030}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}svg text.in{fill:#fff}
svg text.count{font-weight:700;fill:#d9480f}
.figure{overflow-x:auto;border:1px solid #e5e7eb;padding:6px;text-align:center}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:12px;
height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.kv dt{font-weight:600}.kv dd{margin:0 0 6px 16px}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render(data: ReportData, graph: GraphShape | None) -> str:
    """The whole page for one run."""
    sections = [
        _header(data),
        _section("Request", f"<pre>{esc(data.task)}</pre>"),
        _section("Spec", _spec(data)),
        _section("Timeline", _timeline(data), id_="timeline"),
        _section("The team's graph and the path taken", _graph(data, graph), id_="graph"),
        _section("Tests per round", _tests(data), id_="tests"),
        _section("Candidates", _candidates(data), id_="candidates"),
        _section("Review", _reviews(data), id_="review"),
        _section("Changes", _files(data), id_="changes"),
        _section("Tokens and time per role", _roles(data), id_="roles"),
        _section("Notes", _notes(data), id_="notes"),
    ]
    made = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>devteam run {esc(data.run_id)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(sections)}"
        f'<p class="meta">Made by devteam {esc(__version__)} on {esc(made)} from the run\'s '
        "audit log.</p></main></body></html>\n"
    )


def _section(heading: str, body: str, *, id_: str = "") -> str:
    anchor = f' id="{esc(id_)}"' if id_ else ""
    return f"<section{anchor}><h2>{esc(heading)}</h2>{body}</section>"


def _table(
    head: Iterable[str], rows: Iterable[Iterable[str]], *, classes: list[str] | None = None
) -> str:
    """A table; cells are markup already escaped by the caller."""
    out = ["<table><tr>", *(f"<th>{esc(h)}</th>" for h in head), "</tr>"]
    for i, row in enumerate(rows):
        cls = f' class="{esc(classes[i])}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _none(what: str) -> str:
    return f'<p class="meta">{esc(what)}</p>'


def _header(d: ReportData) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.started)) if d.started else "-"
    facts = [
        ("team", d.team or "-"),
        ("model", d.model or "-"),
        ("started", started),
        ("wall time", f"{d.duration_s:.1f}s"),
        (
            "tokens",
            f"{d.prompt_tokens + d.completion_tokens:,} ({d.prompt_tokens:,} prompt + "
            f"{d.completion_tokens:,} completion)",
        ),
        ("fix attempts", str(d.fix_attempts)),
        ("verdict", d.verdict or "-"),
        ("workspace", d.workspace or "-"),
    ]
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    skipped = (
        f'<p class="warning">{d.skipped_lines} line(s) of the audit log were not events and '
        "were skipped.</p>"
        if d.skipped_lines
        else ""
    )
    return (
        f"<header><h1>Run {esc(d.run_id)}</h1>"
        f'<p><span class="badge {esc(d.status)}" id="status">{esc(d.status)}</span> '
        f"{esc(d.reason)}</p><table>{rows}</table>{skipped}</header>"
    )


def _value(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return "-"
        items = "".join(f"<dt>{esc(k)}</dt><dd>{_value(v)}</dd>" for k, v in value.items())
        return f'<dl class="kv">{items}</dl>'
    if isinstance(value, list):
        if not value:
            return "-"
        return "<ul>" + "".join(f"<li>{_value(v)}</li>" for v in value) + "</ul>"
    return esc(value)


def _spec(d: ReportData) -> str:
    if not d.spec:
        return _none("No spec was recorded (the run's checkpoint holds none or is not readable).")
    return _value(d.spec)


def _timeline(d: ReportData) -> str:
    if not d.spans:
        return _none("The audit log holds no phase or model call yet.")
    roles = list((d.team_config.get("roles") or {}).keys())
    lanes = ["phases", *roles, *(r.role for r in d.roles), "sandbox"]
    legend = "".join(
        f'<span><i class="sw" style="background:{c}"></i>{esc(t)}</span>'
        for t, c in (
            ("phase", "#6b7280"),
            ("model call (per role)", "#4e79a7"),
            ("sandbox command", "#2f855a"),
        )
    )
    return (
        f'<div class="figure">{timeline(d.spans, lanes)}</div>'
        f'<p class="legend meta">{legend} Hover a bar for its details.</p>'
    )


def run_path(d: ReportData) -> tuple[dict[tuple[str, str], int], set[str]]:
    """The edges the run took (with how often) and the nodes it visited."""
    taken: dict[tuple[str, str], int] = {}
    for dec in d.decisions:
        taken[(dec.source, dec.target)] = taken.get((dec.source, dec.target), 0) + 1
    visited = set(d.phases) | {x for dec in d.decisions for x in (dec.source, dec.target)}
    if d.phases:
        taken[(START, d.phases[0])] = taken.get((START, d.phases[0]), 0) + 1
        visited.add(START)
    if d.status not in ("unfinished", "waiting") and "deliver" in visited:
        taken[("deliver", END)] = 1
        visited.add(END)
    return taken, visited


def _graph(d: ReportData, graph: GraphShape | None) -> str:
    if graph is None:
        return _none("The team's graph could not be built from the run's team record.")
    taken, visited = run_path(d)
    steps = "".join(
        f"<li><b>{esc(dec.source)}</b> &rarr; <b>{esc(dec.target)}</b>: {esc(dec.reason)}</li>"
        for dec in d.decisions
    )
    return (
        f'<div class="figure">{draw(layout(graph), taken, visited)}</div>'
        '<p class="meta">Bold orange: the route this run took (with how many times, where more '
        "than once); dashed: a routing decision; solid: always.</p>"
        f"<details><summary>Every routing decision, in order ({len(d.decisions)})</summary>"
        f'<ol id="decisions">{steps}</ol></details>'
    )


def _tests(d: ReportData) -> str:
    if not d.tests:
        return _none("No command ran in the sandbox.")
    rows = []
    for t in d.tests:
        failing = ", ".join(t.failing_tests[:8]) + (" ..." if len(t.failing_tests) > 8 else "")
        tail = (
            f"<details><summary>output</summary><pre>{esc(t.output_tail)}</pre></details>"
            if t.output_tail
            else ""
        )
        rows.append(
            [
                str(t.round),
                f"<code>{esc(t.command)}</code>",
                esc(t.verdict),
                f"{t.duration_s:.1f}s",
                esc(failing or "-") + tail,
            ]
        )
    classes = ["chosen" if t.passed else "" for t in d.tests]
    return _table(["round", "command", "verdict", "time", "failing tests"], rows, classes=classes)


def _candidates(d: ReportData) -> str:
    if not d.candidates:
        return _none("This run did not sample candidates (one version was written and tested).")
    out = []
    for i, check in enumerate(d.candidates, start=1):
        rows, classes = [], []
        for c in check.candidates:
            rows.append(
                [
                    esc(f"#{c.get('id')}"),
                    esc(c.get("origin", "")),
                    "yes" if c.get("imports") else "no",
                    esc(c.get("examples", "-")),
                    esc(
                        f"{c.get('tests_passed', 0)}/"
                        f"{int(c.get('tests_passed', 0)) + int(c.get('tests_failed', 0))}"
                    ),
                    esc(c.get("crashes", 0)),
                    "yes" if c.get("rejected") else "",
                ]
            )
            classes.append("chosen" if c.get("id") == check.chosen else "")
        suspect = (
            f"; suspect tests (no candidate passes them): {esc(', '.join(check.suspect_tests))}"
            if check.suspect_tests
            else ""
        )
        out.append(
            f"<h3>Check {i}: candidate #{esc(check.chosen)} chosen, verdict "
            f"<b>{esc(check.verdict)}</b>{suspect}</h3>"
            + _table(
                ["candidate", "origin", "imports", "examples", "tests", "crashes", "rejected"],
                rows,
                classes=classes,
            )
        )
    return "".join(out)


def _reviews(d: ReportData) -> str:
    parts = []
    for name, review in d.reviews.items():
        review = review if isinstance(review, dict) else {"review": review}
        approved = review.get("approved")
        word = "approved" if approved else "not reviewed" if approved is None else "changes asked"
        changes = review.get("changes") or []
        parts.append(f"<h3>{esc(name)}: {esc(word)}</h3>" + (_value(changes) if changes else ""))
    said = [n for n in d.notes if ": approved" in n.text or " asks for changes" in n.text]
    if said and not d.reviews:  # the checkpoint is gone: what the reviewers said, as logged
        parts.append("<ul>" + "".join(f"<li>{esc(n.text)}</li>" for n in said) + "</ul>")
    if d.acceptance:
        rows = [
            [
                esc(c.get("criterion", c)),
                "yes" if c.get("met") else "no",
                esc(c.get("evidence", "")),
            ]
            for c in d.acceptance
            if isinstance(c, dict)
        ]
        parts.append(
            "<h3>The CEO's acceptance check</h3>" + _table(["criterion", "met", "evidence"], rows)
        )
    return "".join(parts) or _none("No review was made in this run.")


def _files(d: ReportData) -> str:
    if not d.files:
        return _none("No file was written.")
    rows = []
    for f in d.files:
        rows.append(
            [
                esc(f.role),
                f"<code>{esc(f.path)}</code>",
                esc((f.commit or "-")[:10]),
                "-" if f.added is None else f"+{f.added}",
                "-" if f.removed is None else f"-{f.removed}",
            ]
        )
    added = sum(f.added or 0 for f in d.files)
    removed = sum(f.removed or 0 for f in d.files)
    paths = len({f.path for f in d.files})
    return (
        f"<p>{paths} file(s), {len(d.files)} write(s), +{added} / -{removed} lines.</p>"
        + _table(["role", "file", "commit", "added", "removed"], rows)
    )


def _roles(d: ReportData) -> str:
    if not d.roles:
        return _none("No model call was made.")
    most = max(r.tokens for r in d.roles) or 1
    rows = []
    for r in d.roles:
        bar = (
            f'<svg width="160" height="12" role="img" aria-label="share"><rect width="'
            f'{160 * r.tokens / most:.1f}" height="12" fill="#4e79a7"/></svg>'
        )
        rows.append(
            [
                esc(r.role),
                str(r.calls),
                f"{r.prompt_tokens:,}",
                f"{r.completion_tokens:,}",
                f"{r.tokens:,} {bar}",
                f"{r.model_s:.1f}s",
                f"{r.phase_s:.1f}s",
            ]
        )
    return _table(
        ["role", "calls", "prompt", "completion", "tokens", "model time", "time in its phases"],
        rows,
    )


def _notes(d: ReportData) -> str:
    if not d.notes:
        return _none("No notes.")
    cls = {"info": "", "warning": "warning", "error": "error-note"}
    return (
        "<ul>"
        + "".join(f'<li class="{cls[n.level]}">{esc(n.level)}: {esc(n.text)}</li>' for n in d.notes)
        + "</ul>"
    )
