"""The benchmark harness: one model endpoint, N tasks through one strategy, graded in secret.

``run_bench(BenchConfig(...))`` starts (or checks) one model endpoint for the whole run: a
server at ``base_url``, or the embedded model on a loopback port. Every task then gets its
own budget, audit log (``<out>/state/<task>/runs/<task>/audit.jsonl``), workspace
(``<out>/workspaces/<task>``) and sandbox; its wall time is split into model, sandbox and
everything else by the same stopwatches for every strategy (``bench.timing``). When the
strategy is done, the source files it produced and the hidden tests run in a fresh sandbox
(``bench.grading``). Results go to ``<out>/tasks.jsonl`` as each task finishes, and to
``<out>/results.json`` and ``<out>/results.md`` at the end.

Tests inject a model with ``model_factory`` (a function of the task, returning a ChatModel
such as ``devteam.llm.scripted.ScriptedModel``); then no endpoint is started.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import devteam
from devteam.bench import resume as resuming
from devteam.bench.endpoint import BenchConfig, Endpoint, bench_settings, open_endpoint
from devteam.bench.errors import BenchError
from devteam.bench.grading import grade, read_tree
from devteam.bench.prompts import load_prompts
from devteam.bench.provenance import devteam_git, host_info
from devteam.bench.results import (
    BenchResults,
    Metadata,
    Segment,
    TaskResult,
    summarise,
    write_results,
)
from devteam.bench.run_breakdown import spend_of
from devteam.bench.strategies import Context, Outcome, Strategy, TeamStrategy, make_strategy
from devteam.bench.tasks import Task, load_tasks
from devteam.bench.timing import TimedModel, TimedSandbox
from devteam.config import Settings, load_settings
from devteam.errors import (
    BudgetExceededError,
    ModelUnavailableError,
    SandboxUnavailableError,
)
from devteam.events import EventBus, JsonlSink
from devteam.llm.budget import Budget
from devteam.llm.client import ChatClient
from devteam.llm.model import ChatModel
from devteam.progress import Progress
from devteam.roles import load_role
from devteam.sandbox import ensure_image, open_sandbox

ModelFactory = Callable[[Task], ChatModel]

#: Errors that stop the whole bench: nothing after them could be measured.
INFRA_ERRORS = (ModelUnavailableError, SandboxUnavailableError, BenchError)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")[:40] or "x"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _Runner:
    """Runs one task end to end; shared by the worker threads (each task has its own state)."""

    def __init__(
        self,
        cfg: BenchConfig,
        strategy: Strategy,
        settings: Settings,
        endpoint: Endpoint,
        out: Path,
        model_factory: ModelFactory | None,
    ) -> None:
        self.cfg, self.strategy, self.settings = cfg, strategy, settings
        self.endpoint, self.out, self.model_factory = endpoint, out, model_factory

    def _model(self, task: Task) -> ChatModel | None:
        if self.model_factory is not None:
            return self.model_factory(task)
        if not self.strategy.needs_model:
            return None
        assert self.endpoint.base_url is not None
        s = self.settings
        return ChatClient(
            base_url=self.endpoint.base_url,
            model=self.endpoint.model,
            api_key=s.api_key,
            temperature=0.0,
            seed=self.cfg.seed,
            timeout_s=s.request_timeout_s,
            structured_output=self.endpoint.structured_output,  # type: ignore[arg-type]
        )

    def run(self, task: Task) -> TaskResult:
        slug = task.slug
        update: dict[str, object] = {"state_dir": self.out / "state" / slug}
        if self.endpoint.base_url:
            update |= {"base_url": self.endpoint.base_url, "model": self.endpoint.model}
        settings = self.settings.model_copy(update=update)
        workdir = settings.workspace_root / slug
        audit = settings.run_dir(slug) / "audit.jsonl"
        budget = Budget(settings.budget)
        events = EventBus(slug, [JsonlSink(audit)])
        inner = self._model(task)
        model = TimedModel(inner) if inner is not None else None
        sandbox = TimedSandbox(open_sandbox(settings.sandbox))
        ctx = Context(
            task=task,
            model=model,
            sandbox=sandbox,
            budget=budget,
            events=events,
            settings=settings,
            workdir=workdir,
            run_id=slug,
            audit_log=audit,
            max_rounds=self.cfg.max_rounds,
        )
        t0 = time.monotonic()
        try:
            outcome = self.strategy.solve(ctx)
        except INFRA_ERRORS:
            raise
        except BudgetExceededError as exc:
            outcome = Outcome(status="budget_exhausted", reason=str(exc))
        except Exception as exc:  # a crash in a strategy fails its task, not the bench
            outcome = Outcome(status="error", reason=f"{type(exc).__name__}: {exc}"[:500])
            error_file = settings.state_dir / "error.txt"
            error_file.parent.mkdir(parents=True, exist_ok=True)
            error_file.write_text(traceback.format_exc())
        finally:
            wall = time.monotonic() - t0
            sandbox.__exit__(None, None, None)  # no-op unless the strategy left it running
        log = outcome.audit_log or audit
        calls, prompt, completion = spend_of(log)
        if calls == 0 and outcome.prompt_tokens + outcome.completion_tokens > 0:
            prompt, completion = outcome.prompt_tokens, outcome.completion_tokens
        graded = grade(task, read_tree(workdir), settings.sandbox, self.out / "grading" / slug)
        model_s = model.seconds if model else 0.0
        return TaskResult(
            task_id=task.id,
            passed=graded.passed,
            status=outcome.status,
            reason=outcome.reason,
            verdict=outcome.verdict,
            model_calls=calls or (model.calls if model else 0),
            prompt_tokens=prompt,
            completion_tokens=completion,
            wall_s=round(wall, 3),
            model_s=round(model_s, 3),
            sandbox_s=round(sandbox.seconds, 3),
            other_s=round(wall - model_s - sandbox.seconds, 3),
            rounds=outcome.rounds,
            files=graded.files,
            hidden_exit_code=graded.exit_code,
            hidden_failing=graded.failing_tests,
            hidden_output_tail="" if graded.passed else graded.output_tail,
            grade_s=round(graded.duration_s, 3),
            audit_log=str(log.relative_to(self.out)) if log.is_relative_to(self.out) else str(log),
        )


def _out_dir(cfg: BenchConfig, strategy: Strategy, settings_model: str) -> Path:
    if cfg.resume:
        if cfg.out is None or not cfg.out.is_dir():
            raise BenchError("--resume needs --out, the folder of the run to continue.")
        if cfg.concurrency != 1:
            raise BenchError(
                "--resume needs --concurrency 1: the throughput of a resumed concurrent run "
                "could not be measured."
            )
        return cfg.out
    if cfg.out is not None:
        out = cfg.out
        if out.exists() and any(out.iterdir()):
            raise BenchError(f"The output folder {out} is not empty; choose another --out.")
        return out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{cfg.suite}-{_slug(strategy.name)}-{_slug(settings_model)}-{stamp}"
    return load_settings().state_dir / "bench" / name


def progress_line(i: int, n: int, r: TaskResult) -> str:
    verdict = "PASS" if r.passed else "FAIL"
    return (
        f"[{i}/{n}] {r.task_id:<22} {verdict} {r.status:<16} {r.model_calls:>2} calls "
        f"{r.prompt_tokens + r.completion_tokens:>6} tok {r.wall_s:7.1f}s "
        f"(model {r.model_s:.1f}, sandbox {r.sandbox_s:.1f}, other {r.other_s:.2f})"
    )


def run_bench(
    cfg: BenchConfig,
    *,
    model_factory: ModelFactory | None = None,
    progress: Progress | None = None,
) -> BenchResults:
    """Run the bench; write ``results.json``, ``results.md`` and ``tasks.jsonl`` under out."""
    say = progress or (lambda msg: print(msg, file=sys.stderr, flush=True))
    tasks = load_tasks(cfg.suite, cfg.tasks, limit=cfg.limit, full=cfg.full)
    strategy = make_strategy(cfg.strategy)
    model_label = cfg.model or ("injected" if model_factory else "default")
    out = _out_dir(cfg, strategy, model_label if strategy.needs_model else "none").resolve()
    out.mkdir(parents=True, exist_ok=True)
    settings = bench_settings(cfg, out)
    started = _now()
    # The code that runs is the code at start: record it now, not when the run ends.
    segment = Segment(
        started=started,
        git_commit=devteam_git("rev-parse", "HEAD"),
        git_dirty=bool(devteam_git("status", "--porcelain", "--untracked-files=no")),
        command=cfg.command,
    )
    earlier: list[TaskResult] = []
    if cfg.resume:
        run, earlier = resuming.resume(out, cfg, segment, tasks)
    else:
        run = resuming.start(out, cfg, segment)
    done_ids = {r.task_id for r in earlier}
    todo = [t for t in tasks if t.id not in done_ids]
    say(
        f"devteam bench: {cfg.suite} ({len(tasks)} tasks"
        + (f", {len(earlier)} done before, {len(todo)} to run" if cfg.resume else "")
        + f"), strategy {strategy.name}, out {out}"
    )
    ensure_image(settings.sandbox, lambda msg: say(f"sandbox: {msg}"))
    with ExitStack() as stack:
        endpoint = stack.enter_context(
            open_endpoint(
                settings,
                out,
                injected=model_factory is not None,
                needs_model=strategy.needs_model,
                progress=say,
            )
        )
        runner = _Runner(cfg, strategy, settings, endpoint, out, model_factory)

        def results(records: list[TaskResult], elapsed: float) -> BenchResults:
            return _results(cfg, strategy, settings, endpoint, run, tasks, records, elapsed)

        try:
            fresh, elapsed = _run_all(
                runner, todo, cfg.concurrency, out / resuming.TASKS_FILE, say, offset=len(earlier)
            )
        except KeyboardInterrupt:
            # What finished is kept: a table now, and --resume runs the rest later.
            done = resuming.finished(out, tasks)
            if done:
                records = [done[t.id] for t in tasks if t.id in done]
                partial = results(records, sum(r.wall_s for r in records))
                write_results(out, partial)
                say(f"{len(records)} of {len(tasks)} tasks finished; {_headline(partial, out)}")
            raise
    by_id = {r.task_id: r for r in [*earlier, *fresh]}
    records = [by_id[t.id] for t in tasks]
    # Earlier segments ran one task at a time (resume needs --concurrency 1): their
    # elapsed time is the sum of their tasks' wall times.
    elapsed += sum(r.wall_s for r in earlier)
    bench = results(records, elapsed)
    write_results(out, bench)
    say(_headline(bench, out))
    return bench


def _results(
    cfg: BenchConfig,
    strategy: Strategy,
    settings: Settings,
    endpoint: Endpoint,
    run: resuming.RunFile,
    tasks: list[Task],
    records: list[TaskResult],
    elapsed: float,
) -> BenchResults:
    """The results file's content; ``records`` short of ``tasks`` makes a partial one."""
    first = run.segments[0]
    prompts = {}
    if strategy.name == "reflect":
        prompts[strategy.name] = load_prompts(strategy.name).sha256
    elif strategy.name == "single":  # the coder's `solve` prompt: the team's candidate 0
        prompts[strategy.name] = load_role("coder").template_hash
    ran = {r.task_id for r in records}
    metadata = Metadata(
        devteam_version=devteam.__version__,
        git_commit=first.git_commit,
        git_dirty=first.git_dirty,
        suite=cfg.suite,
        strategy=strategy.name,
        team=str(strategy.team) if isinstance(strategy, TeamStrategy) and strategy.team else None,
        task_ids=[t.id for t in tasks if t.id in ran],
        unfinished=[t.id for t in tasks if t.id not in ran],
        concurrency=cfg.concurrency,
        max_rounds=cfg.max_rounds,
        temperature=0.0,
        seed=cfg.seed,
        model=endpoint.model,
        model_file=str(endpoint.model_file) if endpoint.model_file else None,
        model_sha256=endpoint.sha256,
        server=endpoint.server,
        base_url=endpoint.base_url,
        server_startup_s=endpoint.startup_s,
        settings=settings.model_dump(mode="json", exclude={"api_key"}),
        prompts_sha256=prompts,
        host=host_info(),
        command=cfg.command,
        started=first.started,
        finished=_now(),
        segments=run.segments,
    )
    return BenchResults(metadata=metadata, summary=summarise(records, elapsed), tasks=records)


