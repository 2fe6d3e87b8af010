"""Settings: model endpoint, budgets, sandbox limits.

Sources, highest priority first: keyword arguments, environment (``DEVTEAM_*``; nested
fields with ``__``, e.g. ``DEVTEAM_SANDBOX__MEMORY=1g``), ``devteam.toml`` (or the file named
by ``DEVTEAM_CONFIG``), defaults. Unknown keys are an error, so a typo never goes unnoticed.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from devteam.errors import ConfigError

EmbeddedModelName = Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]

#: DEVTEAM_* variables that are not settings: the config file's path, the install script's.
NON_SETTING_VARS = frozenset({"DEVTEAM_CONFIG", "DEVTEAM_VENV", "DEVTEAM_WHEEL_DIR"})
#: Variables under this prefix are left to test suites.
TEST_VAR_PREFIX = "DEVTEAM_TEST_"
#: The old name of ``budget.max_run_tokens``, still read (with a FutureWarning).
OLD_RUN_TOKENS = "max_tokens"
OLD_RUN_TOKENS_VAR = "DEVTEAM_BUDGET__MAX_TOKENS"
_SIZE = re.compile(r"^[1-9][0-9]*(\.[0-9]+)?([bkmg]b?)?$", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BudgetSettings(_Strict):
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


class _SandboxCommon(_Strict):
    """The keys every sandbox backend reads."""

    memory: str = Field(default="512m", description="memory cap (docker syntax: 512m, 1g)")
    workspace_size: str = "256m"
    timeout_s: float = Field(default=120.0, gt=0, description="wall-clock limit per command")
    output_limit: int = Field(
        default=16_000, gt=0, description="bytes kept per output stream (head + tail)"
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="extra variables for every command (host env never is)"
    )

    @classmethod
    def of(cls, settings: Self | SandboxSettings | None) -> Self:
        """This backend's settings: given as they are, read from the flat ``[sandbox]`` table
        (the other backends' keys left out), or the defaults."""
        if settings is None:
            return cls()
        if isinstance(settings, cls):
            return settings
        return cls.model_validate(settings.model_dump(include=set(cls.model_fields) - {"backend"}))

    @field_validator("memory", "workspace_size")
    @classmethod
    def _common_size(cls, value: str) -> str:
        return _checked_size(value)


class DockerFields(_Strict):
    """The keys only the docker backend reads: its container and its image."""

    image: str = "devteam-sandbox:bookworm"
    network: bool = False
    read_only_root: bool = True
    cpus: float = Field(default=1.0, gt=0)
    pids: int = Field(default=128, gt=0)
    tmpfs_size: str = "64m"
    user: str = "1000:1000"
    extra_packages: list[str] = Field(
        default_factory=list, description="extra Debian packages baked into the image"
    )
    build_mode: Literal["auto", "dockerfile", "offline"] = Field(
        default="auto",
        description="image build: Dockerfile (needs a registry), debootstrap, or detect",
    )
    base_image: str = Field(
        default="python:3.12-slim", description="FROM image of the Dockerfile build"
    )
    debian_suite: str = "bookworm"
    debian_mirror: str | None = Field(
        default=None, description="debootstrap mirror (None: its default)"
    )
    prune_on_start: bool = Field(default=True, description="remove containers left by dead owners")

    @field_validator("tmpfs_size")
    @classmethod
    def _docker_size(cls, value: str) -> str:
        return _checked_size(value)


class DockerSandboxSettings(DockerFields, _SandboxCommon):
    """What the docker backend reads: a locked-down container. Restrictive by default."""

    backend: Literal["docker"] = "docker"


class LocalSandboxSettings(_SandboxCommon):
    """What the local backend reads: host subprocesses under rlimits (no container)."""

    backend: Literal["local"] = "local"


#: One backend's own settings, told apart by ``backend``.
SandboxBackendSettings = Annotated[
    DockerSandboxSettings | LocalSandboxSettings, Field(discriminator="backend")
]


class SandboxSettings(DockerFields, _SandboxCommon):
    """The ``[sandbox]`` table as written: one flat table of every backend's keys.

    Config files, ``DEVTEAM_SANDBOX__*`` variables and ``devteam sandbox`` flags give it in
    this form; a backend reads only its own part, ``for_backend()``. Keys of the other
    backend are checked, then ignored (a docker key with ``backend = "local"`` does nothing).
    """

    backend: Literal["docker", "local"] = "docker"

    def for_backend(self) -> SandboxBackendSettings:
        """The chosen backend's own settings."""
        if self.backend == "local":
            return LocalSandboxSettings.of(self)
        return DockerSandboxSettings.of(self)


def _checked_size(value: str) -> str:
    if not _SIZE.match(value.strip()):
        raise ValueError(f"{value!r} is not a size; write a number with k, m or g, e.g. 512m")
    return value.strip()


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
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
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


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning every problem (a bad value, an unknown DEVTEAM_* variable, a
    config file that is not TOML) into a ConfigError of one sentence."""
    cfg_file = os.environ.get("DEVTEAM_CONFIG")
    if cfg_file and not Path(cfg_file).is_file():
        raise ConfigError(
            f"DEVTEAM_CONFIG names {cfg_file!r}, which does not exist; fix the path or unset it."
        )
    check_env_names(os.environ)
    toml_path = Path(cfg_file or "devteam.toml")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(
            describe_validation_error(exc, "DEVTEAM_* variables and " + str(toml_path))
        ) from exc
    except SettingsError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unreadable value"
        raise ConfigError(
            f"A DEVTEAM_* variable could not be read ({first}); a list or table value must be "
            """JSON, e.g. DEVTEAM_SANDBOX__ENV='{"A": "b"}'."""
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{toml_path} is not valid TOML ({exc}); fix it, or move it aside to use the defaults."
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{toml_path} is not a text file (byte {exc.start} is not UTF-8); it must be TOML."
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"Cannot read {toml_path} ({exc.strerror or exc}); check the file."
        ) from exc


def describe_validation_error(exc: ValidationError, where: str) -> str:
    """One sentence for a pydantic error: the first field, what is wrong, where to fix it."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "settings"
    msg = str(first["msg"]).removeprefix("Value error, ")
    more = f"; {exc.error_count()} problems in all" if exc.error_count() > 1 else ""
    return f"Invalid setting {field!r}: {msg} (check {where}{more})."


def setting_env_names() -> set[str]:
    """Every DEVTEAM_* variable that names a setting (nested ones with ``__``)."""
    names = {f"DEVTEAM_{name.upper()}" for name in Settings.model_fields}
    for group, model in (("BUDGET", BudgetSettings), ("SANDBOX", SandboxSettings)):
        names |= {f"DEVTEAM_{group}__{name.upper()}" for name in model.model_fields}
    return names


def check_env_names(environ: Any) -> None:
    """A ConfigError naming the closest valid name for a DEVTEAM_* variable that is none."""
    valid = setting_env_names()
    for key in sorted(environ):
        upper = key.upper()
        if not upper.startswith("DEVTEAM_") or upper.startswith(TEST_VAR_PREFIX):
            continue
        if upper in valid or upper in NON_SETTING_VARS or upper == OLD_RUN_TOKENS_VAR:
            continue
        if upper.startswith("DEVTEAM_BOT__"):
            continue  # the [bot] table: the bot checks its own keys (devteam/github/settings.py)
        names = {name.removeprefix("DEVTEAM_"): name for name in valid | NON_SETTING_VARS}
        close = difflib.get_close_matches(upper.removeprefix("DEVTEAM_"), sorted(names), n=1)
        hint = f"did you mean {names[close[0]]}?" if close else "unset it (the README lists them)."
        raise ConfigError(f"Unknown environment variable {key}: no setting has that name; {hint}")


#: Where a setting's value came from, highest priority first.
SettingSource = Literal["flag", "environment", "file", "default"]
_GROUPS = ("budget", "sandbox")


def _leaves(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"budget": {"max_tokens": 1}}`` -> ``{"budget.max_tokens": 1}`` (budget, sandbox)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key in _GROUPS and isinstance(value, Mapping):
            flat |= {f"{key}.{k}": v for k, v in value.items()}
        else:
            flat[key] = value
    return flat


def setting_sources(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, tuple[SettingSource, str]]:
    """For every setting (``budget.max_tokens`` style for the groups), where its value comes
    from and, for the environment and the file, which variable or file. Mirrors the order
    ``Settings`` reads its sources in: flags (keyword arguments), environment, file, default."""
    env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
    flags = _leaves(overrides or {})
    path = config_file()
    try:
        in_file = _leaves(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        in_file = {}
    names = [n for n in Settings.model_fields if n not in _GROUPS]
    names += [f"budget.{n}" for n in BudgetSettings.model_fields]
    names += [f"sandbox.{n}" for n in SandboxSettings.model_fields]
    sources: dict[str, tuple[SettingSource, str]] = {}
    for name in names:
        var = "DEVTEAM_" + name.upper().replace(".", "__")
        group = name.split(".")[0] if "." in name else None
        in_group_json = group is not None and _json_has(env.get(f"DEVTEAM_{group.upper()}"), name)
        if name in flags:
            sources[name] = ("flag", "")
        elif var in env or in_group_json:
            sources[name] = ("environment", var if var in env else f"DEVTEAM_{group or ''}".upper())
        elif name in in_file:
            sources[name] = ("file", str(path))
        else:
            sources[name] = ("default", "")
    return sources


def _json_has(raw: str | None, dotted: str) -> bool:
    """Whether a whole-group variable (``DEVTEAM_SANDBOX='{"memory": "1g"}'``) sets a field."""
    if not raw:
        return False
    try:
        value = json.loads(raw)
    except ValueError:
        return False
    return isinstance(value, dict) and dotted.split(".", 1)[1] in value
