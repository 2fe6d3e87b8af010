"""Resuming an interrupted bench run: ``devteam bench run --out DIR --resume``.

Every run writes ``<out>/run.json`` when it starts: the options that decide what is measured
and one *segment* per start (time, git commit, command line). A resumed run must be given the
same options; it keeps the tasks already in ``tasks.jsonl``, clears what an unfinished task left
behind (workspace, state, grading folder) and runs the rest. The segments end up in the results'
metadata, so a run that spans two commits says so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from devteam.bench.errors import BenchError
from devteam.bench.results import Segment, TaskRecord, TaskResult
from devteam.bench.tasks import Task

R = TypeVar("R", bound=TaskRecord)

RUN_FILE = "run.json"
TASKS_FILE = "tasks.jsonl"

#: The options that change what a run measures; a resumed run must repeat them exactly.
IDENTITY = (
    "suite",
    "strategy",
    "tasks",
    "limit",
    "full",
    "concurrency",
    "max_rounds",
    "seed",
    "model",
    "base_url",
    "max_run_tokens",
)
#: Options recorded under an older name: read as the new one when a run is resumed.
RENAMED = {"max_tokens": "max_run_tokens"}


class _Config(Protocol):
    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


class RunFile(BaseModel):
    options: dict[str, Any]
    segments: list[Segment]


def identity(cfg: _Config) -> dict[str, Any]:
    data = cfg.model_dump(mode="json")
    return {k: data.get(k) for k in IDENTITY}


def start(out: Path, cfg: _Config, segment: Segment) -> RunFile:
    """A fresh run: record its options and first segment."""
    run = RunFile(options=identity(cfg), segments=[segment])
    _write(out, run)
    return run


def resume(
    out: Path, cfg: _Config, segment: Segment, tasks: list[Task]
) -> tuple[RunFile, list[TaskResult]]:
    """Reopen ``out``: check the options, load the finished tasks, clear the unfinished ones."""
    if not (out / TASKS_FILE).is_file() and not (out / RUN_FILE).is_file():
        raise BenchError(
            f"Nothing to resume in {out}: it has no tasks.jsonl; start a new run without --resume."
        )
    run = _read(out)
    wanted = identity(cfg)
    if run is None:
        run = RunFile(
            options=wanted,
            segments=[
                Segment(
                    started="?",
                    note="run.json missing (written by an older harness): "
                    "the first segment's commit and options were not recorded",
                )
            ],
        )
    else:
        differ = [k for k in IDENTITY if run.options.get(k) != wanted.get(k)]
        if differ:
            was = ", ".join(f"{k}={run.options.get(k)!r}" for k in differ)
            raise BenchError(
                f"--resume needs the options of the run in {out}; these differ: {was}."
            )
    done = finished(out, tasks)
    for task in tasks:
        if task.id not in done:
            for folder in ("workspaces", "state", "grading"):
                shutil.rmtree(out / folder / task.slug, ignore_errors=True)
    segment = segment.model_copy(update={"tasks_done_before": len(done)})
    run.segments.append(segment)
    _write(out, run)
    return run, [done[t.id] for t in tasks if t.id in done]


def finished(out: Path, tasks: list[Task]) -> dict[str, TaskResult]:
    """The tasks recorded in ``tasks.jsonl``, by id."""
    jsonl = out / TASKS_FILE
    wanted = {t.id for t in tasks}
    done = read_records(jsonl, TaskResult, "task result")
    for task_id in done:
        if task_id not in wanted:
            raise BenchError(
                f"{jsonl} holds {task_id}, which is not among the selected tasks; "
                "resume with the options of the original run."
            )
    return done


def read_records(jsonl: Path, model: type[R], what: str) -> dict[str, R]:
    """The records a bench command wrote to ``jsonl`` as each task finished, by task id (none
    when the file is not there); a line that is not one is a BenchError naming it."""
    if not jsonl.is_file():
        return {}
    done: dict[str, R] = {}
    for n, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = model.model_validate_json(line)
        except ValidationError:
            raise BenchError(
                f"{jsonl} line {n} is not a {what}; repair or remove that line."
            ) from None
        done[record.task_id] = record
    return done


def _read(out: Path) -> RunFile | None:
    path = out / RUN_FILE
    if not path.is_file():
        return None
    try:
        run = RunFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError):
        raise BenchError(f"{path} is damaged; it cannot be resumed.") from None
    for old, new in RENAMED.items():
        if old in run.options and new not in run.options:
            run.options[new] = run.options.pop(old)
    return run


def _write(out: Path, run: RunFile) -> None:
    tmp = out / (RUN_FILE + ".tmp")
    tmp.write_text(run.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / RUN_FILE)
