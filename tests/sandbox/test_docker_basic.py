"""The DockerSandbox contract against the real engine: files, exec, pytest, timeouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devteam.config import DockerSandboxSettings
from devteam.errors import SandboxFileNotFoundError, SandboxImageMissingError
from devteam.sandbox import EXIT_TIMEOUT, Sandbox, open_sandbox
from devteam.sandbox.docker_backend import DockerSandbox

pytestmark = pytest.mark.docker


def test_open_sandbox_gives_docker_by_default(sandbox_settings: DockerSandboxSettings) -> None:
    sb = open_sandbox(sandbox_settings)
    assert isinstance(sb, DockerSandbox) and isinstance(sb, Sandbox)


def test_sync_dir_exec_and_pytest_failures(
    sandbox_settings: DockerSandboxSettings, tmp_path: Path
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(
        "from pkg.calc import add\n\n"
        "def test_add():\n    assert add(2, 2) == 4\n\n"
        "def test_zero():\n    assert add(0, 0) == 0\n"
    )
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    with open_sandbox(sandbox_settings, workspace=tmp_path) as sb:
        assert sb.is_alive()
        res = sb.exec(["python3", "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider"])
        assert res.exit_code == 1 and not res.ok
        assert res.failing_tests == ["tests/test_calc.py::test_add"]
        assert sb.exec("test ! -e .git").ok
        # fix, re-sync, rerun: same container
        (tmp_path / "pkg" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
        sb.sync_dir(tmp_path)
        res = sb.exec("python3 -m pytest -q -p no:cacheprovider")
        assert res.ok, res
        assert res.failing_tests == []
    assert not sb.is_alive()


def test_put_get_files(sandbox: Any) -> None:
    sandbox.put_files({"d/e/f.txt": "x" * 10, "bin.dat": bytes(range(256))})
    assert sandbox.get_file("d/e/f.txt") == b"x" * 10
    assert sandbox.get_file("bin.dat") == bytes(range(256))
    with pytest.raises(SandboxFileNotFoundError):
        sandbox.get_file("nope.txt")


def test_exec_string_env_workdir(sandbox: Any) -> None:
    sandbox.put_files({"sub/a.txt": "hi\n"})
    res = sandbox.exec(
        "cat a.txt; echo $FOO; echo err >&2; exit 3", workdir="sub", env={"FOO": "bar"}
    )
    assert res.exit_code == 3
    assert res.stdout == "hi\nbar\n" and res.stderr == "err\n"


def test_timeout_then_next_command_works(sandbox: Any) -> None:
    res = sandbox.exec("sleep 30", timeout_s=1)
    assert res.timed_out and res.exit_code == EXIT_TIMEOUT and res.duration_s < 5
    assert sandbox.exec(["python3", "-c", "print(1)"]).stdout == "1\n"


def test_missing_image_says_build(docker_client: Any) -> None:
    settings = DockerSandboxSettings(image="devteam-sandbox:does-not-exist")
    with pytest.raises(SandboxImageMissingError, match="devteam sandbox build"):
        DockerSandbox(settings, client=docker_client).start()


def test_put_files_too_big_for_workspace_is_a_clear_error(sandbox: Any) -> None:
    from devteam.errors import SandboxError

    sandbox.put_files({"huge.bin": b"\0" * (300 * 1024 * 1024)})
    with pytest.raises(SandboxError, match="workspace"):
        sandbox.exec("true")
    assert sandbox.exec("rm -f huge.bin; echo ok").stdout == "ok\n"
