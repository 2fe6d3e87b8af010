"""Fixtures for sandbox tests. Docker tests skip, with the reason, when no engine answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devteam.config import DockerSandboxSettings
from devteam.errors import SandboxUnavailableError
from tests.guards import missing


def _engine_or_skip() -> Any:
    from devteam.sandbox import engine

    try:
        return engine.connect(timeout_s=10)
    except SandboxUnavailableError as exc:
        missing(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    client = _engine_or_skip()
    yield client
    client.close()


@pytest.fixture(scope="session")
def sandbox_settings(docker_client: Any) -> DockerSandboxSettings:
    """Default settings, with the image built if it is missing (offline build: ~1-2 min)."""
    from devteam.sandbox import ensure_image

    settings = DockerSandboxSettings()
    ensure_image(settings, progress=lambda m: print(f"[sandbox image] {m}"), client=docker_client)
    return settings


@pytest.fixture(scope="module")
def sandbox(sandbox_settings: DockerSandboxSettings, docker_client: Any) -> Iterator[Any]:
    """One warm sandbox per test module (what the product does: one container, many execs)."""
    from devteam.sandbox.docker_backend import DockerSandbox

    with DockerSandbox(sandbox_settings, client=docker_client) as sb:
        yield sb


@pytest.fixture
def healthy(sandbox: Any) -> Iterator[Any]:
    """The module sandbox, checked to still run a trivial program after the test."""
    yield sandbox
    res = sandbox.exec(["python3", "-c", "print(1)"], timeout_s=30)
    assert res.ok and res.stdout == "1\n", f"sandbox broken after the test: {res}"
