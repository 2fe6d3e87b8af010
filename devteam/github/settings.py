"""The bot's settings: the ``[bot]`` section of devteam.toml, or ``DEVTEAM_BOT__*`` variables."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from devteam.config import Settings
from devteam.errors import ConfigError

REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class BotSettings(BaseModel):
    """Everything the bot needs beyond the team's own settings."""

    model_config = ConfigDict(extra="forbid")

    repositories: list[str] = Field(
        default_factory=list, description="owner/name of each repository the bot may work on"
    )
    label: str = Field("devteam", description="the issue label that starts a job")
    command: str = Field("/devteam", description="a comment starting with this starts a job")
    webhook_secret: SecretStr | None = Field(None, description="the webhook's secret")
    webhook_secret_previous: SecretStr | None = Field(
        None, description="the previous secret, still accepted while a rotation is under way"
    )
    token: SecretStr | None = Field(None, description="a token with contents, issues and PR write")
    app_id: int | None = Field(None, description="GitHub App id (instead of a token)")
    app_private_key_file: Path | None = Field(None, description="the App's PEM private key")
    api_url: str = "https://api.github.com"
    git_url: str = Field(
        "https://github.com/{repo}.git", description="clone URL; {repo} is owner/name"
    )
    login: str | None = Field(None, description="the bot's own login (its comments are ignored)")
    queue: str = Field(
        "sqlite",
        description='"sqlite" (files under state_dir, no server) or a postgresql:// URL that '
        "holds the queue and the ledger of a fleet",
    )
    state_dir: Path = Path(".devteam/bot")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(1024 * 1024, gt=0)
    workers: int = Field(1, ge=1, le=64, description="jobs run at once by one worker process")
    lease_s: float = Field(60.0, gt=0, description="a job silent this long is taken over")
    retry_delay_s: float = Field(
        30.0, gt=0, description="wait before a trigger whose checks failed is tried again"
    )
    allow_workflow_changes: bool = False
    pr_on_failure: bool = Field(False, description="open a draft PR even when tests fail")
    job_max_tokens: int | None = Field(
        None, gt=0, description="tokens per job (default: the team's budget.max_run_tokens)"
    )
    job_max_wall_s: float | None = Field(
        None, gt=0, description="seconds per job (default: the team's budget.max_wall_s)"
    )
    jobs_per_repo_per_day: int = Field(20, ge=1)
    tokens_per_repo_per_day: int = Field(2_000_000, ge=1)
    poll_interval_s: float = Field(60.0, gt=0)

    @field_validator("repositories")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not REPO_NAME.match(name):
                raise ValueError(f"{name!r} is not owner/name")
        return [n.lower() for n in value]

    @property
    def secrets(self) -> list[bytes]:
        """The accepted webhook secrets, current first; empty means every delivery fails."""
        return [
            s.get_secret_value().encode()
            for s in (self.webhook_secret, self.webhook_secret_previous)
            if s is not None and s.get_secret_value()
        ]

    def allows(self, repo: str) -> bool:
        return repo.lower() in self.repositories

    def clone_url(self, repo: str) -> str:
        return self.git_url.format(repo=repo)


def load_bot_settings(settings: Settings, **overrides: Any) -> BotSettings:
    """The ``bot`` section of ``settings`` as BotSettings; one sentence when it is wrong."""
    raw = {**settings.bot, **overrides}
    for key, value in raw.items():  # DEVTEAM_BOT__REPOSITORIES='["a/b"]' arrives as text
        if isinstance(value, str) and value.strip().startswith("["):
            with contextlib.suppress(ValueError):
                raw[key] = json.loads(value)
    try:
        return BotSettings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "bot"
        raise ConfigError(
            f"Invalid bot setting {where!r}: {first['msg']} (check the [bot] section of "
            "devteam.toml and DEVTEAM_BOT__* variables; docs/BOT.md lists them)."
        ) from exc


def team_settings(settings: Settings, bot: BotSettings | None = None) -> Settings:
    """The settings a job's team gets: without the bot section, so no secret reaches a run,
    and with the bot's per-job budget where it sets one."""
    budget = settings.budget.model_copy()
    if bot is not None and bot.job_max_tokens is not None:
        budget.max_run_tokens = bot.job_max_tokens
    if bot is not None and bot.job_max_wall_s is not None:
        budget.max_wall_s = bot.job_max_wall_s
    return settings.model_copy(update={"bot": {}, "budget": budget})
