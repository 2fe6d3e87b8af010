"""The run commands through typer's runner, in an isolated home, config and state folder, on a
scripted model and a scripted sandbox: --json, --quiet, plain lines, runs, show, the exit
statuses, and the resume hint after an interrupt."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from devteam import cli
from devteam.events import EVENT_ADAPTER, ModelCall, ModelDelta
from devteam.exit_codes import ExitCode
from devteam.llm.client import Messages
from devteam.llm.scripted import Responder, ScriptedModel, by_role
from devteam.sandbox.fake import FakeSandbox, failed, passed
from devteam.team import Team
from tests.unit.test_roles import ACCEPT, APPROVE, CODE, SPEC, TESTS

TASK = "Write a Python module m.py with add(a, b) returning a + b"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder, home, config and cache; no DEVTEAM_* from outside."""
    for name in list(os.environ):
        if name.startswith("DEVTEAM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    for var, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


def script(
    monkeypatch: pytest.MonkeyPatch, responder: Responder, sandbox: FakeSandbox | None = None
) -> None:
    """The scripted model and a sandbox whose test runs pass (the Team's constructor seam)."""
    model = ScriptedModel(responder)
    sandbox = sandbox or FakeSandbox([passed() for _ in range(10)])
    monkeypatch.setattr("devteam.team.Team", functools.partial(Team, model=model, sandbox=sandbox))


def classic() -> Responder:
    return by_role({"ceo": [SPEC, ACCEPT], "tester": [TESTS], "coder": [CODE], "reviewer": APPROVE})


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args))


