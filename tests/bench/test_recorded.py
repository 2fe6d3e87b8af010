"""`devteam bench candidates`: every candidate a team run recorded, graded on the hidden tests.

A real team run (scripted model, real Docker sandbox, real checkpoint store), then the
grading of what its checkpoint holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli
from devteam.bench.harness import BenchConfig, run_bench
from devteam.bench.tasks import load_tasks
from devteam.config import DockerSandboxSettings
from devteam.exit_codes import ExitCode
from devteam.llm.model import Messages
from devteam.llm.scripted import ScriptedModel, solving_responder

pytestmark = pytest.mark.docker

WRONG = "def has_close_elements(numbers, threshold):\n    return False\n"
OWN_TEST = {"tests/test_own.py": "import solution\n\n\ndef test_imports():\n    assert solution\n"}


@pytest.fixture(autouse=True)
def _sandbox(docker_sandbox_settings: DockerSandboxSettings) -> None:
    """The real sandbox, with its image built (skips without Docker; fails under CI)."""


def test_a_wrong_first_answer_and_right_samples_are_graded_one_by_one(tmp_path: Path) -> None:
    (task,) = load_tasks("humaneval", ["HumanEval/0"])
    right = solving_responder(task.reference, OWN_TEST)
    coder_calls: list[str] = []

    def respond(role: str, template: str, messages: Messages) -> str:
        if template == "solve":  # candidate 0 is wrong, every sample is right
            coder_calls.append(template)
            if len(coder_calls) == 1:
                return f"FILE: {task.files[0]}\n```python\n{WRONG}```\n"
        return right(role, template, messages)

    out = tmp_path / "team"
    run_bench(
        BenchConfig(suite="humaneval", strategy="team", tasks=[task.id], out=out),
        model_factory=lambda t: ScriptedModel(respond),
        progress=lambda _m: None,
    )
    res = CliRunner().invoke(cli.app, ["bench", "candidates", str(out)])
    assert res.exit_code == 0, res.output
    (row,) = json.loads((out / "candidates.json").read_text())
    graded = {c["id"]: c for c in row["candidates"]}
    assert len(graded) == len(coder_calls) >= 2
    assert not graded[0]["passed"] and graded[0]["failing"] >= 1 and not graded[0]["error"]
    assert all(c["passed"] for i, c in graded.items() if i != 0)
    assert row["chosen"] != 0 and graded[row["chosen"]]["passed"]
    assert "a right candidate in 1 of 1 tasks, chosen in 1" in res.output
    table = (out / "candidates.md").read_text()
    assert "| HumanEval/0 |" in table and "0 draft: 1" in table


def test_a_run_that_records_no_candidates_is_one_sentence(tmp_path: Path) -> None:
    (task,) = load_tasks("humaneval", ["HumanEval/8"])
    out = tmp_path / "single"
    run_bench(
        BenchConfig(suite="humaneval", strategy="single", tasks=[task.id], out=out),
        model_factory=lambda t: ScriptedModel(solving_responder(task.reference, {})),
        progress=lambda _m: None,
    )
    res = CliRunner().invoke(cli.app, ["bench", "candidates", str(out)])
    assert res.exit_code == ExitCode.BAD_INPUT, res.output
    assert "only a team run records candidates" in res.output and "Traceback" not in res.output
    missing = CliRunner().invoke(cli.app, ["bench", "candidates", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "No results file" in missing.output
