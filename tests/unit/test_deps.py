"""Deps opens the model, sandbox and workspace on first use, once, from any thread."""

from __future__ import annotations

import threading
from pathlib import Path

from devteam.agents.common import Deps
from devteam.config import Settings
from devteam.events import EventBus
from devteam.llm.budget import Budget
from devteam.llm.metered import MeteredModel
from devteam.llm.scripted import ScriptedModel
from devteam.sandbox.fake import FakeSandbox
from devteam.teams import load_team
from devteam.workspace import Workspace


def test_each_dependency_opens_once_on_first_use_even_when_one_needs_another(
    tmp_path: Path,
) -> None:
    settings = Settings(workspace_root=tmp_path / "ws", state_dir=tmp_path / "state")
    budget, events = Budget(settings.budget), EventBus()
    opened: list[str] = []

    def open_workspace() -> Workspace:
        opened.append("workspace")
        return Workspace.create(tmp_path / "w")

    def open_sandbox() -> FakeSandbox:
        opened.append("sandbox")
        assert deps.workspace.root.is_dir()  # a sandbox opens on the workspace
        return FakeSandbox([])

    deps = Deps(
        events=events,
        budget=budget,
        settings=settings,
        team=load_team("default"),
        open_model=lambda: MeteredModel(ScriptedModel([]), budget, events),
        open_sandbox=open_sandbox,
        open_workspace=open_workspace,
    )
    assert opened == []
    threads = [threading.Thread(target=lambda: deps.sandbox, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert opened == ["sandbox", "workspace"] and deps.sandbox is deps.sandbox
