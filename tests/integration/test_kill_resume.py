"""SIGKILL a real run mid-way (real Docker sandbox, real git, SQLite checkpoints); resume it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devteam.config import DockerSandboxSettings, Settings
from devteam.events import ModelCall, read_audit_log
from devteam.llm.scripted import ScriptedModel, by_role
from devteam.sandbox import engine
from devteam.team import Team
from tests.integration.test_team_docker import (
    APPROVE,
    CODE_IS_WRONG,
    FIXED,
    default_team_script,
)
from tests.unit.test_graph import ACCEPT

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]


def test_a_killed_run_resumes_without_redoing_steps_or_losing_files(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    ws_root, state = tmp_path / "ws", tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.killable_run", str(ws_root), str(state), "k1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    line = ""
    while time.monotonic() < deadline and "KILL-ME" not in line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
    assert "KILL-ME" in line, "the run never reached its fix step"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    workspace = ws_root / "k1"
    before = (workspace / "m.py").read_text()
    assert "a - b" in before  # the coder's first version is on disk and committed

    # only the fix, the review and the acceptance check are left to do
    model = ScriptedModel(by_role({"coder": [FIXED], "reviewer": [APPROVE], "ceo": [ACCEPT]}))
    settings = Settings(workspace_root=ws_root, state_dir=state, sandbox=docker_sandbox_settings)
    result = Team(settings, model=model).resume("k1")

    assert result.status == "passed" and result.fix_attempts == 1
    # plan, tests, code and triage were not redone
    assert [role for role, _ in model.calls] == ["coder", "reviewer", "ceo"]
    assert "a + b" in (workspace / "m.py").read_text()
    events = read_audit_log(result.audit_log)
    assert sum(1 for e in events if e.kind == "run_started") == 2
    assert any(e.kind == "note" and "Resuming" in e.text for e in events)  # type: ignore[union-attr]
    # tokens spent before the kill are still counted: the totals are every finished call's
    calls = [e for e in events if isinstance(e, ModelCall)]
    assert [c.role for c in calls] == [
        "ceo",
        "tester",
        "coder",
        "tester",
        *["coder", "reviewer"],
        "ceo",
    ]
    assert result.prompt_tokens == sum(c.prompt_tokens for c in calls)
    assert result.completion_tokens == sum(c.completion_tokens for c in calls)

    # the killed process's sandbox container does not outlive it
    client = engine.connect()
    leftovers = [
        c
        for c in engine.list_sandbox_containers(client)
        if c.labels.get(engine.LABEL_OWNER_PID) == str(proc.pid)
    ]
    client.close()
    assert leftovers == []


def test_resuming_a_finished_run_does_nothing_and_reports_it(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    from tests.unit.test_graph import TASK

    settings = Settings(
        workspace_root=tmp_path / "ws", state_dir=tmp_path / "st", sandbox=docker_sandbox_settings
    )
    model = ScriptedModel(by_role(default_team_script()))
    first = Team(settings, team="classic", model=model).run(TASK, run_id="f1")
    again = Team(settings, model=ScriptedModel([])).resume("f1")
    assert again.status == first.status == "passed"
    assert again.files == first.files


@pytest.mark.parametrize("where", ["tests", "sandbox"])
def test_a_run_killed_elsewhere_resumes_from_the_last_finished_step(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings, where: str
) -> None:
    ws_root, state = tmp_path / "ws", tmp_path / "state"
    cmd = [sys.executable, "-m", "tests.integration.killable_run", str(ws_root), str(state)]
    proc = subprocess.Popen([*cmd, "k2", where], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert "KILL-ME" in proc.stdout.readline()
    if where == "sandbox":  # wait until the hanging code runs in the run's own container
        assert _wait_for(lambda: _running_in_own_container(proc.pid, "pytest")), "never ran"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    settings = Settings(workspace_root=ws_root, state_dir=state, sandbox=docker_sandbox_settings)
    if where == "tests":  # killed in the tester's call: only the plan is done
        script = default_team_script()
        script["ceo"] = script["ceo"][1:]  # the plan is not asked again
        expected = ["tester", "coder", "tester", "coder", "reviewer", "ceo"]
    else:  # killed while the sandbox ran code that hangs: plan, tests and code are done
        script = {"tester": [CODE_IS_WRONG], "coder": [FIXED], "reviewer": [APPROVE]}
        script["ceo"] = [ACCEPT]
        expected = ["tester", "coder", "reviewer", "ceo"]
    model = ScriptedModel(by_role(script))
    settings.sandbox.timeout_s = 5  # the re-run of the hanging code times out; then it is fixed
    result = Team(settings, model=model).resume("k2")
    assert result.status == "passed", result.reason
    assert [role for role, _ in model.calls] == expected
    assert "a + b" in (ws_root / "k2" / "m.py").read_text()
    assert _own_containers(proc.pid) == []  # the killed run's container (and its loop) is gone


def _own_containers(pid: int) -> list[Any]:
    client = engine.connect()
    try:
        return [
            c
            for c in engine.list_sandbox_containers(client)
            if c.labels.get(engine.LABEL_OWNER_PID) == str(pid)
        ]
    finally:
        client.close()


def _running_in_own_container(pid: int, what: str) -> bool:
    for container in _own_containers(pid):
        if any(what in " ".join(p) for p in container.top().get("Processes") or []):
            return True
    return False


def _wait_for(check: Callable[[], bool], timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False
