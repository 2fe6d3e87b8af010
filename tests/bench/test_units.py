"""The bench's pure parts: task selection, file naming, grading's file filter, summaries."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli
from devteam.bench.errors import BenchError
from devteam.bench.grading import is_source_file, source_files
from devteam.bench.results import TaskResult, summarise
from devteam.bench.strategies import (
    Reflect,
    Single,
    TeamStrategy,
    assign_paths,
    make_strategy,
    safe_path,
)
from devteam.bench.tasks import HUMANEVAL_CPU_SUBSET, load_tasks, project_names
from devteam.llm.parsing import extract_files


def test_the_cpu_subset_is_every_8th_problem() -> None:
    assert HUMANEVAL_CPU_SUBSET[:3] == ("HumanEval/0", "HumanEval/8", "HumanEval/16")
    assert len(HUMANEVAL_CPU_SUBSET) == 21 and HUMANEVAL_CPU_SUBSET[-1] == "HumanEval/160"
    assert [t.id for t in load_tasks("humaneval")] == list(HUMANEVAL_CPU_SUBSET)
    assert len(load_tasks("humaneval", full=True)) == 164


def test_task_selection_by_number_name_and_limit() -> None:
    assert [t.id for t in load_tasks("humaneval", ["8", "HumanEval/3"])] == [
        "HumanEval/8",
        "HumanEval/3",
    ]
    assert [t.id for t in load_tasks("humaneval", limit=2)] == ["HumanEval/0", "HumanEval/8"]
    assert [t.id for t in load_tasks("projects", ["units"])] == ["projects/units"]


@pytest.mark.parametrize(
    "suite,ids,message",
    [
        ("nope", None, "Unknown suite 'nope'"),
        ("humaneval", ["HumanEval/999"], "Unknown task id(s) in the humaneval suite"),
        ("projects", ["nothing"], "Unknown task id(s) in the projects suite: projects/nothing"),
    ],
)
def test_bad_selection_is_one_sentence(suite: str, ids: list[str] | None, message: str) -> None:
    with pytest.raises(BenchError, match=r"^" + message.replace("(", r"\(").replace(")", r"\)")):
        load_tasks(suite, ids)


def test_humaneval_task_text_names_the_file_and_hides_the_tests() -> None:
    (task,) = load_tasks("humaneval", ["32"])
    assert task.text.startswith("Write a Python module solution.py that defines the function")
    assert "def find_zero(xs: list):" in task.text and "def poly(" in task.text
    assert "check" not in task.text and "METADATA" not in task.text
    (hidden,) = task.hidden_tests.values()
    assert "from solution import find_zero" in hidden and "def test_find_zero():" in hidden


def test_every_project_names_its_files_in_the_text() -> None:
    names = project_names()
    assert len(names) >= 5
    for task in load_tasks("projects"):
        for f in task.files:
            assert f in task.text, (task.id, f)
        assert set(task.reference) == set(task.files)
        assert "hidden" not in task.text


def test_strategy_names() -> None:
    assert isinstance(make_strategy("single"), Single)
    assert isinstance(make_strategy("reflect"), Reflect)
    team = make_strategy("team")
    assert isinstance(team, TeamStrategy) and team.team is None and team.name == "team"
    solo = make_strategy("team:solo")
    assert isinstance(solo, TeamStrategy) and solo.team == "solo"
    with pytest.raises(BenchError, match="Unknown strategy 'magic'"):
        make_strategy("magic")
    with pytest.raises(BenchError, match=r"No team file at teams/missing\.yaml"):
        make_strategy("teams/missing.yaml")


def test_a_team_file_path_is_a_strategy(tmp_path: Path) -> None:
    path = tmp_path / "my-team.yaml"
    path.write_text("name: mine\n")
    strategy = make_strategy(str(path))
    assert isinstance(strategy, TeamStrategy) and strategy.team == path.resolve()


def test_assign_paths_names_unnamed_blocks_and_drops_escapes() -> None:
    reply = (
        "FILE: ../evil.py\n```python\nx = 1\n```\n"
        "```python\ndef a():\n    return 1\n```\n"
        "FILE: pkg/b.py\n```python\ndef b():\n    return 2\n```\n"
        "```python\nimport pytest\n\ndef test_a():\n    assert True\n```\n"
    )
    files = assign_paths(extract_files(reply), ["a.py", "b.py"], "tests/test_a.py")
    assert set(files) == {"a.py", "b.py", "tests/test_a.py"}
    no_tests = assign_paths(extract_files(reply), ["a.py", "b.py"], None)
    assert set(no_tests) == {"a.py", "b.py"}
    assert safe_path("./x/y.py") == "x/y.py"
    assert safe_path("/etc/passwd") is None and safe_path(".git/config") is None


def test_grading_takes_only_source_files() -> None:
    files = {
        "solution.py": "",
        "pkg/mod.py": "",
        "tests/test_solution.py": "",
        "test_x.py": "",
        "x_test.py": "",
        "conftest.py": "",
        "README.md": "",
        "bench_hidden_tests/test_y.py": "",
        ".hidden/z.py": "",
    }
    assert sorted(source_files(files)) == ["pkg/mod.py", "solution.py"]
    assert not is_source_file("../up.py")


def test_summary_figures() -> None:
    def rec(passed: bool, tokens: int, wall: float, model: float, sandbox: float) -> TaskResult:
        return TaskResult(
            task_id="t",
            passed=passed,
            status="x",
            prompt_tokens=tokens,
            completion_tokens=tokens,
            wall_s=wall,
            model_s=model,
            sandbox_s=sandbox,
            other_s=wall - model - sandbox,
        )

    s = summarise(
        [rec(True, 100, 10, 8, 1), rec(False, 50, 30, 27, 2), rec(True, 50, 20, 19, 0)], 60
    )
    assert (s.tasks, s.passed, s.tokens) == (3, 2, 400)
    assert s.pass_at_1 == pytest.approx(0.6667, abs=1e-4)
    assert s.tokens_per_solved == 200.0
    assert s.median_wall_s == 20.0
    assert s.overhead_share == pytest.approx(3 / 60, abs=1e-4)
    assert s.model_share == pytest.approx(54 / 60, abs=1e-4)
    assert s.tasks_per_hour == 180.0


@pytest.mark.parametrize(
    "args,message",
    [
        (["--suite", "nope"], "Unknown suite 'nope'"),
        (["--strategy", "magic"], "Unknown strategy 'magic'"),
        (["--tasks", "HumanEval/999"], "Unknown task id(s)"),
        (["--strategy", "no/such/team.yaml"], "No team file at no/such/team.yaml"),
        (["--concurrency", "0"], "invalid option"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli.app, ["bench", "run", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def test_cli_compare_of_a_missing_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["bench", "compare", str(tmp_path / "none")])
    assert result.exit_code == 1 and "No results file" in result.output


def test_a_task_cut_short_by_a_stopping_bench_is_not_recorded(tmp_path: Path) -> None:
    """One task crashes the bench while another runs: the other's late result is dropped."""
    from devteam.bench.harness import _run_all

    release = threading.Event()
    tasks = load_tasks("projects", ["bank_account", "units"])

    class Runner:
        def run(self, task: object) -> TaskResult:
            if getattr(task, "id", "").endswith("units"):
                raise RuntimeError("the model server went away")
            release.wait(10)
            return TaskResult(task_id="projects/bank_account", passed=False, status="error")

    jsonl = tmp_path / "tasks.jsonl"
    timer = threading.Timer(0.5, release.set)
    timer.start()
    with pytest.raises(RuntimeError, match="went away"):
        _run_all(Runner(), tasks, 2, jsonl, lambda msg: None)  # type: ignore[arg-type]
    release.wait(10)
    timer.join()
    time.sleep(0.3)  # the cut-short task returns after the bench stopped
    assert not jsonl.exists() or jsonl.read_text() == ""


