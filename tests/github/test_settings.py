"""The [bot] section: read from devteam.toml and DEVTEAM_BOT__*, checked, kept from the team."""

from __future__ import annotations

from pathlib import Path

import pytest

from devteam.config import load_settings
from devteam.errors import ConfigError
from devteam.github.settings import load_bot_settings, team_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "devteam.toml"


def test_the_example_config_and_the_environment_make_bot_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVTEAM_CONFIG", str(EXAMPLE))
    monkeypatch.setenv("DEVTEAM_BOT__TOKEN", "ghp_from_env")
    monkeypatch.setenv("DEVTEAM_BOT__WEBHOOK_SECRET", "shh")
    settings = load_settings()
    bot = load_bot_settings(settings)
    assert bot.repositories == ["your-org/your-repo"] and bot.port == 8080
    assert bot.token is not None and bot.token.get_secret_value() == "ghp_from_env"
    assert bot.secrets == [b"shh"]
    assert "ghp_from_env" not in repr(bot)
    assert team_settings(settings).bot == {}  # no secret reaches a run
    assert team_settings(settings, bot).budget == settings.budget
    capped = bot.model_copy(update={"job_max_tokens": 5000, "job_max_wall_s": 60.0})
    budget = team_settings(settings, capped).budget
    assert (budget.max_run_tokens, budget.max_wall_s) == (5000, 60.0)
    assert settings.budget.max_run_tokens == 60000  # the bot's own settings are not changed
    monkeypatch.setenv("DEVTEAM_BOT__REPOSITORIES", '["a/b", "C/D"]')
    assert load_bot_settings(load_settings()).repositories == ["a/b", "c/d"]


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"repositories": ["not a repo"]}, "is not owner/name"),
        ({"port": 0}, "'port'"),
        ({"lable": "x"}, "'lable'"),
    ],
)
def test_a_bad_bot_setting_is_one_sentence(
    monkeypatch: pytest.MonkeyPatch, bad: dict[str, object], words: str
) -> None:
    monkeypatch.delenv("DEVTEAM_CONFIG", raising=False)
    monkeypatch.chdir(Path(__file__).parent)
    with pytest.raises(ConfigError, match=words) as err:
        load_bot_settings(load_settings(bot=bad))
    assert "docs/BOT.md" in str(err.value)
