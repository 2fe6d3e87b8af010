"""Typed events that every part of a run emits, and the sinks that receive them.

The JSONL audit log is one of these sinks: every model call (messages, reply, tokens,
latency), every sandbox command and result and every routing decision is a line in it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from devteam.errors import AuditLogError


class _Event(BaseModel):
    run_id: str = ""
    ts: float = Field(default_factory=time.time)


class RunStarted(_Event):
    kind: Literal["run_started"] = "run_started"
    task: str
    workspace: str
    model: str
    settings: dict[str, Any] = Field(default_factory=dict)


class PhaseStarted(_Event):
    kind: Literal["phase"] = "phase"
    phase: str
    role: str
    attempt: int = 0


class ModelCall(_Event):
    kind: Literal["model_call"] = "model_call"
    role: str
    model: str
    messages: list[dict[str, Any]]
    reply: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    response_format: str = "text"
    error: str | None = None
    #: Names this call; its ``ModelDelta`` events carry the same id ("" in older logs).
    call_id: str = ""


class ModelDelta(_Event):
    """A piece of a reply while the model is still writing it (for live views; not logged).

    ``call_id`` is the id of the ``ModelCall`` the reply ends in: the pieces of replies
    written at the same time (parallel samples) tell apart by it."""

    kind: Literal["model_delta"] = "model_delta"
    role: str
    text: str
    call_id: str = ""
    template: str = ""  # the prompt template that asked ("solve" for a candidate)


class SandboxRun(_Event):
    kind: Literal["sandbox_run"] = "sandbox_run"
    command: list[str]
    exit_code: int
    timed_out: bool
    oom_killed: bool
    duration_s: float
    failing_tests: list[str] = Field(default_factory=list)
    output_tail: str = ""


class FilesWritten(_Event):
    kind: Literal["files_written"] = "files_written"
    role: str
    paths: list[str]
    commit: str | None = None


class Decision(_Event):
    kind: Literal["decision"] = "decision"
    source: str
    target: str
    reason: str


class Note(_Event):
    kind: Literal["note"] = "note"
    level: Literal["info", "warning", "error"] = "info"
    text: str


class CandidatesChecked(_Event):
    """Every candidate run so far, its evidence in numbers, and which one was chosen."""

    kind: Literal["candidates"] = "candidates"
    candidates: list[dict[str, Any]]
    chosen: int
    verdict: str
    suspect_tests: list[str] = Field(default_factory=list)


class RunFinished(_Event):
    kind: Literal["run_finished"] = "run_finished"
    status: str
    reason: str
    prompt_tokens: int
    completion_tokens: int
    duration_s: float
    fix_attempts: int
    verdict: str = ""


Event = Annotated[
    RunStarted
    | PhaseStarted
    | ModelCall
    | ModelDelta
    | SandboxRun
    | FilesWritten
    | Decision
    | Note
    | CandidatesChecked
    | RunFinished,
    Field(discriminator="kind"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

Sink = Callable[[_Event], None]


class EventBus:
    """Fans events out to sinks.

    A failing sink (a broken console) never breaks the run: it is skipped. A sink marked
    ``required = True`` (the audit log) is different: every sink still gets the event, then
    its error is raised, so a run never goes on without its record.
    """

    def __init__(self, run_id: str = "", sinks: list[Sink] | None = None) -> None:
        self.run_id = run_id
        self._sinks: list[Sink] = list(sinks or [])

    def emit(self, event: _Event) -> None:
        if not event.run_id:
            event.run_id = self.run_id
        failure: Exception | None = None
        for sink in self._sinks:
            try:
                sink(event)
            except Exception as exc:
                if failure is None and getattr(sink, "required", False):
                    failure = exc
        if failure is not None:
            raise failure


class JsonlSink:
    """Append-only JSONL audit log; one line per event, flushed at once.

    Required: a line it cannot write (disk full, no permission) raises AuditLogError.
    """

    required = True

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(path, exc) from exc
        self._lock = threading.Lock()

    def __call__(self, event: _Event) -> None:
        if isinstance(event, ModelDelta):  # the whole reply is logged with its ModelCall
            return
        line = event.model_dump_json()
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise _unwritable(self.path, exc) from exc


def _unwritable(path: Path, exc: OSError) -> AuditLogError:
    return AuditLogError(
        f"Could not write the audit log {path} ({exc.strerror or exc}); free disk space or "
        "fix the folder's permissions, then resume the run."
    )


def scan_audit_log(path: Path) -> tuple[list[Event], list[int]]:
    """The events of an audit log and the numbers of the lines that are not events (a line
    cut short by a crash, a damaged file): those are skipped, never fatal."""
    events: list[Event] = []
    broken: list[int] = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                events.append(EVENT_ADAPTER.validate_python(json.loads(raw.decode("utf-8"))))
            except (ValueError, TypeError):  # JSON, UTF-8 and validation errors alike
                broken.append(number)
    return events, broken


def read_audit_log(path: Path) -> list[Event]:
    """Parse an audit log back into typed events (for `devteam show` and replay)."""
    events: list[Event] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                events.append(EVENT_ADAPTER.validate_python(json.loads(line)))
    return events
