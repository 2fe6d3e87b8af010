"""The examples stay in step with the API: they type-check against it, the config loads,
the team files load."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from devteam.config import load_settings
from devteam.teams import load_team

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def test_the_examples_type_check_against_the_real_api(tmp_path: Path) -> None:
    """mypy --strict on every example: a renamed method, argument, result field or event
    field of the public API fails here (each example is written the way users write)."""
    scripts = sorted(str(p) for p in EXAMPLES.glob("*.py"))
    assert len(scripts) >= 6
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
         str(tmp_path), "--config-file", str(ROOT / "pyproject.toml"), *scripts],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_the_example_config_loads_with_every_key_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/devteam.toml as shipped, and with its commented-out keys switched on."""
    for name in list(os.environ):
        if name.startswith("DEVTEAM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    shipped = EXAMPLES / "devteam.toml"
    text = shipped.read_text()
    commented = re.findall(r"^# (\w+ = [^\n#]+?)[ \t]*$", text, flags=re.MULTILINE)
    assert [line.split(" ", 1)[0] for line in commented] == ["base_url", "model", "api_key"]
    switched_on = tmp_path / "devteam.toml"
    switched_on.write_text("\n".join(commented) + "\n" + text)
    for path in (shipped, switched_on):
        monkeypatch.setenv("DEVTEAM_CONFIG", str(path))
        settings = load_settings()
        expected = tomllib.loads(path.read_text())
        for key, value in expected.items():
            if isinstance(value, dict):
                section = getattr(settings, key)
                for sub, sub_value in value.items():
                    # [bot] stays a table in Settings: the bot validates it itself
                    got = section[sub] if isinstance(section, dict) else getattr(section, sub)
                    assert got == sub_value, f"[{key}] {sub}"
            else:
                assert getattr(settings, key) == value, key
    assert settings.base_url == "http://gpu-box:8000/v1" and not settings.uses_embedded_model


TEAM_FILES = [p for p in (EXAMPLES / "teams").iterdir() if p.name != "security_reviewer.yaml"]


@pytest.mark.parametrize("team_file", sorted(TEAM_FILES), ids=lambda p: p.name)
def test_example_team_files_load(team_file: Path) -> None:
    team = load_team(team_file)
    assert team.role("coder") is not None


def test_the_careful_team_adds_a_reprompted_security_reviewer() -> None:
    team = load_team(EXAMPLES / "teams/careful.yaml")
    assert team.reviewers == ["reviewer", "security"]
    assert team.prompt_path("security") == (EXAMPLES / "teams/security_reviewer.yaml").resolve()
