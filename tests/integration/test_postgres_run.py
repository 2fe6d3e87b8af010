"""A whole team run checkpointed in a real PostgreSQL server: SIGKILLed mid-way, resumed by a
fresh process's Team from the database (real Docker sandbox, real git)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devteam.config import DockerSandboxSettings, Settings
from devteam.events import ModelCall, read_audit_log
from devteam.llm.scripted import ScriptedModel, by_role
from devteam.team import Team
from tests.guards import require_module
from tests.integration.test_team_docker import APPROVE, FIXED
from tests.unit.test_graph import ACCEPT

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pg-s3cret"


def test_a_run_killed_mid_way_resumes_from_postgresql(
    tmp_path: Path, postgres_url: str, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    require_module("langgraph.checkpoint.postgres", "pip install 'devteam[postgres]'")
    url = postgres_url.replace("devteam@", f"devteam:{PASSWORD}@", 1)  # trusted: never checked
    ws_root, state = tmp_path / "ws", tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.killable_run", str(ws_root), str(state), "pg1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "DEVTEAM_CHECKPOINTER": url},
    )
    assert proc.stdout is not None
    deadline, line = time.monotonic() + 120, ""
    while time.monotonic() < deadline and "KILL-ME" not in line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
    assert "KILL-ME" in line, f"the run never reached its fix step (exit {proc.poll()})"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert "a - b" in (ws_root / "pg1" / "m.py").read_text()  # the first version is committed

    # A fresh Team in this process: everything it knows of the run comes from PostgreSQL.
    model = ScriptedModel(by_role({"coder": [FIXED], "reviewer": [APPROVE], "ceo": [ACCEPT]}))
    settings = Settings(
        workspace_root=ws_root, state_dir=state, sandbox=docker_sandbox_settings, checkpointer=url
    )
    result = Team(settings, model=model).resume("pg1")

    assert result.status == "passed", result.reason
    assert [role for role, _ in model.calls] == ["coder", "reviewer", "ceo"]  # nothing redone
    assert result.fix_attempts == 1 and "a + b" in (ws_root / "pg1" / "m.py").read_text()
    assert not (state / "checkpoints.sqlite").exists()  # the checkpoints were never in SQLite
    events = read_audit_log(result.audit_log)
    calls = [e for e in events if isinstance(e, ModelCall)]
    assert len(calls) == 7 and result.tokens == sum(
        c.prompt_tokens + c.completion_tokens for c in calls
    )
    assert PASSWORD not in result.audit_log.read_text()  # the settings are logged redacted

    # the database holds the run's thread
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", ("pg1",)
        ).fetchone()
    assert row is not None and row[0] > 5
