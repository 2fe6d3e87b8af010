"""The real ``devteam`` command in a real terminal (tmux): the live view is drawn, Ctrl-C stops
the run, the resume hint is read off the screen and run to completion, and nothing of the run
is left (no sandbox container of its processes, no process of it).

The model is a scripted OpenAI-protocol server whose second reply never comes, so the run
waits, mid-flight, until Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from devteam.config import DockerSandboxSettings
from devteam.sandbox import engine
from tests.capture_script import load as load_capture_script
from tests.guards import missing
from tests.integration.openai_double import HANG, OpenAIDouble
from tests.integration.test_team_docker import BUGGY, FIXED

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]
TASK = "Write a Python module m.py with add(a, b) returning a + b, with pytest tests"
WAIT_S = 180  # the machine may be loaded


TmuxServer = load_capture_script().TmuxServer


class Terminal(TmuxServer):  # type: ignore[misc, valid-type]
    """A tmux server of its own (``-L``), one session per command, 200 x 50 characters."""

    def __init__(self, env: dict[str, str]) -> None:
        if shutil.which("tmux") is None:
            missing("no tmux (apt-get install tmux)")
        self.socket = f"devteam-test-{uuid.uuid4().hex[:8]}"
        self.env = env

    def start(self, name: str, command: list[str], cwd: Path, url: str) -> None:
        """Run ``command`` in a new session, its model at ``url``; the pane stays (and shows
        the exit status)."""
        line = (
            f"cd {shlex.quote(str(cwd))} && trap : INT; {shlex.join(command)}; "
            f"echo EXITED:$?; sleep 900"
        )
        size = ["-x", "200", "-y", "50"]
        base_url = f"DEVTEAM_BASE_URL={url}"  # a session's own (the server keeps the first env)
        self.tmux("new-session", "-d", "-s", name, *size, "-e", base_url, "sh", "-c", line)

    def screen(self, name: str) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", name)

    def pane_pid(self, name: str) -> int:
        return int(self.tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def wait_for(
        self, name: str, pattern: str, watch: Callable[[], object] | None = None
    ) -> re.Match[str]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if watch is not None:
                watch()
            found = re.search(pattern, self.screen(name))
            if found:
                return found
            time.sleep(0.3)
        raise AssertionError(f"{pattern!r} never showed; the screen:\n{self.screen(name)}")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _marked(mark: str, keep: Callable[[str], bool]) -> dict[int, str]:
    """Live processes (pid: command line) whose environment holds ``mark`` and that ``keep``
    likes."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark.encode() not in (entry / "environ").read_bytes():
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and keep(cmdline):
            found[int(entry.name)] = cmdline
    return found


def _containers_of(pids: set[int]) -> list[str]:
    client = engine.connect()
    try:
        owners = {str(p) for p in pids}
        return [
            c.name
            for c in engine.list_sandbox_containers(client)
            if c.labels.get(engine.LABEL_OWNER_PID) in owners
        ]
    finally:
        client.close()


def _run_processes(mark: str) -> dict[int, str]:
    """The run's own processes: devteam and anything it started (not tmux, sh or sleep)."""
    return _marked(mark, lambda cmd: "devteam.cli" in cmd and not cmd.startswith(("sh ", "tmux")))


def test_ctrl_c_in_a_terminal_stops_cleanly_and_the_hint_on_screen_resumes_the_run(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    mark = f"devteam-tty-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DEVTEAM_MODEL": "scripted",
        "DEVTEAM_API_KEY": "k",
        "DEVTEAM_WORKSPACE_ROOT": str(tmp_path / "ws"),
        "DEVTEAM_STATE_DIR": str(tmp_path / "state"),
        "DEVTEAM_TEAM": "solo",  # the coder writes code and tests: one call before the hang
        "DEVTEAM_TEST_MARK": mark,
        "TERM": "xterm-256color",
    }
    for name in ("DEVTEAM_CONFIG", "COLUMNS", "LINES", "CI", "NO_COLOR", "TMUX"):
        env.pop(name, None)
    devteam = [sys.executable, "-m", "devteam.cli"]
    term = Terminal(env)
    try:
        with OpenAIDouble([BUGGY, HANG]) as model:
            run = [*devteam, "run", TASK, "--max-tokens", "40000"]
            term.start("run", run, tmp_path, model.url)
            assert model.hanging.wait(WAIT_S), term.screen("run")
            (runner,) = _children(term.pane_pid("run"))
            seen = {runner}
            # the live view: stages with the fix lit, the sandbox's verdict, the budget bars
            term.wait_for("run", r"● fix")
            screen = term.screen("run")
            assert "✓ write" in screen and "failed (exit 1)" in screen, screen
            assert re.search(r"tokens .*/ 40,000", screen), screen
            assert "coder wrote" in screen and "def test_add_negative():" in screen, screen
            assert "Checking the sandbox image" not in screen  # the start's messages are gone
            assert _containers_of(seen), "the sandbox should be up while the fix is asked"

            term.tmux("send-keys", "-t", "run", "C-c")
            found = term.wait_for("run", r"Continue with: (devteam resume \S+ --max-tokens 40000)")
            term.wait_for("run", r"EXITED:130")
        hint = found.group(1).split()
        run_id = hint[2]
        assert "Traceback" not in term.screen("run")
        # nothing of the run outlives it: no process, no container
        assert _run_processes(mark) == {}
        assert _containers_of(seen) == []

        workspace = tmp_path / "ws" / run_id
        assert "a - b" in (workspace / "m.py").read_text()  # the draft is committed
        with OpenAIDouble([FIXED]) as model:
            term.start("resume", [*devteam, *hint[1:]], tmp_path, model.url)
            done = term.wait_for(
                "resume", r"EXITED:(\d+)", watch=lambda: seen.update(_run_processes(mark))
            )
            screen = term.screen("resume")
            assert done.group(1) == "0", screen
            assert len(model.requests) == 1  # only the fix was asked again
        lines = [ln for ln in screen.splitlines() if ln.strip()]
        assert lines[lines.index("EXITED:0") - 1] == str(workspace)  # stdout's last line
        assert "passed: all tests pass" in screen and "✓ fix" in screen, screen
        assert "a + b" in (workspace / "m.py").read_text()
        assert _run_processes(mark) == {}
        assert len(seen) == 2  # the run, then its resume
        assert _containers_of(seen) == []
    finally:
        term.close()
