"""The library's front door: ``Team(settings).run(task) -> RunResult``.

A Team wires one run together: the model (an endpoint, or the embedded model it launches
and always stops), the sandbox, the workspace, the audit log and the checkpointed graph.
Run records live in devteam.runs, the result in devteam.result.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal, cast, get_args

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from devteam.agents.common import Deps
from devteam.agents.graph import build_graph
from devteam.agents.runner import PYTEST
from devteam.checkpoint import describe_checkpointer, open_checkpointer
from devteam.config import Settings, load_settings
from devteam.errors import ConfigError, DevteamError
from devteam.events import Event, EventBus, JsonlSink, Note, RunFinished, RunStarted, Sink
from devteam.llm.budget import Budget
from devteam.llm.client import ChatClient
from devteam.llm.metered import MeteredModel
from devteam.llm.model import ChatModel
from devteam.progress import Progress
from devteam.result import RunResult, result_of
from devteam.runlock import run_lock
from devteam.runs import RunRecord, list_runs, load_run, new_run_id, save_run, saved_team
from devteam.sandbox import Sandbox, ensure_image, open_sandbox
from devteam.teams import TeamConfig, load_team
from devteam.workspace import Workspace

__all__ = ["MAX_TASK_CHARS", "RunResult", "Team", "check_task", "list_runs", "new_run_id"]

GateName = Literal["clarify", "approve_spec", "approve_delivery"]
GATE_NAMES: tuple[str, ...] = get_args(GateName)
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


class Team:
    """Runs tasks with a team (``default``, ``solo``, or a team file).

    ``model`` and ``sandbox`` are the seams for tests and custom backends: given, they are
    used as they are; not given, each run opens its own from the settings (the embedded
    model or the endpoint; a Docker sandbox) and closes it. ``gates`` switches human gates
    on for this Team whatever its config says.
    """

    last_result: RunResult | None = None

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        team: str | Path | TeamConfig | None = None,
        gates: Sequence[GateName] = (),
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
        return self._run(task, run_id=run_id, repo=repo, sinks=())

    def resume(self, run_id: str, *, answer: Any = None) -> RunResult:
        """Continue a stopped run from its last checkpoint; finished steps are not redone.

        A run held at a human gate needs ``answer``: text for the CEO's questions, and for
        approvals ``True``/``"yes"``, ``False``/``"no"``, or text saying what to change.
        """
        return self._execute(load_run(self.settings, run_id), fresh=False, answer=answer)

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

        Each call sees only its own run's events. When the iterator ends,
        ``self.last_result`` holds the RunResult. An error in the run is raised from the
        iterator, after the events that came before it.
        """
        events: queue.Queue[Event | BaseException | None] = queue.Queue()

        def work() -> None:
            try:
                sink = cast(Sink, events.put)  # every event the bus carries is one of Event's
                self.last_result = self._run(task, run_id=run_id, repo=repo, sinks=(sink,))
            except BaseException as exc:  # handed to the consumer and raised there
                events.put(exc)
            finally:
                events.put(None)

        thread = threading.Thread(target=work, name="devteam-run", daemon=True)
        thread.start()
        try:
            while (item := events.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            thread.join()

    # -- one run -----------------------------------------------------------------------
    def _run(
        self, task: str, *, run_id: str | None, repo: Path | None, sinks: Sequence[Sink]
    ) -> RunResult:
        check_task(task)
        run_id = run_id or new_run_id(task)
        record = (
            self._repo_record(task, run_id, repo)
            if repo is not None
            else RunRecord(
                run_id=run_id,
                task=task,
                workspace=str((self.settings.workspace_root / run_id).resolve()),
                created=time.time(),
                team=self.config.name,
            )
        )
        save_run(self.settings, record, self.config)
        return self._execute(record, fresh=True, sinks=sinks)

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

    def _execute(
        self, record: RunRecord, *, fresh: bool, answer: Any = None, sinks: Sequence[Sink] = ()
    ) -> RunResult:
        run_dir = self.settings.run_dir(record.run_id)
        audit = run_dir / "audit.jsonl"
        events = EventBus(record.run_id, [JsonlSink(audit), *self._sinks, *sinks])
        started = time.monotonic()
        config: RunnableConfig = {
            "configurable": {"thread_id": record.run_id},
            "recursion_limit": self.settings.budget.max_steps * 3 + 20,
        }
        team = saved_team(run_dir, self.config)

        def result(state: dict[str, Any], model: str, **extra: Any) -> RunResult:
            took = time.monotonic() - started
            return result_of(
                record, state, team=team.name, audit=audit, model=model, duration_s=took, **extra
            )

        with (
            run_lock(run_dir, record.run_id),
            ExitStack() as stack,
            open_checkpointer(self.settings) as saver,
        ):
            deps = self._deps(record, team, events, stack)
            graph = build_graph(deps, saver)
            before = graph.get_state(config)
            if not fresh and before.created_at is None:
                raise DevteamError(
                    f"Run {record.run_id} stopped before its first step was checkpointed, so "
                    "there is nothing to resume; start it again with devteam run."
                )
            prior = dict(before.values)
            if not fresh and prior.get("status") not in (None, "running"):
                return result(prior, "")
            if before.interrupts and answer is None:
                return result(prior, "", question=before.interrupts[0].value)
            deps.budget.carry(prior)
            deps.sandbox  # noqa: B018 -- opened first: without Docker, fail before a model start
            self._started(record, deps, team, resumed=not fresh)
            # durability="sync": each step's checkpoint is written before the next starts,
            # so a SIGKILL at any moment loses at most the step that was running.
            if fresh:
                graph.invoke(self._inputs(record), config, durability="sync")
            else:
                resume: Command[Any] | None = Command(resume=answer) if before.interrupts else None
                graph.invoke(resume, config, durability="sync")
            after = graph.get_state(config)
            if after.interrupts:
                question = after.interrupts[0].value
                events.emit(Note(text=f"Waiting at the {question.get('gate')} gate for an answer."))
                return result(dict(after.values), deps.model.name, question=question)
            return self._finished(result(dict(after.values), deps.model.name), events)

    def _deps(
        self, record: RunRecord, team: TeamConfig, events: EventBus, stack: ExitStack
    ) -> Deps:
        """The run's dependencies; the model, sandbox and workspace open when first used."""
        budget = Budget(self.settings.budget)

        def open_workspace() -> Workspace:
            root = Path(record.workspace)
            if record.mode == "repo":
                return Workspace.open_repo(root, record.branch or f"devteam/{record.run_id}")
            return Workspace.create(root)

        def open_sandbox_() -> Sandbox:
            if self._sandbox is not None:
                return self._sandbox
            return stack.enter_context(self._open_sandbox(deps.workspace))

        def open_model() -> MeteredModel:
            run_dir = self.settings.run_dir(record.run_id)
            model = self._model or stack.enter_context(self._open_model(run_dir))
            return MeteredModel(model, budget, events, max_tokens=self.settings.max_tokens_per_call)

        deps = Deps(
            events=events,
            budget=budget,
            settings=self.settings,
            team=team,
            open_model=open_model,
            open_sandbox=open_sandbox_,
            open_workspace=open_workspace,
        )
        return deps

    def _started(self, record: RunRecord, deps: Deps, team: TeamConfig, *, resumed: bool) -> None:
        settings = self.settings.model_dump(mode="json", exclude={"api_key", "checkpointer"})
        settings |= {
            "checkpointer": describe_checkpointer(self.settings),
            "team": team.model_dump(mode="json"),
        }
        deps.events.emit(
            RunStarted(
                task=record.task,
                workspace=record.workspace,
                model=deps.model.name,
                settings=settings,
            )
        )
        if resumed:
            deps.events.emit(Note(text=f"Resuming run {record.run_id} from its last checkpoint."))

    @staticmethod
    def _finished(done: RunResult, events: EventBus) -> RunResult:
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

    # -- what a run opens when nothing was injected --------------------------------------
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
                stream=True,  # the embedded server too: its streams end with their usage
            )

    @contextmanager
    def _open_sandbox(self, workspace: Workspace) -> Iterator[Sandbox]:
        self._progress("Checking the sandbox image")
        ensure_image(self.settings.sandbox, lambda msg: self._progress(f"sandbox: {msg}"))
        with open_sandbox(self.settings.sandbox, workspace=workspace.root) as sandbox:
            yield sandbox
