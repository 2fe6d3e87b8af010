"""What the ``devteam`` commands do with what a user typed: the task (argument, ``-f FILE``
or stdin), budget flags, and the one sentence an error becomes, with its exit status from
devteam.exit_codes (and a resume hint only where a checkpoint exists to resume from)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from devteam.config import Settings
from devteam.errors import DevteamError
from devteam.exit_codes import ExitCode, of_error

console = Console(stderr=True, highlight=False)


def fail(
    exc: BaseException,
    run_id: str | None = None,
    settings: Settings | None = None,
    *,
    code: int | None = None,
    resume_flags: str = "",
) -> NoReturn:
    """One sentence on stderr, the resume hint only where a checkpoint exists to resume from,
    and the exit status the error means (devteam.exit_codes), or ``code``."""
    console.print("[bold red]error:[/] ", end="")
    console.print(str(exc), soft_wrap=True, markup=False, highlight=False)
    if run_id and settings is not None and resumable(settings, run_id):
        console.print(
            f"The run is checkpointed; continue it with: devteam resume {run_id}{resume_flags}",
            soft_wrap=True,
        )
    raise typer.Exit(int(code if code is not None else of_error(exc)))


def bad_input(text: str) -> NoReturn:
    """A wrong flag or argument, in one sentence: exit 1."""
    fail(DevteamError(text), code=ExitCode.BAD_INPUT)


def resumable(settings: Settings, run_id: str) -> bool:
    from devteam.checkpoint import has_checkpoint

    return has_checkpoint(settings, run_id)


def set_budget(settings: Settings, flag: str, field: str, value: int) -> None:
    from pydantic import ValidationError

    try:
        setattr(settings.budget, field, value)
    except ValidationError as exc:
        msg = str(exc.errors()[0]["msg"]).lower()
        fail(DevteamError(f"{flag} {value} is not allowed: {msg}."))


def task_text(task: str | None, file: Path | None) -> str:
    """The task from the argument, ``-`` (stdin) or ``--file``, checked: UTF-8, not too long."""
    from devteam.team import check_task

    if file is not None and task is not None:
        fail(DevteamError("Give the task either as an argument or with --file, not both."))
    if file is None and task is None:
        fail(DevteamError('No task given; say what to build: devteam run "..." (or -f FILE).'))
    try:
        if file is not None:
            data, where = file.read_bytes(), str(file)
        elif task == "-":
            data, where = sys.stdin.buffer.read(), "stdin"
        else:
            data, where = None, "the argument"
    except OSError as exc:
        fail(DevteamError(f"Cannot read the task file {file} ({exc.strerror or exc})."))
    if data is not None:
        try:
            task = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            fail(
                DevteamError(
                    f"The task in {where} is not UTF-8 text (byte {exc.start} is not); "
                    "save it as UTF-8."
                )
            )
    assert task is not None
    try:
        check_task(task, where=where)
    except DevteamError as exc:
        fail(exc)
    return task


def crash_log(settings: Settings, run_id: str) -> Path:
    import traceback

    path = settings.run_dir(run_id) / "crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(traceback.format_exc())
    except OSError:
        path = Path("(not written)")
    return path
