"""``devteam bot ...``: the GitHub issue bot (see docs/BOT.md).

serve   the webhook receiver (uvicorn) and the workers, in one process
worker  workers only (more processes or machines sharing the state folder)
poll    ask GitHub for labels and commands instead of receiving webhooks, and work
runs    the runs ledger
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devteam.cli_input import fail
from devteam.config import load_settings
from devteam.errors import ConfigError, DevteamError

app = typer.Typer(
    name="bot",
    help="The GitHub issue bot: label an issue, get a draft pull request.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _bot(*, need_secret: bool = False, **overrides: Any) -> Any:
    from devteam.github.settings import load_bot_settings
    from devteam.github.worker import Bot

    settings = load_settings()
    bot = load_bot_settings(settings, **{k: v for k, v in overrides.items() if v is not None})
    if not bot.repositories:
        raise ConfigError(
            'No repository is configured; set bot.repositories = ["owner/name"] in devteam.toml.'
        )
    if bot.token is None and (bot.app_id is None or bot.app_private_key_file is None):
        raise ConfigError(
            "No GitHub credentials; set DEVTEAM_BOT__TOKEN, or bot.app_id and "
            "bot.app_private_key_file for a GitHub App."
        )
    if need_secret and not bot.secrets:
        raise ConfigError(
            "No webhook secret is configured; set DEVTEAM_BOT__WEBHOOK_SECRET to the "
            "secret of the repository's webhook."
        )
    return Bot(settings, bot)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


@app.command(epilog="Example: devteam bot serve --port 8080")
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[
        bool, typer.Option("--workers/--no-workers", help="also run jobs in this process")
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Receive GitHub webhooks at http://HOST:PORT/webhook and run the jobs they start."""
    import uvicorn

    from devteam.github.receiver import create_app

    _logging(verbose)
    try:
        bot = _bot(need_secret=True, host=host, port=port)
    except DevteamError as exc:
        fail(exc)
    stop = threading.Event()
    thread = None
    if workers:
        thread = threading.Thread(target=bot.work, args=(stop,), name="bot-workers", daemon=True)
        thread.start()
    app_ = create_app(bot.bot, bot.ledger, bot.enqueue)
    try:
        uvicorn.run(app_, host=bot.bot.host, port=bot.bot.port, log_level="info")
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)
        bot.close()


@app.command(epilog="Example: devteam bot worker -v")
def worker(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run queued jobs (and take over those of dead workers) until stopped."""
    _logging(verbose)
    try:
        bot = _bot()
    except DevteamError as exc:
        fail(exc)
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        bot.work(stop)
    finally:
        bot.close()


@app.command(epilog="Example: devteam bot poll --once")
def poll(
    once: Annotated[bool, typer.Option(help="one round, queue what it finds, and exit")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Ask GitHub for labeled issues and /devteam comments (no webhook needed), and work."""
    import time

    from devteam.github.api import GitHubAPI
    from devteam.github.poll import poll_forever, poll_once

    _logging(verbose)
    try:
        bot = _bot()
        api = GitHubAPI(bot.bot)
        if once:
            since = time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2 * bot.bot.poll_interval_s)
            )
            queued = poll_once(bot, api, since)
            err.print(f"{len(queued)} trigger(s) queued; `devteam bot worker` runs them.")
            bot.close()
            return
    except DevteamError as exc:
        fail(exc)
    stop = threading.Event()
    _stop_on_signals(stop)
    thread = threading.Thread(target=bot.work, args=(stop,), name="bot-workers", daemon=True)
    thread.start()
    try:
        poll_forever(bot, api, stop)
    finally:
        stop.set()
        thread.join(10)
        bot.close()


@app.command(epilog="Example: devteam bot runs")
def runs() -> None:
    """List the bot's runs: issue, trigger, state, PR, tokens."""
    from devteam.github.ledger import Ledger
    from devteam.github.settings import load_bot_settings

    try:
        bot = load_bot_settings(load_settings())
    except DevteamError as exc:
        fail(exc)
    from devteam.github.worker import is_postgres

    where: Path | str = bot.queue if is_postgres(bot.queue) else bot.state_dir / "ledger.sqlite"
    if isinstance(where, Path) and not where.is_file():
        err.print(f"No runs yet (no ledger at {where}).")
        return
    ledger = Ledger(where)
    table = Table("run", "issue", "trigger", "by", "state", "PR", "tokens", "outcome")
    for r in ledger.runs():
        table.add_row(
            str(r.id),
            f"{r.repo}#{r.issue}",
            r.trigger,
            r.sender,
            r.state,
            f"#{r.pr_number}" if r.pr_number else "",
            str(r.tokens),
            r.outcome or "",
        )
    Console().print(table)
    ledger.close()
