"""The reviewers' phase: each reviewer reads the change against the spec and gives a verdict."""

from __future__ import annotations

from typing import Any

from devteam.agents.common import Deps, NodeFn, node, spec_of
from devteam.agents.replies import is_test_path
from devteam.agents.state import Review, RunState
from devteam.errors import ModelOutputError
from devteam.events import Note
from devteam.roles import texts

REVIEW_MAX_TOKENS = 300
MAX_DIFF_CHARS = 8000


def make_review(name: str, *, first: bool) -> NodeFn:
    """The review node of reviewer ``name``; the first of a round starts a fresh verdict set."""

    @node(f"review_{name}", name)
    def review(state: RunState, deps: Deps) -> dict[str, Any]:
        prior = {} if first else dict(state.get("reviews") or {})
        try:
            verdict = deps.ask_for(
                name,
                "review",
                Review,
                max_tokens=REVIEW_MAX_TOKENS,
                spec=spec_of(state).model_dump(),
                diff=change_text(state, deps),
            )
        except ModelOutputError as exc:
            deps.events.emit(Note(level="warning", text=f"{exc} The change is not reviewed."))
            # recorded as not reviewed (approved: None), never as an approval
            unread: dict[str, Any] = {"approved": None, "changes": [], "reviewed": False}
            return {"reviews": {**prior, name: unread}, "reviewed": True}
        if verdict.approved:
            verdict = verdict.model_copy(update={"changes": []})
        elif not verdict.changes:  # a refusal with nothing to act on is an approval
            verdict = Review(approved=True)
        deps.events.emit(
            Note(
                text=f"{name}: approved"
                if verdict.approved
                else f"{name} asks for changes: {'; '.join(verdict.changes)[:300]}"
            )
        )
        return {"reviews": {**prior, name: verdict.model_dump()}, "reviewed": True}

    return review


def change_text(state: RunState, deps: Deps) -> str:
    """What the reviewer reads: the diff since the run began (the new files, for a new project)."""
    if state.get("mode") == "repo":
        text = deps.workspace.diff(state.get("base_commit"))
    else:
        paths = [f for f in state.get("files", []) if f.endswith(".py") and not is_test_path(f)]
        text = "\n".join(
            texts.text("new_file", path=path, content=content)
            for path, content in deps.workspace.snapshot(paths).items()
        )
    if len(text) > MAX_DIFF_CHARS:
        cut = len(text) - MAX_DIFF_CHARS
        text = text[:MAX_DIFF_CHARS] + "\n" + texts.text("diff_cut", chars=cut)
    return text
