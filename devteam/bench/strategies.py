"""Strategies: the ways a task gets solved, all on the same model, sandbox and budget.

- ``single``: one model call, no feedback.
- ``reflect``: one agent writes the code and its own tests, runs them in the sandbox, and
  on failure gets the output back and writes the files again, up to ``max_rounds`` fix
  rounds (the pattern of LangGraph's code-assistant example).
- ``team``: devteam's team (``team`` = its default, ``team:NAME`` = a built-in team such as
  ``solo``, or the path of a team file).
- ``reference``: writes the suite's known-good solution, no model; it checks the hidden
  tests and the grader, not a solver.

A strategy writes what it produces into ``ctx.workdir``; the harness grades what is there.
Every strategy reads replies with ``devteam.agents.replies`` (the team's own parser), and
``single`` asks with the coder's ``solve`` prompt, the team's candidate 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from devteam.agents.replies import assign_paths, clip_output, is_test_path, safe_path
from devteam.agents.runner import sandbox_event
from devteam.bench.errors import BenchError
from devteam.bench.grading import PYTEST
from devteam.bench.prompts import load_prompts
from devteam.bench.tasks import Task
from devteam.bench.timing import TimedModel, TimedSandbox
from devteam.config import Settings
from devteam.errors import BudgetExceededError
from devteam.events import EventBus, FilesWritten, RunFinished, RunStarted
from devteam.llm.budget import Budget
from devteam.llm.metered import MeteredModel
from devteam.llm.parsing import extract_files
from devteam.roles import load_role

__all__ = ["assign_paths", "is_test_path", "make_strategy", "safe_path"]


@dataclass
class Context:
    """What a strategy gets for one task."""

    task: Task
    model: TimedModel | None
    sandbox: TimedSandbox
    budget: Budget
    events: EventBus
    settings: Settings
    workdir: Path
    run_id: str
    audit_log: Path
    max_rounds: int = 3


@dataclass
class Outcome:
    """What a strategy reports about its own run (the hidden tests decide pass/fail)."""

    status: str
    reason: str = ""
    verdict: str = ""
    rounds: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    audit_log: Path | None = None


class Strategy(Protocol):
    name: str
    needs_model: bool

    def solve(self, ctx: Context) -> Outcome: ...


# -- shared helpers --------------------------------------------------------------------------
def write_files(workdir: Path, files: dict[str, str]) -> list[str]:
    written = []
    for rel, text in files.items():
        target = workdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(rel)
    return written


def _start(ctx: Context, model_name: str) -> None:
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    ctx.events.emit(
        RunStarted(
            task=ctx.task.text,
            workspace=str(ctx.workdir),
            model=model_name,
            settings=ctx.settings.model_dump(mode="json", exclude={"api_key"}),
        )
    )


def _finish(ctx: Context, out: Outcome) -> Outcome:
    out.prompt_tokens = ctx.budget.prompt_tokens
    out.completion_tokens = ctx.budget.completion_tokens
    out.audit_log = ctx.audit_log
    ctx.events.emit(
        RunFinished(
            status=out.status,
            reason=out.reason,
            prompt_tokens=out.prompt_tokens,
            completion_tokens=out.completion_tokens,
            duration_s=round(ctx.budget.elapsed_s, 2),
            fix_attempts=out.rounds,
        )
    )
    return out


def _model(ctx: Context) -> MeteredModel:
    """The task's model, charged to its budget and logged to its audit log."""
    if ctx.model is None:
        raise BenchError(f"The strategy for {ctx.task.id} needs a model and none was given.")
    return MeteredModel(
        ctx.model, ctx.budget, ctx.events, max_tokens=ctx.settings.max_tokens_per_call
    )


# -- single ----------------------------------------------------------------------------------
class Single:
    name = "single"
    needs_model = True

    def solve(self, ctx: Context) -> Outcome:
        model = _model(ctx)
        _start(ctx, model.name)
        try:
            # The coder's own one-call prompt: the team's candidate 0 is this very call.
            messages = load_role("coder").messages(
                "solve", task=ctx.task.text, files=ctx.task.files
            )
            reply = model.complete(messages, role="single")
            files = assign_paths(extract_files(reply.text), ctx.task.files, None)
            written = write_files(ctx.workdir, files)
            ctx.events.emit(FilesWritten(role="single", paths=written))
            out = Outcome(status="answered" if written else "no_files")
            out.reason = "one reply, no feedback" if written else "the reply held no code block"
        except BudgetExceededError as exc:
            out = Outcome(status="budget_exhausted", reason=str(exc))
        return _finish(ctx, out)


