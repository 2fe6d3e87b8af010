"""A run to be killed: the classic team, scripted; one step never returns.

python -m tests.integration.killable_run WORKSPACE_ROOT STATE_DIR RUN_ID [fix|tests|sandbox]

fix: the coder's first fix hangs (after plan, tests, code, a real sandbox run and triage);
tests: the tester's first call hangs (right after the plan);
sandbox: the code loops forever, so the run is killed inside a sandbox command.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from devteam.config import Settings
from devteam.llm.model import Messages
from devteam.llm.scripted import ScriptedModel
from devteam.team import Team
from tests.integration.test_team_docker import BUGGY_CODE, CODE_IS_WRONG, TESTS
from tests.unit.test_graph import SPEC, TASK

HANGS = BUGGY_CODE.replace("return a - b", "import time\n    time.sleep(3600)")


def hang(marker: str) -> str:
    print(marker, flush=True)
    time.sleep(3600)  # killed here
    raise AssertionError("not reached")


def responder(where: str) -> Callable[[str, str, Messages], str]:
    def reply(role: str, template: str, messages: Messages) -> str:
        if role == "ceo":
            return SPEC
        if role == "tester":
            if where == "tests":
                return hang("KILL-ME")
            return CODE_IS_WRONG if template == "triage" else TESTS
        if template != "fix":
            if where == "sandbox":
                print("KILL-ME", flush=True)  # the sandbox run of this code never ends
                return HANGS
            return BUGGY_CODE
        return hang("KILL-ME")

    return reply


if __name__ == "__main__":
    ws_root, state_dir, run_id = sys.argv[1:4]
    where = sys.argv[4] if len(sys.argv) > 4 else "fix"
    settings = Settings(workspace_root=Path(ws_root), state_dir=Path(state_dir))
    settings.sandbox.timeout_s = 3600
    Team(settings, team="classic", model=ScriptedModel(responder(where))).run(TASK, run_id=run_id)
