"""docs/ARCHITECTURE.md shows the default team's graph exactly as LangGraph draws it."""

from __future__ import annotations

import re
from pathlib import Path

from devteam.agents.common import Deps
from devteam.agents.graph import mermaid
from devteam.config import Settings
from devteam.events import EventBus
from devteam.llm.budget import Budget
from devteam.llm.metered import MeteredModel
from devteam.llm.scripted import ScriptedModel
from devteam.sandbox.fake import FakeSandbox
from devteam.teams import load_team
from devteam.workspace import Workspace

DOC = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


def test_the_documented_graph_is_the_built_one(tmp_path: Path) -> None:
    settings = Settings(workspace_root=tmp_path / "ws", state_dir=tmp_path / "state")
    budget, events = Budget(settings.budget), EventBus()
    deps = Deps(
        events=events,
        budget=budget,
        settings=settings,
        team=load_team("default"),
        open_model=lambda: MeteredModel(ScriptedModel([]), budget, events),
        open_sandbox=lambda: FakeSandbox([]),
        open_workspace=lambda: Workspace.create(tmp_path / "w"),
    )
    drawn = mermaid(deps).strip()
    found = re.search(r"<!-- graph:default.*?```mermaid\n(.*?)\n```", DOC.read_text(), re.S)
    assert found, "docs/ARCHITECTURE.md lost its graph:default block"
    assert found.group(1).strip() == drawn, "regenerate the graph in docs/ARCHITECTURE.md"
    # the evidence loop's routes are there, and nothing routes to a node that is not
    for edge in ("check -.-> sample", "check -.-> repair", "draft -.-> write_properties"):
        assert edge in drawn
