"""The library's front door: ``Team(settings).run(task) -> RunResult``.

A Team wires one run together: the model (an endpoint, or the embedded model it launches
and always stops), the sandbox, the workspace, the audit log and the checkpointed graph.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal, cast, get_args

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from pydantic import BaseModel, Field

from devteam.agents.ceo import review_verdict
from devteam.agents.common import Deps
from devteam.agents.graph import build_graph
from devteam.agents.runner import PYTEST
from devteam.checkpoint import describe_checkpointer, open_checkpointer
from devteam.config import Settings, load_settings
from devteam.errors import ConfigError, DevteamError
from devteam.events import (
    Event,
    EventBus,
    JsonlSink,
    Note,
    RunFinished,
    RunStarted,
    Sink,
    _Event,
)
from devteam.llm.budget import Budget
from devteam.llm.client import ChatClient
from devteam.llm.metered import MeteredModel
from devteam.llm.model import ChatModel
from devteam.runlock import run_lock
from devteam.sandbox import Sandbox, ensure_image, open_sandbox
from devteam.teams import TeamConfig, load_team
from devteam.workspace import Workspace

Progress = Callable[[str], None]
GateName = Literal["clarify", "approve_spec", "approve_delivery"]
GATE_NAMES: tuple[str, ...] = get_args(GateName)


class RunResult(BaseModel):
    """What a run produced, and what it cost.

    ``status`` is ``passed``, ``failed``, ``budget_exhausted``, ``rejected``, ``error``, or
    ``waiting`` when a human gate holds the run: ``question`` then says what it asks, and
    ``Team.resume(run_id, answer=...)`` continues it.
    """

    run_id: str
    status: str
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


class RunRecord(BaseModel):
    """The small file beside each run's audit log that ``resume`` and ``runs`` read."""

    run_id: str
    task: str
    workspace: str
    created: float
    team: str = "default"
    mode: Literal["new", "repo"] = "new"
    branch: str | None = None
    base_commit: str | None = None
    test_command: list[str] | None = None


#: The longest task a run takes, in characters (a long specification fits; a dump does not).
MAX_TASK_CHARS = 100_000


def check_task(task: str, *, where: str | None = None) -> None:
    """A DevteamError of one sentence for a task a run cannot take: empty, not text, too long."""
    name = f"The task in {where}" if where else "The task"
    if not task.strip():
        raise DevteamError("The task is empty; say what you want built.")
    try:
        task.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DevteamError(
            f"{name} holds bytes that are not UTF-8 text (at character "
            f"{exc.start}); give it as UTF-8 (e.g. devteam run -f FILE with a UTF-8 file)."
        ) from None
    if len(task) > MAX_TASK_CHARS:
        raise DevteamError(
            f"{name} is {len(task):,} characters, over the limit of "
            f"{MAX_TASK_CHARS:,}; shorten it to what the team must know (a summary, the "
            "interfaces, examples)."
        )


def new_run_id(task: str) -> str:
    slug = "-".join(re.findall(r"[a-z0-9]+", task.lower())[:3])[:24] or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{uuid.uuid4().hex[:4]}"


