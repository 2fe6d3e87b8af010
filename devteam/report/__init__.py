"""A run's report: one self-contained HTML file made from its audit log and records.

``write_report(settings, run_id)`` gathers (``data``), lays the team's graph out (``graph``)
and renders (``page``, ``charts``, ``svg``); nothing here touches the network.
"""

from __future__ import annotations

from pathlib import Path

from devteam.config import Settings
from devteam.report.data import ReportData, gather
from devteam.report.graph import GraphShape, team_graph
from devteam.report.page import render

__all__ = ["ReportData", "gather", "render", "report_html", "write_report"]


def report_html(settings: Settings, run_id: str) -> str:
    """The report page of ``run_id`` (DevteamError when the run has no audit log)."""
    data = gather(settings, run_id)
    graph: GraphShape | None = None
    if data.team_config:
        try:
            graph = team_graph(data.team_config)
        except Exception:  # a team record of another version: the page says so
            graph = None
    return render(data, graph)


def write_report(settings: Settings, run_id: str, out: Path | None = None) -> Path:
    """Write the report (default: ``report.html`` beside the run's audit log)."""
    path = out or settings.run_dir(run_id) / "report.html"
    html = report_html(settings, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
