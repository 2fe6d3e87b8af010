"""``devteam report``, ``devteam doctor`` and ``devteam config show``: looking back at a run,
and at what a run needs and will use."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from devteam.cli_input import fail
from devteam.config import Settings, config_file, load_settings, setting_sources
from devteam.errors import DevteamError
from devteam.exit_codes import ExitCode

config_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def register(app: typer.Typer) -> None:
    """Add these commands to the ``devteam`` command."""
    app.command()(report)
    app.command()(doctor)
    app.add_typer(
        config_app,
        name="config",
        help="Show the effective settings.",
        epilog="Example: devteam config show --team solo",
    )


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except DevteamError as exc:
        fail(exc)
        raise  # unreachable: fail exits


def report(
    run_id: Annotated[str, typer.Argument(help="The run to report on (see `devteam runs`).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write here (default: report.html beside the audit log)."),
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Open the report in the web browser.")
    ] = False,
) -> None:
    """Write one self-contained HTML page about a run: request, spec, timeline, the graph's
    path, tests, candidates, review, changes, tokens and time per role. Works offline.

    Example: devteam report 20250101-120000-write-a-stack-1a2b --open
    """
    from devteam.report import write_report

    settings = _settings()
    try:
        path = write_report(settings, run_id, out)
    except DevteamError as exc:
        fail(exc)
    except OSError as exc:
        fail(
            DevteamError(
                f"Cannot write the report to {out} ({exc.strerror}); choose another --out."
            )
        )
    print(path.resolve())  # whole, for copy and paste from any folder
    if open_:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            Console(stderr=True).print(
                f"No web browser found; open {path} yourself.", soft_wrap=True
            )


def doctor(
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash", help="Re-hash the model file (slow) instead of trusting its record."
        ),
    ] = False,
) -> None:
    """Check everything a run needs (team file, checkpoint store, disk space, Docker engine,
    sandbox image, model file and its sha256, endpoint) and print, for each problem, the one
    command that fixes it. Exit status 5 when something is missing.

    Example: devteam doctor && devteam run "Write a Python module ..."
    """
    from devteam.doctor import run_checks

    out = Console(soft_wrap=True, highlight=False)
    try:
        settings = load_settings()
    except DevteamError as exc:
        out.print(f"[red]fail[/] settings: {exc}", markup=True)
        out.print("     fix: devteam config show  # then correct the value it names")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    file = config_file()
    where = f"from {file} and" if file.is_file() else "from defaults and"
    out.print(f"[green]ok[/]   settings: {where} DEVTEAM_* variables", markup=True)
    results = run_checks(settings, rehash=rehash)
    colours = {"ok": "green", "fail": "red", "note": "yellow"}
    for res in results:
        word = f"{res.status:<4}"
        out.print(f"[{colours[res.status]}]{word}[/] {res.name}: ", end="")
        out.print(res.detail, markup=False)
        if res.fix:
            out.print("     fix: ", end="")
            out.print(res.fix, markup=False)
    problems = sum(r.failed for r in results)
    if problems:
        out.print(
            f"{problems} problem(s); run the fix command(s) above, then devteam doctor again."
        )
        raise typer.Exit(ExitCode.INFRASTRUCTURE)
    out.print("Everything a run needs is here.")


_SECRET_WORDS = frozenset({"key", "token", "secret", "password", "passwd", "credentials"})
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")


def is_secret(name: str) -> bool:
    """api_key, bot.token, bot.webhook_secret, a sandbox variable named *_TOKEN ... (but not
    max_tokens: whole words only)."""
    return any(word in _SECRET_WORDS for word in re.split(r"[._\-]", name.lower()))


def mask(name: str, value: Any) -> str:
    """A value as ``config show`` prints it: secrets as ``****``, URL passwords hidden."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        value = {k: "****" if is_secret(str(k)) else v for k, v in value.items()}
    elif is_secret(name) and value not in ("", "not-needed"):
        return "****"
    return _URL_PASSWORD.sub(r"\1****\3", str(value))


@config_app.command("show")
def show_config(
    base_url: Annotated[str | None, typer.Option(help="As `devteam run --base-url`.")] = None,
    model: Annotated[str | None, typer.Option(help="As `devteam run --model`.")] = None,
    team: Annotated[str | None, typer.Option(help="As `devteam run --team`.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="As `devteam run --max-tokens`.")] = None,
    max_fix_attempts: Annotated[
        int | None, typer.Option(help="As `devteam run --max-fix-attempts`.")
    ] = None,
) -> None:
    """Print every setting a run would use, and where its value came from (flag, environment,
    file, default); API keys, tokens and secrets masked. Flags show what a run with them uses.

    Example: devteam config show --team solo --max-tokens 20000
    """
    overrides: dict[str, Any] = {"base_url": base_url, "team": team}
    if model:
        embedded = model.startswith("qwen2.5-coder-") and not base_url
        overrides["embedded_model" if embedded else "model"] = model
    budget = {"max_run_tokens": max_tokens, "max_fix_attempts": max_fix_attempts}
    budget = {k: v for k, v in budget.items() if v is not None}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if budget:
        overrides["budget"] = budget
    settings = _settings(**overrides)
    sources = setting_sources(overrides)
    values = _flat(settings.model_dump(mode="json"))
    width = max(len(n) for n in values) + 2
    out = Console(soft_wrap=True, highlight=False, markup=False)
    for name, value in values.items():
        key = "bot" if name.startswith("bot.") else name
        source, where = sources.get(key, ("default", ""))
        out.print(f"{name:<{width}}{mask(name, value):<30}  {source} {where}".rstrip())


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("budget", "sandbox", "bot") and isinstance(value, dict):
            flat |= {f"{key}.{k}": v for k, v in value.items()}
        else:
            flat[key] = value
    return flat
