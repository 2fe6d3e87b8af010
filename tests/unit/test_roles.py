"""The default team's roles and loops, with a scripted model and a scripted sandbox."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from devteam.config import Settings
from devteam.events import read_audit_log
from devteam.llm.scripted import ScriptedModel, by_role
from devteam.roles import texts
from devteam.sandbox.fake import FakeSandbox, failed, passed
from devteam.team import Team
from devteam.workspace import Workspace
from tests.rendered import Rendered, only

TASK = "Write a Python module m.py with add(a, b) returning a + b"
SPEC = json.dumps(
    {
        "goal": "Add two numbers.",
        "files": ["m.py"],
        "requirements": ["add(a, b) returns a + b"],
        "acceptance_criteria": ["add(1, 2) == 3"],
        "questions": [],
    }
)
TESTS = """FILE: tests/test_m.py
```python
from m import add


def test_add():
    assert add(1, 2) == 3
```
"""
BAD_TESTS = TESTS.replace("== 3", "== 4")
CODE = """FILE: m.py
```python
def add(a, b):
    return a + b
```
"""
CODE_V2 = CODE.replace("return a + b", "return b + a")
APPROVE = '{"approved": true, "changes": []}'
CHANGES = '{"approved": false, "changes": ["m.py: add must also accept floats"]}'
ACCEPT = json.dumps({"checks": [{"met": True, "evidence": "test_add"}]})


def settings(tmp_path: Path, **budget: Any) -> Settings:
    return Settings(
        workspace_root=tmp_path / "ws",
        state_dir=tmp_path / "state",
        budget={"max_fix_attempts": 3, **budget},
    )


def make(tmp_path: Path, script: dict[str, Any], results: list, team: Any = "classic", **kw: Any):  # type: ignore[no-untyped-def]
    model = ScriptedModel(by_role(script))
    sandbox = FakeSandbox(results)
    budget = kw.pop("budget", {})
    return Team(settings(tmp_path, **budget), team=team, model=model, sandbox=sandbox, **kw), model


def roles(model: ScriptedModel) -> list[str]:
    return [role for role, _ in model.calls]


def notes_of(result: Any) -> list[str]:
    return [e.text for e in read_audit_log(result.audit_log) if e.kind == "note"]  # type: ignore[union-attr]


def prompt(model: ScriptedModel, i: int) -> str:
    return str(model.calls[i][1][-1]["content"])


def test_classic_team_plans_tests_codes_reviews_and_accepts(tmp_path: Path) -> None:
    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": [APPROVE]}
    team, model = make(tmp_path, script, [passed()])
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed" and result.accepted is True
    assert roles(model) == ["ceo", "tester", "coder", "reviewer", "ceo"]
    # the tester wrote its tests before any code existed; the coder was given them
    assert "return a + b" not in prompt(model, 1)
    assert "assert add(1, 2) == 3" in prompt(model, 2)
    assert result.review == "reviewer approved"
    authors = [line.split(" ", 1)[1].split(":")[0] for line in Workspace(result.workspace).log()]
    assert authors == ["devteam ceo", "devteam coder", "devteam tester"]
    origins = json.loads((result.workspace / "PROVENANCE.json").read_text())
    assert origins["tests/test_m.py"]["role"] == "tester"
    assert origins["m.py"]["template"] == "coder.write"
    readme = (result.workspace / "README.md").read_text()
    assert "Review: reviewer approved" in readme and "team `classic`" in readme


def test_the_coder_cannot_rewrite_the_testers_tests(tmp_path: Path) -> None:
    rewrite = TESTS.replace("== 3", "== add(1, 2)")
    # a reply that starts a test file is cut off there (a stop string) ...
    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE + rewrite]}
    team, model = make(tmp_path, {**script, "reviewer": [APPROVE]}, [passed()])
    result = team.run(TASK, run_id="r1")
    assert model.stops[2] == ["FILE: tests/", "EDIT: tests/"]
    assert "assert add(1, 2) == 3" in (result.workspace / "tests/test_m.py").read_text()
    # ... and one that slips past the stop string is refused
    sneaky = CODE + rewrite.replace("FILE: tests/", "FILE: ./tests/")
    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [sneaky], "reviewer": [APPROVE]}
    team, _ = make(tmp_path / "2", script, [passed()])
    result = team.run(TASK, run_id="r1")
    assert "assert add(1, 2) == 3" in (result.workspace / "tests/test_m.py").read_text()
    notes = notes_of(result)
    assert any("Ignored tests/test_m.py" in n for n in notes)


def test_a_wrong_test_is_fixed_by_the_tester(tmp_path: Path) -> None:
    triage = "VERDICT: test\nREASON: 1 + 2 is 3, not 4.\n" + TESTS
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [BAD_TESTS, triage],
        "coder": [CODE],
        "reviewer": [APPROVE],
    }
    team, model = make(tmp_path, script, [failed(error="E   assert 3 == 4"), passed()])
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed" and result.fix_attempts == 1
    assert roles(model) == ["ceo", "tester", "coder", "tester", "reviewer", "ceo"]
    assert "assert 3 == 4" in prompt(model, 3) and "return a + b" not in prompt(model, 3)
    log = Workspace(result.workspace).log()
    assert any("devteam tester: Fix the tests (attempt 1)" in line for line in log)


def test_wrong_code_goes_back_to_the_coder_with_the_testers_diagnosis(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    triage = "VERDICT: code\nREASON: add must return the sum."
    broken = CODE.replace("a + b", "a - b")
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS, triage],
        "coder": [broken, CODE],
        "reviewer": [APPROVE],
    }
    team, model = make(tmp_path, script, [failed(), passed()])
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed" and result.fix_attempts == 1
    [fix] = only(rendered, "coder", "fix")
    assert fix["diagnosis"] == "add must return the sum." and fix["own_tests"] is False
    assert fix["read_only"] == ["tests/test_m.py"]  # the tester's tests are not the coder's
    assert model.templates[4] == "fix" and "add must return the sum." in prompt(model, 4)


def test_a_run_that_hit_the_process_limit_tells_the_coder_so(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    forked = CODE.replace("return a + b", "import os\n    os.fork()\n    return a + b")
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS, "VERDICT: code\nREASON: it forks"],
        "coder": [forked, CODE],
        "reviewer": [APPROVE],
    }
    capped = failed().model_copy(update={"pids_limit_hit": True})
    team, model = make(tmp_path, script, [capped, passed()])
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed"
    note = texts.text("process_limit")
    [fix] = only(rendered, "coder", "fix")
    assert note in fix["output"] and note in prompt(model, 4)
    assert model.templates[2] == "write" and note not in prompt(model, 2)


def test_a_fix_shows_the_tests_apart_from_the_files_it_may_change(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    broken = CODE.replace("a + b", "a - b")
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS, "VERDICT: code\nREASON: sum"],
        "coder": [broken, CODE],
        "reviewer": [APPROVE],
    }
    team, model = make(tmp_path, script, [failed(), passed()])
    result = team.run(TASK, run_id="r1")
    [fix] = only(rendered, "coder", "fix")
    assert list(fix["tests"]) == ["tests/test_m.py"] and list(fix["files"]) == ["m.py"]
    shown = prompt(model, 4)
    assert model.templates[4] == "fix"
    assert fix["tests"]["tests/test_m.py"] in shown and fix["files"]["m.py"] in shown
    assert fix["tests"]["tests/test_m.py"] == (result.workspace / "tests/test_m.py").read_text()


def test_a_first_draft_that_begins_with_a_test_file_is_asked_for_once_more(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    tests_first = TESTS.replace("== 3", "== 4") + CODE  # cut to nothing by the stop string
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS],
        "coder": [tests_first, CODE],
        "reviewer": [APPROVE],
    }
    team, model = make(tmp_path, script, [passed()])
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed"
    assert roles(model) == ["ceo", "tester", "coder", "coder", "reviewer", "ceo"]
    first, again = [r for r in rendered if r.role == "coder"]
    assert (first.template, first.reminder) == (again.template, None)
    assert again.reminder == "sources_only" and again.variables.pop("sources") == ["m.py"]
    assert again.variables == first.variables  # the same prompt, plus the reminder
    assert prompt(model, 3).startswith(prompt(model, 2))  # the same prompt, plus the reminder
    assert "assert add(1, 2) == 3" in (result.workspace / "tests/test_m.py").read_text()
    notes = notes_of(result)
    assert any("began its reply with a test file" in n for n in notes)


def test_a_draft_is_asked_for_once_more_at_most(tmp_path: Path) -> None:
    tests_first = TESTS + CODE
    script = {"ceo": [SPEC], "tester": [TESTS], "coder": [tests_first, tests_first]}
    team, model = make(tmp_path, script, [failed()], budget={"max_fix_attempts": 0})
    result = team.run(TASK, run_id="r1")
    assert roles(model)[:4] == ["ceo", "tester", "coder", "coder"]
    assert "coder" not in roles(model)[4:]
    notes = notes_of(result)
    assert any("held no usable file" in n for n in notes)


def test_a_coder_that_disputes_the_tests_sends_them_back_to_the_tester(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    dispute = TESTS + CODE  # the fix reply sets out to rewrite the tests: cut to nothing
    fixed = "VERDICT: test\nREASON: 1 + 2 is 3.\n" + TESTS
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [BAD_TESTS, "VERDICT: code\nREASON: must be 4", fixed],
        "coder": [CODE, dispute],
        "reviewer": [APPROVE],
    }
    fail = failed(error="E   assert 3 == 4")
    team, model = make(tmp_path, script, [fail, fail, passed()])
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed" and result.fix_attempts == 2
    assert roles(model) == [
        "ceo",
        "tester",
        "coder",
        "tester",
        "coder",
        "tester",
        "reviewer",
        "ceo",
    ]
    # the coder was not asked again; the tester heard of the dispute, once
    assert [t["disputed"] for t in only(rendered, "tester", "triage")] == [False, True]
    assert model.templates[3] == model.templates[5] == "triage"
    assert (result.workspace / "m.py").read_text() == "def add(a, b):\n    return a + b\n"
    notes = notes_of(result)
    assert any("so it disputes them" in n for n in notes)


def test_search_replace_edits_change_only_what_they_name(tmp_path: Path) -> None:
    edit = (
        "EDIT: m.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n"
    )
    broken = CODE.replace("a + b", "a - b").replace("def add", "X = 1\n\n\ndef add")
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS, "VERDICT: code\nREASON: wrong sign"],
        "coder": [broken, edit],
        "reviewer": [APPROVE],
    }
    team, _ = make(tmp_path, script, [failed(), passed()])
    result = team.run(TASK, run_id="r1")
    assert (
        result.workspace / "m.py"
    ).read_text() == "X = 1\n\n\ndef add(a, b):\n    return a + b\n"


def test_review_changes_go_back_to_the_coder_and_rounds_are_bounded(tmp_path: Path) -> None:
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS],
        "coder": [CODE, CODE_V2],
        "reviewer": [CHANGES],
    }
    team, model = make(tmp_path, script, [passed(), passed()])
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed"
    assert roles(model) == ["ceo", "tester", "coder", "reviewer", "coder", "ceo"]
    assert "add must also accept floats" in prompt(model, 4)
    assert "return b + a" in (result.workspace / "m.py").read_text()
    assert "1 revision(s) made" in result.review


def test_a_revision_that_breaks_the_tests_is_rolled_back(tmp_path: Path) -> None:
    broken = CODE.replace("a + b", "a * b")
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS, "VERDICT: code\nREASON: sum"],
        "coder": [CODE, broken, broken],
        "reviewer": [CHANGES],
    }
    fails = [failed(error="E   assert 2 == 3"), failed(error="E   assert 2 == 3")]
    team, _ = make(tmp_path, script, [passed(), *fails], budget={"max_fix_attempts": 1})
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed"
    assert "return a + b" in (result.workspace / "m.py").read_text()
    assert "restore" in result.reviews
    assert any("Restore the last passing version" in ln for ln in Workspace(result.workspace).log())


def test_a_stuck_loop_is_re_planned_once_then_stops(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    same = failed()
    script = {
        "ceo": [SPEC, SPEC, ACCEPT],
        "tester": [TESTS, "VERDICT: code\nREASON: x", "VERDICT: code\nREASON: x", TESTS],
        "coder": [CODE, CODE_V2, CODE, CODE_V2],
        "reviewer": [APPROVE],
    }
    team, model = make(
        tmp_path, script, [same, same, same, passed()], budget={"max_fix_attempts": 6}
    )
    result = team.run(TASK, run_id="r1")
    assert result.status == "passed"
    replan = [i for i, (r, _) in enumerate(model.calls) if r == "ceo"][1]
    first, second = only(rendered, "ceo", "spec")
    assert first["failure"] == "" and second["failure"]
    assert second["previous_spec"] and second["failure"] in prompt(model, replan)
    decisions = [e for e in read_audit_log(result.audit_log) if e.kind == "decision"]
    assert any(d.target == "replan" and "same failure 3 times" in d.reason for d in decisions)  # type: ignore[union-attr]
    # the second triage of the same failure is told the code may be right
    assert [t["repeated"] for t in only(rendered, "tester", "triage")[:2]] == [False, True]
    # after the re-plan, tests and code are not asked for the same way again
    after = [t for (r, _), t in zip(model.calls, model.temperatures, strict=True)][replan + 1 :]
    assert after[:2] == [0.7, 0.7]


def test_token_budget_ends_the_team_run_cleanly_and_keeps_the_work(tmp_path: Path) -> None:
    script = {
        "ceo": SPEC,
        "tester": [TESTS] + ["VERDICT: code\nREASON: r"] * 9,
        "coder": [CODE] + [CODE_V2, CODE] * 5,
    }
    fails = [failed(error=f"E   assert {i} == 0") for i in range(12)]
    team, _ = make(tmp_path, script, fails, budget={"max_run_tokens": 900, "max_fix_attempts": 10})
    result = team.run(TASK, run_id="r1")
    assert result.status == "budget_exhausted" and "Token budget" in result.reason
    assert result.tokens < 900 + 1536
    assert (result.workspace / "m.py").is_file() and (result.workspace / "README.md").is_file()


# -- human gates -------------------------------------------------------------------------
QUESTION_SPEC = json.dumps({**json.loads(SPEC), "questions": ["Integers only?"]})


def test_clarifying_questions_wait_for_the_user_and_resume_without_redoing_work(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    script = {
        "ceo": [QUESTION_SPEC, SPEC, ACCEPT],
        "tester": [TESTS],
        "coder": [CODE],
        "reviewer": [APPROVE],
    }
    team, model = make(tmp_path, script, [passed()], gates=["clarify"])
    first = team.run(TASK, run_id="g1")
    assert first.status == "waiting" and first.waiting
    assert first.question == {
        "gate": "clarify",
        "questions": ["Integers only?"],
        "spec": json.loads(QUESTION_SPEC),
    }
    assert roles(model) == ["ceo"]
    again = team.resume("g1")  # no answer: still waiting, nothing run
    assert again.status == "waiting" and roles(model) == ["ceo"]
    done = team.resume("g1", answer="Floats too.")
    assert done.status == "passed"
    assert roles(model) == ["ceo", "ceo", "tester", "coder", "reviewer", "ceo"]
    assert [v["answers"] for v in only(rendered, "ceo", "spec")] == ["", "Floats too."]
    assert "Floats too." in prompt(model, 1)


def test_spec_approval_takes_feedback_then_approval(
    tmp_path: Path, rendered: list[Rendered]
) -> None:
    script = {"ceo": [SPEC, SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": APPROVE}
    team, model = make(tmp_path, script, [passed()], gates=["approve_spec"])
    assert team.run(TASK, run_id="g2").question["gate"] == "approve_spec"  # type: ignore[index]
    assert team.resume("g2", answer="Name the file m.py").status == "waiting"
    feedback = [v["feedback"] for v in only(rendered, "ceo", "spec")]
    assert feedback == ["", "Name the file m.py"] and "Name the file m.py" in prompt(model, 1)
    assert team.resume("g2", answer=True).status == "passed"


def test_delivery_can_be_rejected(tmp_path: Path) -> None:
    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": APPROVE}
    team, model = make(tmp_path, script, [passed()], gates=["approve_delivery"])
    waiting = team.run(TASK, run_id="g3")
    assert waiting.question["gate"] == "approve_delivery" and waiting.question["tests_passed"]  # type: ignore[index]
    done = team.resume("g3", answer="no")
    assert done.status == "rejected" and "rejected the delivery" in done.reason
    assert len(model.calls) == 5


def test_delivery_feedback_becomes_a_revision(tmp_path: Path) -> None:
    script = {
        "ceo": [SPEC, ACCEPT, ACCEPT],
        "tester": [TESTS],
        "coder": [CODE, CODE_V2],
        "reviewer": APPROVE,
    }
    team, model = make(tmp_path, script, [passed(), passed()], gates=["approve_delivery"])
    team.run(TASK, run_id="g4")
    assert team.resume("g4", answer="swap the operands").status == "waiting"
    assert "swap the operands" in prompt(model, 5)
    assert team.resume("g4", answer="yes").status == "passed"
    assert "return b + a" in (tmp_path / "ws/g4/m.py").read_text()


# -- library API -------------------------------------------------------------------------
def test_stream_yields_typed_events_and_keeps_the_result(tmp_path: Path) -> None:
    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": [APPROVE]}
    team, _ = make(tmp_path, script, [passed()])
    events = list(team.stream(TASK, run_id="s1"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert {"phase", "model_call", "sandbox_run", "decision", "files_written"} <= set(kinds)
    assert team.last_result is not None and team.last_result.status == "passed"


def test_concurrent_streams_of_one_team_each_see_only_their_own_run(tmp_path: Path) -> None:
    script = {
        ("ceo", "spec"): SPEC,
        ("ceo", "accept"): ACCEPT,
        ("tester", "write"): TESTS,
        ("coder", "write"): CODE,
        ("reviewer", "review"): APPROVE,
    }  # by (role, template), the same answer every time: the two runs may interleave
    team = Team(
        settings(tmp_path),
        team="classic",
        model=ScriptedModel(script),
        sandbox=FakeSandbox([passed(), passed()]),
    )
    seen: dict[str, list[str]] = {}
    gate = threading.Barrier(2)

    def consume(run_id: str) -> None:
        stream = team.stream(TASK, run_id=run_id)
        first = next(stream)
        gate.wait(timeout=30)  # both runs are under way before either goes on
        seen[run_id] = [first.run_id, *(e.run_id for e in stream)]

    threads = [threading.Thread(target=consume, args=(r,)) for r in ("c1", "c2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert set(seen) == {"c1", "c2"}
    for run_id, ids in seen.items():
        assert len(ids) > 10 and set(ids) == {run_id}


def test_stream_raises_the_runs_error(tmp_path: Path) -> None:
    team, _ = make(tmp_path, {"ceo": []}, [])
    with pytest.raises(AssertionError, match="no scripted reply"):
        list(team.stream(TASK, run_id="s2"))


def test_arun(tmp_path: Path) -> None:
    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": [APPROVE]}
    team, _ = make(tmp_path, script, [passed()])
    assert asyncio.run(team.arun(TASK, run_id="a1")).status == "passed"
