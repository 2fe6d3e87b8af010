"""Views of a run: live at a terminal, plain or JSON lines elsewhere, and replays of finished
runs (``devteam show``). All of them fold the run's typed events (devteam.events)."""

from devteam.ui.lines import JsonLines, LineView, event_line
from devteam.ui.live import LiveView
from devteam.ui.render import render
from devteam.ui.replay import replay
from devteam.ui.state import RunView, stage_of

__all__ = [
    "JsonLines",
    "LineView",
    "LiveView",
    "RunView",
    "event_line",
    "render",
    "replay",
    "stage_of",
]
