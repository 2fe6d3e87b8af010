"""The view of a run as ``rich`` renderables: the stages with the current one lit, who is
speaking and what it writes, the sandbox's verdicts, the candidates, and the budget bars."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from devteam.events import CandidatesChecked, SandboxRun
from devteam.ui.state import RunView, verdict_of

#: Lines of the speaking role's text the live view shows (its tail).
EXCERPT_LINES = 8
CURRENT = "bold black on yellow"
DONE = "green"
TODO = "dim"


def phase_strip(view: RunView) -> Text:
    """``✓ plan → ● write → test ...``: done stages green, the current one lit."""
    text = Text()
    for i, stage in enumerate(view.stages):
        if i:
            text.append(" → ", style=TODO)
        if stage == view.stage and view.finished is None:
            text.append(f" ● {stage} ", style=CURRENT)
        elif stage in view.done_stages:
            text.append(f"✓ {stage}", style=DONE)
        else:
            text.append(stage, style=TODO)
    if view.finished is not None:
        colour = "green" if view.finished.status == "passed" else "red"
        text.append(f"   {view.finished.status}", style=f"bold {colour}")
    elif view.phase and view.phase != view.stage:
        text.append(f"   ({view.phase})", style="dim")
    return text


def excerpt_panel(view: RunView, lines: int = EXCERPT_LINES) -> Panel:
    """The role that speaks, and the tail of what it writes (or last wrote); with several
    replies in flight, one line for each."""
    if len(view.replies) > 1:
        return replies_panel(view, lines)
    body = "\n".join(view.excerpt.rstrip().splitlines()[-lines:]) if view.excerpt else ""
    verb = "is writing" if view.streaming else "wrote"
    title = f"[bold]{view.role}[/] {verb}" if view.role and body else view.role or "waiting"
    return Panel(
        Text(body or "…", style="" if body else "dim", overflow="ellipsis", no_wrap=True),
        title=title,
        title_align="left",
        border_style="cyan" if view.streaming else "blue",
        height=lines + 2,
    )


def replies_panel(view: RunView, lines: int = EXCERPT_LINES) -> Panel:
    """One line per reply in flight: its label and the last line it has written so far."""
    replies = list(view.replies.values())
    shown = replies if len(replies) <= lines else replies[: lines - 1]
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(no_wrap=True, style="bold")
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    for reply in shown:
        last = next((ln for ln in reversed(reply.text.splitlines()) if ln.strip()), "…")
        table.add_row(reply.label, Text(last.strip(), overflow="ellipsis", no_wrap=True))
    if len(shown) < len(replies):
        table.add_row(Text(f"+{len(replies) - len(shown)} more", style="dim"), "")
    return Panel(
        table,
        title=f"[bold]{len(replies)} replies[/] being written",
        title_align="left",
        border_style="cyan",
        height=lines + 2,
    )


def sandbox_table(runs: list[SandboxRun]) -> Table:
    """Each sandbox command with its verdict, time and failing tests."""
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(width=1, no_wrap=True)
    table.add_column(no_wrap=True, overflow="ellipsis", max_width=44)
    table.add_column(no_wrap=True, min_width=max([len(verdict_of(r)) for r in runs] or [6]))
    table.add_column(justify="right", no_wrap=True, min_width=6)
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    for run in runs:
        ok = run.exit_code == 0 and not run.timed_out and not run.oom_killed
        table.add_row(
            Text("✓" if ok else "✗", style="green" if ok else "red"),
            Text(" ".join(run.command)),
            Text(verdict_of(run), style="green" if ok else "yellow"),
            f"{run.duration_s:.1f}s",
            Text(", ".join(run.failing_tests[:4]), style="dim"),
        )
    return table


def candidates_table(event: CandidatesChecked) -> RenderableType:
    """The candidates run so far, their evidence, and the one chosen."""
    table = Table(
        "#", "origin", "imports", "examples", "tests", "crashes", "",
        title=f"candidates: chose #{event.chosen} ({event.verdict})",
        title_justify="left",
        title_style="bold",
        box=None,
        padding=(0, 1),
        header_style="dim",
    )  # fmt: skip
    for c in event.candidates:
        passed, failed = int(c.get("tests_passed", 0)), int(c.get("tests_failed", 0))
        chosen = c.get("id") == event.chosen
        mark = "◀ chosen" if chosen else "rejected" if c.get("rejected") else ""
        table.add_row(
            str(c.get("id", "?")),
            str(c.get("origin", "")),
            Text("yes" if c.get("imports") else "no", style="" if c.get("imports") else "red"),
            str(c.get("examples", "")),
            f"{passed}/{passed + failed}",
            str(c.get("crashes", 0)),
            Text(mark, style="bold green" if chosen else "dim"),
            style="bold" if chosen else "",
        )
    if event.suspect_tests:
        suspect = f"suspect tests (no candidate passes): {', '.join(event.suspect_tests)}"
        return Group(table, Text(suspect, style="yellow"))
    return table


def budget_bars(view: RunView, now: float | None = None) -> Table:
    """Tokens, wall time and fix attempts against the run's budget."""
    b = view.budget
    elapsed = view.elapsed_s(now)
    rows = [
        ("tokens", view.tokens, b.max_tokens, f"{view.tokens:,} / {b.max_tokens:,}"),
        ("time", elapsed, b.max_wall_s, f"{elapsed:,.0f} s / {b.max_wall_s:,.0f} s"),
        (
            "fix attempts",
            view.fix_attempts,
            b.max_fix_attempts,
            f"{view.fix_attempts} / {b.max_fix_attempts}",
        ),
    ]
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(width=30)
    table.add_column(no_wrap=True)
    for name, used, limit, label in rows:
        full = limit > 0 and used >= limit
        bar = ProgressBar(
            total=max(float(limit), 1.0),
            completed=min(float(used), float(limit)) if limit else 0.0,
            width=30,
            complete_style="red" if full else "magenta",
            finished_style="red",
        )
        table.add_row(name, bar, Text(label, style="red" if full else ""))
    return table


def render(view: RunView, *, now: float | None = None, excerpt: bool = True) -> RenderableType:
    """The whole view (what the live display redraws, and what a replay ends with)."""
    with view.lock:
        parts: list[RenderableType] = [phase_strip(view)]
        if excerpt:
            parts.append(excerpt_panel(view))
        if view.sandbox:
            parts += [Text("sandbox", style="bold"), sandbox_table(view.sandbox)]
        if view.candidates is not None:
            parts.append(candidates_table(view.candidates))
        parts.append(budget_bars(view, now))
        if view.notes:
            colour = {"info": "dim", "warning": "yellow", "error": "red"}
            parts += [Text(n.text, style=colour[n.level]) for n in view.notes[-2:]]
        if view.message and view.finished is None:
            parts.append(Text(view.message, style="dim italic"))
        title = f"devteam · {view.run_id}" if view.run_id else "devteam"
        if view.model:
            title += f" · {view.model}"
        return Panel(Group(*parts), title=title, title_align="left", border_style="blue")
