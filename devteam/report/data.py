"""What a run report shows, gathered from the run's records (no rendering here).

Sources: ``run.json`` and ``team.json`` beside the audit log, the audit log's typed events,
the run's last checkpoint (the spec, the reviews, the acceptance check) where the store can
be read, and the workspace's git history for the size of each change.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from devteam.config import Settings
from devteam.errors import DevteamError
from devteam.events import (
    CandidatesChecked,
    Decision,
    Event,
    FilesWritten,
    ModelCall,
    Note,
    PhaseStarted,
    RunFinished,
    RunStarted,
    SandboxRun,
    scan_audit_log,
)


class Span(BaseModel):
    """One bar of the timeline: a phase or a model call, in seconds from the run's start."""

    lane: str
    label: str
    start_s: float
    end_s: float
    kind: str = Field(description="phase, call or sandbox")
    role: str = ""
    tokens: int = 0


class SandboxRound(BaseModel):
    """One sandbox command and its verdict."""

    round: int
    command: str
    verdict: str
    passed: bool
    duration_s: float
    failing_tests: list[str] = Field(default_factory=list)
    output_tail: str = ""


class FileChange(BaseModel):
    """One file a role wrote in one commit, with its line counts where git knows them."""

    role: str
    path: str
    commit: str | None = None
    added: int | None = None
    removed: int | None = None


class RoleStats(BaseModel):
    role: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_s: float = 0.0
    phase_s: float = Field(0.0, description="time in the phases the role leads")

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ReportData(BaseModel):
    """Everything the report page shows about one run."""

    run_id: str
    task: str
    team: str = ""
    workspace: str = ""
    model: str = ""
    started: float = 0.0
    status: str = "unfinished"
    reason: str = ""
    verdict: str = ""
    duration_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fix_attempts: int = 0
    spec: dict[str, Any] | None = None
    reviews: dict[str, Any] = Field(default_factory=dict)
    acceptance: list[dict[str, Any]] = Field(default_factory=list)
    phases: list[str] = Field(default_factory=list, description="nodes in the order visited")
    decisions: list[Decision] = Field(default_factory=list)
    spans: list[Span] = Field(default_factory=list)
    tests: list[SandboxRound] = Field(default_factory=list)
    candidates: list[CandidatesChecked] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    files: list[FileChange] = Field(default_factory=list)
    roles: list[RoleStats] = Field(default_factory=list)
    team_config: dict[str, Any] = Field(default_factory=dict)
    skipped_lines: int = 0


def gather(settings: Settings, run_id: str) -> ReportData:
    """The report's data for ``run_id``; a DevteamError of one sentence when there is none."""
    run_dir = settings.run_dir(run_id)
    audit = run_dir / "audit.jsonl"
    if not audit.is_file():
        raise DevteamError(
            f"No audit log for run {run_id!r} at {audit}; `devteam runs` lists the runs."
        )
    events, broken = scan_audit_log(audit)
    data = from_events(run_id, events)
    data.skipped_lines = len(broken)
    _add_records(data, run_dir)
    _add_checkpoint(data, settings)
    _add_line_counts(data)
    return data


def from_events(run_id: str, events: list[Event]) -> ReportData:
    """The report's data from the audit log's events alone."""
    first = next((e for e in events if isinstance(e, RunStarted)), None)
    t0 = first.ts if first else (events[0].ts if events else 0.0)
    data = ReportData(run_id=run_id, task=first.task if first else "", started=t0)
    if first:
        data.workspace, data.model = first.workspace, first.model
        data.team_config = dict(first.settings.get("team") or {})
        data.team = str(data.team_config.get("name", ""))
    open_phase: PhaseStarted | None = None
    roles: dict[str, RoleStats] = {}
    last_at = 0.0
    for ev in events:
        at = ev.ts - t0
        if isinstance(ev, RunStarted) and ev is not first:  # resumed: the phase ended earlier
            _close(data, open_phase, last_at, t0)
            open_phase = None
        elif isinstance(ev, PhaseStarted):
            _close(data, open_phase, at, t0)
            open_phase = ev
            data.phases.append(ev.phase)
        elif isinstance(ev, ModelCall):
            stats = roles.setdefault(ev.role, RoleStats(role=ev.role))
            stats.calls += 1
            stats.prompt_tokens += ev.prompt_tokens
            stats.completion_tokens += ev.completion_tokens
            stats.model_s += ev.latency_s
            data.spans.append(
                Span(
                    lane=ev.role,
                    label=f"{ev.role}: {ev.prompt_tokens}+{ev.completion_tokens} tokens, "
                    f"{ev.latency_s:.1f}s" + (f" ({ev.error})" if ev.error else ""),
                    start_s=max(0.0, at - ev.latency_s),
                    end_s=at,
                    kind="call",
                    tokens=ev.prompt_tokens + ev.completion_tokens,
                )
            )
        elif isinstance(ev, SandboxRun):
            data.tests.append(_round(len(data.tests) + 1, ev))
            data.spans.append(
                Span(
                    lane="sandbox",
                    label=f"sandbox: {data.tests[-1].verdict}, {ev.duration_s:.1f}s",
                    start_s=max(0.0, at - ev.duration_s),
                    end_s=at,
                    kind="sandbox",
                )
            )
        elif isinstance(ev, FilesWritten):
            data.files.extend(FileChange(role=ev.role, path=p, commit=ev.commit) for p in ev.paths)
        elif isinstance(ev, Decision):
            data.decisions.append(ev)
        elif isinstance(ev, Note):
            data.notes.append(ev)
            if ev.text.startswith("Waiting at the "):  # a human gate holds the run
                data.status, data.reason = "waiting", ev.text
        elif isinstance(ev, CandidatesChecked):
            data.candidates.append(ev)
        elif isinstance(ev, RunFinished):
            _close(data, open_phase, at, t0)
            open_phase = None
            data.status, data.reason, data.verdict = ev.status, ev.reason, ev.verdict
            data.duration_s = ev.duration_s
            data.prompt_tokens, data.completion_tokens = ev.prompt_tokens, ev.completion_tokens
            data.fix_attempts = ev.fix_attempts
        last_at = at
    if events:
        _close(data, open_phase, events[-1].ts - t0, t0)
    for span in data.spans:
        if span.kind == "phase" and span.role:
            stats = roles.setdefault(span.role, RoleStats(role=span.role))
            stats.phase_s += span.end_s - span.start_s
    data.roles = sorted(roles.values(), key=lambda r: -r.tokens)
    if not data.prompt_tokens and not data.completion_tokens:  # unfinished: sum the calls
        data.prompt_tokens = sum(r.prompt_tokens for r in data.roles)
        data.completion_tokens = sum(r.completion_tokens for r in data.roles)
    if not data.duration_s and events:
        data.duration_s = round(events[-1].ts - t0, 2)
    return data


