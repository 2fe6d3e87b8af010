"""The shipped fake sandbox keeps the contract the agents and the Team rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from devteam.errors import SandboxError
from devteam.sandbox import ManagedSandbox, Sandbox
from devteam.sandbox.fake import FakeSandbox, ScriptExhaustedError, failed, passed


def test_it_replays_its_script_and_records_what_it_was_asked(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    with FakeSandbox([failed("tests/test_m.py::test_x"), passed()]) as sb:
        assert isinstance(sb, ManagedSandbox) and isinstance(sb, Sandbox) and sb.started
        sb.sync_dir(tmp_path)
        sb.put_files({"a/b.txt": "hi"})
        first = sb.exec(["python3", "-m", "pytest"])
        second = sb.exec("echo hi")
        assert not first.ok and first.failing_tests == ["tests/test_m.py::test_x"]
        assert second.ok and second.command == ["sh", "-c", "echo hi"]
        assert sb.commands == [["python3", "-m", "pytest"], ["sh", "-c", "echo hi"]]
        assert sb.synced == [{"m.py": "x = 1\n"}] and sb.get_file("a/b.txt") == b"hi"
        with pytest.raises(ScriptExhaustedError):
            sb.exec("true")
        with pytest.raises(SandboxError, match="leaves the workspace"):
            sb.put_files({"../x": "no"})
    assert not sb.started


def test_a_scripted_exception_is_raised_in_its_turn() -> None:
    sb = FakeSandbox([SandboxError("Docker engine not reachable")])
    with pytest.raises(SandboxError, match="not reachable"):
        sb.exec(["true"])
