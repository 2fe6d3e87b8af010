"""Run records: the small files beside each run's audit log (``run.json``: the task and
workspace; ``team.json``: the team it started with) and the listing ``devteam runs`` shows.
Damaged records are one sentence saying what to do, never deleted."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from devteam.config import Settings
from devteam.errors import DevteamError
from devteam.teams import TeamConfig


class RunRecord(BaseModel):
    """The small file beside each run's audit log that ``resume`` and ``runs`` read."""

    run_id: str
    task: str
    workspace: str
    created: float
    team: str = "default"
    mode: Literal["new", "repo"] = "new"
    branch: str | None = None
    base_commit: str | None = None
    test_command: list[str] | None = None


def new_run_id(task: str) -> str:
    slug = "-".join(re.findall(r"[a-z0-9]+", task.lower())[:3])[:24] or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{uuid.uuid4().hex[:4]}"


def save_run(settings: Settings, record: RunRecord, team: TeamConfig) -> None:
    """Write a new run's ``run.json`` and ``team.json``."""
    run_dir = settings.run_dir(record.run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(record.model_dump_json(indent=2))
    (run_dir / "team.json").write_text(team.model_dump_json(indent=2))


def load_run(settings: Settings, run_id: str) -> RunRecord:
    """A run's record, or one sentence: no such run, or its run.json is damaged."""
    path = settings.run_dir(run_id) / "run.json"
    if not path.is_file():
        raise DevteamError(
            f"No run {run_id!r} under {settings.state_dir}; `devteam runs` lists them."
        )
    try:
        return RunRecord.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise DevteamError(
            f"{path} is damaged ({_first_error(exc)}); it records the run's task and "
            "workspace: restore it from a backup, or start the task again with devteam run."
        ) from None


def saved_team(run_dir: Path, current: TeamConfig) -> TeamConfig:
    """The team a run started with (a resumed run keeps it); gates switched on in
    ``current`` still apply. Without a team.json, ``current``."""
    saved = run_dir / "team.json"
    if not saved.is_file():
        return current
    try:
        stored = TeamConfig.model_validate_json(saved.read_bytes())
    except ValueError as exc:
        raise DevteamError(
            f"{saved} is damaged ({_first_error(exc)}); it records the run's team: restore "
            "it, or delete it to resume with the team configured now."
        ) from None
    on = {k: True for k, v in current.gates.model_dump().items() if v}
    return stored.with_gates(**on) if on else stored


def list_runs(settings: Settings) -> list[RunRecord]:
    """Every run with a readable run.json, oldest first by id."""
    runs_dir = settings.state_dir / "runs"
    if not runs_dir.is_dir():
        return []
    out = []
    for path in sorted(runs_dir.glob("*/run.json")):
        try:
            out.append(RunRecord.model_validate_json(path.read_bytes()))
        except (OSError, ValueError):
            continue
    return out


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'file'}: {first['msg']}"
    return str(exc).splitlines()[0][:200]
