"""What a run starts dies with it: the embedded server with its owner (even a SIGKILLed one,
even in the middle of a generation), and ``sandbox exec``'s container on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devteam.config import DockerSandboxSettings
from tests.badinput.conftest import leftover_containers

# A server that, like uvicorn shutting down gracefully, does not stop on SIGTERM while it
# still has a generation to finish.
BUSY_SERVER = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"


def gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split()[2] == "Z"
    except (OSError, IndexError):
        return True


def test_the_server_stops_generating_when_its_owner_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from devteam.llm import server\n"
        "s = server.EmbeddedServer(Path('x.gguf'), log_path=Path(sys.argv[1]))\n"
        f"s.command = lambda port: [sys.executable, '-c', {BUSY_SERVER!r}]\n"
        "s._launch(0)\n"
        "print(s.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "log")], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    server_pid = int(owner.stdout.readline())
    time.sleep(0.5)  # the server has set its SIGTERM handler
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 2
    while not gone(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not gone(server_pid):
        os.kill(server_pid, signal.SIGKILL)
        raise AssertionError("the server went on after its owner was SIGKILLed")


@pytest.mark.docker
def test_sigterm_to_sandbox_exec_removes_its_container(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DEVTEAM_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devteam.cli", "sandbox", "exec", "--", "sleep", "60"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not leftover_containers(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leftover_containers(proc.pid), "the sandbox never started"
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert b"Traceback" not in err
    assert leftover_containers(proc.pid) == []
