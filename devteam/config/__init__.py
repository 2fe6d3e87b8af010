"""Settings: model endpoint, budgets, sandbox limits (the README's Configuration section;
docs/SANDBOX.md for the ``[sandbox]`` table).

Sources, highest priority first: keyword arguments, environment (``DEVTEAM_*``; nested
fields with ``__``, e.g. ``DEVTEAM_SANDBOX__MEMORY=1g``), ``devteam.toml`` (or the file named
by ``DEVTEAM_CONFIG``), defaults. Unknown keys are an error, so a typo never goes unnoticed.

- ``settings.py``: ``Settings`` and ``BudgetSettings``, the file's location.
- ``sandbox.py``: ``SandboxSettings``, one class per backend told apart by ``backend``.
- ``load.py``: ``load_settings``, every problem as one sentence; DEVTEAM_* names checked.
- ``sources.py``: where each value came from (``devteam config show``).
"""

from devteam.config.load import (
    NON_SETTING_VARS,
    OLD_RUN_TOKENS_VAR,
    TEST_VAR_PREFIX,
    check_env_names,
    describe_validation_error,
    load_settings,
    setting_env_names,
)
from devteam.config.sandbox import (
    SANDBOX_KEYS,
    Backend,
    DockerFields,
    DockerSandboxSettings,
    LocalSandboxSettings,
    SandboxSettings,
)
from devteam.config.settings import (
    OLD_RUN_TOKENS,
    BudgetSettings,
    EmbeddedModelName,
    Settings,
    config_file,
)
from devteam.config.sources import SettingSource, setting_sources

__all__ = [
    "NON_SETTING_VARS",
    "OLD_RUN_TOKENS",
    "OLD_RUN_TOKENS_VAR",
    "SANDBOX_KEYS",
    "TEST_VAR_PREFIX",
    "Backend",
    "BudgetSettings",
    "DockerFields",
    "DockerSandboxSettings",
    "EmbeddedModelName",
    "LocalSandboxSettings",
    "SandboxSettings",
    "SettingSource",
    "Settings",
    "check_env_names",
    "config_file",
    "describe_validation_error",
    "load_settings",
    "setting_env_names",
    "setting_sources",
]
