"""Where each setting's value comes from: a flag, the environment, the file, or the default
(``devteam config show``)."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from typing import Any, Literal

from devteam.config.sandbox import SANDBOX_KEYS
from devteam.config.settings import BudgetSettings, Settings, config_file

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
    names += [f"sandbox.{n}" for n in SANDBOX_KEYS]
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
