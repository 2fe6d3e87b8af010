"""Settings: model endpoint, budgets, sandbox limits.

Sources, highest priority first: keyword arguments, environment (``DEVTEAM_*``; nested
fields with ``__``, e.g. ``DEVTEAM_SANDBOX__MEMORY=1g``), ``devteam.toml`` (or the file named
by ``DEVTEAM_CONFIG``), defaults. Unknown keys are an error, so a typo never goes unnoticed.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from devteam.config.sandbox import DockerSandboxSettings, SandboxSettings, Strict

EmbeddedModelName = Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]

#: The old name of ``budget.max_run_tokens``, still read (with a FutureWarning).
OLD_RUN_TOKENS = "max_tokens"


class BudgetSettings(Strict):
    """Bounds of one run. Checked before every model call and every loop."""

    max_run_tokens: int = Field(60_000, gt=0, description="prompt + completion tokens for the run")
    max_wall_s: float = Field(1800.0, gt=0, description="wall-clock seconds for the run")
    max_fix_attempts: int = Field(4, ge=0, description="coder fix rounds after a failing test run")
    max_steps: int = Field(40, gt=0, description="graph steps (node executions) for the run")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        """The run's token total was ``max_tokens`` (a name a model call's cap also has)."""
        if isinstance(data, dict) and OLD_RUN_TOKENS in data:
            if "max_run_tokens" in data:
                raise ValueError(
                    "budget.max_tokens is the old name of budget.max_run_tokens; give only "
                    "max_run_tokens"
                )
            warnings.warn(
                "budget.max_tokens (DEVTEAM_BUDGET__MAX_TOKENS) is renamed "
                "budget.max_run_tokens (DEVTEAM_BUDGET__MAX_RUN_TOKENS); rename it, the old "
                "name will stop working.",
                FutureWarning,
                stacklevel=2,
            )
            data = {**data, "max_run_tokens": data[OLD_RUN_TOKENS]}
            del data[OLD_RUN_TOKENS]
        return data


class Settings(BaseSettings):
    """All of devteam's settings. Model endpoint fields sit at the top level.

    With ``base_url`` unset, devteam runs its embedded model (``embedded_model``) on a
    loopback port for the length of the run. With ``base_url`` set, nothing is launched.
    """

    model_config = SettingsConfigDict(
        env_prefix="DEVTEAM_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://gpu:8000/v1"
    )
    model: str | None = Field(None, description="model name sent to the endpoint")
    api_key: str = Field("not-needed", repr=False)
    embedded_model: EmbeddedModelName = "qwen2.5-coder-1.5b"
    model_file: Path | None = Field(
        None, description="a GGUF file of your own to serve instead of fetching embedded_model"
    )
    temperature: float = Field(0.0, ge=0, le=2)
    seed: int | None = 0
    max_tokens_per_call: int = Field(1536, gt=0)
    request_timeout_s: float = Field(600.0, gt=0)
    context_tokens: int = Field(8192, ge=2048, description="n_ctx of the embedded server")
    structured_output: Literal["auto", "json_schema", "json_object", "off"] = "auto"

    workspace_root: Path = Path("workspace")
    state_dir: Path = Path(".devteam")
    cache_dir: Path = Field(default_factory=lambda: _default_cache_dir())
    checkpointer: str = Field(
        "sqlite",
        description='"sqlite" (a file under state_dir) or a postgresql:// URL',
    )
    team: str = Field(
        "default", description='"default", "solo", or the path of a team .yaml/.toml file'
    )
    repo_map_chars: int = Field(
        6000, ge=500, le=100_000, description="size of the repository map shown to the CEO"
    )

    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    sandbox: SandboxSettings = Field(default_factory=DockerSandboxSettings)
    bot: dict[str, Any] = Field(
        default_factory=dict,
        description="the GitHub bot's [bot] section, validated by devteam.github (docs/BOT.md)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )

    @property
    def uses_embedded_model(self) -> bool:
        return not self.base_url

    @property
    def checkpoint_db(self) -> Path:
        return self.state_dir / "checkpoints.sqlite"

    def run_dir(self, run_id: str) -> Path:
        """Where a run's audit log and report live (outside the produced repository)."""
        return self.state_dir / "runs" / run_id


def config_file() -> Path:
    """The settings file: ``DEVTEAM_CONFIG``, else ``devteam.toml`` in the current folder."""
    return Path(os.environ.get("DEVTEAM_CONFIG", "devteam.toml"))


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "devteam"
