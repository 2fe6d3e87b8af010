"""The fleet: two workers on one PostgreSQL (queue, ledger and checkpoints), one killed with
SIGKILL inside the team's run; the other takes the job over, resumes it from its checkpoint
and finishes it exactly once (one PR, one final comment)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from devteam.config import DockerSandboxSettings, Settings
from devteam.github.ledger import Ledger
from devteam.github.settings import BotSettings
from devteam.github.triggers import Trigger
from devteam.github.worker import Bot
from tests.github.test_restart import (
    REPO,
    remote_branches,
    start,
    wait_for,
    world,
    write_config,
)

pytestmark = pytest.mark.docker


def test_two_workers_one_killed_mid_job_the_other_finishes_it_once(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings, bot_database: str
) -> None:
    bare, gh = world(tmp_path, "write")
    with gh.serve() as api_url:
        config, settings, bot_conf = write_config(
            tmp_path,
            api_url,
            docker_sandbox_settings,
            {"queue": bot_database, "lease_s": 2.0},
            {"checkpointer": bot_database},
        )
        logs = [tmp_path / "w0.log", tmp_path / "w1.log"]
        # two "machines": a worker's death is noticed only by its lease running out
        workers = [
            start(config, "hang-once", log, machine=f"machine-{i}") for i, log in enumerate(logs)
        ]
        try:
            for proc, log in zip(workers, logs, strict=True):
                wait_for(log, "WORKER-UP", proc, 180)  # a loaded machine starts slowly
            receiver = Bot(Settings(**settings), BotSettings(**bot_conf))
            receiver.enqueue(
                Trigger(repo=REPO, issue=5, kind="label", sender="maint", delivery="f1")
            )
            receiver.close()
            deadline = time.monotonic() + 120
            while not (tmp_path / "hung").exists():
                assert time.monotonic() < deadline, [log.read_text()[-2000:] for log in logs]
                time.sleep(0.1)
            ledger = Ledger(bot_database)
            [run] = ledger.runs(REPO, 5)
            assert run.worker is not None
            victim_pid = int(run.worker.split(":")[1])
            victim = next(i for i, p in enumerate(workers) if p.pid == victim_pid)
            wait_for(logs[victim], "KILL-ME", workers[victim], 60)
            os.kill(victim_pid, signal.SIGKILL)
            killed = time.monotonic()
            workers[victim].wait(30)
            survivor = 1 - victim

            taken = None
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                run = ledger.runs(REPO, 5)[0]
                if taken is None and run.attempts == 2:
                    taken = time.monotonic() - killed
                if run.state not in ("queued", "running"):
                    break
                time.sleep(0.1)
            print(  # figures for the record, not a pass/fail criterion
                f"fleet: taken over {taken or -1:.1f} s after the kill (lease 2 s), "
                f"done {time.monotonic() - killed:.1f} s after it"
            )
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(30)
        log = logs[survivor].read_text()
        assert run.state == "done", f"{run.outcome}\n{log[-3000:]}"
        assert run.attempts == 2 and run.worker and int(run.worker.split(":")[1]) != victim_pid
        calls = [line.split()[1] for line in log.splitlines() if line.startswith("CALL ")]
        assert calls[0] == "coder" and "tester" not in calls, calls  # resumed, not restarted
        [pr] = gh.open_pulls(REPO)
        [comment] = gh.bot_comments(REPO, 5)
        assert f"draft pull request #{pr['number']}" in comment["body"]
        assert len(gh.calls_of("pulls/create")) == 1
        assert len(gh.calls_of("issues/create-comment")) == 1
        assert sorted(remote_branches(bare)) == ["devteam/issue-5", "main"]
        assert gh.violations == []
        ledger.close()
