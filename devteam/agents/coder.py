"""The coder's phases: write the code, fix it from the sandbox's output, revise it on request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from devteam.agents.common import (
    Deps,
    files_from_reply,
    holds_files,
    merged,
    modules_of,
    node,
    spec_of,
    write_and_commit,
)
from devteam.agents.replies import is_test_path
from devteam.agents.state import RETRY_TEMPERATURE, RunState, TestReport
from devteam.events import Note


def _stop(deps: Deps, state: RunState) -> list[str] | None:
    """With a tester, a coder that starts writing a test file is cut off there: the file
    would be refused anyway, and small models tend to repeat it until the token cap."""
    if _own_tests(deps):
        return None
    folder = PurePosixPath(state["test_file"]).parent.as_posix()
    return [f"FILE: {folder}/", f"EDIT: {folder}/"]


def _cut_at_tests(stop: list[str] | None, text: str) -> bool:
    """Whether a reply held nothing because it began with a test file and was cut there."""
    return stop is not None and not holds_files(text)


def _ask_code(deps: Deps, state: RunState, template: str, **variables: Any) -> str:
    """Ask the coder to write or revise. With a tester, a reply cut off at its start because
    it began with a test file holds nothing; it is asked once more, with a reminder to write
    the sources only. (A fix is different: see ``fix_code``.)"""
    coder = deps.name_of("coder")
    stop = _stop(deps, state)
    reply = deps.ask(coder, template, stop=stop, **variables)
    if not _cut_at_tests(stop, reply.text) or "sources_only" not in deps.prompt(coder).templates:
        return reply.text
    deps.events.emit(
        Note(
            level="warning",
            text="The coder began its reply with a test file, which is the tester's; "
            "asked once more for the source files only.",
        )
    )
    sources = [f for f in spec_of(state).files if not is_test_path(f)]
    again = deps.ask(
        coder, template, stop=stop, reminder="sources_only", sources=sources, **variables
    )
    return again.text


def _current(deps: Deps, state: RunState) -> tuple[dict[str, str], dict[str, str]]:
    """The files a fix or revision works on, and (with a tester) the tests, shown apart."""
    paths = [f for f in state.get("files", []) if f.endswith(".py")]
    if _own_tests(deps):
        return deps.workspace.snapshot(paths), {}
    tests = merged([p for p in paths if is_test_path(p)], state.get("test_files", []))
    sources = [p for p in paths if not is_test_path(p)]
    return deps.workspace.snapshot(sources), deps.workspace.snapshot(tests)


def _own_tests(deps: Deps) -> bool:
    """Without a tester the coder writes (and may fix) its own tests."""
    return deps.team.role("tester") is None


def _allowed(deps: Deps, state: RunState) -> Callable[[str], bool]:
    """What the coder may write: in a new project the spec's files (and package
    ``__init__.py`` files), plus its own tests when the team has no tester; in a
    repository any file but the tests."""
    own = _own_tests(deps)
    if state.get("mode") == "repo":
        return lambda path: own or not is_test_path(path)
    spec = spec_of(state)
    packages = {str(PurePosixPath(f).parent) for f in spec.files}

    def allowed(path: str) -> bool:
        if is_test_path(path):
            return own
        pure = PurePosixPath(path)
        return path in spec.files or (pure.name == "__init__.py" and str(pure.parent) in packages)

    return allowed


@node("code", "coder")
def write_code(state: RunState, deps: Deps) -> dict[str, Any]:
    spec = spec_of(state)
    tests = {} if _own_tests(deps) else deps.workspace.snapshot(state.get("test_files", []))
    repo_files = (
        {f: deps.workspace.read(f) for f in spec.files if deps.workspace.exists(f)}
        if state.get("mode") == "repo"
        else {}
    )
    text = _ask_code(
        deps,
        state,
        "write",
        temperature=RETRY_TEMPERATURE if state.get("replans", 0) else None,
        task=state["task"],
        spec=spec.model_dump(),
        tests=tests,
        repo_files=repo_files,
        test_file=state["test_file"],
        module=PurePosixPath(spec.files[0]).stem,
    )
    return _write(text, state, deps, template="write", message="Write the code")


@node("fix", "coder")
def fix_code(state: RunState, deps: Deps) -> dict[str, Any]:
    report = TestReport.model_validate(state["report"])
    repeated = state.get("same_failure", 0) >= 1
    triage = state.get("triage") or {}
    own = _own_tests(deps)
    files, tests = _current(deps, state)
    stop = _stop(deps, state)
    text = deps.ask(
        deps.name_of("coder"),
        "fix",
        stop=stop,
        # The same failure again: do not ask the same way twice; sample more widely.
        temperature=RETRY_TEMPERATURE if repeated else None,
        task=state["task"],
        command=" ".join(report.command),
        exit_code=report.exit_code,
        failing_tests=report.failing_tests,
        output=report.output,
        repeated=repeated,
        own_tests=own,
        read_only=state.get("test_files", []),
        diagnosis=triage.get("reason", "") if triage.get("culprit") == "code" else "",
        files=files,
        tests=tests,
    ).text
    attempt = state.get("fix_attempts", 0) + 1
    if _cut_at_tests(stop, text):
        # Told to fix the code, the coder set out to rewrite the tester's tests: it judges
        # them wrong. Asking it again would push it to fit the code to them; the tester,
        # told of the dispute, re-checks its tests instead.
        deps.events.emit(
            Note(
                level="warning",
                text="The coder did not change the code: it began rewriting the tests, "
                "so it disputes them; the tester re-checks them.",
            )
        )
        return {
            "files": list(state.get("files", [])),
            "same_code": state.get("same_code", 0) + 1,
            "fix_attempts": attempt,
            "triage": {},
            "disputed": True,
        }
    update = _write(text, state, deps, template="fix", message=f"Fix attempt {attempt}")
    update.update(fix_attempts=attempt, triage={})
    return update


@node("revise", "coder")
def revise(state: RunState, deps: Deps) -> dict[str, Any]:
    """Apply what a reviewer (or the user at the delivery gate) asked for."""
    pending = state.get("pending_changes") or []
    changes = pending or [
        c for r in (state.get("reviews") or {}).values() if not r["approved"] for c in r["changes"]
    ]
    files, tests = _current(deps, state)
    text = _ask_code(
        deps,
        state,
        "revise",
        task=state["task"],
        source="the user" if pending else "the review",
        changes=changes,
        files=files,
        tests=tests,
    )
    n = state.get("revisions", 0) + 1
    update = _write(text, state, deps, template="revise", message=f"Revision {n}")
    update.update(revisions=n, pending_changes=[])
    return update


def _write(
    text: str, state: RunState, deps: Deps, *, template: str, message: str
) -> dict[str, Any]:
    spec = spec_of(state)
    coder = deps.name_of("coder")
    files = files_from_reply(
        text,
        deps,
        sources=spec.files,
        test_file=state["test_file"],
        allowed=_allowed(deps, state),
        modules=modules_of(spec),
    )
    known = list(state.get("files", []))
    if not files:
        deps.events.emit(
            Note(level="warning", text="The coder's reply held no usable file; nothing written.")
        )
        return {"files": known, "same_code": state.get("same_code", 0) + 1}
    sha = write_and_commit(files, state, deps, role=coder, template=template, message=message)
    update: dict[str, Any] = {
        "files": merged(known, files),
        "same_code": 0 if sha else state.get("same_code", 0) + 1,
        "reviewed": False,
    }
    if _own_tests(deps):
        update["test_files"] = merged(
            state.get("test_files", []), [p for p in files if is_test_path(p)]
        )
    return update
