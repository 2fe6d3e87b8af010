"""End to end: `devteam run` with the real embedded model, real server, real sandbox, real git.

Asserts on the produced files, the git history, the audit log and the sandbox verdict
(checked again independently), never on the model's wording.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devteam.config import DockerSandboxSettings
from devteam.events import read_audit_log
from devteam.sandbox import open_sandbox
from devteam.sandbox.engine import LABEL_OWNER_PID

pytestmark = [pytest.mark.model, pytest.mark.docker, pytest.mark.timeout(1500)]

TASK = (
    "Write a Python module calc.py with add(a, b) returning a + b and mul(a, b) returning "
    "a * b, with pytest tests"
)


def test_devteam_run_produces_a_tested_project(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    env = {
        **os.environ,
        "DEVTEAM_EMBEDDED_MODEL": "qwen2.5-coder-0.5b",
        "DEVTEAM_BUDGET__MAX_FIX_ATTEMPTS": "2",
        "DEVTEAM_BUDGET__MAX_RUN_TOKENS": "20000",
    }
    env.pop("DEVTEAM_BASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devteam.cli", "run", TASK],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate(timeout=1400)
    print(stderr[-4000:])
    # The default team must finish this task with passing code: anything else is a defect
    # of the loop, not something to accept here.
    assert proc.returncode == 0, stderr[-3000:]
    workspace = Path(stdout.strip().splitlines()[-1])
    assert workspace.is_dir() and workspace.parent == tmp_path / "workspace"
    assert "tokens:" in stderr and "time:" in stderr and str(workspace) in stderr

    files = {p.relative_to(workspace).as_posix() for p in workspace.rglob("*.py")}
    assert "calc.py" in files
    assert any(Path(f).name.startswith("test_") for f in files), files  # tests, as asked
    readme = (workspace / "README.md").read_text()
    assert "**passed" in readme, readme

    log = subprocess.run(
        ["git", "log", "--format=%an|%B"], cwd=workspace, capture_output=True, text=True
    ).stdout
    # the default team: the coder wrote the code, the tester its tests, the CEO the README
    assert "devteam coder|" in log and "devteam ceo|" in log and "devteam tester|" in log
    assert "Devteam-Run: " in log and "Devteam-Model: qwen2.5-coder-0.5b" in log

    run_id = workspace.name
    run_dir = tmp_path / ".devteam" / "runs" / run_id
    events = read_audit_log(run_dir / "audit.jsonl")
    calls = [e for e in events if e.kind == "model_call"]
    finished = [e for e in events if e.kind == "run_finished"][-1]
    assert finished.status == "passed" and finished.verdict  # type: ignore[union-attr]
    assert calls and all(c.completion_tokens > 0 for c in calls)  # type: ignore[union-attr]
    roles = [c.role for c in calls]  # type: ignore[union-attr]
    assert roles[:2] == ["coder", "tester"], roles  # candidate 0 is one call on the request
    total = sum(c.prompt_tokens + c.completion_tokens for c in calls)  # type: ignore[union-attr]
    assert total == finished.prompt_tokens + finished.completion_tokens  # type: ignore[union-attr]
    assert total <= 20000 + 1536, total  # the budget, overshot by at most one call's cap

    # Independently of anything the team wrote: the functions do what was asked.
    with open_sandbox(docker_sandbox_settings, workspace=workspace) as sb:
        own = sb.exec(["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"])
        independent = sb.exec(
            [
                "python3",
                "-c",
                "from calc import add, mul\n"
                "assert add(2, 3) == 5 and add(-1, 1) == 0 and add(2.5, 0.5) == 3.0\n"
                "assert mul(4, 5) == 20 and mul(0, 7) == 0 and mul(-2, 3) == -6\n"
                "print('independent check ok')",
            ]
        )
    assert own.ok, own.stdout[-2000:]
    assert independent.ok and "independent check ok" in independent.stdout, independent.stderr

    # Nothing left running: no container of the run's process, no model server.
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={LABEL_OWNER_PID}={proc.pid}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert left == [], left
    server_log = str(run_dir / "model-server.log")
    holders = [p for p in Path("/proc").glob("[0-9]*") if _holds(p, server_log)]
    assert holders == [], holders

    # The run's report, from the real audit log: the phases it went through, its calls.
    report = subprocess.run(
        [sys.executable, "-m", "devteam.cli", "report", run_id],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    html = Path(report.stdout.strip()).read_text(encoding="utf-8")
    phases = [e.phase for e in events if e.kind == "phase"]  # type: ignore[union-attr]
    for phase in set(phases):
        assert f"<title>{phase} (" in html, phase
    assert html.count('class="bar call"') == len(calls)
    assert 'id="status">passed<' in html


def _holds(proc_dir: Path, path: str) -> bool:
    """Whether the process has ``path`` open (the embedded server writes its log there)."""
    try:
        return any(os.readlink(fd) == path for fd in (proc_dir / "fd").iterdir())
    except OSError:
        return False
