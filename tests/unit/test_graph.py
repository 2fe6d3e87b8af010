"""The graph, end to end, with a scripted model and a scripted sandbox (fast, deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devteam.config import Settings
from devteam.errors import SandboxUnavailableError
from devteam.events import read_audit_log
from devteam.llm.scripted import ScriptedModel
from devteam.roles import texts
from devteam.sandbox.fake import FakeSandbox, failed, passed
from devteam.team import Team
from devteam.teams import TeamConfig
from tests.rendered import Rendered, only

# The CEO and the coder only: the coder writes its own tests (as in the solo team).
PLANNER = TeamConfig.model_validate(
    {"name": "planner", "roles": {"ceo": {"kind": "ceo"}, "coder": {"kind": "coder"}}}
)
ACCEPT = json.dumps({"checks": [{"met": True, "evidence": "test_add"}]})

TASK = "Write a Python module m.py with add(a, b) returning a + b, with pytest tests"
SPEC = json.dumps(
    {
        "goal": "Add two numbers.",
        "files": ["m.py"],
        "requirements": ["add(a, b) returns a + b"],
        "acceptance_criteria": ["add(1, 2) == 3"],
    }
)
CODE = """FILE: m.py
```python
def add(a, b):
    return a + b
```

FILE: tests/test_m.py
```python
from m import add

def test_add():
    assert add(1, 2) == 3
```
"""
FIX = """FILE: m.py
```python
def add(a, b):
    return b + a
```
"""


def make_settings(tmp_path: Path, **budget: object) -> Settings:
    return Settings(
        workspace_root=tmp_path / "ws",
        state_dir=tmp_path / "state",
        budget={"max_fix_attempts": 3, **budget},  # type: ignore[arg-type]
    )


def run(tmp_path: Path, replies: list[str], results: list, team=PLANNER, **budget: object):  # type: ignore[no-untyped-def]
    model = ScriptedModel(replies)
    sandbox = FakeSandbox(results)
    team = Team(make_settings(tmp_path, **budget), team=team, model=model, sandbox=sandbox)
    return team.run(TASK, run_id="r1"), model, sandbox, team


def test_happy_path_writes_files_tests_readme_and_history(tmp_path: Path) -> None:
    result, _model, sandbox, _ = run(tmp_path, [SPEC, CODE, ACCEPT], [passed()])
    assert result.status == "passed" and result.ok
    assert result.fix_attempts == 0
    ws = result.workspace
    assert (ws / "m.py").read_text().startswith("def add")
    assert (ws / "tests/test_m.py").is_file()
    readme = (ws / "README.md").read_text()
    assert "add(1, 2) == 3 — met: test_add" in readme and "passed" in readme
    assert result.accepted is True and result.acceptance[0]["criterion"] == "add(1, 2) == 3"
    assert result.tokens > 0
    # the sandbox saw the code before running pytest
    assert "m.py" in sandbox.synced[0] and sandbox.commands[0][:3] == ["python3", "-m", "pytest"]
    from devteam.workspace import Workspace

    log = Workspace(ws).log()
    assert [line.split(" ", 1)[1].split(":")[0] for line in log] == ["devteam ceo", "devteam coder"]
    origins = json.loads((ws / "PROVENANCE.json").read_text())
    assert origins["m.py"]["role"] == "coder" and origins["m.py"]["run_id"] == "r1"
    assert origins["m.py"]["model"] == "scripted" and len(origins["m.py"]["template_hash"]) == 16
    assert origins["README.md"]["role"] == "ceo"
    kinds = [e.kind for e in read_audit_log(result.audit_log)]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("model_call") == 3 and "sandbox_run" in kinds and "decision" in kinds


def test_failure_is_fed_back_and_fixed(tmp_path: Path) -> None:
    result, model, _, _ = run(tmp_path, [SPEC, CODE, FIX, ACCEPT], [failed(), passed()])
    assert result.status == "passed"
    assert result.fix_attempts == 1
    role, messages = model.calls[2]
    assert role == "coder"
    prompt = messages[-1]["content"]
    assert "tests/test_m.py::test_a" in prompt and "assert 1 == 2" in prompt
    assert "FILE: m.py" in prompt  # the current code goes back to the coder
    assert (result.workspace / "m.py").read_text().strip().endswith("return b + a")


def test_fix_attempts_are_bounded_and_reported_honestly(tmp_path: Path) -> None:
    fails = [failed(error=f"E   assert {i} == 0") for i in range(4)]
    result, _model, _, _ = run(tmp_path, [SPEC, CODE, FIX, FIX, FIX], fails, max_fix_attempts=3)
    assert result.status == "failed"
    assert result.fix_attempts == 3
    assert "3 fix attempt" in result.reason and "test_a" in result.reason
    assert "not passing" in (result.workspace / "README.md").read_text()


def test_same_failure_three_times_stops_and_asks_for_a_new_approach(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    # The solo team: no CEO, so nobody to re-plan; the run stops with an honest report.
    result, model, _, _ = run(
        tmp_path, [CODE, FIX, FIX], [failed(), failed(), failed()], team="solo", max_fix_attempts=5
    )
    assert result.status == "failed"
    assert result.fix_attempts == 2
    assert "same failure" in result.reason
    # the second fix is told its last one changed nothing, and that the tests are its own
    first_fix, second_fix = only(rendered, "coder", "fix")
    assert (first_fix["repeated"], second_fix["repeated"]) == (False, True)
    assert second_fix["own_tests"] is True and model.templates[1:3] == ["fix", "fix"]
    assert model.temperatures[1:] == [None, 0.7]  # the repeat is not asked the same way


def test_malformed_spec_is_repaired_once(tmp_path: Path) -> None:
    result, model, _, _ = run(tmp_path, ["Sure! {goal: oops", SPEC, CODE, ACCEPT], [passed()])
    assert result.status == "passed"
    assert model.templates[:2] == ["spec", "json_repair"]  # the one repair was asked for
    repair = model.calls[1][1][-1]["content"]
    assert repair.startswith(texts.text("json_repair", error="\0").split("\0")[0])


def test_malformed_spec_twice_falls_back_to_the_request_and_says_so(tmp_path: Path) -> None:
    result, _, _, _ = run(tmp_path, ["nope", '{"goal": 1}', CODE, ACCEPT], [passed()])
    assert result.status == "passed"
    assert result.spec is not None and result.spec["files"] == ["m.py"]  # named in the request
    assert result.spec["requirements"] == [TASK]
    notes = [e.text for e in read_audit_log(result.audit_log) if e.kind == "note"]  # type: ignore[union-attr]
    assert any("even after one repair" in n and "taken from the request" in n for n in notes)


def test_token_budget_ends_the_run_cleanly(tmp_path: Path) -> None:
    fails = [failed(error=f"E   assert {i} == 0") for i in range(9)]
    result, _model, _, _ = run(
        tmp_path, [SPEC, CODE] + [FIX] * 8, fails, max_run_tokens=700, max_fix_attempts=8
    )
    assert result.status == "budget_exhausted"
    assert "Token budget" in result.reason
    # the overshoot is bounded by one call
    assert result.tokens < 700 + 400
    assert (result.workspace / "m.py").is_file()  # what was finished is committed


def test_path_escape_in_model_output_is_refused(tmp_path: Path) -> None:
    evil = CODE + "\nFILE: ../../evil.py\n```python\nprint('x')\n```\n"
    result, _, _, _ = run(tmp_path, [SPEC, evil, ACCEPT], [passed()])
    assert result.status == "passed"
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "ws" / "evil.py").exists()
    notes = [e for e in read_audit_log(result.audit_log) if e.kind == "note"]
    assert any("Refused file path" in n.text for n in notes)  # type: ignore[union-attr]


def test_resume_continues_without_redoing_finished_steps(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    model = ScriptedModel([SPEC, CODE])
    down = FakeSandbox([SandboxUnavailableError("Docker engine not reachable")])
    with pytest.raises(SandboxUnavailableError):
        Team(settings, team=PLANNER, model=model, sandbox=down).run(TASK, run_id="r2")
    assert len(model.calls) == 2  # plan and code done and checkpointed

    model2 = ScriptedModel([ACCEPT])  # only the acceptance check is left to do
    result = Team(settings, model=model2, sandbox=FakeSandbox([passed()])).resume("r2")
    assert result.status == "passed" and result.team == "planner"  # the run keeps its team
    assert [role for role, _ in model2.calls] == ["ceo"]
    # the tokens spent before the stop still count: the totals are every call's, both sessions
    calls = [e for e in read_audit_log(result.audit_log) if e.kind == "model_call"]
    assert len(calls) == 3
    assert result.prompt_tokens == sum(c.prompt_tokens for c in calls)  # type: ignore[union-attr]
    assert result.completion_tokens == sum(c.completion_tokens for c in calls)  # type: ignore[union-attr]


def test_resume_of_unknown_run_is_one_clear_sentence(tmp_path: Path) -> None:
    from devteam.errors import DevteamError

    with pytest.raises(DevteamError, match="No run 'nope'"):
        Team(make_settings(tmp_path), model=ScriptedModel([]), sandbox=FakeSandbox([])).resume(
            "nope"
        )
