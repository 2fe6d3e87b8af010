"""The results file (``results.json``), its summary, and the Markdown tables made from it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from devteam.bench.errors import BenchError

SCHEMA_VERSION = 1


class TaskRecord(BaseModel):
    """What a bench command records of one task in ``tasks.jsonl`` as it finishes."""

    task_id: str


class TaskResult(TaskRecord):
    """One task: the hidden tests' verdict and what it cost."""

    passed: bool = Field(description="the hidden tests pass")
    status: str = Field(description="what the strategy itself reported (or error)")
    reason: str = ""
    verdict: str = Field("", description="what the strategy's answer rests on (team only)")
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = Field(0.0, description="the strategy's time on the task (grading excluded)")
    model_s: float = Field(0.0, description="time inside model calls, queueing included")
    sandbox_s: float = Field(0.0, description="time inside the sandbox: start, copy, commands")
    other_s: float = Field(0.0, description="wall - model - sandbox: orchestration overhead")
    rounds: int = Field(0, description="fix rounds the strategy took")
    files: list[str] = Field(default_factory=list, description="source files that were graded")
    hidden_exit_code: int | None = None
    hidden_failing: list[str] = Field(default_factory=list)
    hidden_output_tail: str = ""
    grade_s: float = 0.0
    audit_log: str | None = None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Summary(BaseModel):
    tasks: int
    passed: int
    pass_at_1: float = Field(description="passed / tasks (one greedy sample per task)")
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    tokens: int
    tokens_per_task: float
    tokens_per_solved: float | None = Field(description="all tokens spent / tasks solved")
    median_wall_s: float
    mean_wall_s: float
    total_wall_s: float = Field(description="sum of the tasks' wall times")
    model_share: float
    sandbox_share: float
    overhead_share: float = Field(description="sum(other) / sum(wall): orchestration overhead")
    elapsed_s: float = Field(description="first task start to last task graded")
    tasks_per_hour: float
    errors: int = Field(description="tasks whose strategy raised an error")
    claimed: int = Field(0, description="tasks the strategy itself reported as passed")
    false_success: int = Field(0, description="reported passed, but the hidden tests fail")


class Segment(BaseModel):
    """One start of a run: a fresh one, or a resume."""

    started: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    command: list[str] = Field(default_factory=list)
    tasks_done_before: int = 0
    note: str | None = None


class MergeSource(BaseModel):
    """One results file that a merged run took tasks from (``devteam bench merge``)."""

    path: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    started: str
    finished: str | None = None
    task_ids: list[str] = Field(description="the tasks whose results came from this file")


class Metadata(BaseModel):
    devteam_version: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    suite: str
    strategy: str
    team: str | None = None
    task_ids: list[str]
    concurrency: int
    max_rounds: int
    temperature: float
    seed: int | None
    model: str
    model_file: str | None = None
    model_sha256: str | None = None
    server: str = Field(description="embedded-llama-cpp, openai-compatible, injected, or none")
    base_url: str | None = None
    server_startup_s: float | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    prompts_sha256: dict[str, str] = Field(default_factory=dict)
    host: dict[str, Any] = Field(default_factory=dict)
    command: list[str] = Field(default_factory=list)
    started: str
    finished: str | None = None
    segments: list[Segment] = Field(
        default_factory=list, description="each start of the run: the first, then resumes"
    )
    unfinished: list[str] = Field(
        default_factory=list,
        description="an interrupted run: the selected tasks not finished (--resume runs them)",
    )
    merged: list[MergeSource] = Field(
        default_factory=list, description="a merged run: the files its tasks came from"
    )


class BenchResults(BaseModel):
    schema_version: int = SCHEMA_VERSION
    metadata: Metadata
    summary: Summary
    tasks: list[TaskResult]


