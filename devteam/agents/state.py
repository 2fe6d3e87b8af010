"""The graph's state. Plain data only (dicts, lists, str, int), so checkpoints always load."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, Field

RunStatus = Literal["running", "passed", "failed", "budget_exhausted", "error"]


class Spec(BaseModel):
    """The CEO's specification: what the model must return when asked to plan."""

    goal: str = Field(max_length=300, description="one sentence")
    files: list[str] = Field(min_length=1, max_length=6, description="source files, no tests")
    requirements: list[str] = Field(max_length=8, description="exact behaviours with signatures")
    acceptance_criteria: list[str] = Field(max_length=8, description="checks a test can make")


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


class InputState(TypedDict):
    """What a caller gives the graph."""

    run_id: str
    task: str
    workspace: str


class RunState(InputState, total=False):
    """Everything the graph carries between nodes (and across a resume)."""

    spec: dict[str, Any]
    test_file: str
    files: list[str]
    report: dict[str, Any]
    fix_attempts: int
    same_failure: int
    status: RunStatus
    reason: str
    phase: str
    prompt_tokens: Annotated[int, operator.add]
    completion_tokens: Annotated[int, operator.add]
    elapsed_s: Annotated[float, operator.add]
    steps: Annotated[int, operator.add]
