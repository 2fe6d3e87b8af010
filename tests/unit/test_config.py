from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from devteam.config import load_settings
from devteam.errors import ConfigError
from devteam.llm.budget import Budget


def test_env_and_toml_are_read_and_env_wins(
    config_toml: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_toml('model = "from-toml"\n[budget]\nmax_run_tokens = 1234\n[sandbox]\nmemory = "1g"\n')
    monkeypatch.setenv("DEVTEAM_MODEL", "from-env")
    monkeypatch.setenv("DEVTEAM_SANDBOX__PIDS", "64")
    s = load_settings()
    assert s.model == "from-env"
    assert s.budget.max_run_tokens == 1234
    assert s.sandbox.memory == "1g" and s.sandbox.pids == 64
    assert s.uses_embedded_model


def test_a_typo_in_the_config_is_one_clear_sentence(config_toml: Callable[[str], Path]) -> None:
    config_toml("[budget]\nmax_tokenz = 5\n")
    with pytest.raises(ConfigError, match=r"Invalid setting 'budget.max_tokenz'"):
        load_settings()


def test_a_bad_value_in_the_env_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVTEAM_BUDGET__MAX_RUN_TOKENS", "lots")
    with pytest.raises(ConfigError, match="max_run_tokens"):
        load_settings()


def test_the_old_name_of_the_run_token_budget_still_loads_and_says_what_to_rename(
    config_toml: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_toml("[budget]\nmax_tokens = 1234\n")
    with pytest.warns(FutureWarning, match=r"renamed budget\.max_run_tokens.*rename it"):
        assert load_settings().budget.max_run_tokens == 1234
    monkeypatch.setenv("DEVTEAM_BUDGET__MAX_TOKENS", "777")  # the old variable too
    with pytest.warns(FutureWarning, match="DEVTEAM_BUDGET__MAX_RUN_TOKENS"):
        assert load_settings().budget.max_run_tokens == 777
    config_toml("[budget]\nmax_tokens = 1\nmax_run_tokens = 2\n")
    monkeypatch.delenv("DEVTEAM_BUDGET__MAX_TOKENS")
    with pytest.raises(ConfigError, match="give only max_run_tokens"):
        load_settings()


def test_a_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVTEAM_CONFIG", "/nonexistent/devteam.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_budget_caps_a_call_to_what_remains() -> None:
    budget = Budget(load_settings().budget.model_copy(update={"max_run_tokens": 100}))
    budget.charge(60, 20)
    assert budget.cap_completion(1000) == 20
    budget.charge(0, 20)
    from devteam.errors import BudgetExceededError

    with pytest.raises(BudgetExceededError, match="Token budget spent"):
        budget.check()