def summarise(tasks: Sequence[TaskResult], elapsed_s: float) -> Summary:
    n = len(tasks)
    passed = sum(t.passed for t in tasks)
    prompt = sum(t.prompt_tokens for t in tasks)
    completion = sum(t.completion_tokens for t in tasks)
    walls = [t.wall_s for t in tasks]
    total_wall = sum(walls)

    def share(x: float) -> float:
        return round(x / total_wall, 4) if total_wall > 0 else 0.0

    return Summary(
        tasks=n,
        passed=passed,
        pass_at_1=round(passed / n, 4) if n else 0.0,
        model_calls=sum(t.model_calls for t in tasks),
        prompt_tokens=prompt,
        completion_tokens=completion,
        tokens=prompt + completion,
        tokens_per_task=round((prompt + completion) / n, 1) if n else 0.0,
        tokens_per_solved=round((prompt + completion) / passed, 1) if passed else None,
        median_wall_s=round(statistics.median(walls), 2) if walls else 0.0,
        mean_wall_s=round(total_wall / n, 2) if n else 0.0,
        total_wall_s=round(total_wall, 2),
        model_share=share(sum(t.model_s for t in tasks)),
        sandbox_share=share(sum(t.sandbox_s for t in tasks)),
        overhead_share=share(sum(t.other_s for t in tasks)),
        elapsed_s=round(elapsed_s, 2),
        tasks_per_hour=round(n * 3600 / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        errors=sum(t.status == "error" for t in tasks),
        claimed=sum(t.status == "passed" for t in tasks),
        false_success=sum(t.status == "passed" and not t.passed for t in tasks),
    )


def write_results(out: Path, result: BenchResults) -> None:
    """Write ``results.json`` and its Markdown, ``results.md``, into the folder ``out``."""
    (out / "results.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (out / "results.md").write_text(to_markdown(result), encoding="utf-8")


def load_results(path: Path) -> BenchResults:
    """A results file, or the ``results.json`` in a bench output folder."""
    file = path / "results.json" if path.is_dir() else path
    try:
        return BenchResults.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchError(f"No results file at {file} ({exc.strerror}).") from exc
    except ValidationError as exc:
        raise BenchError(
            f"{file} is not a devteam bench results file ({exc.error_count()} problems)."
        ) from exc


# -- Markdown --------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def summary_table(results: Sequence[BenchResults]) -> str:
    """One row per results file: the comparison table of RESULTS.md."""
    head = (
        "| suite | strategy | model | N | tasks | passed | pass@1 | calls/task | tokens/task "
        "| tokens/solved | median s/task | model | sandbox | overhead | tasks/h |\n"
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |\n"
    )
    rows = []
    for r in results:
        m, s = r.metadata, r.summary
        rows.append(
            f"| {m.suite} | {m.strategy} | {m.model} | {m.concurrency} | {s.tasks} | {s.passed} "
            f"| {_pct(s.pass_at_1)} | {_num(s.model_calls / s.tasks if s.tasks else 0, 1)} "
            f"| {_num(s.tokens_per_task)} | {_num(s.tokens_per_solved)} "
            f"| {s.median_wall_s:.1f} | {_pct(s.model_share)} | {_pct(s.sandbox_share)} "
            f"| {_pct(s.overhead_share)} | {s.tasks_per_hour:.1f} |"
        )
    return head + "\n".join(rows) + "\n"


def task_table(result: BenchResults) -> str:
    head = (
        "| task | hidden tests | strategy status | calls | prompt tok | completion tok "
        "| wall s | model s | sandbox s | other s | rounds | verdict |\n"
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
    )
    rows = [
        f"| {t.task_id} | {'pass' if t.passed else 'FAIL'} | {t.status} | {t.model_calls} "
        f"| {t.prompt_tokens} | {t.completion_tokens} | {t.wall_s:.1f} | {t.model_s:.1f} "
        f"| {t.sandbox_s:.1f} | {t.other_s:.2f} | {t.rounds} | {t.verdict or '-'} |"
        for t in result.tasks
    ]
    return head + "\n".join(rows) + "\n"


def to_markdown(result: BenchResults) -> str:
    m, s = result.metadata, result.summary
    lines = [
        f"# devteam bench: {m.suite} / {m.strategy} / {m.model}",
        "",
        f"- tasks: {s.tasks} ({', '.join(m.task_ids[:6])}{', ...' if len(m.task_ids) > 6 else ''})",
        f"- passed: {s.passed} of {s.tasks} (pass@1 {_pct(s.pass_at_1)}); errors: {s.errors}",
        f"- the strategy said passed on {s.claimed}; of those, the hidden tests fail on "
        f"{s.false_success} (false success)",
        f"- tokens: {s.tokens:,} ({s.prompt_tokens:,} prompt + {s.completion_tokens:,} completion);"
        f" per solved task: {_num(s.tokens_per_solved)}",
        f"- wall time per task: median {s.median_wall_s:.1f} s, mean {s.mean_wall_s:.1f} s; "
        f"model {_pct(s.model_share)}, sandbox {_pct(s.sandbox_share)}, "
        f"other (orchestration) {_pct(s.overhead_share)}",
        f"- throughput: {s.tasks_per_hour:.1f} tasks/hour at concurrency {m.concurrency} "
        f"({s.elapsed_s:.0f} s from first start to last grade)",
        f"- model: {m.model} via {m.server}"
        + (f", file sha256 {m.model_sha256}" if m.model_sha256 else "")
        + f"; temperature {m.temperature}, seed {m.seed}",
        *_provenance_lines(m),
        *(
            [
                f"- **interrupted**: {len(m.unfinished)} selected tasks did not finish "
                f"({', '.join(m.unfinished)}); the same command plus --resume runs them"
            ]
            if m.unfinished
            else []
        ),
        "",
        "## Tasks",
        "",
        task_table(result),
    ]
    return "\n".join(lines)


def _provenance_lines(m: Metadata) -> list[str]:
    """Which code ran the tasks: one commit, each start of a resumed run, or a merge's files."""
    if m.merged:
        lines = [f"- devteam {m.devteam_version}; merged from {len(m.merged)} runs:"]
        for src in m.merged:
            commit = src.git_commit[:12] if src.git_commit else "?"
            dirty = " (with uncommitted changes)" if src.git_dirty else ""
            taken = ", ".join(src.task_ids) if src.task_ids else "none"
            lines.append(f"  - {src.path}, commit {commit}{dirty}: {taken}")
        return lines
    return [
        f"- devteam {m.devteam_version}, commit {m.git_commit or '?'}"
        + (" (with uncommitted changes)" if m.git_dirty else "")
        + f"; started {m.started}, finished {m.finished or '?'}",
        *_segment_lines(m),
    ]


def _segment_lines(m: Metadata) -> list[str]:
    """A resumed run lists each start: the code that ran each part may differ."""
    if len(m.segments) < 2:
        return []
    lines = [f"- resumed: this run had {len(m.segments)} starts"]
    for i, seg in enumerate(m.segments, 1):
        commit = seg.git_commit[:12] if seg.git_commit else "?"
        dirty = " (with uncommitted changes)" if seg.git_dirty else ""
        note = f"; {seg.note}" if seg.note else ""
        lines.append(
            f"  {i}. started {seg.started}, commit {commit}{dirty}, "
            f"{seg.tasks_done_before} tasks already done{note}"
        )
    return lines


def task_matrix(results: Sequence[BenchResults]) -> str:
    """One row per task, one column group per results file: verdict, wall seconds, tokens."""
    labels = [
        f"{r.metadata.strategy} ({r.metadata.model}, N={r.metadata.concurrency})" for r in results
    ]
    head = "| task | " + " | ".join(labels) + " |\n"
    head += "| --- | " + " | ".join("---" for _ in labels) + " |\n"
    ids = list(dict.fromkeys(t.task_id for r in results for t in r.tasks))
    by_run = [{t.task_id: t for t in r.tasks} for r in results]
    rows = []
    for task_id in ids:
        cells = []
        for run in by_run:
            t = run.get(task_id)
            cells.append(
                "-"
                if t is None
                else f"{'pass' if t.passed else 'FAIL'} · {t.wall_s:.0f} s · {t.tokens:,} tok"
            )
        rows.append(f"| {task_id} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"
