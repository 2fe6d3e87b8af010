"""Team configs: built-in teams, custom files that add and re-prompt roles, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from devteam.errors import ConfigError
from devteam.llm.scripted import ScriptedModel, by_role
from devteam.sandbox.fake import FakeSandbox, passed
from devteam.team import Team
from devteam.teams import load_team
from tests.unit.test_roles import ACCEPT, APPROVE, CODE, SPEC, TASK, TESTS, settings

SECURITY_PROMPT = """\
description: Looks for unsafe code only.
system: You are a security reviewer. Reply in JSON only.
templates:
  review: |
    Security review of:
    {{ diff }}
    Reply {"approved": true, "changes": []} unless something is unsafe.
"""


def test_built_in_teams() -> None:
    default, solo = load_team("default"), load_team("solo")
    assert [r.kind for r in default.roles.values()] == ["ceo", "tester", "coder", "reviewer"]
    assert list(solo.roles) == ["coder"] and solo.bounds.replans == 0
    assert not any(default.gates.model_dump().values())


def test_a_team_file_adds_and_re_prompts_a_role(tmp_path: Path) -> None:
    (tmp_path / "security.yaml").write_text(SECURITY_PROMPT)
    (tmp_path / "team.yaml").write_text(
        "name: careful\n"
        "roles:\n"
        "  ceo: {kind: ceo}\n"
        "  tester: {kind: tester}\n"
        "  coder: {kind: coder, temperature: 0.2}\n"
        "  reviewer: {kind: reviewer}\n"
        "  security: {kind: reviewer, prompt: security.yaml}\n"
        "bounds: {review_rounds: 2, fix_attempts: 2}\n"
    )
    model = ScriptedModel(
        by_role(
            {
                "ceo": [SPEC, ACCEPT],
                "tester": [TESTS],
                "coder": [CODE],
                "reviewer": [APPROVE],
                "security": [APPROVE],
            }
        )
    )
    team = Team(
        settings(tmp_path),
        team=tmp_path / "team.yaml",
        model=model,
        sandbox=FakeSandbox([passed()]),
    )
    result = team.run(TASK, run_id="c1")
    assert result.status == "passed" and result.team == "careful"
    assert [r for r, _ in model.calls] == ["ceo", "tester", "coder", "reviewer", "security", "ceo"]
    security_call = model.calls[4][1]
    assert security_call[0]["content"].startswith("You are a security reviewer")
    assert "def add" in security_call[1]["content"]
    assert model.temperatures[2] == 0.2  # the coder's own sampling setting
    assert result.review == "reviewer approved; security approved"


def test_toml_team_files_work_too(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('name = "pair"\n[roles.ceo]\nkind = "ceo"\n[roles.dev]\nkind = "coder"\n')
    team = load_team(path)
    assert team.name == "pair" and team.role("coder") == "dev" and team.reviewers == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("roles: {a: {kind: coder}, b: {kind: coder}}", "exactly one role of kind 'coder'"),
        ("roles: {a: {kind: manager}}", "roles.a.kind"),
        ("roles: {a: {kind: coder, colour: red}}", "roles.a.colour"),
        ("roles: {a: {kind: coder, prompt: nope.yaml}}", "names prompt"),
        ("roles: [", "is not valid YAML"),
        ("- a", "must hold a mapping"),
    ],
)
def test_bad_team_files_get_one_clear_sentence(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_team(path)
    assert str(path) in str(info.value)


def test_an_unknown_team_name_says_what_is_accepted() -> None:
    with pytest.raises(ConfigError, match=r"built-in team \(default, classic, solo\)"):
        load_team("dream-team")


def test_a_resumed_run_keeps_its_team(tmp_path: Path) -> None:
    """A run of a custom team, stopped by a crash, resumes as that team, not the default."""
    from devteam.errors import SandboxUnavailableError

    (tmp_path / "security.yaml").write_text(SECURITY_PROMPT)
    (tmp_path / "team.yaml").write_text(
        "name: careful\n"
        "roles:\n"
        "  ceo: {kind: ceo}\n"
        "  tester: {kind: tester}\n"
        "  coder: {kind: coder}\n"
        "  security: {kind: reviewer, prompt: security.yaml}\n"
    )
    model = ScriptedModel(by_role({"ceo": [SPEC], "tester": [TESTS], "coder": [CODE]}))
    down = FakeSandbox([SandboxUnavailableError("Docker engine not reachable")])
    with pytest.raises(SandboxUnavailableError):
        Team(settings(tmp_path), team=tmp_path / "team.yaml", model=model, sandbox=down).run(
            TASK, run_id="t1"
        )
    (tmp_path / "team.yaml").unlink()  # the run's own copy is what counts

    model = ScriptedModel(by_role({"security": [APPROVE], "ceo": [ACCEPT]}))
    result = Team(settings(tmp_path), model=model, sandbox=FakeSandbox([passed()])).resume("t1")
    assert result.status == "passed" and result.team == "careful"
    assert [role for role, _ in model.calls] == ["security", "ceo"]  # no default "reviewer"
    assert "Security review of:" in model.calls[0][1][-1]["content"]
    assert result.review == "security approved"
