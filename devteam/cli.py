"""The ``devteam`` command: run, resume, runs, show, doctor, sandbox ..., models ..., bench ...,
bot .... Exit statuses: devteam.exit_codes (docs/CLI.md)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from devteam import __version__
from devteam.cli_bench import app as bench_app
from devteam.cli_bot import app as bot_app
from devteam.cli_input import bad_input, fail, set_budget, task_text
from devteam.cli_models import app as models_app
from devteam.cli_report import register as register_report_commands
from devteam.cli_runs import runs, show
from devteam.cli_sandbox import app as sandbox_app
from devteam.cli_team import choose_mode, run_team
from devteam.config import Settings, load_settings
from devteam.errors import DevteamError

app = typer.Typer(
    help="devteam: an autonomous software team in a box.",
    epilog='Example: devteam run "Write slug.py with slugify(text) and pytest tests"',
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(
    sandbox_app,
    name="sandbox",
    help="Build, check and use the sandbox.",
    epilog="Example: devteam sandbox exec -- python3 -c 'print(1)'",
)
app.add_typer(
    models_app,
    name="models",
    help="Fetch and verify the embedded models.",
    epilog="Example: devteam models fetch qwen2.5-coder-1.5b",
)
app.add_typer(
    bench_app,
    name="bench",
    help="Benchmark strategies on coding suites.",
    epilog="Example: devteam bench run --suite humaneval --limit 5",
)
app.add_typer(
    bot_app,
    name="bot",
    help="The GitHub issue bot (docs/BOT.md).",
    epilog="Example: devteam bot poll --once",
)
app.command(
    epilog="Example: devteam runs    (then: devteam show RUN_ID)",
)(runs)
app.command(
    epilog="Example: devteam show 20260101-120000-write-slug-py-ab12 --raw",
)(show)
register_report_commands(app)  # report, doctor, config show


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except DevteamError as exc:
        fail(exc)


Model = Annotated[str | None, typer.Option(help="Embedded model or endpoint model name.")]
BaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint.")]
MaxTokens = Annotated[int | None, typer.Option(help="Token budget for the run.")]
MaxFixes = Annotated[int | None, typer.Option(help="Fix rounds after failing tests.")]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show routing decisions (plain lines).")
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No view; only the outcome and the workspace.")
]
AsJson = Annotated[
    bool,
    typer.Option("--json", help="Write the run's events to stdout as JSON lines, for scripts."),
]


def _run_settings(
    model: str | None, base_url: str | None, max_tokens: int | None, max_fixes: int | None
) -> tuple[Settings, str]:
    """The settings a run's flags give, and the same flags for its resume hint."""
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
    flags = []
    for flag, field, value in (
        ("--max-tokens", "max_run_tokens", max_tokens),
        ("--max-fix-attempts", "max_fix_attempts", max_fixes),
    ):
        if value is not None:
            set_budget(settings, flag, field, value)
            flags.append(f"{flag} {value}")
    flags += [f"--model {shlex.quote(model)}"] if model else []
    flags += [f"--base-url {shlex.quote(base_url)}"] if base_url else []
    return settings, "".join(f" {f}" for f in flags)


@app.command(
    epilog='Example: devteam run "Write slug.py with slugify(text) and pytest tests" '
    "--max-tokens 20000"
)
def run(
    task: Annotated[
        str | None, typer.Argument(help='What to build, in a sentence ("-": read it from stdin).')
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the task from this file.")
    ] = None,
    model: Model = None,
    base_url: BaseUrl = None,
    max_tokens: MaxTokens = None,
    max_fix_attempts: MaxFixes = None,
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
    verbose: Verbose = False,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Run the team on TASK; the result is a git repository in workspace/ (or a --repo branch).

    At a terminal a live view shows the stages, the role writing and its text, the sandbox's
    verdicts, the candidates and the budget; elsewhere, one line per step.
    """
    task = task_text(task, file)
    settings, flags = _run_settings(model, base_url, max_tokens, max_fix_attempts)
    if team is not None:
        settings.team = team
    gates = [_gate_name(g) for g in gate or []]
    run_team(
        settings,
        mode=choose_mode(quiet=quiet, as_json=as_json),
        task=task,
        verbose=verbose,
        gates=gates,
        repo=repo,
        resume_flags=flags,
    )


_GATES = {"clarify": "clarify", "spec": "approve_spec", "delivery": "approve_delivery"}


def _gate_name(text: str) -> str:
    name = _GATES.get(text.strip().lower().removeprefix("approve_"))
    if name is None:
        bad_input(f"Unknown gate {text!r}; use clarify, spec or delivery.")
    return name


@app.command(epilog='Example: devteam resume 20260101-120000-write-slug-py-ab12 --answer "yes"')
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (see `devteam runs`).")],
    answer: Annotated[
        str | None,
        typer.Option(help="The answer for a run waiting at a gate: yes, no, or what to change."),
    ] = None,
    model: Model = None,
    base_url: BaseUrl = None,
    max_tokens: MaxTokens = None,
    max_fix_attempts: MaxFixes = None,
    verbose: Verbose = False,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Continue a stopped run from its last checkpoint (or answer the gate it waits at)."""
    settings, flags = _run_settings(model, base_url, max_tokens, max_fix_attempts)
    run_team(
        settings,
        mode=choose_mode(quiet=quiet, as_json=as_json),
        run_id=run_id,
        verbose=verbose,
        answer=answer,
        resume_flags=flags,
    )


@app.command(epilog="Example: devteam version")
def version() -> None:
    """Print devteam's version."""
    print(__version__)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
