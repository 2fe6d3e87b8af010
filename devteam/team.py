"""The library's front door: ``Team(settings).run(task) -> RunResult``.

A Team wires one run together: the model (an endpoint, or the embedded model it launches
and always stops), the sandbox, the workspace, the audit log and the checkpointed graph.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel, Field

from devteam.agents.graph import build_graph
from devteam.agents.nodes import Deps
from devteam.config import Settings, load_settings
from devteam.errors import DevteamError
from devteam.events import EventBus, JsonlSink, Note, RunFinished, RunStarted, Sink
from devteam.llm.budget import Budget
from devteam.llm.client import ChatClient, ChatModel
from devteam.sandbox import Sandbox, ensure_image, open_sandbox
from devteam.workspace import Workspace

Progress = Callable[[str], None]


class RunResult(BaseModel):
    """What a run produced, and what it cost."""

    run_id: str
    status: str
    reason: str
    task: str
    workspace: Path
    spec: dict[str, Any] | None = None
    files: list[str] = Field(default_factory=list)
    tests_passed: bool | None = None
    failing_tests: list[str] = Field(default_factory=list)
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
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RunRecord(BaseModel):
    """The small file beside each run's audit log that ``resume`` and ``runs`` read."""

    run_id: str
    task: str
    workspace: str
    created: float


def new_run_id(task: str) -> str:
    slug = "-".join(re.findall(r"[a-z0-9]+", task.lower())[:3])[:24] or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{uuid.uuid4().hex[:4]}"