def _close(data: ReportData, phase: PhaseStarted | None, at: float, t0: float) -> None:
    if phase is None:
        return
    start = phase.ts - t0
    label = phase.phase + (f" (attempt {phase.attempt})" if phase.attempt else "")
    data.spans.append(
        Span(
            lane="phases",
            label=f"{label} ({phase.role})",
            start_s=start,
            end_s=max(at, start),
            kind="phase",
            role=phase.role,
        )
    )


def _round(number: int, ev: SandboxRun) -> SandboxRound:
    if ev.timed_out:
        verdict = "timed out"
    elif ev.oom_killed:
        verdict = "out of memory"
    elif ev.exit_code == 0:
        verdict = "passed"
    else:
        verdict = f"failed (exit {ev.exit_code})"
    return SandboxRound(
        round=number,
        command=" ".join(ev.command),
        verdict=verdict,
        passed=ev.exit_code == 0 and not ev.timed_out,
        duration_s=ev.duration_s,
        failing_tests=ev.failing_tests,
        output_tail=ev.output_tail[-2000:],
    )


def _add_records(data: ReportData, run_dir: Path) -> None:
    """run.json's task and workspace, team.json's team (the audit log may have neither)."""
    from devteam.team import RunRecord  # the records' own model; imported late (heavy)

    try:
        record = RunRecord.model_validate_json((run_dir / "run.json").read_bytes())
    except (OSError, ValueError):
        return
    data.task = data.task or record.task
    data.workspace = data.workspace or record.workspace
    data.team = data.team or record.team
    if not data.team_config:
        with contextlib.suppress(OSError, ValueError):
            data.team_config = json.loads((run_dir / "team.json").read_text(encoding="utf-8"))


def _add_checkpoint(data: ReportData, settings: Settings) -> None:
    """The spec, reviews and acceptance from the run's last checkpoint, where it is readable."""
    from devteam.checkpoint import last_values

    if settings.checkpointer.strip() == "sqlite" and not settings.checkpoint_db.is_file():
        return
    try:
        state = last_values(settings, data.run_id)
    except Exception:  # a damaged or unreachable store: the report is made without it
        return
    if state is None:
        return
    if isinstance(state.get("spec"), dict):
        data.spec = state["spec"]
    data.reviews = dict(state.get("reviews") or {})
    data.acceptance = list((state.get("acceptance") or {}).get("checks") or [])
    if data.status == "unfinished" and state.get("status") not in (None, "running"):
        data.status, data.reason = str(state["status"]), str(state.get("reason", ""))


def _add_line_counts(data: ReportData) -> None:
    """Lines added and removed per file and commit, from ``git show --numstat``."""
    root = Path(data.workspace) if data.workspace else None
    if root is None or not (root / ".git").exists():
        return
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for commit in {f.commit for f in data.files if f.commit}:
        assert commit is not None
        try:
            out = subprocess.run(
                ["git", "-C", str(root), "show", "--numstat", "--format=", commit],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
                counts[(commit, parts[2])] = (int(parts[0]), int(parts[1]))
    for change in data.files:
        if change.commit and (change.commit, change.path) in counts:
            change.added, change.removed = counts[(change.commit, change.path)]
