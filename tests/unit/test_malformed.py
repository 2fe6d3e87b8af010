"""Replies a model gets wrong: a review, an acceptance check or a triage that does not parse,
and empty replies. None of them may pass for a verdict the model did not give."""

from __future__ import annotations

from pathlib import Path

from devteam.roles import texts
from devteam.sandbox.base import ExecResult
from devteam.sandbox.fake import failed, passed
from tests.unit.test_roles import (
    ACCEPT,
    APPROVE,
    CODE,
    CODE_V2,
    SPEC,
    TASK,
    TESTS,
    make,
    notes_of,
    prompt,
    roles,
)

PROSE = "Looks good to me! Ship it."


def test_an_unparseable_review_is_reported_as_not_reviewed_never_approved(tmp_path: Path) -> None:
    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": [PROSE, ""]}
    team, model = make(tmp_path, script, [passed()])
    result = team.run(TASK, run_id="r1")

    assert roles(model) == ["ceo", "tester", "coder", "reviewer", "reviewer", "ceo"]
    assert model.templates[3:5] == ["review", "json_repair"]  # the one repair was asked for
    assert prompt(model, 4).startswith(texts.text("json_repair", error="\0").split("\0")[0])
    assert result.status == "passed"  # the tests decide the status ...
    assert result.reviews["reviewer"]["approved"] is None  # ... but nobody approved the change
    assert result.review == "reviewer: not reviewed (its reply could not be read)"
    assert "approved" not in result.review
    readme = (result.workspace / "README.md").read_text()
    assert "Review: reviewer: not reviewed" in readme
    assert any("not a valid Review" in n and "not reviewed" in n for n in notes_of(result))


def test_an_unparseable_review_does_not_send_the_coder_a_revision(tmp_path: Path) -> None:
    """Not reviewed is not "changes requested": no revision round is spent on it."""
    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE, CODE_V2]}
    script["reviewer"] = ['{"approved": "maybe"}', '{"changes": 3}']
    team, model = make(tmp_path, script, [passed(), passed()])
    result = team.run(TASK, run_id="r1")
    assert roles(model).count("coder") == 1
    assert result.reviews["reviewer"]["approved"] is None and "revision" not in result.review


def test_an_unparseable_acceptance_is_not_an_acceptance(tmp_path: Path) -> None:
    script = {
        "ceo": [SPEC, "All criteria are met.", "{}"],
        "tester": [TESTS],
        "coder": [CODE],
        "reviewer": [APPROVE],
    }
    team, model = make(tmp_path, script, [passed()])
    result = team.run(TASK, run_id="r1")
    assert roles(model) == ["ceo", "tester", "coder", "reviewer", "ceo", "ceo"]
    assert result.status == "passed"
    assert result.accepted is None and result.acceptance == []
    readme = (result.workspace / "README.md").read_text()
    assert "add(1, 2) == 3" in readme and "— met" not in readme
    assert any("Acceptance was not checked" in n for n in notes_of(result))


def test_a_short_acceptance_counts_the_missing_criteria_as_unmet(tmp_path: Path) -> None:
    spec = SPEC.replace('["add(1, 2) == 3"]', '["add(1, 2) == 3", "add(-1, 1) == 0"]')
    script = {"ceo": [spec, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": [APPROVE]}
    team, _ = make(tmp_path, script, [passed()])
    result = team.run(TASK, run_id="r1")
    assert result.accepted is False
    assert [c["met"] for c in result.acceptance] == [True, False]
    assert result.acceptance[1]["evidence"] == "not assessed"


def test_a_triage_reply_without_a_verdict_leaves_the_tests_and_blames_the_code(
    tmp_path: Path,
) -> None:
    rewritten = TESTS.replace("== 3", "== 4")
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS, "Hmm, hard to say what went wrong.\n" + rewritten],
        "coder": [CODE, CODE_V2],
        "reviewer": [APPROVE],
    }
    team, model = make(tmp_path, script, [failed(), passed()])
    result = team.run(TASK, run_id="r1")
    assert roles(model) == ["ceo", "tester", "coder", "tester", "coder", "reviewer", "ceo"]
    # without a verdict the tester's file is not taken: its tests stay as they were
    assert "== 3" in (result.workspace / "tests/test_m.py").read_text()
    assert result.status == "passed" and result.fix_attempts == 1
    assert any("the code is wrong: (no reason)" in n for n in notes_of(result))


def test_a_test_verdict_without_a_corrected_file_blames_the_code(tmp_path: Path) -> None:
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS, "VERDICT: test\nREASON: the expected value is off."],
        "coder": [CODE, CODE_V2],
        "reviewer": [APPROVE],
    }
    team, model = make(tmp_path, script, [failed(), passed()])
    result = team.run(TASK, run_id="r1")
    assert roles(model)[4] == "coder"  # the fix went to the coder
    assert "the expected value is off" in prompt(model, 4)
    assert "== 3" in (result.workspace / "tests/test_m.py").read_text()
    assert any("the code is wrong: the expected value is off" in n for n in notes_of(result))


def test_empty_replies_write_nothing_and_the_run_fails_honestly(tmp_path: Path) -> None:
    no_tests = ExecResult(command=[], exit_code=5, stdout="no tests ran in 0.01s")
    script = {"ceo": SPEC, "tester": "", "coder": ""}  # every call gets the same reply
    team, model = make(tmp_path, script, [no_tests] * 6, budget={"max_fix_attempts": 2})
    result = team.run(TASK, run_id="r1")
    assert result.status == "failed" and not result.ok and result.tests_passed is False
    assert result.files == [] and not (result.workspace / "m.py").exists()
    notes = notes_of(result)
    assert any("The tester's reply held no test file" in n for n in notes)
    assert any("The coder's reply held no usable file" in n for n in notes)
    fixes = [str(m[-1]["content"]) for r, m in model.calls if r == "coder"]
    assert any(
        texts.text("no_tests_collected") in f for f in fixes
    )  # the coder is told what is wrong
