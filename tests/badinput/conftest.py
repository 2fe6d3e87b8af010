"""The bad-input suite: the real ``devteam`` command in a subprocess, in a fresh folder, with a
clean environment; helpers that check what every case must hold."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

Runner = Callable[..., "Outcome"]


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float
    pid: int
    mark: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def one_sentence(self, *needles: str) -> str:
        """The single ``error:`` line (no traceback), holding every needle."""
        assert "Traceback" not in self.text, self.text
        errors = [ln for ln in self.err.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, self.err
        for needle in needles:
            assert needle in errors[0], errors[0]
        return errors[0]

    def run_id(self) -> str | None:
        for word in self.text.split():
            if word.startswith("20") and word.count("-") >= 2:
                return word.rstrip(".")
        return None


def leftover_processes(mark: str) -> list[int]:
    """Processes (other than this one) whose environment holds ``mark``: what a run left."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def leftover_containers(pid: int) -> list[str]:
    """Sandbox containers the devteam process ``pid`` created and did not remove."""
    try:
        from devteam.sandbox import engine

        client = engine.connect(timeout_s=5)
    except Exception:
        return []
    try:
        return [
            c.name
            for c in engine.list_sandbox_containers(client)
            if (c.labels or {}).get(engine.LABEL_OWNER_PID) == str(pid)
        ]
    finally:
        client.close()


def checkpoints_intact(folder: Path) -> None:
    db = folder / ".devteam" / "checkpoints.sqlite"
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]


@pytest.fixture
def devteam(tmp_path: Path) -> Runner:
    """Run ``devteam ARGS`` in ``tmp_path`` with only the given DEVTEAM_* variables set."""

    def run(
        *args: str | bytes,
        env: dict[str, str] | None = None,
        stdin: bytes | None = None,
        timeout: float = 120,
        store_ok: bool = True,
    ) -> Outcome:
        mark = f"DEVTEAM_TEST_MARK={uuid.uuid4().hex}"
        clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("DEVTEAM_")}
        clean.update({"DEVTEAM_TEST_MARK": mark.split("=")[1], "COLUMNS": "200"})
        # The fake model server answers in the shapes of the classic team's phases (spec,
        # tests, code, triage); what is under test here is the CLI's handling of the server.
        clean["DEVTEAM_TEAM"] = "classic"
        clean.update(env or {})
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "devteam.cli", *args],
            cwd=tmp_path,
            env=clean,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = proc.communicate(stdin, timeout=timeout)
        outcome = Outcome(
            proc.returncode,
            out.decode(errors="replace"),
            err.decode(errors="replace"),
            time.monotonic() - started,
            proc.pid,
            mark.split("=")[1],
        )
        deadline = time.monotonic() + 5
        while leftover_processes(outcome.mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leftover_processes(outcome.mark) == [], "processes left running"
        assert leftover_containers(proc.pid) == [], "sandbox containers left running"
        if store_ok:
            checkpoints_intact(tmp_path)
        return outcome

    return run
