"""The graph's state. Plain data only (dicts, lists, str, int), so checkpoints always load.

The pydantic models here are what the model must return when a role is asked for
structured output (spec, review, acceptance) and what the sandbox reports.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, Field

#: Sampling temperature when a step must not be answered the same way again.
RETRY_TEMPERATURE = 0.7

RunStatus = Literal["running", "passed", "failed", "budget_exhausted", "rejected", "error"]
Mode = Literal["new", "repo"]


class Spec(BaseModel):
    """The CEO's specification: what the model must return when asked to plan."""

    goal: str = Field(max_length=300, description="one sentence")
    files: list[str] = Field(min_length=1, max_length=6, description="source files, no tests")
    requirements: list[str] = Field(max_length=8, description="exact behaviours with signatures")
    acceptance_criteria: list[str] = Field(max_length=8, description="checks a test can make")
    questions: list[str] = Field(
        default_factory=list, max_length=3, description="only if the request is ambiguous"
    )


class Review(BaseModel):
    """A reviewer's verdict on the change."""

    approved: bool
    changes: list[str] = Field(
        default_factory=list, max_length=4, description="specific defects to fix, if any"
    )


class Check(BaseModel):
    met: bool
    evidence: str = Field("", max_length=300)


class Acceptance(BaseModel):
    """The CEO's check of the result, one entry per acceptance criterion, in order."""

    checks: list[Check] = Field(max_length=8)


class TestReport(BaseModel):
    """What one sandbox test run told the team."""

    command: list[str]
    exit_code: int
    passed: bool
    timed_out: bool = False
    oom_killed: bool = False
    failing_tests: list[str] = Field(default_factory=list)
    output: str = ""
    duration_s: float = 0.0
    signature: str = ""


class ReportState(TypedDict, total=False):
    """A TestReport as the state holds it."""

    command: list[str]
    exit_code: int
    passed: bool
    timed_out: bool
    oom_killed: bool
    failing_tests: list[str]
    output: str
    duration_s: float
    signature: str


class TriageState(TypedDict, total=False):
    """The tester's verdict on a failing run (classic loop)."""

    culprit: Literal["test", "code"]
    reason: str


class ReviewState(TypedDict, total=False):
    """One reviewer's verdict: ``approved`` None when its reply could not be read."""

    approved: bool | None
    changes: list[str]
    reviewed: bool


class AcceptanceState(TypedDict, total=False):
    """The CEO's check of the acceptance criteria."""

    checked: bool
    accepted: bool | None
    checks: list[dict[str, Any]]


class SelectionState(TypedDict, total=False):
    """``devteam.agents.select.Selection`` as the state holds it (evidence loop)."""

    chosen: int
    clean: bool
    verdict: str
    score: list[int]
    agree: int
    pool: int
    suspect_tests: list[str]
    hard_evidence: list[str]
    crashed: bool
    tests_broken: str
    rejected: list[int]
    anchored: bool
    disagree: bool
    unconfirmed: bool


class InputState(TypedDict, total=False):
    """What a caller gives the graph (``mode``/``base_commit``/``test_command`` for repos)."""

    run_id: str
    task: str
    workspace: str
    mode: Mode
    base_commit: str
    test_command: list[str]


class RunState(InputState, total=False):
    """Everything the graph carries between nodes (and across a resume)."""

    spec: dict[str, Any]
    answers: str  # the user's answers to the CEO's questions
    feedback: str  # the user's remarks on the spec
    test_file: str
    files: list[str]
    test_files: list[str]
    report: ReportState
    passing_commit: str
    passing_report: ReportState
    triage: TriageState
    reviews: dict[str, ReviewState]
    pending_changes: list[str]
    revisions: int
    acceptance: AcceptanceState
    fix_attempts: int
    same_failure: int
    same_code: int
    disputed: bool  # the coder, asked for a fix, set out to rewrite the tests
    replans: int
    spec_rounds: int
    reviewed: bool
    delivery_approved: bool
    spec_approved: bool
    # the evidence loop (teams with loop.kind = evidence)
    planned: bool  # the CEO wrote the spec (else it was taken from the request)
    examples: list[dict[str, Any]]  # trusted examples taken from the request
    names: list[str]  # what the request asks to be defined
    signatures: dict[str, list[str]]  # parameters the request gives them
    tester_tests: dict[str, str]  # the tester's files as written (before suspect marks)
    candidates: list[dict[str, Any]]  # Candidate: id, origin, files, parent
    evidence: dict[str, dict[str, Any]]  # candidate id -> Evidence
    evidence_key: str  # what the evidence was gathered against (tests + probes)
    selection: SelectionState  # the choice, the verdict and why
    sample_rounds: int
    repairs: int
    tests_rewrites: int
    verdict: str
    status: RunStatus
    reason: str
    phase: str
    prompt_tokens: Annotated[int, operator.add]
    completion_tokens: Annotated[int, operator.add]
    elapsed_s: Annotated[float, operator.add]
    steps: Annotated[int, operator.add]
