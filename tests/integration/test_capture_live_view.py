"""scripts/capture_live_view.py end to end: the real CLI in a real tmux terminal, a scripted
model whose second reply never comes (so the run waits mid-flight), the picture captured
there, the run stopped with Ctrl-C, and nothing of it left."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from devteam.config import SandboxSettings
from tests.capture_script import SCRIPT
from tests.integration.openai_double import HANG, OpenAIDouble
from tests.integration.test_team_docker import BUGGY
from tests.integration.test_terminal_view import TASK, Terminal

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]


def test_the_live_view_is_captured_mid_run_and_the_run_stopped_without_leftovers(
    tmp_path: Path, docker_sandbox_settings: SandboxSettings
) -> None:
    Terminal({})  # no tmux: a skip here, a failure under CI
    env = {
        **os.environ,
        "DEVTEAM_MODEL": "scripted",
        "DEVTEAM_API_KEY": "k",
        "DEVTEAM_WORKSPACE_ROOT": str(tmp_path / "ws"),
        "DEVTEAM_STATE_DIR": str(tmp_path / "state"),
        "DEVTEAM_TEAM": "solo",
    }
    env.pop("DEVTEAM_CONFIG", None)
    out = tmp_path / "pictures" / "live-view.svg"
    with OpenAIDouble([BUGGY, HANG]) as model:
        env["DEVTEAM_BASE_URL"] = model.url
        done = subprocess.run(
            [
                sys.executable, str(SCRIPT), TASK, "--out", str(out), "--until", "● fix",
                "--then", "stop", "--size", "100x40", "--timeout", "180", "--title", "a run",
                "--", "--max-tokens", "40000",
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=500,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert model.hanging.is_set()  # captured while the fix was being asked
    assert "the run exited 130; nothing of it is left" in done.stdout
    svg = out.read_text()
    ET.fromstring(svg)  # well-formed
    assert "a&#160;run" in svg or "a run" in svg  # the title
    text = svg.replace("&#160;", " ")
    # the live view as the terminal showed it: the stage lit, the sandbox's verdict, the bars
    for seen in ("● fix", "failed (exit 1)", "/ 40,000", "coder"):
        assert seen in text, seen
    assert svg.count('fill="#') > 5  # in colour
    runs = list((tmp_path / "state").rglob("audit.jsonl"))
    assert len(runs) == 1  # one run, stopped (its checkpoint left for a resume)
