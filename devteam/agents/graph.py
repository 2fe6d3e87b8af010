"""The LangGraph state machine: plan -> code -> test -> (fix -> test)* -> deliver.

Built per run with its dependencies and a checkpointer passed in (nothing at import time).
Every loop is bounded: fix attempts, the same failure repeating, and the run's budgets.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from devteam.agents import nodes
from devteam.agents.nodes import Deps
from devteam.agents.state import InputState, RunState
from devteam.events import Decision

MAX_SAME_FAILURE = 2


def _decide(deps: Deps, source: str, target: str, reason: str) -> Any:
    deps.events.emit(Decision(source=source, target=target, reason=reason))
    return target


def _stopped(state: RunState) -> bool:
    return state.get("status", "running") != "running"


def route_after_plan(state: RunState, deps: Deps) -> Literal["code", "deliver"]:
    if _stopped(state):
        return _decide(deps, "plan", "deliver", state.get("reason", "planning failed"))
    return _decide(deps, "plan", "code", "spec ready")


def route_after_code(state: RunState, deps: Deps) -> Literal["test", "deliver"]:
    if _stopped(state):
        return _decide(deps, "code", "deliver", state.get("reason", "coding failed"))
    return _decide(deps, "code", "test", "files written")


def route_after_test(state: RunState, deps: Deps) -> Literal["fix", "deliver"]:
    report = state.get("report") or {}
    if _stopped(state):
        return _decide(deps, "test", "deliver", state.get("reason", "stopped"))
    if report.get("passed"):
        return _decide(deps, "test", "deliver", "tests pass")
    attempts = state.get("fix_attempts", 0)
    if attempts >= deps.settings.budget.max_fix_attempts:
        return _decide(deps, "test", "deliver", f"fix attempts used up ({attempts})")
    if state.get("same_failure", 0) >= MAX_SAME_FAILURE:
        return _decide(deps, "test", "deliver", "same failure three times in a row")
    return _decide(deps, "test", "fix", f"tests fail; fix attempt {attempts + 1}")


def route_after_fix(state: RunState, deps: Deps) -> Literal["test", "deliver"]:
    if _stopped(state):
        return _decide(deps, "fix", "deliver", state.get("reason", "fixing failed"))
    return _decide(deps, "fix", "test", "fix written")


def build_graph(
    deps: Deps, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    g: StateGraph[Any, Any, Any, Any] = StateGraph(RunState, input_schema=InputState)
    g.add_node("plan", lambda s: nodes.plan(s, deps))
    g.add_node("code", lambda s: nodes.write_code(s, deps))
    g.add_node("test", lambda s: nodes.run_tests(s, deps))
    g.add_node("fix", lambda s: nodes.fix_code(s, deps))
    g.add_node("deliver", lambda s: nodes.deliver(s, deps))
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", lambda s: route_after_plan(s, deps), ["code", "deliver"])
    g.add_conditional_edges("code", lambda s: route_after_code(s, deps), ["test", "deliver"])
    g.add_conditional_edges("test", lambda s: route_after_test(s, deps), ["fix", "deliver"])
    g.add_conditional_edges("fix", lambda s: route_after_fix(s, deps), ["test", "deliver"])
    g.add_edge("deliver", END)
    return g.compile(checkpointer=checkpointer)
