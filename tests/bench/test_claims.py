"""`devteam bench claims`: a team run's `passed` claims checked against more samples.

The rules on records given directly; then a real team run (scripted model, real Docker
sandbox, real checkpoint store) whose claim is checked by two scripted samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devteam.bench.claims import ClaimRecord, ClaimSample, run_claims, withdrawn
from devteam.bench.harness import BenchConfig, run_bench
from devteam.bench.tasks import load_tasks
from devteam.config import BudgetSettings, DockerSandboxSettings
from devteam.events import EventBus
from devteam.llm.budget import Budget
from devteam.llm.metered import MeteredModel
from devteam.llm.model import Messages
from devteam.llm.scripted import ScriptedModel, solving_responder


def _sample(*, examples: bool = True, stated: bool = False, other: bool = False) -> ClaimSample:
    differs = [*(["f([3, 2, 1])"] if stated else []), *(["f('x')"] if other else [])]
    return ClaimSample(
        seed=1000,
        passed=True,
        working=True,
        all_examples=examples,
        differs=differs,
        differs_stated=differs[:1] if stated else [],
    )


def test_the_rules_withdraw_a_claim_on_what_the_samples_show() -> None:
    def rec(*samples: ClaimSample, examples: int = 2) -> ClaimRecord:
        return ClaimRecord(
            task_id="t", chosen=0, right=True, examples=examples, samples=list(samples)
        )

    agree, varied, tester_only = _sample(), _sample(stated=True), _sample(other=True)
    fails = _sample(examples=False, stated=True)
    assert not any(withdrawn(rec(agree), 1, r) for r in ("stated", "stated_or_none", "any"))
    assert all(withdrawn(rec(varied), 1, r) for r in ("stated", "stated_or_none", "any"))
    # an input only the tester made up counts under "any" alone
    assert [withdrawn(rec(tester_only), 1, r) for r in ("stated", "stated_or_none", "any")] == [
        False,
        False,
        True,
    ]
    # a sample that fails an example is no witness: it neither confirms nor contradicts
    assert not withdrawn(rec(fails), 1, "stated") and withdrawn(rec(fails), 1, "stated_or_none")
    # m counts: the second sample is seen only at m = 2
    assert not withdrawn(rec(agree, varied), 1, "stated") and withdrawn(
        rec(agree, varied), 2, "stated"
    )
    # no example in the request: the claim rests on sampled agreement already
    assert not withdrawn(rec(varied, examples=0), 1, "any")


# adjacent pairs in the given order: passes both of HumanEval/0's examples, wrong in general
ADJACENT = """def has_close_elements(numbers, threshold):
    return any(abs(a - b) < threshold for a, b in zip(numbers, numbers[1:]))
"""


@pytest.mark.docker
def test_a_claim_is_checked_against_samples_graded_on_the_hidden_tests(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    (task,) = load_tasks("humaneval", ["HumanEval/0"])
    tests = {"tests/test_own.py": "import solution\n\n\ndef test_imports():\n    assert solution\n"}
    run = tmp_path / "team"
    results = run_bench(
        BenchConfig(suite="humaneval", strategy="team", tasks=[task.id], out=run),
        model_factory=lambda t: ScriptedModel(solving_responder(task.reference, tests)),
        progress=lambda _m: None,
    )
    assert results.tasks[0].status == "passed"
    replies = [task.reference["solution.py"], ADJACENT]

    def respond(role: str, template: str, messages: Messages) -> str:
        assert template == "solve"
        return f"FILE: solution.py\n```python\n{replies.pop(0)}```\n"

    out = tmp_path / "claims"

    def check() -> list[ClaimRecord]:
        model = MeteredModel(ScriptedModel(respond), Budget(BudgetSettings()), EventBus())
        return run_claims(
            run, model, docker_sandbox_settings, out, samples=2, temperature=0.8, seed=0,
            progress=lambda _m: None,
        )  # fmt: skip

    (rec,) = check()
    assert rec.task_id == task.id and rec.right and rec.examples == 2
    first, second = rec.samples
    assert (first.seed, second.seed) == (1000, 1001)
    assert first.passed and first.all_examples and first.differs == []
    assert not second.passed and second.all_examples  # wrong, yet it passes every example
    assert json.loads((out / "claims.json").read_text())[0]["task_id"] == task.id
    table = (out / "claims.md").read_text()
    assert "1 claims: 1 right, 0 false" in table and "| 2 | 1 of 1 |" in table
    # a rerun keeps the finished task and asks no model
    again = check()
    assert again == [rec] and replies == []


def test_a_line_that_is_no_record_is_one_sentence(tmp_path: Path) -> None:
    """The finished tasks a rerun keeps (``tasks.jsonl``, as for the ceiling and bench runs)."""
    from devteam.bench.errors import BenchError
    from devteam.bench.resume import read_records

    jsonl = tmp_path / "tasks.jsonl"
    assert read_records(jsonl, ClaimRecord, "claim record") == {}  # no file: nothing finished
    good = ClaimRecord(task_id="HumanEval/0", chosen=0, right=True, examples=1, samples=[])
    jsonl.write_text(good.model_dump_json() + "\n\n" + '{"task_id": "HumanEval/4"}\n')
    with pytest.raises(BenchError, match=r"tasks.jsonl line 3 is not a claim record; repair"):
        read_records(jsonl, ClaimRecord, "claim record")
    jsonl.write_text(good.model_dump_json() + "\n")
    assert read_records(jsonl, ClaimRecord, "claim record") == {"HumanEval/0": good}
