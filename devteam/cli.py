"""The ``devteam`` command: run, resume, runs, show, doctor, sandbox ..., models ...."""

from __future__ import annotations

import os
import signal
import sys
import time
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table

from devteam import __version__
from devteam.cli_bench import app as bench_app
from devteam.cli_bot import app as bot_app
from devteam.cli_input import console, crash_log, fail, resumable, set_budget, task_text
from devteam.cli_models import app as models_app
from devteam.cli_sandbox import app as sandbox_app
from devteam.config import Settings, load_settings
from devteam.errors import DevteamError

app = typer.Typer(
    help="devteam: an autonomous software team in a box.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(sandbox_app, name="sandbox", help="Build, check and use the sandbox.")
app.add_typer(models_app, name="models", help="Fetch and verify the embedded models.")
app.add_typer(bench_app, name="bench", help="Benchmark strategies on coding suites.")
app.add_typer(bot_app, name="bot", help="The GitHub issue bot (docs/BOT.md).")


class ConsoleProgress:
    """An event sink that keeps one status line (phase, tokens, attempts) and logs milestones."""

    def __init__(self, con: Console, verbose: bool = False) -> None:
        self.console = con
        self.verbose = verbose
        self.tokens = 0
        self.phase = "starting"
        self.attempt = 0
        self.started = time.monotonic()
        self.status: Status | None = None

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"[bold]{self.phase}[/] · tokens {self.tokens:,} · fix attempts {self.attempt} "
            f"· {elapsed:.0f}s"
        )

    def _say(self, text: str) -> None:
        self.console.print(text, soft_wrap=True)

    def message(self, text: str) -> None:
        self._say(f"[dim]{text}[/]")

    def __call__(self, event: Any) -> None:
        kind = event.kind
        if kind == "phase":
            self.phase, self.attempt = f"{event.role}: {event.phase}", event.attempt
        elif kind == "model_call":
            self.tokens += event.prompt_tokens + event.completion_tokens
            self._say(
                f"  {event.role:<7} model call: {event.prompt_tokens}+{event.completion_tokens} "
                f"tokens, {event.latency_s:.1f}s"
            )
        elif kind == "sandbox_run":
            verdict = (
                "timed out"
                if event.timed_out
                else "out of memory"
                if event.oom_killed
                else "passed"
                if event.exit_code == 0
                else f"failed (exit {event.exit_code})"
            )
            failing = (
                f", failing: {', '.join(event.failing_tests[:4])}" if event.failing_tests else ""
            )
            colour = "green" if event.exit_code == 0 else "yellow"
            self._say(
                f"  sandbox  pytest [{colour}]{verdict}[/] in {event.duration_s:.1f}s{failing}"
            )
        elif kind == "files_written":
            self._say(f"  {event.role:<7} wrote {', '.join(event.paths)}")
        elif kind == "candidates":
            rows = " ".join(
                f"#{c['id']}:{c['origin'][0]}"
                f"{'✗' if not c['imports'] else ''} ex {c['examples']} t {c['tests_passed']}"
                f"/{c['tests_passed'] + c['tests_failed']}"
                for c in event.candidates
            )
            self._say(f"  check    {rows} -> #{event.chosen} ({event.verdict})")
        elif kind == "note":
            colour = {"info": "dim", "warning": "yellow", "error": "red"}[event.level]
            self._say(f"  [{colour}]{event.text}[/]")
        elif kind == "decision" and self.verbose:
            self._say(f"  [dim]{event.source} -> {event.target}: {event.reason}[/]")
        if self.status is not None:
            self.status.update(self._line())


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except DevteamError as exc:
        fail(exc)
        raise  # unreachable


