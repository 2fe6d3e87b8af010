"""Shared fixtures: a real Docker sandbox (skipped, with the reason, without an engine; under CI
that is a failure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devteam.config import DockerSandboxSettings
from devteam.errors import SandboxUnavailableError
from tests.guards import missing
from tests.rendered import Rendered


@pytest.fixture(scope="session")
def docker_sandbox_settings() -> DockerSandboxSettings:
    from devteam.sandbox import engine, ensure_image

    try:
        client = engine.connect(timeout_s=10)
    except SandboxUnavailableError as exc:
        missing(f"no Docker engine: {exc}")
    settings = DockerSandboxSettings()
    ensure_image(settings, progress=lambda m: print(f"[sandbox image] {m}"), client=client)
    client.close()
    return settings


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[Rendered]:
    """Every prompt rendered during the test, in order, by (role, template) with its
    variables: tests check what a prompt was given, never how the prompt words it."""
    from devteam.roles import Role

    seen: list[Rendered] = []
    original = Role.messages

    def spy(
        self: Role, template: str, *, reminder: str | None = None, **variables: Any
    ) -> list[dict[str, Any]]:
        seen.append(Rendered(self.name, template, variables, reminder))
        return original(self, template, reminder=reminder, **variables)

    monkeypatch.setattr(Role, "messages", spy)
    return seen


@pytest.fixture
def config_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Write a devteam.toml of the given text, named by DEVTEAM_CONFIG; returns its path."""

    def write(text: str) -> Path:
        path = tmp_path / "devteam.toml"
        path.write_text(text)
        monkeypatch.setenv("DEVTEAM_CONFIG", str(path))
        return path

    return write
