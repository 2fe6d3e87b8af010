"""The sandbox settings: one class per backend, told apart by ``backend``."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from devteam.config import (
    DockerSandboxSettings,
    LocalSandboxSettings,
    SandboxSettings,
    Settings,
    load_settings,
)
from devteam.errors import ConfigError
from devteam.sandbox import ensure_image, open_sandbox
from devteam.sandbox.docker_backend import DockerSandbox
from devteam.sandbox.local import LocalSandbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "devteam.toml"
TABLE: TypeAdapter[SandboxSettings] = TypeAdapter(SandboxSettings)


def test_each_backend_reads_only_its_own_keys() -> None:
    docker = TABLE.validate_python({"pids": 64, "memory": "1g"})
    assert isinstance(docker, DockerSandboxSettings)
    assert docker.pids == 64 and docker.memory == "1g" and docker.backend == "docker"
    local = LocalSandboxSettings(memory="1g")
    assert local.memory == "1g" and not hasattr(local, "pids") and not hasattr(local, "image")
    assert "pids" not in LocalSandboxSettings.model_fields


def test_the_backend_key_tells_the_classes_apart() -> None:
    assert isinstance(TABLE.validate_python({"backend": "local"}), LocalSandboxSettings)
    assert isinstance(TABLE.validate_python({}), DockerSandboxSettings)  # docker by default
    docker = TABLE.validate_python({"backend": "docker", "pids": 9})
    assert isinstance(docker, DockerSandboxSettings) and docker.pids == 9
    with pytest.raises(ValidationError, match='backend must be "docker" or "local"'):
        TABLE.validate_python({"backend": "podman"})
    assert isinstance(Settings().sandbox, DockerSandboxSettings)
    assert isinstance(Settings(sandbox={"backend": "local"}).sandbox, LocalSandboxSettings)


def test_a_bad_backend_is_one_sentence_naming_the_key(config_toml: Callable[[str], Path]) -> None:
    config_toml('[sandbox]\nbackend = "podman"\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = str(info.value)
    assert text.startswith('Invalid setting \'sandbox\': backend must be "docker" or "local"')
    assert "DEVTEAM_SANDBOX__BACKEND" in text and "\n" not in text
    config_toml("[sandbox]\npids = 0\n")  # a docker key's error names the table's key
    with pytest.raises(ConfigError, match=r"^Invalid setting 'sandbox\.pids': "):
        load_settings()


def test_the_shipped_example_loads_every_sandbox_key_it_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVTEAM_CONFIG", str(EXAMPLE))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the example uses no deprecated form
        sandbox = load_settings().sandbox
    assert isinstance(sandbox, DockerSandboxSettings)
    assert (sandbox.memory, sandbox.cpus, sandbox.pids) == ("512m", 1.0, 128)
    assert sandbox.timeout_s == 120 and sandbox.network is False


def test_an_old_flat_table_with_the_local_backend_still_loads(
    config_toml: Callable[[str], Path],
) -> None:
    config_toml('[sandbox]\nbackend = "local"\nmemory = "1g"\npids = 64\nimage = "x:y"\n')
    with pytest.warns(FutureWarning, match=r"sandbox\.image, sandbox\.pids are read only by"):
        own = load_settings().sandbox
    assert isinstance(own, LocalSandboxSettings) and own.memory == "1g"
    # the docker keys are still checked, so a typo or a bad value never goes unnoticed
    config_toml('[sandbox]\nbackend = "local"\ntmpfs_size = "lots"\n')
    with pytest.raises(ConfigError, match=r"sandbox\.tmpfs_size.*not a size"):
        load_settings()
    config_toml('[sandbox]\nbackend = "local"\nimag = "x:y"\n')
    with pytest.raises(ConfigError, match=r"sandbox\.imag"):
        load_settings()


def test_the_backend_can_be_switched_by_env_over_a_docker_table(
    config_toml: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_toml("[sandbox]\npids = 64\nnetwork = false\n")
    assert isinstance(load_settings().sandbox, DockerSandboxSettings)
    monkeypatch.setenv("DEVTEAM_SANDBOX__BACKEND", "local")
    with pytest.warns(FutureWarning, match="ignored"):
        sandbox = load_settings().sandbox
    assert isinstance(sandbox, LocalSandboxSettings)
    assert isinstance(open_sandbox(sandbox), LocalSandbox)
    assert ensure_image(sandbox) is False  # no image for the local backend


def test_env_variables_reach_the_chosen_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVTEAM_SANDBOX__MEMORY", "1g")
    monkeypatch.setenv("DEVTEAM_SANDBOX__PIDS", "64")
    sandbox = load_settings().sandbox
    assert isinstance(sandbox, DockerSandboxSettings)
    assert (sandbox.memory, sandbox.pids) == ("1g", 64)


def test_a_backend_takes_its_own_class_or_the_keys_it_shares_with_the_other() -> None:
    local = LocalSandboxSettings(timeout_s=7)
    assert DockerSandbox(local).settings == DockerSandboxSettings(timeout_s=7)
    docker = DockerSandboxSettings(timeout_s=7, pids=3)
    assert LocalSandbox(docker).settings == LocalSandboxSettings(timeout_s=7)
    assert DockerSandbox().settings == DockerSandboxSettings()
    own = DockerSandboxSettings(pids=5)
    assert DockerSandbox(own).settings is own
    assert isinstance(open_sandbox(own), DockerSandbox)
