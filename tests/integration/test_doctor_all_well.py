"""``devteam doctor`` with everything a run needs: a real Docker engine and sandbox image,
and a real HTTP endpoint that accepts the key. Exit 0, every check ok."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli
from devteam.config import DockerSandboxSettings
from tests.unit.test_doctor import endpoint  # noqa: F401  (a fixture)

pytestmark = pytest.mark.docker


def test_doctor_with_everything_present_exits_0(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_sandbox_settings: DockerSandboxSettings,
    endpoint: str,  # noqa: F811
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEVTEAM_TEAM", raising=False)
    monkeypatch.setenv("DEVTEAM_BASE_URL", endpoint)
    monkeypatch.setenv("DEVTEAM_API_KEY", "right")
    res = CliRunner().invoke(cli.app, ["doctor"])
    assert res.exit_code == 0, res.output
    checks = {ln.split(":")[0].split()[-1]: ln.split()[0] for ln in res.output.splitlines()[:-1]}
    assert checks == {
        "settings": "ok",
        "team": "ok",
        "checkpoints": "ok",
        "disk": "ok",
        "docker": "ok",
        "image": "ok",
        "sandbox": "ok",
        "llama-cpp": "note",
        "model": "note",
        "endpoint": "ok",
    }, res.output
    assert "fix:" not in res.output and "Everything a run needs is here." in res.output
