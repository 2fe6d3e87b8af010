"""``devteam show``: a finished (or stopped) run told again phase by phase from its audit log,
with the live view's parts: the stage strip, what each role wrote, the sandbox's verdicts,
the candidates, and the budget bars at the end."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.rule import Rule
from rich.text import Text

from devteam.events import CandidatesChecked, ModelCall, PhaseStarted, RunStarted, SandboxRun
from devteam.ui.lines import event_line
from devteam.ui.render import candidates_table, phase_strip, render, sandbox_table
from devteam.ui.state import RunView

#: Lines of each model reply a replay shows.
REPLY_LINES = 6


def _reply(call: ModelCall, lines: int) -> RenderableType:
    head = Text(
        f"{call.role} · {call.prompt_tokens}+{call.completion_tokens} tokens · "
        f"{call.latency_s:.1f}s",
        style="bold cyan",
    )
    body_lines = (call.error or call.reply).rstrip().splitlines()
    shown = body_lines[:lines]
    more = len(body_lines) - len(shown)
    body = Text("\n".join(shown), style="red" if call.error else "", no_wrap=True)
    if more > 0:
        body.append(f"\n… {more} more line(s)", style="dim")
    return Group(head, Padding(body, (0, 0, 0, 2)))


def replay(events: Iterable[Any], console: Console, *, reply_lines: int = REPLY_LINES) -> RunView:
    """Print the run phase by phase; return the view folded from every event."""
    view = RunView()
    for event in events:
        if event.kind == "model_delta":
            continue
        view.apply(event)
        if isinstance(event, RunStarted):
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.ts))
            console.print(Rule(f"run {event.run_id} · {event.model} · {stamp}", style="blue"))
            console.print(Text(event.task.strip()[:400], style="italic"))
        elif isinstance(event, PhaseStarted):
            console.print()
            console.print(phase_strip(view))
            attempt = f" · fix attempt {event.attempt}" if event.attempt else ""
            console.print(Rule(f"{event.phase} · {event.role}{attempt}", align="left"))
        elif isinstance(event, ModelCall):
            console.print(_reply(event, reply_lines))
        elif isinstance(event, SandboxRun):
            console.print(sandbox_table([event]))
        elif isinstance(event, CandidatesChecked):
            console.print(candidates_table(event))
        else:
            line = event_line(event, verbose=True)
            if line is not None:
                console.print(line.strip(), soft_wrap=True, highlight=False)
    console.print()
    console.print(render(view, now=view.last_ts, excerpt=False))
    if view.finished is not None:
        f = view.finished
        console.print(f"[bold]{f.status}[/]: {escape(f.reason)}", soft_wrap=True, highlight=False)
    return view
