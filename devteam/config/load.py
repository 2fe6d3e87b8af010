"""Reading the settings: every problem as a ConfigError of one sentence."""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_settings import SettingsError

from devteam.config.sandbox import SANDBOX_KEYS, Backend
from devteam.config.settings import BudgetSettings, Settings
from devteam.errors import ConfigError

#: DEVTEAM_* variables that are not settings: the config file's path, the install script's.
NON_SETTING_VARS = frozenset({"DEVTEAM_CONFIG", "DEVTEAM_VENV", "DEVTEAM_WHEEL_DIR"})
#: Variables under this prefix are left to test suites.
TEST_VAR_PREFIX = "DEVTEAM_TEST_"
#: The old variable of ``budget.max_run_tokens``, still read (with a FutureWarning).
OLD_RUN_TOKENS_VAR = "DEVTEAM_BUDGET__MAX_TOKENS"


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
    loc = [str(p) for p in first["loc"]]
    if loc[:1] == ["sandbox"] and loc[1:2] and loc[1] in get_args(Backend):
        del loc[1]  # the union's tag: sandbox.docker.pids is the table's key sandbox.pids
    if isinstance(ctx := first.get("ctx"), dict) and "field" in ctx:
        loc.append(str(ctx["field"]))  # a key a table's own check names
    field = ".".join(loc) or "settings"
    msg = str(first["msg"]).removeprefix("Value error, ")
    more = f"; {exc.error_count()} problems in all" if exc.error_count() > 1 else ""
    return f"Invalid setting {field!r}: {msg} (check {where}{more})."


def setting_env_names() -> set[str]:
    """Every DEVTEAM_* variable that names a setting (nested ones with ``__``)."""
    names = {f"DEVTEAM_{name.upper()}" for name in Settings.model_fields}
    names |= {f"DEVTEAM_BUDGET__{name.upper()}" for name in BudgetSettings.model_fields}
    names |= {f"DEVTEAM_SANDBOX__{name.upper()}" for name in SANDBOX_KEYS}
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
