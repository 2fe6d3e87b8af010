"""Views of a run for where a live display does not belong: plain lines (a log, a pipe, CI)
and JSON lines (scripts)."""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape

from devteam.events import ModelDelta
from devteam.ui.state import verdict_of


def event_line(event: Any, *, verbose: bool = False) -> str | None:
    """One line of rich markup for an event, or None for events a log leaves out."""
    kind = event.kind
    if kind == "phase":
        attempt = f" (fix attempt {event.attempt})" if event.attempt else ""
        return f"[bold]{escape(event.phase)}[/] · {escape(event.role)}{attempt}"
    if kind == "model_call":
        error = f" [red]{escape(event.error[:120])}[/]" if event.error else ""
        return (
            f"  {event.role:<8} model call: {event.prompt_tokens}+{event.completion_tokens} "
            f"tokens, {event.latency_s:.1f}s{error}"
        )
    if kind == "sandbox_run":
        colour = "green" if verdict_of(event) == "passed" else "yellow"
        failing = f", failing: {', '.join(event.failing_tests[:4])}" if event.failing_tests else ""
        command = escape(" ".join(event.command))[:60]
        return (
            f"  sandbox  {command} [{colour}]{verdict_of(event)}[/] in {event.duration_s:.1f}s"
            f"{escape(failing)}"
        )
    if kind == "files_written":
        return f"  {event.role:<8} wrote {escape(', '.join(event.paths))}"
    if kind == "candidates":
        rows = " ".join(
            f"#{c.get('id')}:{str(c.get('origin', '?'))[:1]}"
            f"{'' if c.get('imports') else '✗'} ex {c.get('examples')} t {c.get('tests_passed')}"
            f"/{int(c.get('tests_passed', 0)) + int(c.get('tests_failed', 0))}"
            for c in event.candidates
        )
        return f"  check    {escape(rows)} -> #{event.chosen} ({escape(event.verdict)})"
    if kind == "note":
        colour = {"info": "dim", "warning": "yellow", "error": "red"}[event.level]
        return f"  [{colour}]{escape(event.text)}[/]"
    if kind == "decision" and verbose:
        return f"  [dim]{escape(f'{event.source} -> {event.target}: {event.reason}')}[/]"
    return None


class LineView:
    """An event sink that writes one line per milestone (no redraws, no deltas)."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self._lock = threading.Lock()

    def message(self, text: str) -> None:
        with self._lock:
            self.console.print(f"[dim]{escape(text)}[/]", soft_wrap=True)

    def __call__(self, event: Any) -> None:
        line = event_line(event, verbose=self.verbose)
        if line is not None:
            with self._lock:
                self.console.print(line, soft_wrap=True)


class JsonLines:
    """An event sink that writes each event as one JSON line (``EVENT_ADAPTER`` reads it)."""

    def __init__(self, out: TextIO | None = None, *, deltas: bool = True) -> None:
        self.out = out or sys.stdout
        self.deltas = deltas
        self._lock = threading.Lock()

    def message(self, text: str) -> None:
        """Progress messages are for people; scripts get events only."""

    def __call__(self, event: Any) -> None:
        if isinstance(event, ModelDelta) and not self.deltas:
            return
        line = event.model_dump_json()
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()
