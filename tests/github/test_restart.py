"""The single-machine bot killed mid-job (SIGKILL, inside the team's run) and started again:
the job is taken up again at once (its worker's process is gone), resumes from its checkpoint,
and finishes exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from devteam.config import DockerSandboxSettings, Settings
from devteam.github.ledger import Ledger
from devteam.github.settings import BotSettings
from devteam.github.triggers import Trigger
from devteam.github.worker import Bot
from tests.github import script
from tests.github.fake_github import FakeGitHub

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]
REPO = script.REPO
TOKEN = "ghs_restart_token_0000"


def world(tmp_path: Path, permission: str) -> tuple[Path, FakeGitHub]:
    """The shop's bare repository under ``tmp_path/remotes`` and a fake GitHub holding it,
    with issue 5 and the maintainer ``maint`` at ``permission``: (the bare repository, github)."""
    remotes = tmp_path / "remotes"
    bare = script.make_remote(remotes)
    gh = FakeGitHub(TOKEN, remotes=remotes)
    gh.add_repo(REPO)
    gh.add_issue(REPO, 5, script.ISSUE_TITLE, script.ISSUE_BODY, user="reporter")
    gh.permissions[(REPO, "maint")] = permission
    return bare, gh


def write_config(
    tmp_path: Path,
    api_url: str,
    sandbox: DockerSandboxSettings,
    bot: dict[str, Any],
    settings: dict[str, Any] | None = None,
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The workers' config.json (their settings and [bot] table, ``bot`` and ``settings``
    added): (its path, the settings, the [bot] table)."""
    bot_conf = {
        "repositories": [REPO],
        "token": TOKEN,
        "api_url": api_url,
        "git_url": f"file://{tmp_path / 'remotes'}/{{repo}}.git",
        "state_dir": str(tmp_path / "bot"),
        **bot,
    }
    all_settings = {
        "workspace_root": str(tmp_path / "ws"),
        "state_dir": str(tmp_path / "state"),
        "sandbox": sandbox.model_dump(mode="json"),
        **(settings or {}),
    }
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"settings": all_settings, "bot": bot_conf}))
    return config, all_settings, bot_conf


def start(config: Path, mode: str, log: Path, machine: str = "") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.github.worker_proc", str(config), mode]
        + ([machine] if machine else []),
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(log: Path, marker: str, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in log.read_text():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"{marker} not seen; worker log:\n{log.read_text()[-3000:]}")


def test_a_bot_killed_mid_job_resumes_and_finishes_exactly_once(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    bare, gh = world(tmp_path, "admin")
    with gh.serve() as api_url:
        # the dead worker is seen to be dead: no waiting for its lease
        bot = {"webhook_secret": "s", "lease_s": 600.0}
        config, settings, bot_conf = write_config(tmp_path, api_url, docker_sandbox_settings, bot)
        # the receiver's side: one trigger on the durable queue
        queue = Bot(Settings(**settings), BotSettings(**bot_conf))
        queue.enqueue(Trigger(repo=REPO, issue=5, kind="label", sender="maint", delivery="r1"))
        queue.close()

        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        first = start(config, "hang", first_log)
        try:
            wait_for(first_log, "KILL-ME", first, 120)  # plan and tests done; coding hangs
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(30)
        ledger = Ledger(tmp_path / "bot" / "ledger.sqlite")
        [run] = ledger.runs(REPO, 5)
        assert run.state == "running" and run.run_id and run.comment_id
        assert remote_branches(bare) == ["main"] and gh.open_pulls(REPO) == []

        second = start(config, "fix", second_log)
        restarted = time.monotonic()
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                run = ledger.runs(REPO, 5)[0]
                if run.state not in ("queued", "running"):
                    break
                assert second.poll() is None, second_log.read_text()[-3000:]
                time.sleep(0.3)
        finally:
            second.send_signal(signal.SIGKILL)
            second.wait(30)
        print(f"restart: done {time.monotonic() - restarted:.1f} s after the restart")
        log = second_log.read_text()
        assert run.state == "done", f"{run.outcome}\n{log[-3000:]}"
        assert run.attempts == 2
        # resumed from the checkpoint: the plan and the tests were not asked for again
        calls = [line.split()[1] for line in log.splitlines() if line.startswith("CALL ")]
        assert calls[0] == "coder" and "tester" not in calls, calls
        assert "resuming team run" in log
        # exactly once: one PR, one status comment (edited to the final report), one push
        [pr] = gh.open_pulls(REPO)
        [comment] = gh.bot_comments(REPO, 5)
        assert f"draft pull request #{pr['number']}" in comment["body"]
        assert len(gh.calls_of("pulls/create")) == 1
        assert len(gh.calls_of("issues/create-comment")) == 1
        assert "1 - discount / 100" in script.git(bare, "show", "devteam/issue-5:shop/cart.py")
        assert gh.violations == []
        ledger.close()


def remote_branches(bare: Path) -> list[str]:
    return script.git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()
