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

from devteam.agents import candidates, ceo, checking, coder, gates, runner, tester
from devteam.agents.common import Deps, NodeFn
from devteam.agents.reviewer import make_review
from devteam.agents.state import InputState, RunState
from devteam.events import Decision


class Router:
    """The routing decisions, each one logged as a Decision event with its reason."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        team = deps.team
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
    def evidence(self) -> bool:
        return self.deps.team.loop.kind == "evidence"

    def uses_evidence(self, state: RunState) -> bool:
        """The evidence loop runs on new projects; a repository's own tests use the other."""
        return self.evidence and state.get("mode", "new") == "new"

    def first_work_for(self, state: RunState) -> str:
        if self.uses_evidence(state):
            return "draft"
        return self.first_work

    @property
    def first_work(self) -> str:
        return "write_tests" if self.has_tester else "code"

    def review_on(self, state: RunState) -> bool:
        if not self.uses_evidence(state):
            return True
        mode = self.deps.team.loop.review
        return mode == "always" or (mode == "auto" and candidates.multi_file(state["task"]))

    def after_tests_pass(self, source: str, state: RunState) -> str:
        revisions = state.get("revisions", 0)
        reviewed_once = bool(state.get("reviews"))
        if (
            self.reviewers
            and self.review_on(state)
            and not state.get("reviewed", False)
            and (revisions < self.bounds.review_rounds or not reviewed_once)
        ):
            return self.decide(source, f"review_{self.reviewers[0]}", "tests pass; to review")
        return self.to_acceptance(source, "tests pass", state)

    def to_acceptance(self, source: str, why: str, state: RunState | None = None) -> str:
        planned = state is None or not self.uses_evidence(state) or state.get("planned")
        if self.has_ceo and planned:
            return self.decide(source, "accept", f"{why}; CEO acceptance check")
        return self.to_delivery(source, why)

    def to_delivery(self, source: str, why: str) -> str:
        if self.deps.team.gates.approve_delivery:
            return self.decide(source, "approve_delivery", f"{why}; waiting for approval")
        return self.decide(source, "deliver", why)

    # -- routes ------------------------------------------------------------------------
    def after_plan(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("plan", state, "planning")
        gates = self.deps.team.gates
        if gates.clarify and state["spec"].get("questions") and not state.get("answers"):
            return self.decide("plan", "clarify", "the CEO has questions for the user")
        if gates.approve_spec and state.get("spec_rounds", 0) <= 3:
            return self.decide("plan", "approve_spec", "spec ready; waiting for approval")
        return self.decide("plan", self.first_work_for(state), "spec ready")

    def after_spec_gate(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("approve_spec", state, "approval")
        if state.get("spec_approved"):
            return self.decide(
                "approve_spec", self.first_work_for(state), "the user approved the spec"
            )
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

    # -- the evidence loop ---------------------------------------------------------------
    def after_draft(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("draft", state, "candidate 0")
        if self.has_tester:
            return self.decide("draft", "write_properties", "candidate 0 written; to the tester")
        return self.decide("draft", "check", "candidate 0 written; run it")

    def after_properties(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("write_properties", state, "the tests")
        return self.decide("write_properties", "check", "tests written; run the candidates")

    def after_candidates(self, source: str, state: RunState) -> str:
        if self.stopped(state):
            return self._stop(source, state, source)
        return self.decide(source, "check", "new candidate(s); run them")

    def after_check(self, state: RunState) -> str:
        """Spend more only where the evidence is missing or against."""
        if self.stopped(state):
            return self._stop("check", state, "the check")
        sel = state.get("selection") or {}
        loop = self.deps.team.loop
        rounds, repairs = state.get("sample_rounds", 0), state.get("repairs", 0)
        can_sample = loop.samples > 0 and rounds < loop.sample_rounds
        if sel.get("tests_broken") and self.has_tester and state.get("tests_rewrites", 0) < 1:
            return self.decide("check", "write_properties", sel["tests_broken"])
        if sel.get("clean"):
            if state.get("examples") or rounds or sel.get("pool", 1) > 1 or not can_sample:
                return self.after_tests_pass("check", state)
            return self.decide(
                "check",
                "sample",
                "no example in the request to verify against: "
                "sample more candidates and compare them",
            )
        if sel.get("disagree") and can_sample:
            return self.decide("check", "sample", "the candidates disagree: sample more")
        hard = bool(sel.get("hard_evidence"))
        if hard and sel.get("crashed") and repairs == 0 and rounds == 0 and loop.repairs:
            return self.decide("check", "repair", "candidate 0 crashes: one targeted repair")
        if can_sample:
            return self.decide("check", "sample", "the evidence is against: sample more")
        if hard and repairs < loop.repairs:
            return self.decide("check", "repair", f"repair on hard evidence ({repairs + 1})")
        return self.to_acceptance("check", "the best candidate found is chosen", state)

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
            return self.to_acceptance(source, "review approved", state)
        if state.get("revisions", 0) < self.bounds.review_rounds:
            target = "revise_candidate" if self.uses_evidence(state) else "revise"
            return self.decide(source, target, "the review asks for changes")
        return self.to_acceptance(source, "review rounds used up; changes not made", state)

    def after_restore(self, state: RunState) -> str:
        return self.to_acceptance("restore", "restored the last passing version", state)

    def after_accept(self, state: RunState) -> str:
        if self.stopped(state):
            return self._stop("accept", state, "acceptance")
        return self.to_delivery("accept", "acceptance checked")

    def after_delivery_gate(self, state: RunState) -> str:
        if self.stopped(state) or state.get("delivery_approved"):
            return self.decide("approve_delivery", "deliver", state.get("reason", "approved"))
        target = "revise_candidate" if self.uses_evidence(state) else "revise"
        return self.decide("approve_delivery", target, "the user asked for changes")


def build_graph(
    deps: Deps, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The team's graph. Every conditional edge names the nodes it may go to, so that
    ``get_graph().draw_mermaid()`` draws the routes that can really be taken."""
    r = Router(deps)
    team = deps.team
    g: StateGraph[Any, Any, Any, Any] = StateGraph(RunState, input_schema=InputState)
    nodes: dict[str, NodeFn] = {
        "plan": ceo.plan,
        "code": coder.write_code,
        "test": runner.run_tests,
        "fix": coder.fix_code,
        "restore": ceo.restore,
        "deliver": ceo.deliver,
    }
    if r.has_tester:
        nodes |= {"write_tests": tester.write_tests, "triage": tester.triage}
    if r.has_ceo:
        nodes |= {"replan": ceo.replan, "accept": ceo.accept}
    revising = bool(r.reviewers) or team.gates.approve_delivery
    if revising:
        nodes["revise"] = coder.revise
    for i, name in enumerate(r.reviewers):
        nodes[f"review_{name}"] = make_review(name, first=i == 0)
    if r.evidence:
        nodes |= {
            "draft": candidates.draft,
            "check": checking.check,
            "sample": candidates.sample,
            "repair": candidates.repair,
        }
        if r.has_tester:
            nodes["write_properties"] = candidates.write_properties
        if revising:
            nodes["revise_candidate"] = candidates.revise
    for gate in ("clarify", "approve_spec", "approve_delivery"):
        if getattr(team.gates, gate):
            nodes[gate] = getattr(gates, gate)
    for name, fn in nodes.items():
        g.add_node(name, lambda s, fn=fn: fn(s, deps))

    def route(source: str, router: Any, *targets: str) -> None:
        if source in nodes:
            g.add_conditional_edges(
                source, router, list(dict.fromkeys(t for t in targets if t in nodes))
            )

    first_review = [f"review_{r.reviewers[0]}"] if r.reviewers else []
    finish = [*first_review, "accept", "approve_delivery", "deliver"]
    revisers = ("revise", "revise_candidate")
    g.add_edge(START, "plan")
    g.add_edge("deliver", END)
    route("plan", r.after_plan, "clarify", "approve_spec", "draft", r.first_work, "deliver")
    route("code", lambda s: r.after_work("code", "test", s), "test", "deliver")
    route("fix", lambda s: r.after_work("fix", "test", s), "test", "deliver")
    route("test", r.after_test, *finish, "triage", "fix", "restore", "replan")
    route("write_tests", lambda s: r.after_work("write_tests", "code", s), "code", "deliver")
    route("triage", r.after_triage, "test", "fix", "deliver")
    route("replan", lambda s: r.after_work("replan", r.first_work, s), r.first_work, "deliver")
    route("accept", r.after_accept, "approve_delivery", "deliver")
    route("revise", lambda s: r.after_work("revise", "test", s), "test", "deliver")
    for i, name in enumerate(r.reviewers):
        later = [f"review_{n}" for n in r.reviewers[i + 1 :]][:1]
        route(f"review_{name}", lambda s, i=i: r.after_review(i, s), *later, *finish[1:], *revisers)
    route("restore", r.after_restore, *finish[1:])
    route("draft", r.after_draft, "write_properties", "check", "deliver")
    route("write_properties", r.after_properties, "check", "deliver")
    route("check", r.after_check, "write_properties", "sample", "repair", *finish)
    for source in ("sample", "repair", "revise_candidate"):
        route(source, lambda s, source=source: r.after_candidates(source, s), "check", "deliver")
    if "clarify" in nodes:
        g.add_edge("clarify", "plan")
    route("approve_spec", r.after_spec_gate, "draft", r.first_work, "plan", "deliver")
    route("approve_delivery", r.after_delivery_gate, "deliver", *revisers)
    return g.compile(checkpointer=checkpointer)


def mermaid(deps: Deps) -> str:
    """The team's graph as Mermaid text (what ``docs/ARCHITECTURE.md`` shows)."""
    return build_graph(deps).get_graph().draw_mermaid()
