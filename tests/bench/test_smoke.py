"""Smoke test of the bench harness: a scripted model, the real Docker sandbox, real grading.

Keeps `devteam bench` from rotting in CI: a few tasks per strategy, figures checked in the
JSON and Markdown it writes. No real model runs here (timings belong in bench/RESULTS.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devteam import cli
from devteam.bench.harness import BenchConfig, run_bench
from devteam.bench.tasks import Task, load_tasks
from devteam.config import DockerSandboxSettings
from devteam.exit_codes import ExitCode
from devteam.llm.model import Messages
from devteam.llm.scripted import ScriptedModel

pytestmark = pytest.mark.docker

WRONG_HAS_CLOSE = "def has_close_elements(numbers, threshold):\n    return False\n"


def _files(files: dict[str, str]) -> str:
    return "\n".join(f"FILE: {path}\n```python\n{text}```\n" for path, text in files.items())


def _own_test(task: Task) -> dict[str, str]:
    module = task.files[0].removesuffix(".py")
    return {task.test_file: f"import {module}\n\n\ndef test_imports():\n    assert {module}\n"}


def _task_of(tasks: list[Task], messages: Messages) -> Task:
    text = str(messages[1]["content"])
    return next(t for t in tasks if t.text.strip() in text)


def reference_model(tasks: list[Task], *, with_tests: bool) -> Callable[[Task], ScriptedModel]:
    """A scripted model that answers every task with its reference solution."""

    def respond(role: str, template: str, messages: Messages) -> str:
        task = _task_of(tasks, messages)
        files = dict(task.reference)
        if with_tests:
            files |= _own_test(task)
        return _files(files)

    return lambda task: ScriptedModel(respond)


@pytest.fixture(autouse=True)
def _sandbox(docker_sandbox_settings: DockerSandboxSettings) -> None:
    """The real sandbox, with its image built (skips without Docker; fails under CI)."""


def _load(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text())


def test_single_with_correct_replies_passes_the_hidden_tests(tmp_path: Path) -> None:
    ids = ["HumanEval/0", "HumanEval/8"]
    tasks = load_tasks("humaneval", ids)
    out = tmp_path / "single"
    results = run_bench(
        BenchConfig(suite="humaneval", strategy="single", tasks=ids, out=out),
        model_factory=reference_model(tasks, with_tests=False),
        progress=lambda _m: None,
    )
    assert results.summary.passed == 2 and results.summary.pass_at_1 == 1.0
    data = _load(out)
    assert data["metadata"]["strategy"] == "single"
    assert data["metadata"]["task_ids"] == ids
    assert data["metadata"]["server"] == "injected"
    assert data["summary"]["tokens"] > 0 and data["summary"]["tokens_per_solved"] > 0
    for record in data["tasks"]:
        assert record["passed"] and record["model_calls"] == 1
        assert record["prompt_tokens"] > 0 and record["completion_tokens"] > 0
        assert record["files"] == ["solution.py"]
        assert record["wall_s"] >= record["model_s"] >= 0
    md = (out / "results.md").read_text()
    assert "| HumanEval/0 | pass | answered | 1 |" in md
    assert len((out / "tasks.jsonl").read_text().splitlines()) == 2
    # The solver never saw the hidden tests: not in its workspace, not in any prompt.
    assert not list((out / "workspaces").rglob("bench_hidden_tests"))
    audit = (out / "state" / "humaneval-0" / "runs" / "humaneval-0" / "audit.jsonl").read_text()
    assert "def check(candidate)" not in audit


def test_a_wrong_solution_fails_the_hidden_tests(tmp_path: Path) -> None:
    out = tmp_path / "wrong"
    results = run_bench(
        BenchConfig(suite="humaneval", strategy="single", tasks=["0"], out=out),
        model_factory=lambda task: ScriptedModel([_files({"solution.py": WRONG_HAS_CLOSE})]),
        progress=lambda _m: None,
    )
    (record,) = results.tasks
    assert not record.passed and record.status == "answered"
    assert record.hidden_exit_code == 1 and record.hidden_failing
    assert results.summary.passed == 0 and results.summary.tokens_per_solved is None
    assert "| HumanEval/0 | FAIL |" in (out / "results.md").read_text()


def test_reflect_fixes_from_its_own_failing_test_then_passes(tmp_path: Path) -> None:
    """HumanEval/0: a wrong first try that its own test catches, then the fix; /8 right away."""
    ids = ["HumanEval/0", "HumanEval/8"]
    tasks = load_tasks("humaneval", ids)
    catching_test = {
        "tests/test_solution.py": (
            "from solution import has_close_elements\n\n\n"
            "def test_close():\n    assert has_close_elements([1.0, 1.1], 0.5)\n"
        )
    }
    fixes: list[Messages] = []

    def respond(role: str, template: str, messages: Messages) -> str:
        task = _task_of(tasks, messages)
        if task.id == "HumanEval/0" and len(messages) == 2:
            return _files({"solution.py": WRONG_HAS_CLOSE} | catching_test)
        if len(messages) > 2:
            fixes.append(messages)
        return _files(dict(task.reference) | _own_test(task))

    out = tmp_path / "reflect"
    results = run_bench(
        BenchConfig(suite="humaneval", strategy="reflect", tasks=ids, out=out),
        model_factory=lambda task: ScriptedModel(respond),
        progress=lambda _m: None,
    )
    first, second = results.tasks
    assert (first.passed, first.status, first.rounds, first.model_calls) == (
        True,
        "passed",
        1,
        2,
    )
    assert (second.passed, second.status, second.rounds, second.model_calls) == (
        True,
        "passed",
        0,
        1,
    )
    assert first.sandbox_s > 0 and first.prompt_tokens > second.prompt_tokens
    # The fix round saw the sandbox's verdict on its own test, never the hidden tests.
    (fix,) = fixes
    assert "test_close" in fix[-1]["content"]
    assert "def check(candidate)" not in json.dumps(fix)
    assert results.summary.passed == 2 and results.summary.model_calls == 3


def test_cli_reference_run_with_concurrency_and_compare(tmp_path: Path) -> None:
    runner = CliRunner()
    outs = []
    for n in (1, 2):
        out = tmp_path / f"ref{n}"
        res = runner.invoke(
            cli.app,
            [
                "bench", "run", "--suite", "projects", "--strategy", "reference",
                "--tasks", "bank_account,units", "--concurrency", str(n), "--out", str(out),
            ],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        assert "[2/2]" in res.output and "passed 2/2" in res.output
        data = _load(out)
        assert data["summary"]["passed"] == 2 and data["metadata"]["concurrency"] == n
        assert data["metadata"]["server"] == "none"
        outs.append(str(out))
    res = runner.invoke(cli.app, ["bench", "compare", "--per-task", *outs])
    assert res.exit_code == 0, res.output
    rows = [line for line in res.output.splitlines() if line.startswith("| projects |")]
    assert len(rows) == 2 and all("| reference |" in r and "| 100.0% |" in r for r in rows)
    per_task = [line for line in res.output.splitlines() if line.startswith("| projects/")]
    assert len(per_task) == 2 and all(line.count("pass · ") == 2 for line in per_task)


def test_cli_model_server_down_is_one_sentence(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli.app,
        [
            "bench", "run", "--suite", "projects", "--limit", "1",
            "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "down"),
        ],
    )  # fmt: skip
    assert res.exit_code == ExitCode.INFRASTRUCTURE  # the model server is down
    assert "not reachable" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("strategy", ["team", "team:solo"])
def test_team_strategies_run_whole_teams(tmp_path: Path, strategy: str) -> None:
    """The default and solo teams, every role answered as by a model that gets it right."""
    from devteam.llm.scripted import solving_responder

    ids = ["projects/bank_account", "HumanEval/8"]
    suites = {"projects/bank_account": "projects", "HumanEval/8": "humaneval"}
    for task_id in ids:
        out = tmp_path / task_id.replace("/", "-")
        results = run_bench(
            BenchConfig(suite=suites[task_id], strategy=strategy, tasks=[task_id], out=out),
            model_factory=lambda t: ScriptedModel(solving_responder(t.reference, _own_test(t))),
            progress=lambda _m: None,
        )
        (record,) = results.tasks
        assert record.passed, record.reason
        assert record.status == "passed", record.reason
        # the default team: a two-file request without examples is planned, sampled for
        # agreement (4 more candidates), reviewed and accepted; a one-file request whose
        # examples pass costs candidate 0 and the tester's tests
        expected = {"projects/bank_account": 9, "HumanEval/8": 2} if strategy == "team" else {}
        assert record.model_calls == expected.get(task_id, 1)
        assert record.files and all(not f.startswith("tests/") for f in record.files)
        assert _load(out)["metadata"]["strategy"] == strategy


def test_an_interrupted_run_writes_the_results_of_its_finished_tasks(tmp_path: Path) -> None:
    """Ctrl-C in the second task: results.json holds the first, and --resume runs the rest."""
    tasks = load_tasks("humaneval", ["0", "8"])
    solve = reference_model(tasks, with_tests=False)

    def factory(task: Task) -> ScriptedModel:
        if task.id == "HumanEval/8":
            raise KeyboardInterrupt
        return solve(task)

    cfg = BenchConfig(suite="humaneval", strategy="single", tasks=["0", "8"], out=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_bench(cfg, model_factory=factory, progress=lambda _m: None)
    data = _load(tmp_path)
    assert data["metadata"]["task_ids"] == ["HumanEval/0"]
    assert data["metadata"]["unfinished"] == ["HumanEval/8"]
    assert data["summary"]["tasks"] == 1 and data["summary"]["passed"] == 1
    assert (
        "interrupted**: 1 selected tasks did not finish (HumanEval/8)"
        in (tmp_path / "results.md").read_text()
    )

    resumed = run_bench(
        cfg.model_copy(update={"resume": True}), model_factory=solve, progress=lambda _m: None
    )
    assert resumed.summary.passed == 2 and resumed.metadata.unfinished == []
    assert _load(tmp_path)["metadata"]["task_ids"] == ["HumanEval/0", "HumanEval/8"]


def test_cli_resume_keeps_finished_tasks_and_reruns_the_unfinished(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ref"
    base = [
        "bench", "run", "--suite", "projects", "--strategy", "reference",
        "--tasks", "bank_account,units", "--out", str(out),
    ]  # fmt: skip
    assert runner.invoke(cli.app, base).exit_code == 0
    # As if interrupted inside the second task: its record is missing, its leftovers stay.
    jsonl = out / "tasks.jsonl"
    first, second = jsonl.read_text().splitlines()
    jsonl.write_text(first + "\n")
    unfinished = json.loads(second)["task_id"].split("/")[-1]
    stale = next((out / "workspaces").glob(f"*{unfinished}*")) / "stale.py"
    stale.write_text("left by the interrupted attempt\n")
    res = runner.invoke(cli.app, [*base, "--resume"])
    assert res.exit_code == 0, res.output
    assert "1 done before, 1 to run" in res.output and "[2/2]" in res.output
    assert not stale.exists()
    data = _load(out)
    assert data["summary"]["passed"] == 2 and len(jsonl.read_text().splitlines()) == 2
    segments = data["metadata"]["segments"]
    assert [s["tasks_done_before"] for s in segments] == [0, 1]
    assert all(s["git_commit"] == data["metadata"]["git_commit"] for s in segments)
    assert "this run had 2 starts" in (out / "results.md").read_text()
    # Other options, or no folder: one sentence, nothing touched.
    res = runner.invoke(cli.app, [*base[:-4], "--tasks", "units", "--out", str(out), "--resume"])
    assert res.exit_code == 1 and "these differ: tasks=" in res.output
    assert len(jsonl.read_text().splitlines()) == 2
    res = runner.invoke(cli.app, [*base[:-2], "--out", str(tmp_path / "none"), "--resume"])
    assert res.exit_code == 1 and "--resume needs --out" in res.output
    # A folder from before run.json existed: resumable, and the results say what is unknown.
    (out / "run.json").unlink()
    jsonl.write_text(first + "\n")
    res = runner.invoke(cli.app, [*base, "--resume"])
    assert res.exit_code == 0, res.output
    segments = _load(out)["metadata"]["segments"]
    assert segments[0]["git_commit"] is None and "older harness" in segments[0]["note"]
