"""The examples stay in step with the API: they compile, use real API, their team files load."""

from __future__ import annotations

import ast
import py_compile
from pathlib import Path

import pytest

import devteam
from devteam.team import Team
from devteam.teams import load_team

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("script", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_compiles_and_uses_real_api(script: Path) -> None:
    py_compile.compile(str(script), doraise=True)
    tree = ast.parse(script.read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    for name in imported & set(devteam.__all__):
        assert getattr(devteam, name) is not None
    methods = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and n.attr in {"run", "arun", "stream", "resume", "aresume", "last_result", "config"}
    }
    for method in methods:
        assert hasattr(Team, method) or method in {"last_result", "config"}


TEAM_FILES = [p for p in (EXAMPLES / "teams").iterdir() if p.name != "security_reviewer.yaml"]


@pytest.mark.parametrize("team_file", sorted(TEAM_FILES), ids=lambda p: p.name)
def test_example_team_files_load(team_file: Path) -> None:
    team = load_team(team_file)
    assert team.role("coder") is not None


def test_the_careful_team_adds_a_reprompted_security_reviewer() -> None:
    team = load_team(EXAMPLES / "teams/careful.yaml")
    assert team.reviewers == ["reviewer", "security"]
    assert team.prompt_path("security") == (EXAMPLES / "teams/security_reviewer.yaml").resolve()