class Team:
    """Runs tasks with a team (``default``, ``solo``, or a team file).

    ``model`` and ``sandbox`` may be injected (tests, custom backends); ``gates`` switches
    human gates on for this Team whatever its config says.
    """

    last_result: RunResult | None = None

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        team: str | Path | TeamConfig | None = None,
        gates: list[GateName] | tuple[GateName, ...] = (),
        model: ChatModel | None = None,
        sandbox: Sandbox | None = None,
        sinks: list[Sink] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        config = load_team(team if team is not None else self.settings.team)
        unknown = [g for g in gates if g not in GATE_NAMES]
        if unknown:
            raise ConfigError(
                f"Unknown gate {unknown[0]!r}; the gates are {', '.join(GATE_NAMES)}."
            )
        self.config = config.with_gates(**dict.fromkeys(gates, True)) if gates else config
        self._model = model
        self._sandbox = sandbox
        self._sinks = list(sinks or [])
        self._progress = progress or (lambda _msg: None)

    # -- public ------------------------------------------------------------------------
    def run(self, task: str, *, run_id: str | None = None, repo: Path | None = None) -> RunResult:
        """Run ``task`` to the end (passed, failed, out of budget) or to a human gate.

        With ``repo``, the team works on that existing git repository, on a new branch
        ``devteam/<run_id>``, and runs the repository's own tests.
        """
        check_task(task)
        run_id = run_id or new_run_id(task)
        if repo is not None:
            record = self._repo_record(task, run_id, repo)
        else:
            workspace = (self.settings.workspace_root / run_id).resolve()
            record = RunRecord(
                run_id=run_id,
                task=task,
                workspace=str(workspace),
                created=time.time(),
                team=self.config.name,
            )
        run_dir = self.settings.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "run.json").write_text(record.model_dump_json(indent=2))
        (run_dir / "team.json").write_text(self.config.model_dump_json(indent=2))
        return self._execute(record, fresh=True)

    def resume(self, run_id: str, *, answer: Any = None) -> RunResult:
        """Continue a stopped run from its last checkpoint; finished steps are not redone.

        A run held at a human gate needs ``answer``: text for the CEO's questions, and for
        approvals ``True``/``"yes"``, ``False``/``"no"``, or text saying what to change.
        """
        path = self.settings.run_dir(run_id) / "run.json"
        if not path.is_file():
            raise DevteamError(
                f"No run {run_id!r} under {self.settings.state_dir}; `devteam runs` lists them."
            )
        record = _read_record(path)
        return self._execute(record, fresh=False, answer=answer)

    async def arun(
        self, task: str, *, run_id: str | None = None, repo: Path | None = None
    ) -> RunResult:
        """``run`` for asyncio programs: the run goes on in a worker thread."""
        return await asyncio.to_thread(self.run, task, run_id=run_id, repo=repo)

    async def aresume(self, run_id: str, *, answer: Any = None) -> RunResult:
        """``resume`` for asyncio programs."""
        return await asyncio.to_thread(self.resume, run_id, answer=answer)

    def stream(
        self, task: str, *, run_id: str | None = None, repo: Path | None = None
    ) -> Iterator[Event]:
        """Run ``task`` and yield its events (typed, as in the audit log) as they happen.

        When the iterator ends, ``self.last_result`` holds the RunResult. An error in the
        run is raised from the iterator, after the events that came before it.
        """
        events: queue.Queue[_Event | BaseException | None] = queue.Queue()

        def sink(event: _Event) -> None:
            events.put(event)

        def work() -> None:
            self._sinks.append(sink)
            try:
                self.last_result = self.run(task, run_id=run_id, repo=repo)
            except BaseException as exc:  # handed to the consumer and raised there
                events.put(exc)
            finally:
                self._sinks.remove(sink)
                events.put(None)

        thread = threading.Thread(target=work, name="devteam-run", daemon=True)
        thread.start()
        try:
            while (item := events.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield cast(Event, item)  # every event the bus carries is one of Event's kinds
        finally:
            thread.join()

    # -- wiring ------------------------------------------------------------------------
    def _repo_record(self, task: str, run_id: str, repo: Path) -> RunRecord:
        from devteam.workspace.repo_map import detect_test_command

        branch = f"devteam/{run_id}"
        workspace = Workspace.open_repo(repo.resolve(), branch)
        return RunRecord(
            run_id=run_id,
            task=task,
            workspace=str(workspace.root),
            created=time.time(),
            team=self.config.name,
            mode="repo",
            branch=branch,
            base_commit=workspace.base,
            test_command=detect_test_command(workspace.root) or PYTEST,
        )

    @staticmethod
    def _inputs(record: RunRecord) -> dict[str, Any]:
        inputs: dict[str, Any] = {
            "run_id": record.run_id,
            "task": record.task,
            "workspace": record.workspace,
            "mode": record.mode,
        }
        if record.mode == "repo":
            inputs.update(base_commit=record.base_commit, test_command=record.test_command)
        return inputs

    def _team_of(self, run_dir: Path) -> TeamConfig:
        """A resumed run keeps the team it started with (saved beside its audit log)."""
        saved = run_dir / "team.json"
        if not saved.is_file():
            return self.config
        try:
            stored = TeamConfig.model_validate_json(saved.read_bytes())
        except ValueError as exc:
            raise DevteamError(
                f"{saved} is damaged ({_first_error(exc)}); it records the run's team: restore "
                "it, or delete it to resume with the team configured now."
            ) from None
        # Gates switched on for this Team still apply on resume.
        on = {k: True for k, v in self.config.gates.model_dump().items() if v}
        return stored.with_gates(**on) if on else stored

    def _execute(self, record: RunRecord, *, fresh: bool, answer: Any = None) -> RunResult:
        run_dir = self.settings.run_dir(record.run_id)
        audit = run_dir / "audit.jsonl"
        events = EventBus(record.run_id, [JsonlSink(audit), *self._sinks])
        started = time.monotonic()
        config: RunnableConfig = {
            "configurable": {"thread_id": record.run_id},
            "recursion_limit": self.settings.budget.max_steps * 3 + 20,
        }
        team = self._team_of(run_dir)

        def result(state: dict[str, Any], model: str, **extra: Any) -> RunResult:
            return self._result(
                record, state, audit, model, time.monotonic() - started, team, **extra
            )

        # durability="sync": each step's checkpoint is written before the next step starts,
        # so a SIGKILL at any moment loses at most the step that was running.
        with (
            run_lock(run_dir, record.run_id),
            ExitStack() as stack,
            open_checkpointer(self.settings) as saver,
        ):
            checkpoint = saver.get_tuple(config)
            prior: dict[str, Any] = (
                dict(checkpoint.checkpoint["channel_values"]) if checkpoint else {}
            )
            if not fresh and checkpoint is None:
                raise DevteamError(
                    f"Run {record.run_id} stopped before its first step was checkpointed, so "
                    "there is nothing to resume; start it again with devteam run."
                )
            if not fresh and prior.get("status") not in (None, "running"):
                return result(prior, "")
            budget = Budget(
                self.settings.budget,
                prompt_tokens=prior.get("prompt_tokens", 0),
                completion_tokens=prior.get("completion_tokens", 0),
                elapsed_s=prior.get("elapsed_s", 0.0),
                steps=prior.get("steps", 0),
            )
            root = Path(record.workspace)
            workspace = (
                Workspace.open_repo(root, record.branch or f"devteam/{record.run_id}")
                if record.mode == "repo"
                else Workspace.create(root)
            )
            deps = Deps(
                model=cast(MeteredModel, _Unopened()),
                sandbox=self._sandbox or _Unopened(),
                workspace=workspace,
                events=events,
                budget=budget,
                settings=self.settings,
                team=team,
            )
            graph = build_graph(deps, saver)
            pending = graph.get_state(config).interrupts if not fresh else ()
            if pending and answer is None:
                return result(prior, "", question=pending[0].value)
            # The sandbox first: without Docker, fail before paying for a model start.
            deps.sandbox = self._sandbox or stack.enter_context(self._open_sandbox(workspace))
            model = MeteredModel(
                self._model or stack.enter_context(self._open_model(run_dir)),
                budget,
                events,
                max_tokens=self.settings.max_tokens_per_call,
            )
            deps.model = model
            events.emit(
                RunStarted(
                    task=record.task,
                    workspace=record.workspace,
                    model=model.name,
                    settings={
                        **self.settings.model_dump(
                            mode="json", exclude={"api_key", "checkpointer"}
                        ),
                        "checkpointer": describe_checkpointer(self.settings),
                        "team": team.model_dump(mode="json"),
                    },
                )
            )
            if not fresh:
                events.emit(Note(text=f"Resuming run {record.run_id} from its last checkpoint."))
            if fresh:
                graph.invoke(self._inputs(record), config, durability="sync")
            else:
                graph.invoke(Command(resume=answer) if pending else None, config, durability="sync")
            snapshot = graph.get_state(config)
            final = dict(snapshot.values)
            if snapshot.interrupts:
                question = snapshot.interrupts[0].value
                events.emit(Note(text=f"Waiting at the {question.get('gate')} gate for an answer."))
                return result(final, model.name, question=question)
            done = result(final, model.name)
            events.emit(
                RunFinished(
                    status=done.status,
                    reason=done.reason,
                    prompt_tokens=done.prompt_tokens,
                    completion_tokens=done.completion_tokens,
                    duration_s=round(done.duration_s, 2),
                    fix_attempts=done.fix_attempts,
                    verdict=done.verdict,
                )
            )
            return done

    @contextmanager
    def _open_model(self, run_dir: Path) -> Iterator[ChatClient]:
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
                temperature=s.temperature,
                seed=s.seed,
                timeout_s=s.request_timeout_s,
                structured_output=s.structured_output,
                # llama-cpp-python's server reports no usage in a stream: whole replies do.
                stream=not s.uses_embedded_model,
            )

    @contextmanager
    def _open_sandbox(self, workspace: Workspace) -> Iterator[Sandbox]:
        self._progress("Checking the sandbox image")
        ensure_image(self.settings.sandbox, lambda msg: self._progress(f"sandbox: {msg}"))
        with open_sandbox(self.settings.sandbox, workspace=workspace.root) as sandbox:
            yield sandbox

    def _result(
        self,
        record: RunRecord,
        state: dict[str, Any],
        audit: Path,
        model: str,
        duration: float,
        team: TeamConfig,
        *,
        question: dict[str, Any] | None = None,
    ) -> RunResult:
        report = state.get("report") or {}
        acceptance = state.get("acceptance") or {}
        return RunResult(
            run_id=record.run_id,
            status="waiting" if question else state.get("status", "error"),
            reason=f"waiting at the {question.get('gate')} gate"
            if question
            else state.get("reason", ""),
            task=record.task,
            team=team.name,
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
            duration_s=duration,
            model=model,
            audit_log=audit,
        )


class _Unopened:
    """Stands in for the model and sandbox until a run needs them (a gate may not)."""

    name = ""

    def __getattr__(self, attr: str) -> Any:
        raise DevteamError("internal: the model or sandbox was used before it was opened")


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'file'}: {first['msg']}"
    return str(exc).splitlines()[0][:200]


def _read_record(path: Path) -> RunRecord:
    """A run's run.json, or one sentence saying it is damaged and what to do."""
    try:
        return RunRecord.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise DevteamError(
            f"{path} is damaged ({_first_error(exc)}); it records the run's task and "
            "workspace: restore it from a backup, or start the task again with devteam run."
        ) from None


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
