"""The ceiling tool on the real sandbox, with a scripted model (no inference)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devteam.bench.ceiling import pass_at_k, run_ceiling
from devteam.bench.tasks import load_tasks
from devteam.config import BudgetSettings, DockerSandboxSettings
from devteam.events import EventBus
from devteam.llm.budget import Budget
from devteam.llm.metered import MeteredModel
from devteam.llm.model import Messages
from devteam.llm.scripted import ScriptedModel

WRONG = "FILE: solution.py\n```python\ndef sum_product(numbers):\n    return (0, 0)\n```\n"
TESTS = """FILE: tests/test_solution.py
```python
from solution import sum_product


def test_pair():
    assert len(sum_product([1, 2])) == 2


def test_hand_computed_and_wrong():
    assert sum_product([2, 3]) == (5, 5)
```
"""


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    assert pass_at_k(10, 0, 3) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)


def test_ceiling_counts_right_candidates_selection_and_tester_accuracy(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    (task,) = load_tasks("humaneval", ["8"])
    right = f"FILE: solution.py\n```python\n{task.reference['solution.py']}```\n"
    coder = [WRONG, WRONG, right]  # candidate 0 wrong; of two samples, the second is right

    def respond(role: str, template: str, messages: Messages) -> str:
        return TESTS if role == "tester" else coder.pop(0)

    records = run_ceiling(
        [task],
        MeteredModel(ScriptedModel(respond), Budget(BudgetSettings()), EventBus()),
        docker_sandbox_settings,
        tmp_path / "out",
        samples=2,
        temperature=0.8,
        seed=0,
        meta={"model": "scripted"},
        progress=lambda _m: None,
    )
    (rec,) = records
    assert rec.correct == 1 and [c.passed for c in rec.candidates] == [False, False, True]
    assert rec.pass_at_k[1] == pytest.approx(1 / 3, abs=1e-4) and rec.pass_at_k[3] == 1.0
    # with only candidate 0 nothing right exists; with both samples the examples pick it
    assert rec.reachable == {0: False, 1: False, 2: True}
    assert rec.selected == {0: False, 1: False, 2: True}
    assert rec.selected_plain == {0: False, 1: False, 2: True}
    # inputs varied from the request's examples are run and recorded for every candidate
    assert rec.variants and "sum_product([4, 3, 2, 1])" in rec.variants
    assert rec.candidates[2].probes["sum_product([4, 3, 2, 1])"] == "(10, 24)"
    assert rec.candidates[0].probes["sum_product([4, 3, 2, 1])"] == "(0, 0)"
    # one of the tester's two tests is wrong about the known-good solution
    assert rec.tester_properties == (1, 2) and rec.tester_write == (1, 2)
    data = json.loads((tmp_path / "out" / "ceiling.json").read_text())
    assert data["summary"]["selected"]["2"] == 1
    assert "pass@k" in (tmp_path / "out" / "ceiling.md").read_text()


def test_the_ceiling_command_is_not_bound_by_one_runs_wall_clock_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    """A measurement of many tasks outlasts a run's 30 minutes; it must not stop part-way."""
    from typer.testing import CliRunner

    from devteam import cli
    from tests.badinput.fake_openai import fake_openai

    monkeypatch.setenv("DEVTEAM_BUDGET__MAX_WALL_S", "0.001")  # spent before the first call
    out = tmp_path / "ceiling"
    with fake_openai("good") as (base_url, state):
        res = CliRunner().invoke(
            cli.app,
            ["bench", "ceiling", "--tasks", "8", "--samples", "1", "--base-url", base_url,
             "--model", "fake", "--out", str(out)],
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "budget" not in res.output.lower()
    data = json.loads((out / "ceiling.json").read_text())
    assert [t["task_id"] for t in data["tasks"]] == ["HumanEval/8"]
    assert len(state.requests) == 4  # candidate 0, one sample, the tester's two prompts