class Team:
    """Runs tasks. ``model`` and ``sandbox`` may be injected (tests, custom backends)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: ChatModel | None = None,
        sandbox: Sandbox | None = None,
        sinks: list[Sink] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self._model = model
        self._sandbox = sandbox
        self._sinks = list(sinks or [])
        self._progress = progress or (lambda _msg: None)

    # -- public ------------------------------------------------------------------------
    def run(self, task: str, *, run_id: str | None = None) -> RunResult:
        """Run ``task`` to the end (passed, failed, or out of budget) and report."""
        if not task.strip():
            raise DevteamError("The task is empty; say what you want built.")
        run_id = run_id or new_run_id(task)
        workspace = (self.settings.workspace_root / run_id).resolve()
        record = RunRecord(run_id=run_id, task=task, workspace=str(workspace), created=time.time())
        run_dir = self.settings.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "run.json").write_text(record.model_dump_json(indent=2))
        return self._execute(record, fresh=True)

    def resume(self, run_id: str) -> RunResult:
        """Continue a stopped run from its last checkpoint; finished steps are not redone."""
        path = self.settings.run_dir(run_id) / "run.json"
        if not path.is_file():
            raise DevteamError(
                f"No run {run_id!r} under {self.settings.state_dir}; `devteam runs` lists them."
            )
        return self._execute(RunRecord.model_validate_json(path.read_text()), fresh=False)

    # -- wiring ------------------------------------------------------------------------
    def _execute(self, record: RunRecord, *, fresh: bool) -> RunResult:
        run_dir = self.settings.run_dir(record.run_id)
        audit = run_dir / "audit.jsonl"
        events = EventBus(record.run_id, [JsonlSink(audit), *self._sinks])
        started = time.monotonic()
        with ExitStack() as stack, self._checkpointer() as saver:
            config: RunnableConfig = {
                "configurable": {"thread_id": record.run_id},
                "recursion_limit": self.settings.budget.max_steps * 2 + 10,
            }
            checkpoint = saver.get_tuple(config)
            prior: dict[str, Any] = (
                dict(checkpoint.checkpoint["channel_values"]) if checkpoint else {}
            )
            if not fresh and prior.get("status") not in (None, "running"):
                return self._result(record, prior, audit, "", time.monotonic() - started)
            budget = Budget(
                self.settings.budget,
                prompt_tokens=prior.get("prompt_tokens", 0),
                completion_tokens=prior.get("completion_tokens", 0),
                elapsed_s=prior.get("elapsed_s", 0.0),
                steps=prior.get("steps", 0),
            )
            workspace = Workspace.create(Path(record.workspace))
            # The sandbox first: without Docker, fail before paying for a model start.
            sandbox = self._sandbox or stack.enter_context(self._open_sandbox(workspace))
            model = self._model or stack.enter_context(self._open_model(budget, events, run_dir))
            model.bind(budget, events)
            events.emit(
                RunStarted(
                    task=record.task,
                    workspace=record.workspace,
                    model=model.name,
                    settings=self.settings.model_dump(mode="json", exclude={"api_key"}),
                )
            )
            if not fresh:
                events.emit(Note(text=f"Resuming run {record.run_id} from its last checkpoint."))
            deps = Deps(
                model=model,
                sandbox=sandbox,
                workspace=workspace,
                events=events,
                budget=budget,
                settings=self.settings,
            )
            graph = build_graph(deps, saver)
            inputs: dict[str, Any] | None = (
                {"run_id": record.run_id, "task": record.task, "workspace": record.workspace}
                if fresh
                else None
            )
            final = dict(graph.invoke(inputs, config))
            result = self._result(record, final, audit, model.name, time.monotonic() - started)
            events.emit(
                RunFinished(
                    status=result.status,
                    reason=result.reason,
                    prompt_tokens=result.prompt_tokens,
                    completion_tokens=result.completion_tokens,
                    duration_s=round(result.duration_s, 2),
                    fix_attempts=result.fix_attempts,
                )
            )
            return result

    @contextmanager
    def _checkpointer(self) -> Iterator[SqliteSaver]:
        db = self.settings.checkpoint_db
        db.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(db), check_same_thread=False)
        try:
            yield SqliteSaver(conn)
        finally:
            conn.close()

    @contextmanager
    def _open_model(self, budget: Budget, events: EventBus, run_dir: Path) -> Iterator[ChatClient]:
        s = self.settings
        with ExitStack() as stack:
            if s.uses_embedded_model:
                from devteam.llm.server import EmbeddedServer

                self._progress("Preparing the embedded model (first use downloads ~0.5-1.1 GB)")
                server = EmbeddedServer.from_settings(
                    s,
                    log_path=run_dir / "model-server.log",
                    progress=lambda stage, frac: self._progress(
                        f"model: {stage}" + (f" {frac:.0%}" if frac is not None else "")
                    ),
                )
                self._progress(f"Starting the embedded model server ({server.model_name})")
                stack.enter_context(server)
                base_url, name = server.base_url, server.model_name
            else:
                assert s.base_url is not None
                base_url, name = s.base_url, s.model or "default"
            yield ChatClient(
                base_url=base_url,
                model=name,
                api_key=s.api_key,
                budget=budget,
                events=events,
                temperature=s.temperature,
                seed=s.seed,
                max_tokens=s.max_tokens_per_call,
                timeout_s=s.request_timeout_s,
                structured_output=s.structured_output,
            )

    @contextmanager
    def _open_sandbox(self, workspace: Workspace) -> Iterator[Sandbox]:
        self._progress("Checking the sandbox image")
        ensure_image(self.settings.sandbox, lambda msg: self._progress(f"sandbox: {msg}"))
        with open_sandbox(self.settings.sandbox, workspace=workspace.root) as sandbox:
            yield sandbox

    def _result(
        self, record: RunRecord, state: dict[str, Any], audit: Path, model: str, duration: float
    ) -> RunResult:
        report = state.get("report") or {}
        return RunResult(
            run_id=record.run_id,
            status=state.get("status", "error"),
            reason=state.get("reason", ""),
            task=record.task,
            workspace=Path(record.workspace),
            spec=state.get("spec"),
            files=state.get("files", []),
            tests_passed=report.get("passed") if report else None,
            failing_tests=report.get("failing_tests", []),
            fix_attempts=state.get("fix_attempts", 0),
            prompt_tokens=state.get("prompt_tokens", 0),
            completion_tokens=state.get("completion_tokens", 0),
            duration_s=duration,
            model=model,
            audit_log=audit,
        )


def list_runs(settings: Settings) -> list[RunRecord]:
    runs_dir = settings.state_dir / "runs"
    if not runs_dir.is_dir():
        return []
    out = []
    for path in sorted(runs_dir.glob("*/run.json")):
        try:
            out.append(RunRecord.model_validate(json.loads(path.read_text())))
        except (OSError, ValueError):
            continue
    return out