def test_json_writes_every_event_as_one_parseable_line(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, classic())
    result = invoke("run", TASK, "--team", "classic", "--json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    events = [EVENT_ADAPTER.validate_python(json.loads(line)) for line in lines]
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert {"phase", "model_call", "sandbox_run", "files_written"} <= set(kinds)
    assert events[-1].status == "passed"  # type: ignore[union-attr]
    # each reply's pieces carry the id of the model call they end in
    calls = {e.call_id: e for e in events if isinstance(e, ModelCall)}
    deltas = [e for e in events if isinstance(e, ModelDelta)]
    assert deltas and all(calls) and {d.call_id for d in deltas} == set(calls)
    for call_id, model_call in calls.items():
        assert "".join(d.text for d in deltas if d.call_id == call_id) == model_call.reply
    # stderr: the outcome only; no workspace line on stdout
    assert result.stderr.strip() == "passed: all tests pass in the sandbox"


def test_quiet_prints_the_outcome_and_the_workspace_only(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, classic())
    result = invoke("run", TASK, "--team", "classic", "-q")
    assert result.exit_code == 0, result.output
    workspace = Path(result.stdout.strip())
    assert result.stdout.count("\n") == 1 and (workspace / "m.py").is_file()
    assert result.stderr.strip() == "passed: all tests pass in the sandbox"


def test_plain_lines_off_a_terminal_then_the_summary_and_the_workspace_last(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, classic())
    result = invoke("run", TASK, "--team", "classic")
    assert result.exit_code == 0, result.output
    err = result.stderr.splitlines()
    for line in ("plan · ceo", "write_tests · tester", "code · coder", "test · sandbox"):
        assert line in err, result.stderr
    assert any("sandbox  python3 -m pytest" in ln and "passed" in ln for ln in err), "\n".join(err)
    assert "tokens:" in result.stderr and "audit log:" in result.stderr
    assert "\x1b[" not in result.output  # no live redraws off a terminal
    assert Path(result.stdout.splitlines()[-1]).is_dir()


def test_runs_and_show_replay_a_finished_run(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script(monkeypatch, classic())
    done = invoke("run", TASK, "--team", "classic", "-q")
    run_id = Path(done.stdout.strip()).name
    listed = invoke("runs", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["run_id"] == run_id and row["status"] == "passed"
    assert row["tokens"] > 0 and row["duration_s"] is not None and row["task"] == TASK
    table = CliRunner().invoke(cli.app, ["runs"], env={"COLUMNS": "160"})
    assert run_id[:20] in table.stdout and "passed" in table.stdout

    shown = invoke("show", run_id)
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    order = [text.index(p) for p in ("plan · ceo", "write_tests · tester", "code · coder")]
    assert order == sorted(order)
    assert "def add(a, b):" in text  # the coder's reply
    assert "python3 -m pytest" in text and "passed" in text
    assert "tokens" in text and "fix attempts" in text  # the budget bars
    assert text.rstrip().endswith("passed: all tests pass in the sandbox")
    assert '"messages"' not in text and '{"kind"' not in text  # not the raw log
    raw = invoke("show", run_id, "--raw")
    assert " model_call role=ceo" in raw.stdout
    as_json = invoke("show", run_id, "--json")
    assert all(EVENT_ADAPTER.validate_json(line) for line in as_json.stdout.splitlines())
    picture = invoke("show", run_id, "--svg", "view.svg")
    assert picture.exit_code == 0, picture.output
    svg = (home / "view.svg").read_text()
    assert svg.startswith("<svg") and "deliver" in svg and "fix&#160;attempts" in svg


def test_runs_says_how_to_start_when_there_are_none(home: Path) -> None:
    result = invoke("runs")
    assert result.exit_code == 0 and 'devteam run "..."' in result.output


def test_a_spent_budget_exits_4(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # plan and tests pass; every coder reply is wrong, so fix rounds run until tokens run out
    coder = ["FILE: m.py\n```python\ndef add(a, b):\n    return a - b\n```\n"] * 20
    tester = [TESTS] + ["VERDICT: code\nREASON: x"] * 20
    script(
        monkeypatch,
        by_role({"ceo": [SPEC], "tester": tester, "coder": coder}),
        FakeSandbox([failed()] * 20),
    )
    result = invoke("run", TASK, "--team", "classic", "--max-tokens", "1500", "-q")
    assert result.exit_code == ExitCode.BUDGET_EXHAUSTED, result.output
    assert result.stderr.startswith("budget_exhausted: Token budget spent")


def test_an_interrupt_prints_the_exact_resume_command_and_it_finishes_the_run(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = {"ceo": [SPEC, ACCEPT], "tester": [TESTS], "reviewer": APPROVE}

    def interrupted(role: str, template: str, messages: Messages) -> str:
        if role == "coder":
            raise KeyboardInterrupt  # Ctrl-C while the coder's reply streams
        return by_role(replies)(role, template, messages)

    script(monkeypatch, interrupted)
    result = invoke("run", TASK, "--team", "classic", "--max-tokens", "50000")
    assert result.exit_code == ExitCode.INTERRUPTED, result.output
    hint = result.stderr.strip().splitlines()[-1]
    assert hint.startswith("Interrupted. Continue with: devteam resume ")
    assert hint.endswith(" --max-tokens 50000")
    command = hint.split("Continue with: devteam ")[1].split()
    script(monkeypatch, by_role({"coder": [CODE], "reviewer": APPROVE, "ceo": [ACCEPT]}))
    again = invoke(*command)
    assert again.exit_code == 0, again.output
    assert "passed: all tests pass" in again.stderr


STOPPER = textwrap.dedent(
    """
    import subprocess, sys, time
    from devteam.cli_stop import Stopper, stopping

    child = subprocess.Popen(
        ["sleep", "600"], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with stopping(Stopper(lambda t: print(t, file=sys.stderr, flush=True), lambda: "BYE")):
        try:
            print(child.pid, flush=True)  # the handlers are in place
            time.sleep(600)
        except KeyboardInterrupt:
            print("unwinding", flush=True)
            time.sleep(600)  # a slow clean-up, cut short by the second signal
    """
)


def test_a_second_ctrl_c_quits_at_once_and_kills_what_the_process_started() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", STOPPER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    proc.send_signal(signal.SIGINT)
    assert proc.stdout.readline().strip() == "unwinding"
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == ExitCode.INTERRUPTED
    assert time.monotonic() - started < 30
    err = proc.stderr.read() if proc.stderr else ""
    assert "press Ctrl-C again to quit at once" in err and err.rstrip().endswith("BYE")
    with pytest.raises(ProcessLookupError):  # the child in its own group is gone too
        for _ in range(100):
            os.kill(child, 0)
            if Path(f"/proc/{child}/stat").read_text().split(")")[1].split()[0] == "Z":
                raise ProcessLookupError
            time.sleep(0.05)
