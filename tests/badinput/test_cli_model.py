"""The real ``devteam run`` against a misbehaving model server on loopback and the real sandbox.

For each case: the exit code, one sentence (no traceback), a resume hint only where resuming
works, nothing left running (processes and containers of that run), the workspace and the
checkpoints intact.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from devteam.config import DockerSandboxSettings
from devteam.events import scan_audit_log
from tests.badinput.conftest import Outcome, Runner
from tests.badinput.fake_openai import fake_openai

pytestmark = pytest.mark.docker

TASK = b"Write adder.py with a function add(a, b) that returns a + b."
WALL_S = 6

# (mode, exit code, words of the one line that says why, resume hinted)
CASES: list[tuple[str, int, list[str], bool]] = [
    ("hang", 4, ["did not answer within the time budget", f"{WALL_S} s"], False),
    ("hang_after_first", 4, ["did not answer within the time budget"], False),
    ("non_json", 5, ["body that is not JSON", "DEVTEAM_BASE_URL"], True),
    ("drop", 5, ["closed the connection without an answer"], True),
    ("garbage", 2, ["tests still fail"], False),
    ("broken_spec", 0, ["all tests pass"], False),
    ("500_once", 0, ["all tests pass"], False),
]


def workspace_intact(res: Outcome) -> None:
    ws = res.out.strip().splitlines()[-1] if res.out.strip() else ""
    if ws and Path(ws).is_dir():
        subprocess.run(["git", "-C", ws, "fsck", "--no-progress"], check=True, capture_output=True)


def audit_intact(folder: Path) -> None:
    for log in (folder / ".devteam" / "runs").glob("*/audit.jsonl"):
        events, broken = scan_audit_log(log)
        assert events and not broken


@pytest.mark.parametrize(("mode", "code", "words", "hinted"), CASES, ids=[c[0] for c in CASES])
def test_a_misbehaving_model_server(
    devteam: Runner,
    tmp_path: Path,
    docker_sandbox_settings: DockerSandboxSettings,
    mode: str,
    code: int,
    words: list[str],
    hinted: bool,
) -> None:
    with fake_openai(mode) as (url, state):
        env = {
            "DEVTEAM_BASE_URL": url,
            "DEVTEAM_BUDGET__MAX_WALL_S": str(WALL_S),
            "DEVTEAM_BUDGET__MAX_FIX_ATTEMPTS": "1",
        }
        res = devteam("run", "-", env=env, stdin=TASK)
        assert res.code == code, res.text
        assert "Traceback" not in res.text
        if code in (1, 5):  # an error: one sentence
            res.one_sentence(*words)
        else:
            verdict = [ln for ln in res.err.splitlines() if ln.split(":")[0] in STATUSES]
            assert len(verdict) == 1, res.err
            assert all(w in verdict[0] for w in words), verdict[0]
        assert res.seconds < WALL_S + 20  # never request_timeout_s (600 s)
        assert ("devteam resume" in res.text) == hinted, res.text
        if mode.startswith("hang"):
            assert "not reachable" not in res.text
        if mode == "500_once":
            formats = {(r.get("response_format") or {}).get("type") for r in state.requests[1:]}
            assert formats <= {"json_schema", None}  # retried, nothing downgraded
        workspace_intact(res)
        audit_intact(tmp_path)
        if hinted:  # the hint must work: the same run, once the server answers
            run_id = res.text.split("devteam resume ")[1].split()[0]
            state.mode = "good"
            again = devteam("resume", run_id, env=env)
            assert again.code == 0, again.text
            assert "all tests pass" in again.err and "Traceback" not in again.text
            workspace_intact(again)


STATUSES = {"passed", "failed", "budget_exhausted", "rejected", "error"}


def test_a_hung_server_reports_in_the_audit_log_and_resume_says_it_is_over(
    devteam: Runner, tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    with fake_openai("hang") as (url, _):
        env = {"DEVTEAM_BASE_URL": url, "DEVTEAM_BUDGET__MAX_WALL_S": "3"}
        res = devteam("run", "-", env=env, stdin=TASK)
        assert res.code == 4  # the time budget ran out
        (run_dir,) = (tmp_path / ".devteam" / "runs").iterdir()
        lines = (run_dir / "audit.jsonl").read_text().splitlines()
        finished = [json.loads(ln) for ln in lines if '"run_finished"' in ln]
        assert finished and finished[0]["status"] == "budget_exhausted"
        again = devteam("resume", run_dir.name, env=env)
        assert again.code == 4 and "budget_exhausted" in again.err
        assert "Traceback" not in again.text


def test_budget_spent_at_acceptance_after_passing_tests_agrees_everywhere(
    devteam: Runner, tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    # Each fake call costs 70 tokens: plan, tests, code, review use 280; acceptance finds none.
    with fake_openai("good") as (url, _):
        res = devteam("run", "-", "--max-tokens", "280", env={"DEVTEAM_BASE_URL": url}, stdin=TASK)
    assert res.code == 0, res.text  # the README's promise: 0 when the tests pass
    assert "passed: all tests pass" in res.err and "Token budget spent" in res.err
    readme = (Path(res.out.strip().splitlines()[-1]) / "README.md").read_text()
    assert "Test verdict in the sandbox: **passed**" in readme
    (run_dir,) = (tmp_path / ".devteam" / "runs").iterdir()
    lines = (run_dir / "audit.jsonl").read_text().splitlines()
    (finished,) = [json.loads(ln) for ln in lines if '"run_finished"' in ln]
    assert finished["status"] == "passed"


def test_one_run_one_runner_and_a_dead_runner_keeps_no_lock(
    devteam: Runner, tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    import os
    import signal
    import sys
    import time

    with fake_openai("hang") as (url, state):
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DEVTEAM_")}
        env.update(DEVTEAM_BASE_URL=url, DEVTEAM_BUDGET__MAX_WALL_S="120", DEVTEAM_TEAM="classic")
        first = subprocess.Popen(
            [sys.executable, "-m", "devteam.cli", "run", "build an adder"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not state.requests and time.monotonic() < deadline:
                time.sleep(0.2)  # the first runner is inside its first model call
            assert state.requests, "the first run never called the model"
            (run_dir,) = (tmp_path / ".devteam" / "runs").iterdir()
            second = devteam("resume", run_dir.name, env={"DEVTEAM_BASE_URL": url})
            assert second.code == 1
            second.one_sentence(f"pid {first.pid}", "wait for it to finish")
            assert "devteam resume" not in second.text.split("error:")[1].split("\n", 1)[1]
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        state.mode = "good"
        third = devteam("resume", run_dir.name, env={"DEVTEAM_BASE_URL": url})
        assert third.code == 0, third.text  # the killed runner's lock went with it
