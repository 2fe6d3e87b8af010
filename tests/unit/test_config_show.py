"""``devteam config show``: every setting, where its value came from, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli
from devteam.cli_report import mask
from devteam.config import setting_sources


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("DEVTEAM_CONFIG", "DEVTEAM_BASE_URL", "DEVTEAM_API_KEY", "DEVTEAM_TEAM"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def rows(output: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}


def test_each_value_says_where_it_came_from(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "devteam.toml").write_text(
        'team = "solo"\ntemperature = 0.3\n[budget]\nmax_wall_s = 99\nmax_run_tokens = 1000\n'
    )
    monkeypatch.setenv("DEVTEAM_BUDGET__MAX_RUN_TOKENS", "2000")
    monkeypatch.setenv("DEVTEAM_TEMPERATURE", "0.5")
    res = CliRunner().invoke(cli.app, ["config", "show", "--max-tokens", "3000"])
    assert res.exit_code == 0, res.output
    got = rows(res.stdout)
    assert got["budget.max_run_tokens"] == ["3000", "flag"]  # flag beats environment and file
    assert got["temperature"] == ["0.5", "environment", "DEVTEAM_TEMPERATURE"]
    assert got["team"] == ["solo", "file", "devteam.toml"]
    assert got["budget.max_wall_s"] == ["99.0", "file", "devteam.toml"]
    assert got["sandbox.memory"] == ["512m", "default"]
    assert got["budget.max_fix_attempts"] == ["4", "default"]


def test_secrets_are_masked(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "devteam.toml").write_text(
        '[bot]\ntoken = "ghp_s3cret"\nwebhook_secret = "hook-s3cret"\nlabel = "devteam"\n'
    )
    monkeypatch.setenv("DEVTEAM_API_KEY", "sk-s3cret")
    monkeypatch.setenv("DEVTEAM_CHECKPOINTER", "postgresql://me:pg-s3cret@db.example/runs")
    monkeypatch.setenv("DEVTEAM_SANDBOX__ENV", '{"GH_TOKEN": "env-s3cret", "LANG": "C"}')
    res = CliRunner().invoke(cli.app, ["config", "show"])
    assert res.exit_code == 0, res.output
    assert "s3cret" not in res.output
    got = rows(res.stdout)
    assert got["api_key"] == ["****", "environment", "DEVTEAM_API_KEY"]
    assert got["bot.token"][0] == "****" and got["bot.label"][0] == "devteam"
    assert got["checkpointer"][0] == "postgresql://me:****@db.example/runs"
    assert "'LANG': 'C'" in res.stdout and "'GH_TOKEN': '****'" in res.stdout
    assert got["max_tokens_per_call"][0] == "1536"  # a token count is not a secret


def test_a_bad_value_is_one_sentence(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVTEAM_SANDBOX__MEMORY", "lots")
    res = CliRunner().invoke(cli.app, ["config", "show"])
    assert res.exit_code == 1 and "'lots' is not a size" in res.output
    assert "Traceback" not in res.output


def test_sources_of_a_whole_group_variable() -> None:
    env = {"DEVTEAM_SANDBOX": '{"memory": "1g"}'}
    sources = setting_sources(environ=env)
    assert sources["sandbox.memory"] == ("environment", "DEVTEAM_SANDBOX")
    assert sources["sandbox.cpus"] == ("default", "")


def test_mask_keeps_what_is_not_secret() -> None:
    assert mask("api_key", "not-needed") == "not-needed"
    assert mask("base_url", "http://gpu:8000/v1") == "http://gpu:8000/v1"
    assert mask("bot.webhook_secret", "x") == "****"
    assert mask("budget.max_run_tokens", 5) == "5"