@app.command()
def run(
    task: Annotated[
        str | None, typer.Argument(help='What to build, in a sentence ("-": read it from stdin).')
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the task from this file.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Embedded model or endpoint model name.")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Token budget for the run.")] = None,
    max_fix_attempts: Annotated[
        int | None, typer.Option(help="Fix rounds after failing tests.")
    ] = None,
    team: Annotated[
        str | None,
        typer.Option(help='"default", "solo", or a team .yaml/.toml file.'),
    ] = None,
    gate: Annotated[
        list[str] | None,
        typer.Option(
            help="Stop for a human at: clarify (the CEO's questions), spec, delivery. Repeatable."
        ),
    ] = None,
    repo: Annotated[
        Path | None,
        typer.Option(help="Work on this existing git repository, on a new branch."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show routing decisions.")
    ] = False,
) -> None:
    """Run the team on TASK; the result is a git repository in workspace/ (or a --repo branch)."""
    task = task_text(task, file)
    overrides: dict[str, Any] = {"base_url": base_url}
    if model:
        if (
            model.startswith("qwen2.5-coder-")
            and not base_url
            and not os.environ.get("DEVTEAM_BASE_URL")
        ):
            overrides["embedded_model"] = model
        else:
            overrides["model"] = model
    settings = _settings(**overrides)
    for flag, field, value in (
        ("--max-tokens", "max_run_tokens", max_tokens),
        ("--max-fix-attempts", "max_fix_attempts", max_fix_attempts),
    ):
        if value is not None:
            set_budget(settings, flag, field, value)
    if team is not None:
        settings.team = team
    gates = [_gate_name(g) for g in gate or []]
    _run_team(settings, task=task, verbose=verbose, gates=gates, repo=repo)


_GATES = {"clarify": "clarify", "spec": "approve_spec", "delivery": "approve_delivery"}


