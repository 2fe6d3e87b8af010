"""The graph's nodes: one small function per phase. State in, partial state out.

Side effects go through the objects in ``Deps`` (model, sandbox, workspace, events), so
tests hand in fakes. Each node is wrapped so that it counts a step, checks the budget,
and records the tokens and time it spent in the state.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from devteam.agents.state import RunState, Spec, TestReport
from devteam.config import Settings
from devteam.errors import BudgetExceededError, ModelOutputError, PathEscapeError
from devteam.events import EventBus, FilesWritten, Note, PhaseStarted, SandboxRun
from devteam.llm.budget import Budget
from devteam.llm.client import ChatModel, ask_structured
from devteam.llm.parsing import FileBlock, extract_files
from devteam.roles import load_role
from devteam.sandbox.base import ExecResult, Sandbox
from devteam.workspace import Workspace, provenance

PYTEST = ["python3", "-m", "pytest", "-q", "-rfE", "--tb=short", "-p", "no:cacheprovider"]
RETRY_TEMPERATURE = 0.7
FEEDBACK_HEAD = 600
FEEDBACK_TAIL = 2400
_NON_CODE_LANGS = {"bash", "sh", "shell", "console", "text", "txt", "plaintext", "output"}


@dataclass
class Deps:
    """What the nodes act through. Built by the Team; fakes in tests."""

    model: ChatModel
    sandbox: Sandbox
    workspace: Workspace
    events: EventBus
    budget: Budget
    settings: Settings
    prompts_dir: Path | None = None


#: A node: state and dependencies in, a partial state update out.
NodeFn = Callable[[RunState, Deps], dict[str, Any]]


def node(name: str, role: str, *, spends: bool = True) -> Callable[[NodeFn], NodeFn]:
    """Wrap a node: emit its phase, count a step, check the budget, record tokens and time."""

    def wrap(fn: NodeFn) -> NodeFn:
        def run(state: RunState, deps: Deps) -> dict[str, Any]:
            deps.events.emit(
                PhaseStarted(phase=name, role=role, attempt=state.get("fix_attempts", 0))
            )
            before_p, before_c = deps.budget.prompt_tokens, deps.budget.completion_tokens
            started = time.monotonic()
            try:
                if spends:
                    deps.budget.step()
                    deps.budget.check()
                update = fn(state, deps)
            except BudgetExceededError as exc:
                deps.events.emit(Note(level="warning", text=str(exc)))
                update = {"status": "budget_exhausted", "reason": str(exc)}
            except ModelOutputError as exc:
                deps.events.emit(Note(level="error", text=str(exc)))
                update = {"status": "error", "reason": str(exc)}
            update.setdefault("phase", name)
            update["prompt_tokens"] = deps.budget.prompt_tokens - before_p
            update["completion_tokens"] = deps.budget.completion_tokens - before_c
            update["elapsed_s"] = time.monotonic() - started
            update["steps"] = 1 if spends else 0
            return update

        run.__name__ = name
        return run

    return wrap


# -- CEO: plan ---------------------------------------------------------------------------
SPEC_MAX_TOKENS = 500


@node("plan", "ceo")
def plan(state: RunState, deps: Deps) -> dict[str, Any]:
    role = load_role("ceo", deps.prompts_dir)
    try:
        spec, _ = ask_structured(
            deps.model,
            role.messages("spec", task=state["task"]),
            Spec,
            role="ceo",
            max_tokens=SPEC_MAX_TOKENS,
        )
    except ModelOutputError as exc:
        # A small model that cannot plan can still code from the request itself.
        deps.events.emit(
            Note(level="warning", text=f"{exc} Continuing with a spec taken from the request.")
        )
        spec = spec_from_request(state["task"])
    spec = normalise_spec(spec, state["task"])
    module = PurePosixPath(spec.files[0]).stem
    return {"spec": spec.model_dump(), "test_file": f"tests/test_{module}.py", "status": "running"}


def spec_from_request(task: str) -> Spec:
    """The fallback spec: the request is the requirement and the acceptance criterion."""
    return Spec(goal=task[:300], files=["main.py"], requirements=[task], acceptance_criteria=[task])


def normalise_spec(spec: Spec, task: str) -> Spec:
    """Keep source files plain relative .py paths; take file names the request itself gives."""
    named = re.findall(r"\b([A-Za-z_][\w/]*\.py)\b", task)
    files = [_strip_dot(f.strip()) for f in [*named, *spec.files]]
    files = [
        f for f in files if f.endswith(".py") and not PurePosixPath(f).name.startswith("test_")
    ]
    unique = list(dict.fromkeys(files)) or ["main.py"]
    return spec.model_copy(update={"files": unique[: max(1, len(named)) if named else 4]})


# -- coder: write and fix ----------------------------------------------------------------
@node("code", "coder")
def write_code(state: RunState, deps: Deps) -> dict[str, Any]:
    spec = Spec.model_validate(state["spec"])
    role = load_role("coder", deps.prompts_dir)
    messages = role.messages(
        "write",
        task=state["task"],
        spec=spec.model_dump(),
        test_file=state["test_file"],
        module=PurePosixPath(spec.files[0]).stem,
    )
    reply = deps.model.complete(messages, role="coder")
    return _apply_files(
        reply.text, state, deps, spec, template="write", message="Write code and tests"
    )


@node("fix", "coder")
def fix_code(state: RunState, deps: Deps) -> dict[str, Any]:
    spec = Spec.model_validate(state["spec"])
    report = TestReport.model_validate(state["report"])
    repeated = state.get("same_failure", 0) >= 1
    role = load_role("coder", deps.prompts_dir)
    messages = role.messages(
        "fix",
        task=state["task"],
        command=" ".join(report.command),
        exit_code=report.exit_code,
        failing_tests=report.failing_tests,
        output=report.output,
        repeated=repeated,
        files=deps.workspace.snapshot(state.get("files", [])),
    )
    # The same failure again: do not ask the same way twice; sample more widely.
    reply = deps.model.complete(
        messages, role="coder", temperature=RETRY_TEMPERATURE if repeated else None
    )
    attempt = state.get("fix_attempts", 0) + 1
    update = _apply_files(
        reply.text, state, deps, spec, template="fix", message=f"Fix attempt {attempt}"
    )
    update["fix_attempts"] = attempt
    return update


def _apply_files(
    text: str, state: RunState, deps: Deps, spec: Spec, *, template: str, message: str
) -> dict[str, Any]:
    files = assign_paths(extract_files(text), spec.files, state["test_file"])
    known = list(state.get("files", []))
    written: dict[str, str] = {}
    for path, content in files.items():
        try:
            deps.workspace.resolve(path)
        except PathEscapeError as exc:
            deps.events.emit(Note(level="warning", text=str(exc)))
            continue
        written[path] = content
    if not written:
        deps.events.emit(
            Note(level="warning", text="The coder's reply held no usable file; nothing written.")
        )
        return {"files": known}
    deps.workspace.write_files(written)
    provenance.record(
        deps.workspace,
        sorted(written),
        run_id=state["run_id"],
        role="coder",
        model=deps.model.name,
        template=f"coder.{template}",
        template_hash=load_role("coder", deps.prompts_dir).template_hash,
        step=deps.budget.steps,
    )
    sha = deps.workspace.commit(
        message,
        role="coder",
        trailers={
            "Devteam-Run": state["run_id"],
            "Devteam-Model": deps.model.name,
            "Devteam-Step": str(deps.budget.steps),
        },
    )
    if sha is None:
        deps.events.emit(
            Note(level="warning", text="The coder's files are identical to the last version.")
        )
    else:
        deps.events.emit(FilesWritten(role="coder", paths=sorted(written), commit=sha))
    return {"files": list(dict.fromkeys([*known, *written]))}


def _strip_dot(path: str) -> str:
    """``./a.py`` -> ``a.py``; anything else (``../a.py`` included) unchanged."""
    while path.startswith("./"):
        path = path[2:]
    return path


def assign_paths(
    blocks: list[FileBlock], source_files: list[str], test_file: str
) -> dict[str, str]:
    """Give every code block a path: its own name, else the test file or the next source file."""
    out: dict[str, str] = {}
    pending = [f for f in source_files]
    for block in blocks:
        path = _strip_dot(block.path) if block.path else None
        if path is None:
            if block.language in _NON_CODE_LANGS:
                continue
            looks_like_test = "def test_" in block.content or "import pytest" in block.content
            if looks_like_test and test_file not in out:
                path = test_file
            elif pending:
                path = pending[0]
            else:
                continue
        if path in pending:
            pending.remove(path)
        out[path] = block.content
    return out


# -- sandbox: run the tests --------------------------------------------------------------
@node("test", "sandbox")
def run_tests(state: RunState, deps: Deps) -> dict[str, Any]:
    deps.sandbox.sync_dir(deps.workspace.root)
    result = deps.sandbox.exec(PYTEST, timeout_s=deps.settings.sandbox.timeout_s)
    report = to_report(result)
    deps.events.emit(
        SandboxRun(
            command=result.command,
            exit_code=result.exit_code,
            timed_out=result.timed_out,
            oom_killed=result.oom_killed,
            duration_s=result.duration_s,
            failing_tests=result.failing_tests,
            output_tail=report.output[-1000:],
        )
    )
    previous = state.get("report", {}).get("signature")
    same = state.get("same_failure", 0) + 1 if previous == report.signature else 0
    return {"report": report.model_dump(), "same_failure": 0 if report.passed else same}


def to_report(result: ExecResult) -> TestReport:
    output = (result.stdout + ("\n" + result.stderr if result.stderr.strip() else "")).strip()
    if result.exit_code == 5:
        output += "\nNo tests were collected: write pytest tests in files named tests/test_*.py."
    if len(output) > FEEDBACK_HEAD + FEEDBACK_TAIL:
        cut = len(output) - FEEDBACK_HEAD - FEEDBACK_TAIL
        output = (
            f"{output[:FEEDBACK_HEAD]}\n[... {cut} characters cut ...]\n{output[-FEEDBACK_TAIL:]}"
        )
    if result.timed_out:
        output += "\nThe test run was killed: it ran past the time limit (an endless loop?)."
    if result.oom_killed:
        output += "\nThe test run was killed: it ran out of memory."
    return TestReport(
        command=result.command,
        exit_code=result.exit_code,
        passed=result.ok,
        timed_out=result.timed_out,
        oom_killed=result.oom_killed,
        failing_tests=result.failing_tests,
        output=output,
        duration_s=result.duration_s,
        signature=failure_signature(result),
    )


def failure_signature(result: ExecResult) -> str:
    """Same failing tests + same error lines => same signature (timings stripped)."""
    errors = [ln for ln in (result.stdout + result.stderr).splitlines() if ln.startswith("E ")]
    text = "|".join([str(result.exit_code), *sorted(result.failing_tests), *errors[:20]])
    text = re.sub(r"\d+\.\d+s", "", text)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- CEO: deliver ------------------------------------------------------------------------
@node("deliver", "ceo", spends=False)
def deliver(state: RunState, deps: Deps) -> dict[str, Any]:
    status = state.get("status", "running")
    report = state.get("report")
    if status == "running":
        status = "passed" if report and report["passed"] else "failed"
    reason = state.get("reason") or _reason(status, state)
    if state.get("spec"):
        spec = Spec.model_validate(state["spec"])
        role = load_role("ceo", deps.prompts_dir)
        verdict = "passed" if status == "passed" else f"not passing ({reason})"
        readme = role.render(
            "readme",
            title=PurePosixPath(spec.files[0]).stem,
            spec=spec.model_dump(),
            files=state.get("files", []),
            verdict=verdict,
            run_id=state["run_id"],
            task=state["task"],
        )
        if "README.md" not in state.get("files", []):
            deps.workspace.write("README.md", readme)
            provenance.record(
                deps.workspace,
                ["README.md"],
                run_id=state["run_id"],
                role="ceo",
                model="(template)",
                template="ceo.readme",
                template_hash=role.template_hash,
                step=deps.budget.steps,
            )
    sha = deps.workspace.commit(
        f"Deliver: {status}",
        role="ceo",
        trailers={"Devteam-Run": state["run_id"], "Devteam-Status": status},
    )
    if sha:
        deps.events.emit(FilesWritten(role="ceo", paths=["README.md"], commit=sha))
    return {"status": status, "reason": reason}


def _reason(status: str, state: RunState) -> str:
    report = state.get("report") or {}
    if status == "passed":
        return "all tests pass in the sandbox"
    if state.get("same_failure", 0) >= 2:
        return "the same failure came back after different fixes; stopped rather than loop"
    failing = ", ".join(report.get("failing_tests", [])[:5]) or "see the test output"
    return f"tests still fail after {state.get('fix_attempts', 0)} fix attempt(s): {failing}"
