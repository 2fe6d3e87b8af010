"""``devteam sandbox`` sub-commands, through typer's runner, against the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam.cli_sandbox import app
from devteam.config import DockerSandboxSettings, LocalSandboxSettings
from devteam.sandbox.base import EXIT_OOM, EXIT_SANDBOX_ERROR, EXIT_TIMEOUT

runner = CliRunner()


@pytest.mark.docker
def test_exec_with_dir_and_exit_code(
    sandbox_settings: DockerSandboxSettings, tmp_path: Path
) -> None:
    (tmp_path / "m.py").write_text("import sys\nprint('from dir')\nsys.exit(7)\n")
    res = runner.invoke(app, ["exec", "--dir", str(tmp_path), "--", "python3", "m.py"])
    assert res.exit_code == 7, res.output
    assert "from dir" in res.output


@pytest.mark.docker
def test_exec_timeout_and_oom_codes(sandbox_settings: DockerSandboxSettings) -> None:
    res = runner.invoke(app, ["exec", "--timeout", "1", "--", "sleep", "20"])
    assert res.exit_code == EXIT_TIMEOUT, res.output
    bomb = "x = []\nwhile True:\n    x.append(bytearray(16 * 1024**2))"
    res = runner.invoke(app, ["exec", "--memory", "128m", "--", "python3", "-c", bomb])
    assert res.exit_code == EXIT_OOM, res.output


@pytest.mark.docker
def test_missing_image_is_a_sandbox_error(
    sandbox_settings: DockerSandboxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVTEAM_SANDBOX__IMAGE", "devteam-sandbox:absent")
    res = runner.invoke(app, ["exec", "--", "true"])
    assert res.exit_code == EXIT_SANDBOX_ERROR
    assert "devteam sandbox build" in res.output


def test_no_engine_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    res = runner.invoke(app, ["exec", "--", "true"])
    assert res.exit_code == EXIT_SANDBOX_ERROR
    assert "Docker engine not reachable" in res.output
    assert "DEVTEAM_SANDBOX__BACKEND=local" in res.output
    assert "Traceback" not in res.output


@pytest.mark.docker
def test_status_and_prune(sandbox_settings: DockerSandboxSettings) -> None:
    res = runner.invoke(app, ["status"])
    assert res.exit_code == 0, res.output
    assert "engine: reachable" in res.output and "present" in res.output
    res = runner.invoke(app, ["prune"])
    assert res.exit_code == 0 and "removed" in res.output


def test_local_backend_only_by_name_and_loud(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from devteam.sandbox import open_sandbox
    from devteam.sandbox.local import LocalSandbox

    sb = open_sandbox(LocalSandboxSettings())
    assert isinstance(sb, LocalSandbox)
    with sb:
        sb.put_files({"t.py": "print('ok')"})
        res = sb.exec(["python3", "t.py"])
        assert res.ok and res.stdout == "ok\n"
        assert sb.exec("sleep 10", timeout_s=0.5).timed_out
    assert "LOCAL sandbox backend" in capsys.readouterr().err + caplog.text