def test_the_ablation_teams_load_and_differ_from_the_default_in_one_thing() -> None:
    from devteam.teams import load_team

    default = load_team("default")
    teams = {
        p.stem: load_team(p)
        for p in (Path(__file__).parents[2] / "devteam/bench/teams").glob("*.yaml")
    }
    assert set(teams) == {
        "evidence-no-tester",
        "evidence-no-sampling",
        "evidence-no-repair",
        "evidence-always-plan",
        "evidence-anchored-2",
        "evidence-varied",
        "evidence-repair-from-code",
    }
    assert "tester" not in teams["evidence-no-tester"].roles
    assert teams["evidence-no-sampling"].loop.samples == 0 != default.loop.samples
    assert teams["evidence-no-repair"].loop.repairs == 0 != default.loop.repairs
    assert teams["evidence-always-plan"].loop.plan == "always" != default.loop.plan
    anchored = teams["evidence-anchored-2"].loop
    assert anchored.samples_anchored == 2 != default.loop.samples_anchored
    assert anchored.model_copy(update={"samples_anchored": 0}) == default.loop
    # the varied-inputs experiment is evidence-anchored-2 plus one thing
    varied = teams["evidence-varied"].loop
    assert varied.vary_inputs and not default.loop.vary_inputs
    assert varied.model_copy(update={"vary_inputs": False}) == anchored
    code = teams["evidence-repair-from-code"].loop
    assert code.model_copy(update={"repair_from": "request"}) == default.loop
    for team in teams.values():
        assert team.loop.kind == "evidence"


