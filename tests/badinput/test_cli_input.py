"""Bad input that needs no model: each is one sentence naming the file or flag and the fix,
with no resume hint where nothing was checkpointed, and nothing of the user's deleted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devteam.team import MAX_TASK_CHARS
from tests.badinput.conftest import Runner

BINARY = bytes(range(256)) * 4
TEAM = "name: mine\nroles:\n  coder: {kind: coder, prompt: coder.yaml}\n"
CODER = "system: You code.\ntemplates:\n  write: 'Build {{ task }}'\n  fix: x\n  revise: x\n"
NO_HINT = "devteam resume"


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# (case, files to write, env, args, exit code, words the one sentence must hold)
CASES: list[tuple[str, dict[str, str | bytes], dict[str, str], list[str], int, list[str]]] = [
    (
        "toml: malformed, runs",
        {"devteam.toml": "[sandbox\nmemory="},
        {},
        ["runs"],
        1,
        ["devteam.toml is not valid TOML", "move it aside"],
    ),
    (
        "toml: malformed, run",
        {"devteam.toml": "[budget]\nmax_tokens = = 3"},
        {},
        ["run", "x"],
        1,
        ["devteam.toml is not valid TOML"],
    ),
    ("toml: binary", {"devteam.toml": BINARY}, {}, ["runs"], 1, ["not a text file"]),
    (
        "toml: memory = lots",
        {"devteam.toml": '[sandbox]\nmemory = "lots"\n'},
        {},
        ["run", "x"],
        1,
        ["sandbox.memory", "'lots' is not a size", "512m"],
    ),
    (
        "env: memory = lots",
        {},
        {"DEVTEAM_SANDBOX__MEMORY": "lots"},
        ["runs"],
        1,
        ["sandbox.memory"],
    ),
    (
        "flag: --max-tokens -5",
        {},
        {},
        ["run", "x", "--max-tokens", "-5"],
        1,
        ["--max-tokens -5", "greater than 0"],
    ),
    (
        "flag: --max-fix-attempts -1",
        {},
        {},
        ["run", "x", "--max-fix-attempts", "-1"],
        1,
        ["--max-fix-attempts -1"],
    ),
    (
        "env: DEVTEAM_BASEURL",
        {},
        {"DEVTEAM_BASEURL": "http://127.0.0.1:9/v1"},
        ["run", "x"],
        1,
        ["DEVTEAM_BASEURL", "did you mean DEVTEAM_BASE_URL?"],
    ),
    (
        "env: DEVTEAM_BUDGET_MAX_RUN_TOKENS",
        {},
        {"DEVTEAM_BUDGET_MAX_RUN_TOKENS": "5"},
        ["runs"],
        1,
        ["did you mean DEVTEAM_BUDGET__MAX_RUN_TOKENS?"],
    ),
    (
        "env: DEVTEAM_CONFIG missing",
        {},
        {"DEVTEAM_CONFIG": "nope.toml"},
        ["runs"],
        1,
        ["nope.toml", "does not exist"],
    ),
    (
        "team file: binary",
        {"team.yaml": BINARY},
        {"DEVTEAM_TEAM": "team.yaml"},
        ["run", "x"],
        1,
        ["team.yaml"],
    ),
    ("task: empty", {}, {}, ["run", "   "], 1, ["The task is empty"]),
    ("task: none", {}, {}, ["run"], 1, ["No task given"]),
    (
        "task: file not UTF-8",
        {"task.txt": b"build \xff\xfe"},
        {},
        ["run", "-f", "task.txt"],
        1,
        ["task.txt is not UTF-8", "byte 6"],
    ),
    (
        "task: file too long",
        {"task.txt": "x" * (MAX_TASK_CHARS + 1)},
        {},
        ["run", "-f", "task.txt"],
        1,
        ["over the limit of 100,000"],
    ),
    ("task: file missing", {}, {}, ["run", "-f", "nope.txt"], 1, ["nope.txt"]),
    ("resume: unknown run", {}, {}, ["resume", "no-such-run"], 1, ["No run 'no-such-run'"]),
    ("show: unknown run", {}, {}, ["show", "no-such-run"], 1, ["No audit log"]),
    (
        "repo: missing folder",
        {},
        {"DOCKER_HOST": "unix:///nonexistent.sock"},
        ["run", "x", "--repo", "no-such-dir"],
        1,
        ["no-such-dir"],
    ),
    (
        "checkpointer: bad URL",
        {},
        {"DEVTEAM_CHECKPOINTER": "mysql://x"},
        ["run", "x"],
        1,
        ["checkpointer"],
    ),
    (
        "no Docker engine",
        {},
        {"DOCKER_HOST": "unix:///nonexistent.sock"},
        ["run", "build it"],
        5,  # infrastructure missing
        ["Docker"],
    ),
    (
        "team file: prompt with a Jinja error",
        {"team.yaml": TEAM, "coder.yaml": CODER.replace("{{ task }}", "{{ task ")},
        {"DEVTEAM_TEAM": "team.yaml"},
        ["run", "x"],
        1,
        ["coder.yaml", "template 'write' is not valid Jinja"],
    ),
    (
        "team file: prompt lacks a template",
        {"team.yaml": TEAM, "coder.yaml": CODER.replace("  revise: x\n", "")},
        {"DEVTEAM_TEAM": "team.yaml"},
        ["run", "x"],
        1,
        ["coder.yaml lacks the template(s) revise"],
    ),
    ("gate: unknown", {}, {}, ["run", "x", "--gate", "bogus"], 1, ["Unknown gate 'bogus'"]),
]


@pytest.mark.parametrize(
    ("files", "env", "args", "code", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bad_input_is_one_sentence(
    devteam: Runner,
    tmp_path: Path,
    files: dict[str, str | bytes],
    env: dict[str, str],
    args: list[str],
    code: int,
    words: list[str],
) -> None:
    for name, data in files.items():
        write(tmp_path, name, data)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    res = devteam(*args, env={"DEVTEAM_BASE_URL": "http://127.0.0.1:9/v1", **env})
    assert res.code == code, res.text
    res.one_sentence(*words)
    assert NO_HINT not in res.text  # nothing was checkpointed, so nothing to resume
    for path, data in before.items():  # nothing the user had is changed or deleted
        assert path.read_bytes() == data


def test_a_task_argument_that_is_not_utf8_is_one_sentence(devteam: Runner) -> None:
    res = devteam("run", b"build \xff a thing", env={"DEVTEAM_BASE_URL": "http://127.0.0.1:9/v1"})
    assert res.code == 1
    res.one_sentence("not UTF-8 text", "-f FILE")
    assert NO_HINT not in res.text


def test_sandbox_exec_memory_lots_is_one_sentence(devteam: Runner) -> None:
    res = devteam("sandbox", "exec", "--memory", "lots", "--", "true")
    assert res.code == 125
    assert "Traceback" not in res.text and "'lots' is not a size" in res.err
    assert len(res.err.strip().splitlines()) == 1


def test_a_truncated_audit_line_is_skipped_and_counted(devteam: Runner, tmp_path: Path) -> None:
    good = {"kind": "note", "run_id": "r1", "ts": 0, "level": "info", "text": "hello"}
    log = write(tmp_path, ".devteam/runs/r1/audit.jsonl", json.dumps(good) + "\n" + '{"kind": "no')
    before = log.read_bytes()
    res = devteam("show", "r1")
    assert res.code == 0, res.text
    assert "hello" in res.out and "skipped 1 line(s)" in res.err and "line 2" in res.err
    assert "Traceback" not in res.text and log.read_bytes() == before


def test_a_damaged_run_json_is_one_sentence(devteam: Runner, tmp_path: Path) -> None:
    write(tmp_path, ".devteam/runs/r1/run.json", '{"run_id": "r1", "task": ')
    res = devteam("resume", "r1", env={"DEVTEAM_BASE_URL": "http://127.0.0.1:9/v1"})
    assert res.code == 1
    res.one_sentence("run.json is damaged", "start the task again")
    assert NO_HINT not in res.text


def test_a_damaged_checkpoint_store_is_detected_and_kept(devteam: Runner, tmp_path: Path) -> None:
    db = write(tmp_path, ".devteam/checkpoints.sqlite", b"this is not a database" * 100)
    write(
        tmp_path,
        ".devteam/runs/r1/run.json",
        json.dumps({"run_id": "r1", "task": "x", "workspace": str(tmp_path / "ws"), "created": 0}),
    )
    res = devteam("doctor", env={"DOCKER_HOST": "unix:///nonexistent.sock"}, store_ok=False)
    assert res.code == 5  # ExitCode.INFRASTRUCTURE
    assert "is damaged" in res.out and "fix: mv " in res.out and "Traceback" not in res.text
    resumed = devteam(
        "resume", "r1", env={"DEVTEAM_BASE_URL": "http://127.0.0.1:9/v1"}, store_ok=False
    )
    assert resumed.code == 1
    resumed.one_sentence("checkpoints.sqlite is damaged", ".damaged")
    assert NO_HINT not in resumed.text
    assert db.read_bytes() == b"this is not a database" * 100


def test_resume_of_a_run_that_never_checkpointed_says_so(devteam: Runner, tmp_path: Path) -> None:
    env = {"DOCKER_HOST": "unix:///nonexistent.sock", "DEVTEAM_BASE_URL": "http://127.0.0.1:9/v1"}
    first = devteam("run", "build a thing", env=env)
    assert first.code == 5 and NO_HINT not in first.text  # no Docker engine
    (run_dir,) = (tmp_path / ".devteam" / "runs").iterdir()
    res = devteam("resume", run_dir.name, env=env)
    assert res.code == 1
    res.one_sentence("nothing to resume", "devteam run")
    assert "EmptyInputError" not in res.text


def test_doctor_runs_the_same_team_check(devteam: Runner, tmp_path: Path) -> None:
    write(tmp_path, "team.yaml", TEAM)
    write(tmp_path, "coder.yaml", CODER.replace("{{ task }}", "{% if %}"))
    env = {"DEVTEAM_TEAM": "team.yaml", "DOCKER_HOST": "unix:///nonexistent.sock"}
    res = devteam("doctor", env={"DEVTEAM_BASE_URL": "http://127.0.0.1:9/v1", **env})
    assert res.code == 5 and "Traceback" not in res.text
    (line,) = [ln for ln in res.out.splitlines() if ln.startswith("fail team")]
    assert "coder.yaml" in line and "not valid Jinja" in line
    write(tmp_path, "coder.yaml", CODER)
    fixed = devteam("doctor", env={"DEVTEAM_BASE_URL": "http://127.0.0.1:9/v1", **env})
    assert "ok   team: mine: coder" in fixed.out
