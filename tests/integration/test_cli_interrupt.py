"""Ctrl-C, SIGTERM and SIGKILL to the real ``devteam`` command, mid-run (real Docker sandbox,
real git, the model a scripted OpenAI-protocol server): exit 130 and the resume hint (a
SIGKILL: no word), nothing of the run left behind; then ``devteam resume`` through the
command finishes the run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devteam.config import DockerSandboxSettings
from devteam.sandbox import engine
from tests.integration.openai_double import HANG, OpenAIDouble
from tests.integration.test_team_docker import BUGGY, FIXED

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]
TASK = "Write a Python module m.py with add(a, b) returning a + b, with pytest tests"


def _group_members(pgid: int) -> list[int]:
    """Live processes in process group ``pgid`` (zombies excluded)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _own_containers(pid: int) -> list[str]:
    client = engine.connect()
    try:
        return [
            c.name
            for c in engine.list_sandbox_containers(client)
            if c.labels.get(engine.LABEL_OWNER_PID) == str(pid)
        ]
    finally:
        client.close()


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"]
)
def test_an_interrupted_cli_run_stops_cleanly_and_resumes_through_the_cli(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings, signum: int
) -> None:
    env = {
        **os.environ,
        "DEVTEAM_MODEL": "scripted",
        "DEVTEAM_API_KEY": "k",
        "DEVTEAM_WORKSPACE_ROOT": str(tmp_path / "ws"),
        "DEVTEAM_STATE_DIR": str(tmp_path / "state"),
        "DEVTEAM_TEAM": "solo",  # the coder writes code and tests: two calls before the hang
        "COLUMNS": "200",
    }
    env.pop("DEVTEAM_CONFIG", None)
    command = [sys.executable, "-m", "devteam.cli"]
    # the draft (code + tests, which fail in the sandbox), then the fix never comes back
    with OpenAIDouble([BUGGY, HANG]) as model:
        env["DEVTEAM_BASE_URL"] = model.url
        proc = subprocess.Popen(
            [*command, "run", TASK],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: what it leaves is findable
        )
        assert model.hanging.wait(120), "the run never reached its fix call"
        assert _own_containers(proc.pid), "the sandbox should be up while the fix is asked for"
        os.kill(proc.pid, signum)
        out, _ = proc.communicate(timeout=180)  # a loaded machine stops containers slowly
    if signum == signal.SIGKILL:  # a crash: no word from the run; its id is on disk
        assert proc.returncode == -signal.SIGKILL
        (run_dir,) = (tmp_path / "state" / "runs").iterdir()
        run_id = run_dir.name
    else:
        assert proc.returncode == 130, out
        found = re.search(r"Interrupted\. Continue with: devteam resume (\S+)", out)
        assert found, out
        run_id = found.group(1)
        assert "Traceback" not in out
    # nothing of the run outlives it: no process of its group, and (but after a SIGKILL,
    # which leaves its container to the next run's clean-up) no sandbox container
    deadline = time.monotonic() + 10
    while (_group_members(proc.pid) or _own_containers(proc.pid)) and time.monotonic() < deadline:
        if signum == signal.SIGKILL and not _group_members(proc.pid):
            break
        time.sleep(0.2)
    assert _group_members(proc.pid) == []
    if signum != signal.SIGKILL:
        assert _own_containers(proc.pid) == []
    workspace = tmp_path / "ws" / run_id
    assert "a - b" in (workspace / "m.py").read_text()  # the draft is committed

    with OpenAIDouble([FIXED]) as model:
        env["DEVTEAM_BASE_URL"] = model.url
        done = subprocess.run(
            [*command, "resume", run_id],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert len(model.requests) == 1  # only the fix was asked again
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == str(workspace)  # the result's path alone on stdout
    assert re.search(r"^passed: all tests pass", done.stderr, flags=re.MULTILINE), done.stderr
    assert "a + b" in (workspace / "m.py").read_text()
    assert _own_containers(proc.pid) == []  # a killed run's container is gone by now too
    log = subprocess.run(
        ["git", "log", "--format=%an"], cwd=workspace, capture_output=True, text=True, check=True
    ).stdout.split()
    assert log.count("devteam") >= 2
