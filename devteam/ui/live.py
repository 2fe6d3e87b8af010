"""The live view at a terminal: ``RunView`` redrawn a few times a second while a run goes on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live

from devteam.events import scan_audit_log
from devteam.ui.render import render
from devteam.ui.state import RunView


class LiveView:
    """An event sink that folds events into a ``RunView`` and keeps it drawn while ``shown``."""

    def __init__(self, console: Console, *, refresh_per_second: float = 4) -> None:
        self.console = console
        self.view = RunView()
        self.refresh_per_second = refresh_per_second
        self._live: Live | None = None

    def prime(self, audit_log: Path) -> None:
        """Fold in what a run did before (a resumed run): tokens, time and stages so far."""
        if audit_log.is_file():
            events, _ = scan_audit_log(audit_log)
            for event in events:
                self.view.apply(event)

    def message(self, text: str) -> None:
        self.view.say(text)

    def __call__(self, event: Any) -> None:
        self.view.apply(event)

    def renderable(self) -> RenderableType:
        return render(self.view)

    @contextmanager
    def shown(self) -> Iterator[None]:
        """Draw the view until the block ends; what it last showed stays on the screen."""
        with Live(
            get_renderable=self.renderable,
            console=self.console,
            refresh_per_second=self.refresh_per_second,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        ) as live:
            self._live = live
            try:
                yield
            finally:
                self._live = None
