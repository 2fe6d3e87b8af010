"""Skips that could hide a failure: a skip on a developer's machine, a failure under CI.

``.ci/run`` exports ``CI=1``; there every missing part (Docker, PostgreSQL, llama-cpp, the
model, a network path the test needs) is a failure, so a broken install never turns green.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> NoReturn:
    """Skip with ``reason`` locally; fail with it under CI (in a test or a test module)."""
    if under_ci():
        pytest.fail(f"CI must be able to run this test: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


#: What a registry says when it answered: the look-up failed, the network did not.
NOT_NETWORK_ERRORS = (
    "No matching distribution",
    "Could not find a version",
    "pip could not be started",
    "HTTP error 404",
    "404 Client Error",
)


def unreachable(what: str, exc: BaseException) -> NoReturn:
    """``what`` could not be fetched: a skip (a failure under CI) for a network error, a
    failure for anything else (a package that is gone, a broken pip)."""
    if any(marker in str(exc) for marker in NOT_NETWORK_ERRORS):
        pytest.fail(f"{what}: the registry answered, but not with it: {exc}", pytrace=False)
    missing(f"{what}: not reachable: {exc}")


def require_module(name: str, hint: str) -> ModuleType:
    """Import ``name``, or skip (fail under CI) saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"{name} is not importable ({exc}); {hint}")
