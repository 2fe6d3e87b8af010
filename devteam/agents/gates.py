"""Human gates, as LangGraph interrupts: answer the CEO's questions, approve the spec,
approve the delivery.

A gate node does nothing before ``interrupt``; LangGraph re-runs the node from its start
when the run resumes with the answer, so nothing with a side effect may sit in a gate.
Answers: ``True``/"yes"/"y"/"ok"/"approve" approve, ``False``/"no"/"reject" reject, and
any other text is feedback for the role that produced what was shown.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import interrupt

from devteam.agents.common import Deps, node
from devteam.agents.state import RunState

Verdict = Literal["approve", "reject", "feedback"]
_YES = {"y", "yes", "ok", "approve", "approved", "lgtm", "true", ""}
_NO = {"n", "no", "reject", "rejected", "stop", "false"}


def read_answer(answer: Any) -> tuple[Verdict, str]:
    if isinstance(answer, bool):
        return ("approve" if answer else "reject"), ""
    text = str(answer if answer is not None else "").strip()
    if text.lower() in _YES:
        return "approve", ""
    if text.lower() in _NO:
        return "reject", ""
    return "feedback", text


@node("clarify", "gate", spends=False)
def clarify(state: RunState, deps: Deps) -> dict[str, Any]:
    questions = state["spec"].get("questions", [])
    answer = interrupt({"gate": "clarify", "questions": questions, "spec": state["spec"]})
    return {"answers": str(answer or "").strip() or "(no answer; use your judgement)"}


@node("approve_spec", "gate", spends=False)
def approve_spec(state: RunState, deps: Deps) -> dict[str, Any]:
    verdict, text = read_answer(interrupt({"gate": "approve_spec", "spec": state["spec"]}))
    if verdict == "reject":
        return {"status": "rejected", "reason": "the user rejected the spec"}
    return {"feedback": text, "spec_approved": verdict == "approve"}


@node("approve_delivery", "gate", spends=False)
def approve_delivery(state: RunState, deps: Deps) -> dict[str, Any]:
    report = state.get("report") or {}
    payload = {
        "gate": "approve_delivery",
        "tests_passed": bool(report.get("passed")),
        "files": state.get("files", []),
        "reviews": state.get("reviews", {}),
        "acceptance": state.get("acceptance", {}),
        "workspace": state["workspace"],
    }
    verdict, text = read_answer(interrupt(payload))
    if verdict == "reject":
        return {"status": "rejected", "reason": "the user rejected the delivery"}
    if verdict == "feedback":
        return {"pending_changes": [text], "delivery_approved": False}
    return {"delivery_approved": True}