# -- reflect ---------------------------------------------------------------------------------
class Reflect:
    name = "reflect"
    needs_model = True

    def solve(self, ctx: Context) -> Outcome:
        model = _model(ctx)
        prompts = load_prompts("reflect")
        _start(ctx, model.name)
        task = ctx.task
        convo = prompts.messages(
            "write", task=task.text, files=task.files, test_file=task.test_file
        )
        out = Outcome(status="failed")
        try:
            with ctx.sandbox as sandbox:
                for round_ in range(ctx.max_rounds + 1):
                    out.rounds = round_
                    reply = model.complete(convo, role="reflect")
                    files = assign_paths(extract_files(reply.text), task.files, task.test_file)
                    written = write_files(ctx.workdir, files)
                    ctx.events.emit(FilesWritten(role="reflect", paths=written))
                    sandbox.sync_dir(ctx.workdir)
                    result = sandbox.exec(PYTEST, timeout_s=ctx.settings.sandbox.timeout_s)
                    output = clip_output(result.stdout, result.stderr)
                    if result.exit_code == 5:
                        output += (
                            f"\nNo tests were collected: write pytest tests in {task.test_file}."
                        )
                    if result.timed_out:
                        output += "\nThe test run was killed: it ran past the time limit."
                    ctx.events.emit(sandbox_event(result, output))
                    if result.ok:
                        out.status = "passed"
                        out.reason = f"its own tests pass after {round_} fix round(s)"
                        break
                    if round_ == ctx.max_rounds:
                        out.reason = f"its own tests still fail after {round_} fix round(s)"
                        break
                    convo = [
                        *convo,
                        {"role": "assistant", "content": reply.text},
                        {
                            "role": "user",
                            "content": prompts.render(
                                "fix",
                                command=" ".join(PYTEST[:3]),
                                exit_code=result.exit_code,
                                failing_tests=result.failing_tests,
                                output=output,
                            ),
                        },
                    ]
        except BudgetExceededError as exc:
            out.status, out.reason = "budget_exhausted", str(exc)
        return _finish(ctx, out)


# -- team ------------------------------------------------------------------------------------
class TeamStrategy:
    """devteam's team. ``team`` None means the configured default team."""

    needs_model = True

    def __init__(self, team: str | Path | None = None) -> None:
        self.team = team
        self.name = "team" if team is None else f"team:{team}"

    def solve(self, ctx: Context) -> Outcome:
        from devteam.team import Team

        kwargs: dict[str, Any] = {"model": ctx.model, "sandbox": ctx.sandbox}
        if self.team is not None:
            kwargs["team"] = self.team
        with ctx.sandbox:
            result = Team(ctx.settings, **kwargs).run(ctx.task.text, run_id=ctx.run_id)
        return Outcome(
            status=result.status,
            reason=result.reason,
            verdict=result.verdict,
            rounds=result.fix_attempts,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            audit_log=result.audit_log,
        )


# -- reference -------------------------------------------------------------------------------
class Reference:
    """The suite's known-good solution: validates hidden tests and grading, spends nothing."""

    name = "reference"
    needs_model = False

    def solve(self, ctx: Context) -> Outcome:
        _start(ctx, "none")
        if not ctx.task.reference:
            return _finish(ctx, Outcome(status="no_files", reason="the task has no reference"))
        written = write_files(ctx.workdir, dict(ctx.task.reference))
        ctx.events.emit(FilesWritten(role="reference", paths=written))
        return _finish(ctx, Outcome(status="answered", reason="the reference solution"))


def make_strategy(spec: str) -> Strategy:
    """``single``, ``reflect``, ``team``, ``team:NAME``, ``reference`` or a team file's path."""
    spec = spec.strip()
    if spec == "single":
        return Single()
    if spec == "reflect":
        return Reflect()
    if spec == "reference":
        return Reference()
    if spec == "team":
        return TeamStrategy(None)
    if spec.startswith("team:") and re.fullmatch(r"[\w.-]+", spec[5:]):
        return TeamStrategy(spec[5:])
    if spec.endswith((".yaml", ".yml", ".toml")) or "/" in spec:
        path = Path(spec)
        if not path.is_file():
            raise BenchError(f"No team file at {spec}; give the path of a team YAML/TOML file.")
        return TeamStrategy(path.resolve())
    raise BenchError(
        f"Unknown strategy {spec!r}; choose single, reflect, team, team:NAME (e.g. team:solo), "
        "reference, or the path of a team file."
    )
