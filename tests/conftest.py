"""Shared fixtures: a real Docker sandbox (skipped, with the reason, without an engine; under CI
that is a failure)."""

from __future__ import annotations

import os

import pytest

from devteam.config import SandboxSettings
from devteam.errors import SandboxUnavailableError


@pytest.fixture(scope="session")
def docker_sandbox_settings() -> SandboxSettings:
    from devteam.sandbox import engine, ensure_image

    try:
        client = engine.connect(timeout_s=10)
    except SandboxUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have a Docker engine: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    settings = SandboxSettings()
    ensure_image(settings, progress=lambda m: print(f"[sandbox image] {m}"), client=client)
    client.close()
    return settings
