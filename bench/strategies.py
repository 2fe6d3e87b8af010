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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from bench.errors import BenchError
from bench.grading import PYTEST
from bench.prompts import load_prompts
from bench.tasks import Task
from bench.timing import TimedModel, TimedSandbox
from devteam.config import Settings
from devteam.errors import BudgetExceededError
from devteam.events import EventBus, FilesWritten, RunFinished, RunStarted, SandboxRun
from devteam.llm.budget import Budget
from devteam.llm.parsing import FileBlock, extract_files

FEEDBACK_HEAD = 1200
FEEDBACK_TAIL = 1200
_NON_CODE = {"text", "txt", "bash", "sh", "shell", "console", "json", "yaml", "toml", "ini"}


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
    rounds: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    audit_log: Path | None = None


class Strategy(Protocol):
    name: str
    needs_model: bool

    def solve(self, ctx: Context) -> Outcome: ...


# -- shared helpers --------------------------------------------------------------------------
def safe_path(path: str) -> str | None:
    """A relative POSIX path inside the workspace, or None (absolute, ``..``, dot folders)."""
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    p = PurePosixPath(path)
    if not path or p.is_absolute():
        return None
    if any(part in ("", "..") or part.startswith(".") for part in p.parts):
        return None
    return p.as_posix()


def is_test_path(path: str) -> bool:
    p = PurePosixPath(path)
    return "tests" in p.parts[:-1] or p.name.startswith("test_") or p.name == "conftest.py"


def assign_paths(
    blocks: list[FileBlock], sources: list[str], test_file: str | None
) -> dict[str, str]:
    """Name every code block: its own name, else the test file or the next expected source.

    A named block whose file name (not folder) is an expected source file's takes that
    file's path, so ``pkg/item.py`` lands on ``item.py`` when the task asked for ``item.py``.
    """
    out: dict[str, str] = {}
    pending = list(sources)
    for block in blocks:
        path = safe_path(block.path) if block.path else None
        if block.path and path is None:
            continue  # a path that would leave the workspace
        if path is None:
            if block.language in _NON_CODE:
                continue
            looks_like_test = "def test_" in block.content or "import pytest" in block.content
            if looks_like_test:
                if test_file is None or test_file in out:
                    continue
                path = test_file
            elif pending:
                path = pending[0]
            else:
                continue
        elif path not in sources and not is_test_path(path):
            same_name = [s for s in pending if PurePosixPath(s).name == PurePosixPath(path).name]
            path = same_name[0] if same_name else path
        if test_file is None and is_test_path(path):
            continue
        if path in pending:
            pending.remove(path)
        out[path] = block.content
    return out


def write_files(workdir: Path, files: dict[str, str]) -> list[str]:
    written = []
    for rel, text in files.items():
        target = workdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(rel)
    return written


def feedback_output(stdout: str, stderr: str) -> str:
    output = (stdout + ("\n" + stderr if stderr.strip() else "")).strip()
    if len(output) > FEEDBACK_HEAD + FEEDBACK_TAIL:
        cut = len(output) - FEEDBACK_HEAD - FEEDBACK_TAIL
        head, tail = output[:FEEDBACK_HEAD], output[-FEEDBACK_TAIL:]
        output = f"{head}\n[... {cut} characters cut ...]\n{tail}"
    return output


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


def _model(ctx: Context) -> TimedModel:
    if ctx.model is None:
        raise BenchError(f"The strategy for {ctx.task.id} needs a model and none was given.")
    return ctx.model


# -- single ----------------------------------------------------------------------------------
class Single:
    name = "single"
    needs_model = True

    def solve(self, ctx: Context) -> Outcome:
        model = _model(ctx)
        prompts = load_prompts("single")
        _start(ctx, model.name)
        try:
            messages = prompts.messages("solve", task=ctx.task.text, files=ctx.task.files)
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
                    output = feedback_output(result.stdout, result.stderr)
                    if result.exit_code == 5:
                        output += (
                            f"\nNo tests were collected: write pytest tests in {task.test_file}."
                        )
                    if result.timed_out:
                        output += "\nThe test run was killed: it ran past the time limit."
                    ctx.events.emit(
                        SandboxRun(
                            command=result.command,
                            exit_code=result.exit_code,
                            timed_out=result.timed_out,
                            oom_killed=result.oom_killed,
                            duration_s=result.duration_s,
                            failing_tests=result.failing_tests,
                            output_tail=output[-1000:],
                        )
                    )
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


STRATEGIES = ("single", "reflect", "team", "team:NAME", "PATH/TO/TEAM.yaml", "reference")


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
