"""The CLI through typer's runner, on a scripted model and a scripted sandbox."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli
from devteam.exit_codes import ExitCode
from devteam.team import Team


def test_a_bad_setting_is_one_red_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVTEAM_BUDGET__MAX_RUN_TOKENS", "many")
    result = CliRunner().invoke(cli.app, ["run", "anything"])
    assert result.exit_code == 1
    assert "Invalid setting" in result.output and "Traceback" not in result.output


def test_an_empty_task_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.app, ["run", "   "])
    assert result.exit_code == 1 and "task is empty" in result.output


def test_show_of_an_unknown_run_says_how_to_list_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.app, ["show", "nope"])
    assert result.exit_code == 1 and "devteam runs" in result.output


def test_run_with_a_model_server_that_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listens on port 9: one sentence, the resume hint with the same endpoint, no
    traceback, and the status of missing infrastructure."""
    from devteam.sandbox.fake import FakeSandbox

    monkeypatch.chdir(tmp_path)
    with_sandbox = functools.partial(Team, sandbox=FakeSandbox([]))  # the constructor's seam
    monkeypatch.setattr("devteam.team.Team", with_sandbox)
    result = CliRunner().invoke(
        cli.app, ["run", "Write m.py with add(a, b)", "--base-url", "http://127.0.0.1:9/v1"]
    )
    assert result.exit_code == ExitCode.INFRASTRUCTURE
    assert "not reachable" in result.output
    assert "--base-url http://127.0.0.1:9/v1" in result.output.split("devteam resume")[1]
    assert "Traceback" not in result.output


def test_an_unknown_team_or_gate_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.app, ["run", "x", "--team", "dream"])
    assert result.exit_code == 1 and "built-in team (default, classic, solo)" in result.output
    result = CliRunner().invoke(cli.app, ["run", "x", "--gate", "lunch"])
    assert result.exit_code == 1 and "use clarify, spec or delivery" in result.output


def test_a_gate_waits_with_exit_3_and_resume_answer_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devteam.llm.scripted import ScriptedModel, by_role
    from devteam.sandbox.fake import FakeSandbox, passed
    from tests.unit.test_roles import ACCEPT, APPROVE, CODE, SPEC, TESTS

    script = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": [APPROVE]}
    model = ScriptedModel(by_role(script))
    monkeypatch.chdir(tmp_path)
    injected = functools.partial(Team, model=model, sandbox=FakeSandbox([passed()]))
    monkeypatch.setattr("devteam.team.Team", injected)
    runner = CliRunner()
    first = runner.invoke(
        cli.app, ["run", "Write m.py with add(a, b)", "--gate", "spec", "--team", "classic"]
    )
    assert first.exit_code == 3, first.output
    assert "waiting at the approve_spec gate" in first.output and "--answer" in first.output
    run_id = Path(first.stdout.strip().splitlines()[-1]).name
    done = runner.invoke(cli.app, ["resume", run_id, "--answer", "yes"])
    assert done.exit_code == 0, done.output
    assert "passed" in done.output and "review:      reviewer approved" in done.output
    assert "acceptance:  1/1 criteria met" in done.output
