"""A run of the team at the terminal: the view (live, plain lines, quiet or JSON lines),
the human gates, Ctrl-C, the summary, and the exit status (devteam.exit_codes)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

import typer
from rich.markup import escape

from devteam.cli_input import console, crash_log, fail, resumable
from devteam.cli_stop import Stopper, stopping
from devteam.config import Settings
from devteam.errors import DevteamError
from devteam.exit_codes import ExitCode, of_status
from devteam.ui import JsonLines, LineView, LiveView

Mode = Literal["live", "lines", "quiet", "json"]


class View(Protocol):
    def __call__(self, event: Any) -> None: ...
    def message(self, text: str) -> None: ...


class Silent:
    """The view of ``--quiet``: nothing until the end."""

    def __call__(self, event: Any) -> None:
        pass

    def message(self, text: str) -> None:
        pass


def choose_mode(*, quiet: bool, as_json: bool) -> Mode:
    """JSON lines or quiet when asked; live at a terminal; plain lines elsewhere (a pipe, CI)."""
    if as_json:
        return "json"
    if quiet:
        return "quiet"
    return "live" if console.is_terminal and sys.stdout.isatty() else "lines"


def make_view(mode: Mode, *, verbose: bool = False) -> View:
    if mode == "json":
        return JsonLines(sys.stdout)
    if mode == "quiet":
        return Silent()
    if mode == "live":
        return LiveView(console)
    return LineView(console, verbose=verbose)


@contextmanager
def _shown(view: View) -> Iterator[None]:
    with view.shown() if isinstance(view, LiveView) else nullcontext():
        yield


def question_text(question: dict[str, Any] | None) -> str:
    q = question or {}
    if q.get("gate") == "clarify":
        return " ".join(q.get("questions", []))
    if q.get("gate") == "approve_spec":
        spec = q.get("spec", {})
        files = ", ".join(spec.get("files", []))
        return f"approve this spec? goal: {spec.get('goal')}; files: {files}"
    tests = "pass" if q.get("tests_passed") else "do NOT pass"
    return f"approve delivery? the tests {tests}; result in {q.get('workspace')}"


def _ask_at_gate(question: dict[str, Any]) -> str:
    """Ask at the terminal; the answer resumes the run."""
    if question.get("gate") != "clarify":
        console.print(json.dumps(question, indent=2), soft_wrap=True, markup=False)
    console.print(f"[bold yellow]?[/] {escape(question_text(question))}", soft_wrap=True)
    return str(typer.prompt("answer (yes / no / what to change)", default="yes"))


def run_team(
    settings: Settings,
    *,
    mode: Mode,
    verbose: bool = False,
    task: str | None = None,
    run_id: str | None = None,
    gates: list[str] | None = None,
    repo: Path | None = None,
    answer: str | None = None,
    resume_flags: str = "",
) -> None:
    """Run (``task``) or resume (``run_id``) to the end or a gate; exit with its status."""
    from devteam.team import Team, new_run_id

    view = make_view(mode, verbose=verbose)
    try:
        team = Team(settings, gates=gates or (), sinks=[view], progress=view.message)  # type: ignore[arg-type]
    except DevteamError as exc:
        fail(exc)
    run_id = run_id or new_run_id(task or "")
    if isinstance(view, LiveView) and task is None:
        view.prime(settings.run_dir(run_id) / "audit.jsonl")  # the budget spent before

    def farewell() -> str:
        if resumable(settings, run_id):
            return f"Interrupted. Continue with: devteam resume {run_id}{resume_flags}"
        return "Interrupted before the first step was checkpointed."

    def say(text: str) -> None:
        console.print(f"[yellow]{escape(text)}[/]", soft_wrap=True)

    started = time.monotonic()
    with stopping(Stopper(say, farewell)):
        try:
            while True:
                with _shown(view):
                    if task is None:
                        result = team.resume(run_id, answer=answer)
                    else:
                        result = team.run(task, run_id=run_id, repo=repo)
                asking = mode in ("live", "lines") and sys.stdin.isatty()
                if not (result.waiting and result.question and asking):
                    break
                answer, task = _ask_at_gate(result.question), None
        except DevteamError as exc:
            from devteam.runlock import RunBusyError

            busy = isinstance(exc, RunBusyError)
            fail(exc, None if busy else run_id, settings, resume_flags=resume_flags)
        except KeyboardInterrupt:
            say(farewell())
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # a bug: one sentence here, the traceback in a file
            log = crash_log(settings, run_id)
            fail(
                DevteamError(
                    f"devteam failed unexpectedly ({type(exc).__name__}: {str(exc)[:200]}); "
                    f"the traceback is in {log}: please report it."
                ),
                run_id,
                settings,
                resume_flags=resume_flags,
            )
    summary(result, run_id, time.monotonic() - started, mode)


def summary(result: Any, run_id: str, elapsed: float, mode: Mode) -> None:
    """The lines after a run (stderr), its workspace (stdout's last line, but with --json),
    and its exit status."""
    say = partial(console.print, soft_wrap=True)  # paths stay whole, for copy and paste
    code = of_status(result.status)
    if mode in ("live", "lines"):
        say()  # a blank line after the view
    if result.waiting:
        gate = (result.question or {}).get("gate", "a")
        asked = escape(question_text(result.question))
        say(f"[bold yellow]waiting[/] at the {gate} gate: {asked}")
        say(f'Answer with: devteam resume {run_id} --answer "..."  (yes, no, or what to change)')
    else:
        colour = "green" if result.ok else "red"
        say(f"[bold {colour}]{result.status}[/]: {escape(result.reason)}")
    if mode in ("live", "lines") and not result.waiting:
        branch = f" (branch {result.branch})" if result.branch else ""
        say(f"result:      {result.workspace}{branch}")
        say(f"files:       {', '.join(result.files) or '-'}")
        if result.verdict:
            say(f"evidence:    {result.verdict}")
        if result.review:
            say(f"review:      {escape(result.review)}")
        if result.accepted is not None:
            met = sum(1 for c in result.acceptance if c.get("met"))
            say(f"acceptance:  {met}/{len(result.acceptance)} criteria met (CEO's check)")
        say(
            f"tokens:      {result.tokens:,} ({result.prompt_tokens:,} prompt + "
            f"{result.completion_tokens:,} completion)"
        )
        say(f"time:        {elapsed:.1f}s   fix attempts: {result.fix_attempts}")
        say(f"audit log:   {result.audit_log}")
    if mode != "json":
        print(result.workspace)  # stdout: the one thing a script needs
    raise typer.Exit(int(code))
