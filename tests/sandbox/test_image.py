"""Image build plumbing (no build here: a real offline build takes minutes, see docs/SANDBOX.md),
and the built image's configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devteam.config import DockerSandboxSettings
from devteam.sandbox.image import (
    debootstrap_command,
    dockerfile_text,
    registry_reachable,
)


def test_debootstrap_command_includes_python_pytest_and_extras() -> None:
    s = DockerSandboxSettings(extra_packages=["git", "python3"], debian_mirror="http://m/debian")
    cmd = debootstrap_command(s, Path("/tmp/r"))
    assert cmd[:2] == ["debootstrap", "--variant=minbase"]
    assert cmd[2] == "--include=python3,python3-pytest,git"
    assert cmd[3:] == ["bookworm", "/tmp/r", "http://m/debian"]


def test_dockerfile_from_base_image_with_pytest() -> None:
    text = dockerfile_text(
        DockerSandboxSettings(base_image="python:3.11-slim", extra_packages=["git"])
    )
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "pip install --no-cache-dir pytest" in text and "git" in text


@pytest.mark.docker
def test_the_built_image_carries_the_import_changes(
    sandbox_settings: DockerSandboxSettings, docker_client: Any
) -> None:
    """The image the sandbox runs (built offline or from the Dockerfile) has the command,
    environment and folder the sandbox needs."""
    config = docker_client.images.get(sandbox_settings.image).attrs["Config"]
    assert config["Cmd"] == ["sleep", "infinity"]
    env = dict(e.split("=", 1) for e in config["Env"])
    assert {"/usr/local/bin", "/usr/bin", "/bin"} <= set(env["PATH"].split(":"))
    assert env["LANG"] == "C.UTF-8"
    assert config["WorkingDir"] == "/workspace"


def test_registry_check_is_quick_when_unreachable() -> None:
    # a closed loopback port: refused at once, never leaves this machine
    assert registry_reachable("http://127.0.0.1:9/v2/", timeout_s=1) is False
