"""``devteam bench merge``: a rerun of some tasks replaces them in an earlier run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli
from devteam.bench.errors import BenchError
from devteam.bench.merge import merge, merge_results
from devteam.bench.results import (
    BenchResults,
    Metadata,
    Segment,
    TaskResult,
    load_results,
    summarise,
)


def _task(task_id: str, passed: bool, tokens: int, wall: float) -> TaskResult:
    return TaskResult(
        task_id=task_id,
        passed=passed,
        status="passed" if passed else "failed",
        model_calls=5,
        prompt_tokens=tokens - 100,
        completion_tokens=100,
        wall_s=wall,
        model_s=wall - 2,
        sandbox_s=1.5,
        other_s=0.5,
        grade_s=1.0,
    )


def _run(commit: str, tasks: list[TaskResult], **meta: object) -> BenchResults:
    fields: dict[str, object] = {
        "devteam_version": "0.1.0",
        "git_commit": commit,
        "suite": "humaneval",
        "strategy": "team",
        "task_ids": [t.task_id for t in tasks],
        "concurrency": 1,
        "max_rounds": 3,
        "temperature": 0.0,
        "seed": 0,
        "model": "qwen2.5-coder-1.5b",
        "model_sha256": "ab" * 32,
        "server": "embedded-llama-cpp",
        "started": f"start-{commit}",
        "finished": f"end-{commit}",
        "segments": [Segment(started=f"start-{commit}", git_commit=commit)],
    }
    fields.update(meta)
    metadata = Metadata.model_validate(fields)
    return BenchResults(metadata=metadata, summary=summarise(tasks, 1.0), tasks=tasks)


BASE = _run(
    "aaaa",
    [
        _task("HumanEval/0", True, 1000, 100.0),
        _task("HumanEval/8", False, 5000, 500.0),
        _task("HumanEval/16", False, 3000, 300.0),
    ],
)
RERUN = _run("bbbb", [_task("HumanEval/8", True, 2000, 200.0)])


def test_a_rerun_replaces_its_tasks_and_the_summary_follows() -> None:
    merged = merge_results(BASE, [("rerun", RERUN)], base_name="base")
    assert [t.task_id for t in merged.tasks] == ["HumanEval/0", "HumanEval/8", "HumanEval/16"]
    assert merged.tasks[1].passed and merged.tasks[1].wall_s == 200.0
    s = merged.summary
    assert (s.tasks, s.passed, s.tokens) == (3, 2, 6000)
    assert s.tokens_per_solved == 3000.0
    assert s.median_wall_s == 200.0
    # throughput over the merged tasks' own time: wall + grading
    assert s.elapsed_s == pytest.approx(603.0)
    assert s.tasks_per_hour == pytest.approx(round(3 * 3600 / 603.0, 1))
    m = merged.metadata
    assert m.git_commit is None
    assert [(src.path, src.git_commit, src.task_ids) for src in m.merged] == [
        ("base", "aaaa", ["HumanEval/0", "HumanEval/16"]),
        ("rerun", "bbbb", ["HumanEval/8"]),
    ]
    assert [seg.git_commit for seg in m.segments] == ["aaaa", "bbbb"]
    assert m.finished == "end-bbbb"


def test_the_last_rerun_wins_and_new_tasks_are_added() -> None:
    later = _run(
        "cccc", [_task("HumanEval/8", False, 9000, 900.0), _task("HumanEval/24", True, 10, 1.0)]
    )
    merged = merge_results(BASE, [("r1", RERUN), ("r2", later)])
    assert [t.task_id for t in merged.tasks][-1] == "HumanEval/24"
    assert merged.tasks[1].prompt_tokens == 8900
    assert [src.task_ids for src in merged.metadata.merged] == [
        ["HumanEval/0", "HumanEval/16"],
        [],
        ["HumanEval/8", "HumanEval/24"],
    ]


@pytest.mark.parametrize(
    "meta,message",
    [
        ({"strategy": "reflect"}, "its strategy is 'reflect'"),
        ({"model": "qwen2.5-coder-0.5b"}, "its model is 'qwen2.5-coder-0.5b'"),
        ({"seed": 1}, "its seed is 1"),
        ({"model_sha256": "cd" * 32}, "another model file"),
        ({"concurrency": 2}, "its concurrency is 2"),
    ],
)
def test_runs_that_are_not_comparable_are_refused(meta: dict[str, object], message: str) -> None:
    other = _run("bbbb", [_task("HumanEval/8", True, 10, 1.0)], **meta)
    with pytest.raises(BenchError, match=message):
        merge_results(BASE, [("other", other)])


def _write(folder: Path, res: BenchResults) -> Path:
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(res.model_dump_json(indent=2), encoding="utf-8")
    return folder


def test_cli_merge_writes_results_and_refuses_a_used_folder(tmp_path: Path) -> None:
    base = _write(tmp_path / "base", BASE)
    rerun = _write(tmp_path / "rerun", RERUN)
    out = tmp_path / "merged"
    runner = CliRunner()
    result = runner.invoke(cli.app, ["bench", "merge", str(base), str(rerun), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 of 3 tasks from the reruns; 2/3 passed" in result.output
    merged = load_results(out)
    assert merged.summary.passed == 2
    assert json.loads((out / "results.json").read_text())["metadata"]["merged"][1]["task_ids"] == [
        "HumanEval/8"
    ]
    md = (out / "results.md").read_text()
    assert "merged from 2 runs" in md and f"{rerun}, commit bbbb: HumanEval/8" in md

    again = runner.invoke(cli.app, ["bench", "merge", str(base), str(rerun), "--out", str(out)])
    assert again.exit_code == 1 and "is not empty" in again.output
    with pytest.raises(BenchError, match="one of the inputs"):
        merge(base, [rerun], tmp_path / "rerun")


def test_cli_merge_of_a_missing_run_is_one_line(tmp_path: Path) -> None:
    base = _write(tmp_path / "base", BASE)
    result = CliRunner().invoke(
        cli.app, ["bench", "merge", str(base), str(tmp_path / "none"), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 1 and "No results file" in result.output
    assert not (tmp_path / "m").exists()


def test_a_rerun_of_an_interrupted_runs_unfinished_tasks_completes_it() -> None:
    partial = _run("aaaa", BASE.tasks[:2], unfinished=["HumanEval/16"])
    rest = _run("bbbb", [_task("HumanEval/16", True, 10, 1.0)])
    merged = merge_results(partial, [("rest", rest)])
    assert merged.metadata.unfinished == []
    assert [t.task_id for t in merged.tasks] == ["HumanEval/0", "HumanEval/8", "HumanEval/16"]
    assert merge_results(partial, [("rerun", RERUN)]).metadata.unfinished == ["HumanEval/16"]
