"""Bad input through the library: the same one-sentence errors as the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from devteam.config import Settings
from devteam.errors import ConfigError, DevteamError
from devteam.team import MAX_TASK_CHARS, Team


def settings(tmp_path: Path) -> Settings:
    return Settings(
        base_url="http://127.0.0.1:9/v1",
        state_dir=tmp_path / ".devteam",
        workspace_root=tmp_path / "workspace",
    )


def test_an_unknown_gate_name_is_an_error_not_dropped(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown gate 'bogus'; the gates are clarify"):
        Team(settings(tmp_path), gates=["bogus"])  # type: ignore[list-item]
    assert Team(settings(tmp_path), gates=["approve_spec"]).config.gates.approve_spec


def test_an_unknown_gate_in_a_team_file_is_an_error(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("roles:\n  coder: {kind: coder}\ngates:\n  bogus: true\n")
    with pytest.raises(ConfigError, match=r"team.yaml is invalid at gates.bogus"):
        Team(settings(tmp_path), team=team)


@pytest.mark.parametrize(
    ("task", "words"),
    [
        ("", "empty"),
        ("x" * (MAX_TASK_CHARS + 1), "over the limit"),
        ("build \udcff it", "not UTF-8"),
    ],
    ids=["empty", "too long", "not UTF-8"],
)
def test_a_task_the_run_cannot_take_is_refused_before_anything_is_written(
    tmp_path: Path, task: str, words: str
) -> None:
    with pytest.raises(DevteamError, match=words):
        Team(settings(tmp_path), team="solo").run(task)
    assert not (tmp_path / ".devteam" / "runs").exists()