def test_the_commit_recorded_is_devteams_own_never_a_surrounding_repositorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    import devteam
    from devteam.bench import provenance

    checkout = Path(devteam.__file__).resolve().parents[1]
    head = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert provenance.devteam_git("rev-parse", "HEAD") == head  # devteam's checkout: its commit

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "app.py").write_text("x = 1\n")
    git("add", "app.py")
    git("-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-m", "the user's")
    installed = tmp_path / ".venv/lib/python3.11/site-packages/devteam/__init__.py"
    installed.parent.mkdir(parents=True)
    installed.write_text("")
    monkeypatch.setattr(devteam, "__file__", str(installed))
    # installed in a venv inside a user's repository
    assert provenance.devteam_git("rev-parse", "HEAD") is None
    (tmp_path / "devteam").mkdir()
    (tmp_path / "devteam/__init__.py").write_text("")  # at the top, but not tracked there
    monkeypatch.setattr(devteam, "__file__", str(tmp_path / "devteam/__init__.py"))
    assert provenance.devteam_git("rev-parse", "HEAD") is None


def test_the_default_output_folder_is_under_the_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devteam.bench.harness import BenchConfig, _out_dir
    from devteam.bench.strategies import make_strategy

    monkeypatch.setenv("DEVTEAM_STATE_DIR", str(tmp_path / "state"))
    out = _out_dir(BenchConfig(suite="humaneval"), make_strategy("single"), "m")
    assert out.parent == tmp_path / "state" / "bench" and out.name.startswith("humaneval-single-m-")


def test_the_token_budget_per_task_is_max_run_tokens_and_old_runs_still_resume(
    tmp_path: Path,
) -> None:
    import json

    from devteam.bench.endpoint import BenchConfig, bench_settings
    from devteam.bench.results import Segment
    from devteam.bench.resume import RUN_FILE, resume, start

    cfg = BenchConfig(suite="projects", strategy="reference", max_run_tokens=9000)
    assert bench_settings(cfg, tmp_path).budget.max_run_tokens == 9000
    help_text = CliRunner().invoke(cli.app, ["bench", "run", "--help"]).output
    assert "--max-tokens" in help_text  # the flag keeps its name
    # a run.json written when the option was called max_tokens resumes with the same value
    start(tmp_path, cfg, Segment(started="then"))
    run_file = tmp_path / RUN_FILE
    data = json.loads(run_file.read_text())
    data["options"]["max_tokens"] = data["options"].pop("max_run_tokens")
    run_file.write_text(json.dumps(data))
    run, done = resume(tmp_path, cfg, Segment(started="now"), [])
    assert run.options["max_run_tokens"] == 9000 and "max_tokens" not in run.options
    assert done == [] and len(run.segments) == 2
    with pytest.raises(BenchError, match="max_run_tokens=9000"):
        resume(tmp_path, cfg.model_copy(update={"max_run_tokens": 100}), Segment(started="x"), [])
