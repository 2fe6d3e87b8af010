"""``devteam runs`` and ``devteam show``: the runs under the state folder, and one run told
again phase by phase from its audit log."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from devteam.cli_input import console, fail
from devteam.config import Settings, load_settings
from devteam.errors import DevteamError

_TOKENS = re.compile(rb'"(prompt|completion)_tokens":\s*(\d+)')


class RunSummary(BaseModel):
    """One row of ``devteam runs``: what a run's audit log says about it."""

    run_id: str
    task: str
    status: str
    verdict: str = ""
    tokens: int = 0
    duration_s: float | None = None
    created: float = 0.0


def _running(run_dir: Path) -> bool:
    """Whether a live process holds the run's lock (devteam.runlock)."""
    path = run_dir / "lock"
    if not path.is_file():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the shared lock if it was taken
    return False


def summarize(run_dir: Path, run_id: str, task: str, created: float) -> RunSummary:
    """Status, verdict, tokens and duration from the run's audit log (read line by line;
    only the small events are parsed)."""
    status, verdict, tokens, duration = "stopped", "", 0, None
    first = last = None
    audit = run_dir / "audit.jsonl"
    if audit.is_file():
        with audit.open("rb") as fh:
            for raw in fh:
                stamp = re.search(rb'"ts":\s*([0-9.]+)', raw)
                if stamp:
                    first = first if first is not None else float(stamp.group(1))
                    last = float(stamp.group(1))
                if b'"kind":"model_call"' in raw:
                    tokens += sum(int(n) for _, n in _TOKENS.findall(raw))
                elif b'"kind":"run_finished"' in raw or b'"kind":"note"' in raw:
                    try:
                        event = json.loads(raw)
                    except ValueError:
                        continue
                    if event.get("kind") == "run_finished":
                        status, verdict = event.get("status", status), event.get("verdict", "")
                        duration = float(event.get("duration_s") or 0.0)
                    elif str(event.get("text", "")).startswith("Waiting at the"):
                        status = "waiting"
                    elif str(event.get("text", "")).startswith("Resuming run"):
                        status = "stopped"
    if duration is None and first is not None and last is not None:
        duration = last - first
    if _running(run_dir):
        status = "running"
    return RunSummary(
        run_id=run_id,
        task=task,
        status=status,
        verdict=verdict,
        tokens=tokens,
        duration_s=duration,
        created=created,
    )


def _save_svg(events: list[Any], path: Path) -> None:
    """The live view as the run left it (its last reply included), as an SVG picture."""
    from devteam.ui import RunView, render

    view = RunView()
    for event in events:
        view.apply(event)
    picture = Console(record=True, file=io.StringIO(), width=110, force_terminal=True)
    picture.print(render(view, now=view.last_ts))
    try:
        picture.save_svg(str(path), title=f"devteam · {view.run_id}")
    except OSError as exc:
        fail(DevteamError(f"Cannot write {path} ({exc.strerror or exc}); choose another path."))
    console.print(f"wrote {path}", soft_wrap=True)


def run_summaries(settings: Settings) -> list[RunSummary]:
    from devteam.team import list_runs

    return [
        summarize(settings.run_dir(r.run_id), r.run_id, r.task, r.created)
        for r in sorted(list_runs(settings), key=lambda r: r.created)
    ]


def _settings() -> Settings:
    try:
        return load_settings()
    except DevteamError as exc:
        fail(exc)


_STATUS_STYLE = {"passed": "green", "running": "cyan", "waiting": "yellow", "stopped": "yellow"}


def runs(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per run, for scripts.")
    ] = False,
) -> None:
    """List the runs under the state folder: id, task, status, verdict, tokens, duration."""
    rows = run_summaries(_settings())
    if as_json:
        for row in rows:
            print(row.model_dump_json())
        return
    if not rows:
        console.print('No runs yet; start one with: devteam run "..."')
        return
    table = Table()
    table.add_column("run id", no_wrap=True)  # whole, for copy and paste
    table.add_column("task", overflow="ellipsis", no_wrap=True, min_width=8, max_width=36)
    table.add_column("status", no_wrap=True, min_width=7)
    table.add_column("verdict")
    table.add_column("tokens", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    for row in rows:
        style = _STATUS_STYLE.get(row.status, "red")
        table.add_row(
            row.run_id,
            " ".join(row.task.split())[:48],
            f"[{style}]{row.status}[/]",
            row.verdict or "-",
            f"{row.tokens:,}",
            "-" if row.duration_s is None else f"{row.duration_s:,.0f} s",
        )
    Console(highlight=False).print(table)


def show(
    run_id: Annotated[str, typer.Argument(help="The run to show (see `devteam runs`).")],
    raw: Annotated[
        bool,
        typer.Option("--raw", help="Print the audit log's events, one line each, instead."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the audit log's events as JSON lines.")
    ] = False,
    svg: Annotated[
        Path | None,
        typer.Option(help="Also save the live view as the run left it, as an SVG picture."),
    ] = None,
) -> None:
    """Replay a run phase by phase from its audit log: what each role wrote, the sandbox's
    verdicts, the candidates, and the budget it used."""
    from devteam.events import scan_audit_log
    from devteam.ui import replay

    settings = _settings()
    path = settings.run_dir(run_id) / "audit.jsonl"
    if not path.is_file():
        fail(DevteamError(f"No audit log for run {run_id!r} at {path}; `devteam runs` lists runs."))
    events, broken = scan_audit_log(path)
    out = Console(highlight=False)
    if as_json:
        for ev in events:
            print(ev.model_dump_json())
    elif raw:
        for ev in events:
            stamp = time.strftime("%H:%M:%S", time.localtime(ev.ts))
            detail = {
                k: v
                for k, v in ev.model_dump().items()
                if k not in {"run_id", "ts", "kind", "messages", "settings"}
            }
            text = ", ".join(f"{k}={str(v)[:80]!s}" for k, v in detail.items())
            out.print(f"{stamp} {ev.kind} {text}", highlight=False, markup=False)
    else:
        replay(events, out)
    if svg is not None:
        _save_svg(events, svg)
    if broken:
        lines = ", ".join(str(n) for n in broken[:5]) + (" ..." if len(broken) > 5 else "")
        console.print(
            f"[yellow]note:[/] skipped {len(broken)} line(s) of {path} that are not events "
            f"(line {lines}; a run killed mid-write leaves one).",
            soft_wrap=True,
        )
