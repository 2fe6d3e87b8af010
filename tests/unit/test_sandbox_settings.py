"""The sandbox settings: one flat [sandbox] table as written, one class per backend as read."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from devteam.config import (
    DockerSandboxSettings,
    LocalSandboxSettings,
    SandboxBackendSettings,
    SandboxSettings,
    load_settings,
)
from devteam.errors import ConfigError
from devteam.sandbox import backend_settings, ensure_image, open_sandbox
from devteam.sandbox.docker_backend import DockerSandbox
from devteam.sandbox.local import LocalSandbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "devteam.toml"


def test_each_backend_reads_only_its_own_keys() -> None:
    docker = SandboxSettings(pids=64, memory="1g").for_backend()
    assert isinstance(docker, DockerSandboxSettings)
    assert docker.pids == 64 and docker.memory == "1g" and docker.backend == "docker"
    local = SandboxSettings(backend="local", pids=64, memory="1g").for_backend()
    assert isinstance(local, LocalSandboxSettings)
    assert local.memory == "1g" and not hasattr(local, "pids") and not hasattr(local, "image")
    with pytest.raises(ValidationError, match="pids"):
        LocalSandboxSettings(pids=64)  # type: ignore[call-arg]


def test_the_backend_key_tells_the_classes_apart() -> None:
    adapter: TypeAdapter[DockerSandboxSettings | LocalSandboxSettings] = TypeAdapter(
        SandboxBackendSettings
    )
    assert isinstance(adapter.validate_python({"backend": "local"}), LocalSandboxSettings)
    docker = adapter.validate_python({"backend": "docker", "pids": 9})
    assert isinstance(docker, DockerSandboxSettings) and docker.pids == 9
    with pytest.raises(ValidationError, match="backend"):
        adapter.validate_python({"backend": "podman"})


def test_the_shipped_example_loads_every_sandbox_key_it_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVTEAM_CONFIG", str(EXAMPLE))
    sandbox = load_settings().sandbox
    assert (sandbox.memory, sandbox.cpus, sandbox.pids) == ("512m", 1.0, 128)
    assert sandbox.timeout_s == 120 and sandbox.network is False
    assert isinstance(sandbox.for_backend(), DockerSandboxSettings)


def test_an_old_flat_table_with_the_local_backend_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "devteam.toml"
    toml.write_text('[sandbox]\nbackend = "local"\nmemory = "1g"\npids = 64\nimage = "x:y"\n')
    monkeypatch.setenv("DEVTEAM_CONFIG", str(toml))
    own = load_settings().sandbox.for_backend()
    assert isinstance(own, LocalSandboxSettings) and own.memory == "1g"
    # the docker keys are still checked, so a typo or a bad value never goes unnoticed
    toml.write_text('[sandbox]\nbackend = "local"\ntmpfs_size = "lots"\n')
    with pytest.raises(ConfigError, match=r"sandbox\.tmpfs_size"):
        load_settings()


def test_the_backend_can_be_switched_by_env_over_a_docker_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "devteam.toml"
    toml.write_text("[sandbox]\npids = 64\nnetwork = false\n")
    monkeypatch.setenv("DEVTEAM_CONFIG", str(toml))
    monkeypatch.setenv("DEVTEAM_SANDBOX__BACKEND", "local")
    sandbox = load_settings().sandbox
    assert isinstance(backend_settings(sandbox), LocalSandboxSettings)
    assert isinstance(open_sandbox(sandbox), LocalSandbox)
    assert ensure_image(sandbox) is False  # no image for the local backend


def test_a_backend_takes_its_own_class_or_the_flat_table() -> None:
    flat = SandboxSettings(backend="local", timeout_s=7, pids=3)
    assert LocalSandbox(flat).settings == LocalSandboxSettings(timeout_s=7)
    assert DockerSandbox(flat).settings == DockerSandboxSettings(timeout_s=7, pids=3)
    assert DockerSandbox().settings == DockerSandboxSettings()
    own = DockerSandboxSettings(pids=5)
    assert DockerSandbox(own).settings is own
    assert isinstance(open_sandbox(own), DockerSandbox)
