"""The LangGraph state machine, built from a team config.

    plan -> [clarify] -> [approve_spec] -> write_tests -> code -> test
    test --fail--> triage -> (test | fix) -> test ...   (stuck: replan | restore | deliver)
    test --pass--> review_<name>... -> (revise -> test ...) -> accept -> [approve_delivery]
         -> deliver

Nodes a team has no role for are left out (no tester: no write_tests/triage, and the
coder writes its own tests; no reviewer: no review; no CEO: the request is the spec and
nothing is accepted or re-planned). Bracketed gates exist only when switched on.
Every loop is bounded: fix attempts, the same failure or the same code repeating,
review rounds, re-plans, and the run's token, time and step budgets.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from devteam.agents import ceo, coder, gates, runner, tester
from devteam.agents.common import Deps, NodeFn
from devteam.agents.reviewer import make_review
from devteam.agents.state import InputState, RunState
from devteam.events import Decision


class Router:
    """The routing decisions, each one logged as a Decision event with its reason."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        team = deps.crew
        self.has_ceo = team.role("ceo") is not None
        self.has_tester = team.role("tester") is not None
        self.reviewers = team.reviewers
        self.bounds = team.bounds
        self.max_fixes = (
            team.bounds.fix_attempts
            if team.bounds.fix_attempts is not None
            else deps.settings.budget.max_fix_attempts
        )

    def decide(self, source: str, target: str, reason: str) -> str:
        self.deps.events.emit(Decision(source=source, target=target, reason=reason))
        return target

    @staticmethod
    def stopped(state: RunState) -> bool:
        return state.get("status", "running") != "running"

    def _stop(self, source: str, state: RunState, what: str) -> str:
        return self.decide(source, "deliver", state.get("reason", f"{what} failed"))

    # -- targets -----------------------------------------------------------------------
    @property
    def first_work(self) -> str:
        return "write_tests" if self.has_tester else "code"

    def after_tests_pass(self, source: str, state: RunState) -> str:
        revisions = state.get("revisions", 0)
        reviewed_once = bool(state.get("reviews"))
        if (
            self.reviewers
            and not state.get("reviewed", False)
            and (revisions < self.bounds.review_rounds or not reviewed_once)
        ):
            return self.decide(source, f"review_{self.reviewers[0]}", "tests pass; to review")
        return self.to_acceptance(source, "tests pass")

    def to_acceptance(self, source: str, why: str) -> str:
        if self.has_ceo:
            return self.decide(source, "accept", f"{why}; CEO acceptance check")
        return self.to_delivery(source, why)

    def to_delivery(self, source: str, why: str) -> str:
        if self.deps.crew.gates.approve_delivery:
            return self.decide(source, "approve_delivery", f"{why}; waiting for approval")
        return self.decide(source, "deliver", why)

    # -- routes ------------------------------------------------------------------------
    def after_plan(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("plan", state, "planning")
        gates = self.deps.crew.gates
        if gates.clarify and state["spec"].get("questions") and not state.get("answers"):
            return self.decide("plan", "clarify", "the CEO has questions for the user")
        if gates.approve_spec and state.get("spec_rounds", 0) <= 3:
            return self.decide("plan", "approve_spec", "spec ready; waiting for approval")
        return self.decide("plan", self.first_work, "spec ready")

    def after_spec_gate(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("approve_spec", state, "approval")
        if state.get("spec_approved"):
            return self.decide("approve_spec", self.first_work, "the user approved the spec")
        return self.decide("approve_spec", "plan", "the user asked for changes to the spec")

    def after_work(self, source: str, target: str, state: RunState) -> str:
        if self.stopped(state):
            return self._stop(source, state, source)
        return self.decide(source, target, "files written")

    def after_test(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("test", state, "testing")
        report = state.get("report") or {}
        if report.get("passed"):
            return self.after_tests_pass("test", state)
        attempts = state.get("fix_attempts", 0)
        stuck = ""
        if state.get("same_failure", 0) >= self.bounds.same_failure:
            stuck = f"same failure {state['same_failure'] + 1} times in a row"
        elif state.get("same_code", 0) >= 2:
            stuck = "the code stopped changing"
        if stuck or attempts >= self.max_fixes:
            why = stuck or f"fix attempts used up ({attempts})"
            if state.get("passing_commit"):
                return self.decide("test", "restore", f"{why}; back to the last passing version")
            if stuck and self.has_ceo and state.get("replans", 0) < self.bounds.replans:
                return self.decide("test", "replan", f"{why}; re-plan from a fresh spec")
            return self.decide("test", "deliver", why)
        if self.has_tester:
            return self.decide("test", "triage", f"tests fail; triage (attempt {attempts + 1})")
        return self.decide("test", "fix", f"tests fail; fix attempt {attempts + 1}")

    def after_triage(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("triage", state, "triage")
        if (state.get("triage") or {}).get("culprit") == "test":
            return self.decide("triage", "test", "the tester fixed its test")
        return self.decide("triage", "fix", "the tester says the code is wrong")

    def after_review(self, index: int, state: RunState) -> str:
        source = f"review_{self.reviewers[index]}"
        if self.stopped(state):
            return self._stop(source, state, "review")
        if index + 1 < len(self.reviewers):
            return self.decide(source, f"review_{self.reviewers[index + 1]}", "next reviewer")
        wanted = [r for r in (state.get("reviews") or {}).values() if r.get("approved") is False]
        if not wanted:
            return self.to_acceptance(source, "review approved")
        if state.get("revisions", 0) < self.bounds.review_rounds:
            return self.decide(source, "revise", "the review asks for changes")
        return self.to_acceptance(source, "review rounds used up; changes not made")

    def after_restore(self, state: RunState) -> str:
        return self.to_acceptance("restore", "restored the last passing version")

    def after_accept(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("accept", state, "acceptance")
        return self.to_delivery("accept", "acceptance checked")

    def after_delivery_gate(self, state: RunState) -> str:
        if self.stopped(state) or state.get("delivery_approved"):
            return self.decide("approve_delivery", "deliver", state.get("reason", "approved"))
        return self.decide("approve_delivery", "revise", "the user asked for changes")


def build_graph(
    deps: Deps, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    r = Router(deps)
    team = deps.crew
    g: StateGraph[Any, Any, Any, Any] = StateGraph(RunState, input_schema=InputState)

    def add(name: str, fn: NodeFn) -> None:
        g.add_node(name, lambda s: fn(s, deps))

    add("plan", ceo.plan)
    add("code", coder.write_code)
    add("test", runner.run_tests)
    add("fix", coder.fix_code)
    add("deliver", ceo.deliver)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", r.after_plan)
    g.add_conditional_edges("code", lambda s: r.after_work("code", "test", s))
    g.add_conditional_edges("test", r.after_test)
    g.add_conditional_edges("fix", lambda s: r.after_work("fix", "test", s))
    g.add_edge("deliver", END)
    if r.has_tester:
        add("write_tests", tester.write_tests)
        add("triage", tester.triage)
        g.add_conditional_edges("write_tests", lambda s: r.after_work("write_tests", "code", s))
        g.add_conditional_edges("triage", r.after_triage)
    if r.has_ceo:
        add("replan", ceo.replan)
        add("accept", ceo.accept)
        g.add_conditional_edges("replan", lambda s: r.after_work("replan", r.first_work, s))
        g.add_conditional_edges("accept", r.after_accept)
    if r.reviewers or team.gates.approve_delivery:
        add("revise", coder.revise)
        g.add_conditional_edges("revise", lambda s: r.after_work("revise", "test", s))
    for i, name in enumerate(r.reviewers):
        add(f"review_{name}", make_review(name, first=i == 0))
        g.add_conditional_edges(f"review_{name}", lambda s, i=i: r.after_review(i, s))
    add("restore", ceo.restore)
    g.add_conditional_edges("restore", r.after_restore)
    if team.gates.clarify:
        add("clarify", gates.clarify)
        g.add_edge("clarify", "plan")
    if team.gates.approve_spec:
        add("approve_spec", gates.approve_spec)
        g.add_conditional_edges("approve_spec", r.after_spec_gate)
    if team.gates.approve_delivery:
        add("approve_delivery", gates.approve_delivery)
        g.add_conditional_edges("approve_delivery", r.after_delivery_gate)
    return g.compile(checkpointer=checkpointer)
