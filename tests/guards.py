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


def require_module(name: str, hint: str) -> ModuleType:
    """Import ``name``, or skip (fail under CI) saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"{name} is not importable ({exc}); {hint}")