def _headline(bench: BenchResults, out: Path) -> str:
    s = bench.summary
    return (
        f"passed {s.passed}/{s.tasks} (pass@1 {100 * s.pass_at_1:.1f}%), tokens {s.tokens:,}, "
        f"median {s.median_wall_s:.1f} s/task, overhead {100 * s.overhead_share:.1f}%, "
        f"{s.tasks_per_hour:.1f} tasks/h; results in {out}/results.md"
    )


def _run_all(
    runner: _Runner,
    tasks: list[Task],
    concurrency: int,
    jsonl: Path,
    say: Progress,
    offset: int = 0,
) -> tuple[list[TaskResult], float]:
    """Run the tasks, ``concurrency`` at a time: the results in task order, and the seconds."""
    lock = threading.Lock()
    done: dict[str, TaskResult] = {}
    # Set when the bench stops early (Ctrl-C, SIGTERM, an infrastructure error). A task still
    # running then is cut short, not finished: it must not land in tasks.jsonl, or a resume
    # would keep it as a result.
    stopping = threading.Event()

    def one(task: Task) -> TaskResult:
        result = runner.run(task)
        with lock:
            if stopping.is_set():
                return result
            done[task.id] = result
            with jsonl.open("a", encoding="utf-8") as fh:
                fh.write(result.model_dump_json() + "\n")
            say(progress_line(offset + len(done), offset + len(tasks), result))
        return result

    t0 = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench")
    futures: list[Future[TaskResult]] = [pool.submit(one, t) for t in tasks]
    try:
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in finished if f.exception() is not None]
        if failed:
            stopping.set()
            for f in futures:
                f.cancel()
            wait(futures)  # the tasks already running finish (or fail) first
            raise failed[0].exception()  # type: ignore[misc]
    except BaseException:
        stopping.set()
        # Running tasks end soon after: the caller stops the model server next.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [done[t.id] for t in tasks], time.monotonic() - t0
