"""``RunResult``: what a run produced and what it cost, read from the graph's final state."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from devteam.agents.ceo import review_verdict
from devteam.agents.state import RunStatus
from devteam.runs import RunRecord


class RunResult(BaseModel):
    """What a run produced, and what it cost.

    ``status`` is ``passed``, ``failed``, ``budget_exhausted``, ``rejected``, ``error``, or
    ``waiting`` when a human gate holds the run: ``question`` then says what it asks, and
    ``Team.resume(run_id, answer=...)`` continues it.
    """

    run_id: str
    status: RunStatus | Literal["waiting"]
    reason: str
    task: str
    team: str = "default"
    workspace: Path
    branch: str | None = None
    spec: dict[str, Any] | None = None
    files: list[str] = Field(default_factory=list)
    tests_passed: bool | None = None
    verdict: str = Field(
        "",
        description="what the result rests on: 'verified' (the request's own examples pass), "
        "'consensus k/n' (k of n independent candidates agree), 'unverified', or '' (a loop "
        "that does not sample, e.g. on an existing repository)",
    )
    failing_tests: list[str] = Field(default_factory=list)
    review: str = ""
    reviews: dict[str, Any] = Field(default_factory=dict)
    accepted: bool | None = None
    acceptance: list[dict[str, Any]] = Field(default_factory=list)
    question: dict[str, Any] | None = None
    fix_attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_s: float = 0.0
    model: str = ""
    audit_log: Path

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    @property
    def waiting(self) -> bool:
        return self.status == "waiting"

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def result_of(
    record: RunRecord,
    state: dict[str, Any],
    *,
    team: str,
    audit: Path,
    model: str,
    duration_s: float,
    question: dict[str, Any] | None = None,
) -> RunResult:
    """The RunResult of a run whose graph state is ``state`` (held at a gate: ``question``)."""
    report = state.get("report") or {}
    acceptance = state.get("acceptance") or {}
    return RunResult(
        run_id=record.run_id,
        status="waiting" if question else state.get("status", "error"),
        reason=f"waiting at the {question.get('gate')} gate"
        if question
        else state.get("reason", ""),
        task=record.task,
        team=team,
        workspace=Path(record.workspace),
        branch=record.branch,
        spec=state.get("spec"),
        files=state.get("files", []),
        tests_passed=report.get("passed") if report else None,
        verdict=state.get("verdict", ""),
        failing_tests=report.get("failing_tests", []),
        review=review_verdict(state),  # type: ignore[arg-type]
        reviews=state.get("reviews") or {},
        accepted=acceptance.get("accepted"),
        acceptance=acceptance.get("checks") or [],
        question=question,
        fix_attempts=state.get("fix_attempts", 0),
        prompt_tokens=state.get("prompt_tokens", 0),
        completion_tokens=state.get("completion_tokens", 0),
        duration_s=duration_s,
        model=model,
        audit_log=audit,
    )
