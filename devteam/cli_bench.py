"""``devteam bench``: run a benchmark suite through a strategy, compare results.

The harness lives in ``devteam.bench`` (devteam/bench/harness.py); this is its CLI.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from devteam.cli_input import bad_input, fail
from devteam.errors import DevteamError
from devteam.exit_codes import ExitCode

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True, highlight=False, soft_wrap=True)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


#: The options every bench command shares.
Model = Annotated[
    str | None,
    typer.Option(help="Embedded model (qwen2.5-coder-0.5b|1.5b), or the endpoint's model."),
]
BaseUrl = Annotated[
    str | None, typer.Option(help="OpenAI-compatible endpoint; default: the embedded model.")
]


@app.command("run", epilog="Example: devteam bench run --suite humaneval --strategy team --limit 5")
def run_cmd(
    suite: Annotated[str, typer.Option(help="humaneval or projects.")] = "humaneval",
    strategy: Annotated[
        str,
        typer.Option(
            help="single, reflect, team, team:NAME (e.g. team:solo), a team file's path, "
            "or reference (the known-good solutions; checks the suite, no model)."
        ),
    ] = "single",
    model: Model = None,
    base_url: BaseUrl = None,
    tasks: Annotated[
        str | None,
        typer.Option(help="Comma-separated task ids (HumanEval/8 or 8; bank_account)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N selected tasks.")] = None,
    full: Annotated[
        bool, typer.Option("--full", help="HumanEval: all 164 problems, not the CPU subset.")
    ] = False,
    every: Annotated[
        int | None,
        typer.Option(help="HumanEval: every N-th problem (8: the CPU subset of 21; 4: 41)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Tasks at once, on one endpoint.")] = 1,
    max_rounds: Annotated[int, typer.Option(help="reflect: fix rounds after the first try.")] = 3,
    max_run_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Token budget per task.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed sent to the server.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder (new); default <state dir>/bench/<suite>-... (.devteam/bench)"
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the interrupted run in --out: same options; finished tasks are kept.",
        ),
    ] = False,
) -> None:
    """Run a suite through a strategy; write results.json and results.md."""
    from devteam.bench.harness import BenchConfig, run_bench

    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        chosen = [t for t in tasks.split(",") if t.strip()] if tasks else None
        if every is not None and suite == "humaneval":
            from devteam.bench.tasks import humaneval_every

            chosen = [*(chosen or []), *humaneval_every(every)]
        cfg = BenchConfig(
            suite=suite,
            strategy=strategy,
            tasks=chosen,
            limit=limit,
            full=full,
            concurrency=concurrency,
            max_rounds=max_rounds,
            max_run_tokens=max_run_tokens,
            seed=seed,
            out=out,
            model=model,
            base_url=base_url,
            command=["devteam", *sys.argv[1:]],
            resume=resume,
        )
    except ValueError as exc:  # pydantic: a bound broken, e.g. --concurrency 0
        bad_input(f"invalid option: {str(exc).splitlines()[-1].strip()}")
    try:
        run_bench(cfg, progress=lambda msg: console.print(msg, markup=False))
    except DevteamError as exc:
        fail(exc)
    except KeyboardInterrupt:
        console.print(
            "[yellow]Interrupted.[/] Finished tasks are in tasks.jsonl (and results.md); "
            "continue with the same command plus --resume."
        )
        raise typer.Exit(ExitCode.INTERRUPTED) from None


@app.command(epilog="Example: devteam bench compare bench/out/single bench/out/team --per-task")
def compare(
    results: Annotated[
        list[Path], typer.Argument(help="Bench output folders or results.json files.")
    ],
    per_task: Annotated[
        bool, typer.Option("--per-task", help="Add a table with one row per task.")
    ] = False,
    chart: Annotated[
        Path | None,
        typer.Option(help="Also write an SVG chart: pass rate vs tokens per solved task."),
    ] = None,
) -> None:
    """Print one comparison table (Markdown) of several bench results.

    Example: devteam bench compare bench/results/*.json --chart compare.svg
    """
    from devteam.bench.report import compare as compare_results

    try:
        print(compare_results(results, per_task=per_task), end="")
        if chart is not None:
            _write_chart(results, chart)
    except DevteamError as exc:
        fail(exc)


def _write_chart(paths: list[Path], chart: Path) -> None:
    """One labelled point per results file: tokens per solved task (x), pass rate (y)."""
    from devteam.bench.results import load_results
    from devteam.report.charts import Point, scatter

    points, unsolved = [], []
    for path in paths:
        r = load_results(path)
        label = path.name if path.is_dir() else path.stem  # what was named: tells runs apart
        if r.summary.tokens_per_solved is None:
            unsolved.append(label)
            continue
        points.append(
            Point(label=label, x=r.summary.tokens_per_solved, y=100 * r.summary.pass_at_1)
        )
    suite = ", ".join(sorted({load_results(p).metadata.suite for p in paths}))
    svg = scatter(
        points,
        x_label="tokens per solved task",
        y_label="pass rate (%)",
        heading=f"{suite}: pass rate vs tokens per solved task",
        y_max=100,
    )
    try:
        chart.write_text(svg + "\n", encoding="utf-8")
    except OSError as exc:
        raise DevteamError(f"Cannot write the chart to {chart} ({exc.strerror}).") from exc
    note = f" (left out, nothing solved: {'; '.join(unsolved)})" if unsolved else ""
    console.print(f"chart: {chart}{note}", markup=False)


@app.command(
    epilog="Example: devteam bench merge bench/out/team bench/out/rerun --out bench/out/merged"
)
def merge(
    base: Annotated[Path, typer.Argument(help="The earlier run: a folder or results.json.")],
    reruns: Annotated[
        list[Path], typer.Argument(help="Runs of some of its tasks; a later one wins.")
    ],
    out: Annotated[Path, typer.Option(help="New folder for the merged results.")],
) -> None:
    """Replace a run's tasks with a rerun's; write merged results.json and results.md."""
    from devteam.bench.merge import merge as merge_results

    try:
        merged = merge_results(base, reruns, out)
    except DevteamError as exc:
        fail(exc)
    s = merged.summary
    replaced = sum(len(src.task_ids) for src in merged.metadata.merged[1:])
    console.print(
        f"merged: {replaced} of {s.tasks} tasks from the reruns; {s.passed}/{s.tasks} passed, "
        f"{s.tokens:,} tokens; results in {out}/results.md",
        markup=False,
    )


@app.command("tasks", epilog="Example: devteam bench tasks --suite projects")
def list_tasks(
    suite: Annotated[str, typer.Option(help="humaneval or projects.")] = "humaneval",
    full: Annotated[bool, typer.Option("--full", help="HumanEval: all 164.")] = False,
) -> None:
    """List a suite's task ids (HumanEval: the CPU subset unless --full)."""
    from devteam.bench.tasks import all_task_ids

    try:
        for task_id in all_task_ids(suite, full=full):
            print(task_id)
    except DevteamError as exc:
        fail(exc)


@contextmanager
def _measuring_model(cfg: Any, name: str) -> Iterator[tuple[Any, Any, Any]]:
    """Settings, the model endpoint and a metered client for a measurement (not a run).

    The run's bounds (60,000 tokens, 30 minutes) would stop a measurement part-way: each
    call stays capped by max_tokens_per_call and the request timeout instead."""
    from devteam.bench.endpoint import bench_settings, open_endpoint
    from devteam.events import EventBus, JsonlSink
    from devteam.llm.budget import Budget
    from devteam.llm.client import ChatClient
    from devteam.llm.metered import MeteredModel
    from devteam.sandbox import ensure_image

    settings = bench_settings(cfg, cfg.out)
    ensure_image(settings.sandbox, lambda msg: console.print(f"sandbox: {msg}"))
    cfg.out.mkdir(parents=True, exist_ok=True)
    with open_endpoint(
        settings, cfg.out, injected=False, needs_model=True, progress=console.print
    ) as endpoint:
        assert endpoint.base_url is not None
        events = EventBus(name, [JsonlSink(cfg.out / "model-calls.jsonl")])
        budget = Budget(
            settings.budget.model_copy(update={"max_run_tokens": 10**12, "max_wall_s": 1e9})
        )
        client = MeteredModel(
            ChatClient(
                base_url=endpoint.base_url,
                model=endpoint.model,
                api_key=settings.api_key,
                temperature=0.0,
                seed=cfg.seed,
                timeout_s=settings.request_timeout_s,
            ),
            budget,
            events,
            max_tokens=settings.max_tokens_per_call,
            stream=False,
        )
        yield settings, endpoint, client


@app.command("ceiling", epilog="Example: devteam bench ceiling --every 4 --samples 9")
def ceiling_cmd(
    suite: Annotated[str, typer.Option(help="humaneval or projects.")] = "humaneval",
    model: Model = None,
    base_url: BaseUrl = None,
    tasks: Annotated[str | None, typer.Option(help="Comma-separated task ids.")] = None,
    every: Annotated[
        int | None, typer.Option(help="HumanEval: every N-th problem (4: 41 problems).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N selected tasks.")] = None,
    samples: Annotated[int, typer.Option(help="Samples per task besides candidate 0.")] = 9,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.8,
    seed: Annotated[int, typer.Option(help="Seed of candidate 0; sample i uses seed+i.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder (a rerun keeps finished tasks).")] = Path(
        "bench/out/ceiling"
    ),
) -> None:
    """Measure pass@k, how often selection finds a right candidate, and the tester's accuracy.

    Example: devteam bench ceiling --every 4 --samples 9 --model qwen2.5-coder-1.5b
    """
    from devteam.bench.ceiling import run_ceiling
    from devteam.bench.endpoint import BenchConfig
    from devteam.bench.tasks import humaneval_every, load_tasks

    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        chosen = [t for t in tasks.split(",") if t.strip()] if tasks else None
        if every is not None and suite == "humaneval":
            chosen = [*(chosen or []), *humaneval_every(every)]
        selected = load_tasks(suite, chosen, limit=limit)
        cfg = BenchConfig(suite=suite, model=model, base_url=base_url, seed=seed, out=out)
        with _measuring_model(cfg, "ceiling") as (settings, endpoint, client):
            meta = {
                "model": endpoint.model,
                "samples": samples,
                "temperature": temperature,
                "seed": seed,
                "suite": suite,
                "tasks": [t.id for t in selected],
            }
            run_ceiling(
                selected,
                client,
                settings.sandbox,
                out,
                samples=samples,
                temperature=temperature,
                seed=seed,
                meta=meta,
                progress=console.print,
            )
    except DevteamError as exc:
        fail(exc)
    except KeyboardInterrupt:
        console.print(f"interrupted; finished tasks are in {out}/tasks.jsonl (rerun to go on)")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    console.print(f"wrote {out}/ceiling.md and ceiling.json")


@app.command(
    "candidates",
    epilog="Example: devteam bench candidates bench/out/projects-team-qwen2.5-coder-1.5b-...",
)
def candidates_cmd(
    out: Annotated[Path, typer.Argument(help="A team run's output folder.")],
) -> None:
    """Grade every candidate a team run recorded on the hidden tests: was a right one there?

    Writes candidates.md and candidates.json into the folder; no model is called.
    """
    from devteam.bench.recorded import grade_recorded
    from devteam.config import Settings
    from devteam.sandbox import ensure_image

    try:
        sandbox = Settings().sandbox
        ensure_image(sandbox, lambda msg: console.print(f"sandbox: {msg}"))
        rows = grade_recorded(out, sandbox, progress=console.print)
    except DevteamError as exc:
        fail(exc)
    exists = sum(bool(r.right) for r in rows)
    found = sum(r.chosen_right for r in rows)
    console.print(
        f"a right candidate in {exists} of {len(rows)} tasks, chosen in {found}; "
        f"wrote {out}/candidates.md and candidates.json",
        markup=False,
    )


@app.command("claims", epilog="Example: devteam bench claims bench/out/he41-team --samples 2")
def claims_cmd(
    run: Annotated[Path, typer.Argument(help="A team run's output folder.")],
    model: Model = None,
    base_url: BaseUrl = None,
    samples: Annotated[int, typer.Option(min=1, help="Samples per claimed task.")] = 2,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.8,
    seed: Annotated[int, typer.Option(help="The run's seed; sample i uses seed+1000+i.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder (a rerun keeps finished tasks).")] = Path(
        "bench/out/claims"
    ),
) -> None:
    """Check a team run's `passed` claims against more samples: which rule would withdraw the
    false ones, and how many right ones with them?

    Example: devteam bench claims bench/out/he41-team --samples 2 --model qwen2.5-coder-1.5b
    """
    from devteam.bench.claims import run_claims
    from devteam.bench.endpoint import BenchConfig
    from devteam.bench.results import load_results

    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        suite = load_results(run / "results.json").metadata.suite
        cfg = BenchConfig(suite=suite, model=model, base_url=base_url, seed=seed, out=out)
        with _measuring_model(cfg, "claims") as (settings, _endpoint, client):
            records = run_claims(
                run,
                client,
                settings.sandbox,
                out,
                samples=samples,
                temperature=temperature,
                seed=seed,
                progress=console.print,
            )
    except DevteamError as exc:
        fail(exc)
    except KeyboardInterrupt:
        console.print(f"interrupted; finished tasks are in {out}/tasks.jsonl (rerun to go on)")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    false = sum(not r.right for r in records)
    console.print(
        f"{len(records)} claims, {false} false; wrote {out}/claims.md and claims.json",
        markup=False,
    )
