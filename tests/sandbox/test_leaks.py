"""200 sandbox runs, some killed midway, leave no container and no process behind.

Mix: 160 warm execs in one sandbox (every 8th times out with children running, every 8th
leaves background jobs), 30 cold sandboxes (start, one exec, stop), and 10 sandboxes whose
owner process is killed with SIGKILL, then cleaned up by the automatic prune at the next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from devteam.config import DockerSandboxSettings
from devteam.sandbox import engine
from devteam.sandbox.docker_backend import DockerSandbox

pytestmark = pytest.mark.docker

WARM, COLD, KILLED = 160, 30, 10

OWNER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from devteam.config import DockerSandboxSettings
    from devteam.sandbox.docker_backend import DockerSandbox
    sb = DockerSandbox(DockerSandboxSettings(prune_on_start=False))
    sb.start()
    sb.exec("sleep 600 &", timeout_s=5)
    print("ready", sb.container_id, flush=True)
    sb.exec("sleep 600", timeout_s=900)  # killed with SIGKILL while in here
    """
)


def host_pids_matching(token: bytes) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if token in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def ours(client: Any, owner_pids: set[int]) -> list[Any]:
    return [
        c
        for c in engine.list_sandbox_containers(client)
        if int((c.labels or {}).get(engine.LABEL_OWNER_PID, "0")) in owner_pids
    ]


def test_200_runs_leave_nothing_behind(
    sandbox_settings: DockerSandboxSettings, docker_client: Any
) -> None:
    t_start = time.monotonic()
    owner_pids = {os.getpid()}
    outcomes = {"ok": 0, "timed_out": 0}

    # 1. warm execs in one sandbox
    with DockerSandbox(sandbox_settings, client=docker_client) as sb:
        for i in range(WARM):
            if i % 8 == 3:
                res = sb.exec("sleep 1005 & python3 -c 'while True: pass'", timeout_s=0.3)
                assert res.timed_out, res
                outcomes["timed_out"] += 1
            elif i % 8 == 5:
                res = sb.exec("nohup sleep 1006 >/dev/null 2>&1 & echo bg")
                assert res.ok and res.stdout == "bg\n", res
                outcomes["ok"] += 1
            else:
                sb.put_files({f"f{i}.py": f"print({i})"})
                res = sb.exec(["python3", f"f{i}.py"])
                assert res.ok and res.stdout == f"{i}\n", res
                outcomes["ok"] += 1
        assert [p for p in sb.processes() if p[1] != 65534] == []
    t_warm = time.monotonic() - t_start

    # 2. cold sandboxes
    for i in range(COLD):
        with DockerSandbox(sandbox_settings, client=docker_client) as sb:
            assert sb.exec(["python3", "-c", f"print({i})"]).stdout == f"{i}\n"
    t_cold = time.monotonic() - t_start - t_warm

    # 3. owners killed with SIGKILL while a command runs
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OWNER_SCRIPT], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(KILLED)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line.startswith("ready"), f"owner did not start: {line!r}"
            owner_pids.add(p.pid)
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
            if p.stdout:
                p.stdout.close()
    orphans = ours(docker_client, owner_pids)
    assert len(orphans) == KILLED, "the killed owners' containers should exist until pruned"
    # the next sandbox start prunes containers whose owner is dead
    with DockerSandbox(sandbox_settings, client=docker_client) as sb:
        assert sb.exec("echo after").stdout == "after\n"
    t_total = time.monotonic() - t_start

    assert ours(docker_client, owner_pids) == []
    for token in (b"sleep\x001005", b"sleep\x001006", b"sleep\x00600"):
        assert host_pids_matching(token) == [], f"stray process on the host: {token!r}"
    assert WARM + COLD + KILLED == 200
    print(
        f"\nleak test: {WARM} warm ({t_warm:.1f}s), {COLD} cold ({t_cold:.1f}s), "
        f"{KILLED} killed owners; total {t_total:.1f}s; outcomes {outcomes}"
    )
