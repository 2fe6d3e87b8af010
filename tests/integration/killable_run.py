"""A run to be killed: plan and code are scripted; the first fix never returns.

python -m tests.integration.killable_run WORKSPACE_ROOT STATE_DIR RUN_ID
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from devteam.config import Settings
from devteam.llm.client import Messages
from devteam.llm.scripted import ScriptedModel
from devteam.team import Team
from tests.integration.test_team_docker import BUGGY_CODE, CODE_IS_WRONG, TESTS
from tests.unit.test_graph import SPEC, TASK


def reply(role: str, messages: Messages) -> str:
    """The default team: plan, tests and buggy code are scripted; the coder's fix hangs."""
    prompt = messages[-1]["content"]
    if role == "ceo":
        return SPEC
    if role == "tester":
        return CODE_IS_WRONG if "VERDICT" in prompt else TESTS
    if "The tests failed" not in prompt:
        return BUGGY_CODE
    print("FIXING", flush=True)
    time.sleep(3600)  # killed here, mid model call
    raise AssertionError("not reached")


if __name__ == "__main__":
    ws_root, state_dir, run_id = sys.argv[1:4]
    settings = Settings(workspace_root=Path(ws_root), state_dir=Path(state_dir))
    Team(settings, model=ScriptedModel(reply)).run(TASK, run_id=run_id)