def _gate_name(text: str) -> str:
    name = _GATES.get(text.strip().lower().removeprefix("approve_"))
    if name is None:
        fail(DevteamError(f"Unknown gate {text!r}; use clarify, spec or delivery."))
    return str(name)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (see `devteam runs`).")],
    answer: Annotated[
        str | None,
        typer.Option(help="The answer for a run waiting at a gate: yes, no, or what to change."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Continue a stopped run from its last checkpoint (or answer the gate it waits at)."""
    _run_team(_settings(), run_id=run_id, verbose=verbose, answer=answer)


def _question_text(question: dict[str, Any] | None) -> str:
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
        import json

        console.print(json.dumps(question, indent=2), soft_wrap=True, markup=False)
    console.print(f"[bold yellow]?[/] {_question_text(question)}", soft_wrap=True)
    return str(typer.prompt("answer (yes / no / what to change)", default="yes"))


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _run_team(
    settings: Settings,
    *,
    verbose: bool,
    task: str | None = None,
    run_id: str | None = None,
    gates: list[str] | None = None,
    repo: Path | None = None,
    answer: str | None = None,
) -> None:
    from devteam.team import Team, new_run_id

    progress = ConsoleProgress(console, verbose)
    try:
        team = Team(settings, gates=gates or (), sinks=[progress], progress=progress.message)  # type: ignore[arg-type]
    except DevteamError as exc:
        fail(exc)
    # SIGTERM unwinds like Ctrl-C, so the model server and the sandbox are always stopped.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    run_id = run_id or new_run_id(task or "")
    started = time.monotonic()
    try:
        while True:
            with console.status(progress._line()) as status:
                progress.status = status
                if task is None:
                    result = team.resume(run_id, answer=answer)
                else:
                    result = team.run(task, run_id=run_id, repo=repo)
            if not (result.waiting and result.question and sys.stdin.isatty()):
                break
            answer, task = _ask_at_gate(result.question), None
    except DevteamError as exc:
        from devteam.runlock import RunBusyError

        fail(exc, None if isinstance(exc, RunBusyError) else run_id, settings)
    except KeyboardInterrupt:
        if resumable(settings, run_id):
            console.print(f"[yellow]Interrupted.[/] Continue with: devteam resume {run_id}")
        else:
            console.print("[yellow]Interrupted[/] before the first step was checkpointed.")
        raise typer.Exit(130) from None
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
        )
    elapsed = time.monotonic() - started
    say = partial(console.print, soft_wrap=True)  # paths stay whole, for copy and paste
    if result.waiting:
        gate = (result.question or {}).get("gate", "a")
        say(f"\n[bold yellow]waiting[/] at the {gate} gate: {_question_text(result.question)}")
        say(f'Answer with: devteam resume {run_id} --answer "..."  (yes, no, or what to change)')
        print(result.workspace)
        raise typer.Exit(3)
    colour = "green" if result.ok else "red"
    say(f"\n[bold {colour}]{result.status}[/]: {result.reason}")
    say(
        f"result:      {result.workspace}" + (f" (branch {result.branch})" if result.branch else "")
    )
    say(f"files:       {', '.join(result.files) or '-'}")
    if result.verdict:
        say(f"evidence:    {result.verdict}")
    if result.review:
        say(f"review:      {result.review}")
    if result.accepted is not None:
        met = sum(1 for c in result.acceptance if c.get("met"))
        say(f"acceptance:  {met}/{len(result.acceptance)} criteria met (CEO's check)")
    say(
        f"tokens:      {result.tokens:,} ({result.prompt_tokens:,} prompt + "
        f"{result.completion_tokens:,} completion)"
    )
    say(f"time:        {elapsed:.1f}s   fix attempts: {result.fix_attempts}")
    say(f"audit log:   {result.audit_log}")
    print(result.workspace)  # stdout: the one thing a script needs
    raise typer.Exit(0 if result.ok else 2)


@app.command()
def runs() -> None:
    """List the runs recorded under the state folder."""
    from devteam.team import list_runs

    settings = _settings()
    table = Table("run id", "team", "task", "workspace")
    for rec in list_runs(settings):
        where = f"{rec.workspace} ({rec.branch})" if rec.branch else rec.workspace
        table.add_row(rec.run_id, rec.team, rec.task[:60], where)
    Console().print(table)


@app.command()
def show(run_id: Annotated[str, typer.Argument(help="The run whose audit log to print.")]) -> None:
    """Print a run's audit log, one line per event."""
    from devteam.events import scan_audit_log

    settings = _settings()
    path = settings.run_dir(run_id) / "audit.jsonl"
    if not path.is_file():
        fail(DevteamError(f"No audit log for run {run_id!r} at {path}; `devteam runs` lists runs."))
    out = Console()
    events, broken = scan_audit_log(path)
    for ev in events:
        stamp = time.strftime("%H:%M:%S", time.localtime(ev.ts))
        detail = {
            k: v
            for k, v in ev.model_dump().items()
            if k not in {"run_id", "ts", "kind", "messages", "settings"}
        }
        text = ", ".join(f"{k}={str(v)[:80]!s}" for k, v in detail.items())
        out.print(f"{stamp} [bold]{ev.kind}[/] {text}", highlight=False, markup=False)
    if broken:
        lines = ", ".join(str(n) for n in broken[:5]) + (" ..." if len(broken) > 5 else "")
        console.print(
            f"[yellow]note:[/] skipped {len(broken)} line(s) of {path} that are not events "
            f"(line {lines}; a run killed mid-write leaves one).",
            soft_wrap=True,
        )


@app.command()
def doctor() -> None:
    """Check that everything a run needs is here: config, Docker, image, model."""
    ok = True
    out = Console(soft_wrap=True)
    try:
        settings = load_settings()
        out.print("[green]ok[/]   settings load")
    except DevteamError as exc:
        out.print(f"[red]fail[/] settings: {exc}")
        raise typer.Exit(1) from None
    from devteam.checkpoint import verify_checkpointer
    from devteam.sandbox import open_sandbox
    from devteam.teams import load_team

    try:
        team = load_team(settings.team)
        out.print(f"[green]ok[/]   team {team.name}: {', '.join(team.roles)}")
    except DevteamError as exc:
        ok = False
        out.print(f"[red]fail[/] team: {exc}")
    try:
        where = verify_checkpointer(settings)
        out.print(f"[green]ok[/]   checkpoints in {where}")
    except DevteamError as exc:
        ok = False
        out.print(f"[red]fail[/] checkpoints: {exc}")
    try:
        with open_sandbox(settings.sandbox) as sb:
            res = sb.exec(["python3", "-c", "print('ok')"])
        out.print(
            f"[green]ok[/]   sandbox ({settings.sandbox.backend}) runs python3: "
            f"{res.stdout.strip()}"
        )
    except DevteamError as exc:
        ok = False
        out.print(f"[red]fail[/] sandbox: {exc}")
    if settings.uses_embedded_model:
        from devteam.llm.embedded import model_path
        from devteam.llm.server import llama_cpp_available

        path = settings.model_file or model_path(settings.embedded_model, settings.cache_dir)
        if path:
            out.print(f"[green]ok[/]   model file {path}")
        else:
            out.print(
                f"[yellow]note[/] model {settings.embedded_model} not cached; "
                "the first run fetches it"
            )
        if llama_cpp_available():
            out.print("[green]ok[/]   llama-cpp-python installed")
        else:
            ok = False
            out.print("[red]fail[/] llama-cpp-python missing: pip install 'devteam[local]'")
    else:
        out.print(
            f"[green]ok[/]   endpoint {settings.base_url} (model {settings.model or 'default'})"
        )
    raise typer.Exit(0 if ok else 1)


@app.command()
def version() -> None:
    """Print devteam's version."""
    print(__version__)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
