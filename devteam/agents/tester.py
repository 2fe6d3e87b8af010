"""The tester's phases: tests from the spec (never the code), and triage of failing tests.

The tester is the independent side of the loop: it writes the tests before it sees any
code, and when a test fails it decides whether its own test is wrong (and fixes it) or
the code is (and says why, for the coder).
"""

from __future__ import annotations

import re
from typing import Any

from devteam.agents.common import (
    Deps,
    files_from_reply,
    merged,
    modules_of,
    node,
    spec_of,
    write_and_commit,
)
from devteam.agents.replies import is_test_path
from devteam.agents.state import RETRY_TEMPERATURE, RunState, TestReport
from devteam.events import Note

TRIAGE_MAX_TOKENS = 800  # a verdict, a reason and at most one test file
_VERDICT = re.compile(r"VERDICT\s*[:=]\s*\**\s*(test|code)", re.IGNORECASE)
_REASON = re.compile(r"REASON\s*[:=]\s*(.+)", re.IGNORECASE)


@node("write_tests", "tester")
def write_tests(state: RunState, deps: Deps) -> dict[str, Any]:
    spec = spec_of(state)
    tester = deps.name_of("tester")
    reply = deps.ask(
        tester,
        "write",
        temperature=RETRY_TEMPERATURE if state.get("replans", 0) else None,
        task=state["task"],
        spec=spec.model_dump(),
        test_file=state["test_file"],
        modules=modules_of(spec),
    )
    files = files_from_reply(
        reply.text,
        deps,
        sources=[],
        test_file=state["test_file"],
        allowed=is_test_path,
        modules=modules_of(spec),
    )
    if not files:
        deps.events.emit(
            Note(level="warning", text="The tester's reply held no test file; nothing written.")
        )
        return {}
    write_and_commit(
        files, state, deps, role=tester, template="write", message="Write tests from the spec"
    )
    return {
        "files": merged(state.get("files", []), files),
        "test_files": merged(state.get("test_files", []), files),
    }


@node("triage", "tester")
def triage(state: RunState, deps: Deps) -> dict[str, Any]:
    """Who is wrong, the test or the code? A wrong test is fixed here and now."""
    report = TestReport.model_validate(state["report"])
    tester = deps.name_of("tester")
    test_file = state["test_file"]
    content = deps.workspace.read(test_file) if deps.workspace.exists(test_file) else "(missing)"
    reply = deps.ask(
        tester,
        "triage",
        max_tokens=TRIAGE_MAX_TOKENS,
        spec=spec_of(state).model_dump(),
        command=" ".join(report.command),
        exit_code=report.exit_code,
        output=report.output,
        test_file=test_file,
        test_content=content,
        repeated=state.get("same_failure", 0) >= 1,
        disputed=bool(state.get("disputed")),
        # After a re-plan, do not answer the way that got the team stuck: sample wider.
        temperature=RETRY_TEMPERATURE if state.get("replans", 0) else None,
    )
    verdict, reason = parse_verdict(reply.text)
    if verdict == "test":
        files = files_from_reply(
            reply.text,
            deps,
            sources=[],
            test_file=test_file,
            allowed=is_test_path,
            modules=modules_of(spec_of(state)),
        )
        if files:
            attempt = state.get("fix_attempts", 0) + 1
            sha = write_and_commit(
                files,
                state,
                deps,
                role=tester,
                template="triage",
                message=f"Fix the tests (attempt {attempt}): {reason}"[:120],
            )
            deps.events.emit(Note(text=f"The tester fixed its own test: {reason}"))
            return {
                "triage": {"culprit": "test", "reason": reason},
                "fix_attempts": attempt,
                "files": merged(state.get("files", []), files),
                "test_files": merged(state.get("test_files", []), files),
                "same_code": 0 if sha else state.get("same_code", 0) + 1,
                "disputed": False,
            }
        reason = reason or "the tester blamed its test but sent no corrected file"
    deps.events.emit(Note(text=f"The tester says the code is wrong: {reason or '(no reason)'}"))
    return {"triage": {"culprit": "code", "reason": reason}, "disputed": False}


def parse_verdict(text: str) -> tuple[str, str]:
    """("test" | "code", reason). Unclear replies blame the code: the tests stay put."""
    found = _VERDICT.search(text)
    reason_match = _REASON.search(text)
    reason = reason_match.group(1).strip()[:300] if reason_match else ""
    if found:
        return found.group(1).lower(), reason
    return "code", reason
