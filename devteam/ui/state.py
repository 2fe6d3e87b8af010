"""What a view of a run shows, folded from the run's events: one object that the live view,
the plain lines and the replay of ``devteam show`` all read.

Events come from the run's threads; ``RunView.apply`` takes a lock, and so does whoever
reads the view to draw it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from devteam.events import (
    CandidatesChecked,
    FilesWritten,
    ModelCall,
    ModelDelta,
    Note,
    PhaseStarted,
    RunFinished,
    RunStarted,
    SandboxRun,
)

#: The stages a run goes through, and the graph nodes that belong to each.
STAGES: dict[str, tuple[str, ...]] = {
    "plan": ("plan", "replan", "clarify", "approve_spec"),
    "write": ("draft", "code", "write_tests", "write_properties", "sample", "revise",
              "revise_candidate"),
    "test": ("test", "check"),
    "fix": ("fix", "repair", "triage"),
    "review": (),  # review_<name>
    "accept": ("accept", "approve_delivery"),
    "deliver": ("deliver", "restore"),
}  # fmt: skip

#: How much of the text a role is writing the view keeps (the tail is shown).
EXCERPT_CHARS = 1200
#: Sandbox commands kept for display (the latest).
SANDBOX_ROWS = 6


def stage_of(phase: str) -> str:
    """The stage of a graph node (``review_alice`` is ``review``)."""
    if phase.startswith("review_"):
        return "review"
    for stage, phases in STAGES.items():
        if phase in phases:
            return stage
    return phase


def verdict_of(run: SandboxRun) -> str:
    """A sandbox command's outcome in words."""
    if run.timed_out:
        return "timed out"
    if run.oom_killed:
        return "out of memory"
    return "passed" if run.exit_code == 0 else f"failed (exit {run.exit_code})"


@dataclass
class Budget:
    """The limits the bars are drawn against (from the run's settings)."""

    max_tokens: int = 60_000
    max_wall_s: float = 1800.0
    max_fix_attempts: int = 4

    @classmethod
    def of(cls, settings: dict[str, Any]) -> Budget:
        b = settings.get("budget") or {}
        return cls(
            # ``max_tokens`` is the run total's name in audit logs written before the rename
            max_tokens=int(b.get("max_run_tokens", b.get("max_tokens", cls.max_tokens))),
            max_wall_s=float(b.get("max_wall_s", cls.max_wall_s)),
            max_fix_attempts=int(b.get("max_fix_attempts", cls.max_fix_attempts)),
        )


@dataclass
class Reply:
    """A reply the model is still writing, as its ``ModelDelta`` events bring it."""

    call_id: str
    role: str
    template: str = ""
    number: int = 1  # among the replies of the same role in flight when it began
    text: str = ""

    @property
    def label(self) -> str:
        """``coder · solve #2``: the role, the template that asked, the number."""
        template = f" · {self.template}" if self.template else ""
        return f"{self.role}{template} #{self.number}"


@dataclass
class RunView:
    """Everything the view draws. ``apply`` every event in order; read under ``lock``."""

    run_id: str = ""
    task: str = ""
    model: str = ""
    stages: list[str] = field(default_factory=lambda: list(STAGES))
    phase: str = ""
    stage: str = ""
    done_stages: set[str] = field(default_factory=set)
    role: str = ""
    excerpt: str = ""
    streaming: bool = False
    replies: dict[str, Reply] = field(default_factory=dict)  # in flight, by call id
    sandbox: list[SandboxRun] = field(default_factory=list)
    candidates: CandidatesChecked | None = None
    files: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_calls: int = 0
    fix_attempts: int = 0
    budget: Budget = field(default_factory=Budget)
    finished: RunFinished | None = None
    message: str = ""
    started: float | None = None  # wall-clock time this part of the run began
    last_ts: float | None = None
    banked_s: float = 0.0  # wall time of earlier parts (before a resume)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def elapsed_s(self, now: float | None = None) -> float:
        """Wall time of the run so far; ``now`` defaults to the clock while it runs."""
        if self.finished is not None:
            return max(self.finished.duration_s, self.banked_s)
        if self.started is None:
            return self.banked_s
        end = now if now is not None else time.time()
        return self.banked_s + max(0.0, end - self.started)

    def apply(self, event: Any) -> None:
        with self.lock:
            self._apply(event)

    def _apply(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            if self.started is not None and self.last_ts is not None:
                self.banked_s += max(0.0, self.last_ts - self.started)  # a resumed run
            self.run_id, self.task, self.model = event.run_id, event.task, event.model
            self.started = event.ts
            self.budget = Budget.of(event.settings)
            self.stages = _stages_of(event.settings.get("team") or {})
            self.finished, self.message = None, ""  # the start's messages are done with
        elif isinstance(event, PhaseStarted):
            if self.stage and self.stage != stage_of(event.phase):
                self.done_stages.add(self.stage)
            self.phase, self.stage = event.phase, stage_of(event.phase)
            self.done_stages.discard(self.stage)
            self.fix_attempts = max(self.fix_attempts, event.attempt)
            self.streaming = False  # the last reply stays shown until the next one starts
            self.replies = {}
        elif isinstance(event, ModelDelta):
            self._delta(event)
        elif isinstance(event, ModelCall):
            self.model_calls += 1
            self.prompt_tokens += event.prompt_tokens
            self.completion_tokens += event.completion_tokens
            self.replies.pop(event.call_id or event.role, None)
            if not self.replies:  # the last reply in flight stays shown, whole
                self.role, self.streaming = event.role, False
                self.excerpt = (event.error or event.reply)[-EXCERPT_CHARS:]
        elif isinstance(event, SandboxRun):
            self.sandbox = [*self.sandbox, event][-SANDBOX_ROWS:]
        elif isinstance(event, CandidatesChecked):
            self.candidates = event
        elif isinstance(event, FilesWritten):
            self.files = list(dict.fromkeys([*self.files, *event.paths]))
        elif isinstance(event, Note):
            self.notes = [*self.notes, event][-3:]
        elif isinstance(event, RunFinished):
            self.finished = event
            self.fix_attempts = event.fix_attempts
            if self.stage:
                self.done_stages.add(self.stage)
        self.last_ts = event.ts

    def _delta(self, event: ModelDelta) -> None:
        """A piece of a reply in flight; a delta without an id (older logs) is its role's."""
        key = event.call_id or event.role
        reply = self.replies.get(key)
        if reply is None:
            taken = {r.number for r in self.replies.values() if r.role == event.role}
            number = next(n for n in range(1, len(taken) + 2) if n not in taken)
            reply = self.replies[key] = Reply(key, event.role, event.template, number)
        reply.text = (reply.text + event.text)[-EXCERPT_CHARS:]
        self.role, self.streaming, self.excerpt = reply.role, True, reply.text

    def say(self, text: str) -> None:
        """A progress message from outside the events (model start, image check)."""
        with self.lock:
            self.message = text


def _stages_of(team: dict[str, Any]) -> list[str]:
    """The stages this team goes through: no review without a reviewer, no acceptance
    without a CEO."""
    kinds = {str((r or {}).get("kind", name)) for name, r in (team.get("roles") or {}).items()}
    if not kinds:
        return list(STAGES)
    skip = set()
    if "reviewer" not in kinds:
        skip.add("review")
    if "ceo" not in kinds:
        skip.add("accept")
    return [s for s in STAGES if s not in skip]
