"""Shared fixtures: a real Docker sandbox (skipped, with the reason, without an engine; under CI
that is a failure)."""

from __future__ import annotations

import pytest

from devteam.config import SandboxSettings
from devteam.errors import SandboxUnavailableError
from tests.guards import missing


@pytest.fixture(scope="session")
def docker_sandbox_settings() -> SandboxSettings:
    from devteam.sandbox import engine, ensure_image

    try:
        client = engine.connect(timeout_s=10)
    except SandboxUnavailableError as exc:
        missing(f"no Docker engine: {exc}")
    settings = SandboxSettings()
    ensure_image(settings, progress=lambda m: print(f"[sandbox image] {m}"), client=client)
    client.close()
    return settings
