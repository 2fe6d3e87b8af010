"""Every candidate a team run recorded, graded on the hidden tests.

A team bench keeps each task's checkpoint (``<out>/state/<task>/checkpoints.sqlite``), and
its last state holds every candidate the run wrote: candidate 0, the samples and the
repairs. Grading each of them on the suite's hidden tests says, per task, whether a right
candidate was there to choose and whether the choice found it: the ceiling of selection in
that run, with no further model call.

``devteam bench candidates <out>`` writes ``candidates.json`` and ``candidates.md`` there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from devteam.bench.errors import BenchError
from devteam.bench.grading import grade
from devteam.bench.results import load_results
from devteam.bench.tasks import Task, load_tasks
from devteam.config import SandboxSettings, Settings

#: The strategies that are no team: their runs keep no candidates.
NOT_TEAMS = ("single", "reflect", "reference")


class GradedCandidate(BaseModel):
    id: int
    origin: str = Field(description="draft, sample, repair or revise")
    parent: int | None = None
    passed: bool = Field(description="the hidden tests pass")
    failing: int = Field(description="hidden tests that fail")
    error: bool = Field(False, description="the hidden tests could not run (pytest exit 2+)")


class RecordedTask(BaseModel):
    task_id: str
    chosen: int | None = Field(description="the candidate the run delivered")
    candidates: list[GradedCandidate]

    @property
    def right(self) -> list[int]:
        return [c.id for c in self.candidates if c.passed]

    @property
    def chosen_right(self) -> bool:
        return self.chosen in self.right


def final_state(state_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The last checkpoint's values of one bench task, or None when it has none."""
    from devteam.checkpoint import last_values

    settings = Settings(state_dir=state_dir, checkpointer="sqlite")
    if not settings.checkpoint_db.is_file():
        return None
    return last_values(settings, run_id)


def grade_recorded(
    out: Path,
    sandbox: SandboxSettings,
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[RecordedTask]:
    """Grade every recorded candidate of every task of the bench run in ``out``."""
    results = load_results(out / "results.json")
    meta = results.metadata
    if meta.strategy in NOT_TEAMS:
        raise BenchError(
            f"{out} holds a {meta.strategy!r} run; only a team run records candidates. "
            "Point to the output folder of `devteam bench run --strategy team`."
        )
    tasks = {t.id: t for t in load_tasks(meta.suite, [r.task_id for r in results.tasks])}
    rows: list[RecordedTask] = []
    for result in results.tasks:
        task = tasks[result.task_id]
        row = _grade_task(out, task, sandbox)
        if row is None:
            progress(f"{task.id}: no checkpoint with candidates in {out / 'state' / task.slug}")
            continue
        progress(
            f"{task.id}: {len(row.right)} of {len(row.candidates)} candidates right, "
            f"chosen {row.chosen} ({'right' if row.chosen_right else 'wrong'})"
        )
        rows.append(row)
    (out / "candidates.json").write_text(
        json.dumps([r.model_dump() for r in rows], indent=2) + "\n", encoding="utf-8"
    )
    (out / "candidates.md").write_text(render(rows), encoding="utf-8")
    return rows


def _grade_task(out: Path, task: Task, sandbox: SandboxSettings) -> RecordedTask | None:
    state = final_state(out / "state" / task.slug, task.slug)
    if not state or not state.get("candidates"):
        return None
    chosen = (state.get("selection") or {}).get("chosen")
    graded = []
    for raw in state["candidates"]:
        folder = out / "grading-candidates" / task.slug / str(raw["id"])
        g = grade(task, raw["files"], sandbox, folder)
        graded.append(
            GradedCandidate(
                id=raw["id"],
                origin=raw.get("origin", ""),
                parent=raw.get("parent"),
                passed=g.passed,
                failing=len(g.failing_tests),
                error=not g.passed and g.exit_code not in (0, 1),
            )
        )
    return RecordedTask(task_id=task.id, chosen=chosen, candidates=graded)


def render(rows: list[RecordedTask]) -> str:
    """The Markdown table: per task, each candidate's hidden tests, the chosen one marked."""
    lines = [
        "| task | candidates | right | chosen | chosen right | hidden tests failing per "
        "candidate (origin; * chosen) |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        cells = ", ".join(
            f"{c.id}{'*' if c.id == r.chosen else ''} {c.origin}: "
            f"{'pass' if c.passed else 'error' if c.error else c.failing}"
            for c in r.candidates
        )
        lines.append(
            f"| {r.task_id} | {len(r.candidates)} | {len(r.right)} | {r.chosen} | "
            f"{'yes' if r.chosen_right else 'no'} | {cells} |"
        )
    exists = sum(bool(r.right) for r in rows)
    found = sum(r.chosen_right for r in rows)
    lines += [
        "",
        f"A right candidate was recorded in {exists} of {len(rows)} tasks; the run chose a "
        f"right one in {found}.",
    ]
    return "\n".join(lines) + "\n"
