"""A bot worker in its own process, to be killed: the real queue, ledger, git and sandbox.

python -m tests.github.worker_proc CONFIG.json (fix|hang|hang-once) [MACHINE]

CONFIG.json holds {"settings": {...}, "bot": {...}}; the team's model is the scripted one of
tests/github/script.py (``hang``: the coder's call never returns; ``hang-once``: it hangs
only in the first worker to get there, which creates the file ``hung`` beside CONFIG.json).
MACHINE names the worker's machine in its id (as if it ran on another host: its death is then
noticed only by its lease running out).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from devteam.config import Settings
from devteam.github.settings import BotSettings
from devteam.github.worker import Bot
from devteam.llm.scripted import ScriptedModel
from devteam.team import Team
from tests.github import script

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    config = json.loads(Path(sys.argv[1]).read_text())
    responder = script.responder(sys.argv[2], Path(sys.argv[1]).parent / "hung")

    def team(settings: Settings, sinks: list[Any]) -> Team:
        return Team(settings, model=ScriptedModel(responder), sinks=sinks)

    machine = sys.argv[3] if len(sys.argv) > 3 else None
    bot = Bot(
        Settings(**config["settings"]),
        BotSettings(**config["bot"]),
        team=team,
        worker=f"{machine}:{os.getpid()}:w" if machine else None,
    )
    print("WORKER-UP", flush=True)
    bot.work(threading.Event())
