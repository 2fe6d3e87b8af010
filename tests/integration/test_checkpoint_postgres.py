"""A run that crashes between two graph nodes resumes from its checkpoint, without running the
finished node again, against a real PostgreSQL server and against the SQLite file."""

from __future__ import annotations

import operator
import uuid
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph

from devteam.checkpoint import describe_checkpointer, open_checkpointer
from devteam.config import Settings
from tests.guards import require_module

pytestmark = pytest.mark.timeout(120)
PASSWORD = "s3cret-pw"


class _State(TypedDict):
    log: Annotated[list[str], operator.add]
    total: int


def _graph(saver: BaseCheckpointSaver[Any], calls: list[str], crash: list[bool]) -> Any:
    def one(state: _State) -> dict[str, Any]:
        calls.append("one")
        return {"log": ["one"], "total": state["total"] + 1}

    def two(state: _State) -> dict[str, Any]:
        calls.append("two")
        if crash:
            crash.pop()
            raise RuntimeError("simulated crash")
        return {"log": ["two"], "total": state["total"] * 10}

    g = StateGraph(_State)
    g.add_node("one", one)
    g.add_node("two", two)
    g.add_edge(START, "one")
    g.add_edge("one", "two")
    g.add_edge("two", END)
    return g.compile(checkpointer=saver)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """The throwaway cluster's URL, once devteam[postgres] is importable (required under CI)."""
    require_module("langgraph.checkpoint.postgres", "pip install 'devteam[postgres]'")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        # the cluster trusts local users, so a password in the URL is accepted and unused:
        # enough to check that it never shows
        url = request.getfixturevalue("pg_url").replace("devteam@", f"devteam:{PASSWORD}@", 1)
        return Settings(state_dir=tmp_path / "state", checkpointer=url)
    return Settings(state_dir=tmp_path / "state")


def test_a_crash_between_nodes_resumes_without_redoing_the_first(settings: Settings) -> None:
    calls: list[str] = []
    crash = [True]
    config: RunnableConfig = {"configurable": {"thread_id": f"run-{uuid.uuid4().hex}"}}

    with open_checkpointer(settings) as saver:
        graph = _graph(saver, calls, crash)
        with pytest.raises(RuntimeError, match="simulated crash"):
            graph.invoke({"log": [], "total": 1}, config)
        assert graph.get_state(config).next == ("two",)

    # As a new process would: a fresh connection and a freshly compiled graph.
    with open_checkpointer(settings) as saver:
        graph = _graph(saver, calls, crash)
        final = graph.invoke(None, config)
        assert graph.get_state(config).next == ()

    assert calls == ["one", "two", "two"]
    assert final == {"log": ["one", "two"], "total": 20}
    described = describe_checkpointer(settings)
    if settings.checkpointer == "sqlite":
        assert described == f"sqlite:{settings.checkpoint_db}"
    else:
        assert PASSWORD not in described and described.startswith("postgresql://devteam:***@/")


def test_setup_is_idempotent_and_threads_are_separate(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, checkpointer=pg_url)
    a: RunnableConfig = {"configurable": {"thread_id": f"a-{uuid.uuid4().hex}"}}
    b: RunnableConfig = {"configurable": {"thread_id": f"b-{uuid.uuid4().hex}"}}
    for _ in range(2):  # setup() runs on every open; the second must change nothing
        with open_checkpointer(settings) as saver:
            graph = _graph(saver, [], [])
            graph.invoke({"log": [], "total": 2}, a)
    with open_checkpointer(settings) as saver:
        assert saver.get_tuple(b) is None
        state = _graph(saver, [], []).get_state(a)
        # the second invoke continued the same thread: the reducer appended to the first log
        assert state.values == {"log": ["one", "two", "one", "two"], "total": 30}
