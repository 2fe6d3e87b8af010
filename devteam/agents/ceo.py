"""The CEO's phases: plan (and re-plan), check acceptance, restore, deliver."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from devteam.agents.common import Deps, node, spec_of, trailers
from devteam.agents.examples import files_named
from devteam.agents.replies import strip_dot
from devteam.agents.state import Acceptance, RunState, SelectionState, Spec, TestReport
from devteam.errors import ModelOutputError
from devteam.events import FilesWritten, Note
from devteam.workspace import provenance

SPEC_MAX_TOKENS = 500
ACCEPT_MAX_TOKENS = 400
MAX_FILE_CHARS = 6000


@node("plan", "ceo")
def plan(state: RunState, deps: Deps) -> dict[str, Any]:
    planned = _wants_plan(state, deps)
    spec = _ask_spec(state, deps) if planned else spec_from_request(state["task"])
    if not planned and deps.team.role("ceo") is not None:
        deps.events.emit(
            Note(text="No planning call: the request itself is the spec (its own files).")
        )
    update = _spec_update(spec, state, deps)
    update["spec_rounds"] = state.get("spec_rounds", 0) + 1
    update["planned"] = planned and deps.team.role("ceo") is not None
    return update


def _wants_plan(state: RunState, deps: Deps) -> bool:
    """The classic loop always plans; the evidence loop where a spec changes outcomes."""
    loop = deps.team.loop
    if loop.kind != "evidence" or state.get("mode", "new") != "new":
        return True
    if loop.plan == "auto":
        from devteam.agents.candidates import multi_file

        return multi_file(state["task"])
    return loop.plan == "always"


@node("replan", "ceo")
def replan(state: RunState, deps: Deps) -> dict[str, Any]:
    """Stuck: a fresh spec, written knowing how the first attempt failed."""
    report = TestReport.model_validate(state["report"])
    failure = "\n".join(
        [f"failing tests: {', '.join(report.failing_tests) or '-'}", report.output[-1200:]]
    )
    spec = _ask_spec(
        state, deps, failure=failure, previous_spec=spec_of(state).model_dump_json(indent=1)
    )
    update = _spec_update(spec, state, deps)
    deps.events.emit(Note(text="Re-planned from a fresh spec after the loop got stuck."))
    update.update(
        replans=state.get("replans", 0) + 1, same_failure=0, same_code=0, triage={}, disputed=False
    )
    return update


def _ask_spec(state: RunState, deps: Deps, *, failure: str = "", previous_spec: str = "") -> Spec:
    ceo = deps.team.role("ceo")
    if ceo is None:  # a team without a CEO codes from the request itself
        return spec_from_request(state["task"])
    try:
        return deps.ask_for(
            ceo,
            "spec",
            Spec,
            max_tokens=SPEC_MAX_TOKENS,
            task=state["task"],
            repo_map=_repo_map(state, deps),
            answers=state.get("answers", ""),
            feedback=state.get("feedback", ""),
            failure=failure,
            previous_spec=previous_spec,
        )
    except ModelOutputError as exc:
        # A small model that cannot plan can still code from the request itself.
        deps.events.emit(
            Note(level="warning", text=f"{exc} Continuing with a spec taken from the request.")
        )
        return spec_from_request(state["task"])


def _repo_map(state: RunState, deps: Deps) -> str:
    if state.get("mode", "new") != "repo":
        return ""
    from devteam.workspace.repo_map import repo_map

    return repo_map(deps.workspace.root, max_chars=deps.settings.repo_map_chars)


def _spec_update(spec: Spec, state: RunState, deps: Deps) -> dict[str, Any]:
    spec = normalise_spec(spec, state["task"], repo=state.get("mode", "new") == "repo")
    return {
        "spec": spec.model_dump(),
        "test_file": state.get("test_file") or test_file_for(spec, deps),
        "status": "running",
    }


def test_file_for(spec: Spec, deps: Deps) -> str:
    """``tests/test_<module>.py``, numbered when the repository already has one."""
    stem = PurePosixPath(spec.files[0]).stem
    candidate, n = f"tests/test_{stem}.py", 1
    while deps.workspace.exists(candidate):
        n += 1
        candidate = f"tests/test_{stem}_{n}.py"
    return candidate


def spec_from_request(task: str) -> Spec:
    """The fallback spec: the request is the requirement and the acceptance criterion."""
    return Spec(goal=task[:300], files=["main.py"], requirements=[task], acceptance_criteria=[task])


def normalise_spec(spec: Spec, task: str, *, repo: bool = False) -> Spec:
    """Keep source files plain relative .py paths; take file names the request itself gives."""
    named = list(dict.fromkeys(files_named(task)))
    files = [strip_dot(f.strip()) for f in [*named, *spec.files]]
    files = [
        f for f in files if f.endswith(".py") and not PurePosixPath(f).name.startswith("test_")
    ]
    unique = list(dict.fromkeys(files)) or ["main.py"]
    keep = len(unique) if repo else (max(1, len(named)) if named else 4)
    return spec.model_copy(update={"files": unique[:keep]})


@node("accept", "ceo")
def accept(state: RunState, deps: Deps) -> dict[str, Any]:
    """Check the result against each acceptance criterion (a report, not a loop)."""
    spec = spec_of(state)
    criteria = spec.acceptance_criteria
    ceo = deps.team.role("ceo")
    if ceo is None or not criteria:
        return {}
    files = {p: c[:MAX_FILE_CHARS] for p, c in deps.workspace.snapshot(_code_files(state)).items()}
    report = state.get("report") or {}
    summary = (report.get("output") or "").strip().splitlines()[-1:] or ["passed"]
    try:
        result = deps.ask_for(
            ceo,
            "accept",
            Acceptance,
            max_tokens=ACCEPT_MAX_TOKENS,
            criteria=criteria,
            files=files,
            test_summary=summary[0],
        )
    except ModelOutputError as exc:
        deps.events.emit(Note(level="warning", text=f"{exc} Acceptance was not checked."))
        return {"acceptance": {"checked": False, "accepted": None, "checks": []}}
    checks = [c.model_dump() for c in result.checks[: len(criteria)]]
    checks += [{"met": False, "evidence": "not assessed"}] * (len(criteria) - len(checks))
    for criterion, check in zip(criteria, checks, strict=True):
        check["criterion"] = criterion
    accepted = all(c["met"] for c in checks)
    unmet = [c["criterion"] for c in checks if not c["met"]]
    deps.events.emit(
        Note(
            level="info" if accepted else "warning",
            text="The CEO accepts every criterion."
            if accepted
            else f"The CEO finds {len(unmet)} criterion(s) unmet: {'; '.join(unmet)[:300]}",
        )
    )
    return {"acceptance": {"checked": True, "accepted": accepted, "checks": checks}}


def _code_files(state: RunState) -> list[str]:
    return [f for f in state.get("files", []) if f.endswith(".py")]


@node("restore", "ceo", spends=False)
def restore(state: RunState, deps: Deps) -> dict[str, Any]:
    """A revision broke passing code and could not be repaired: go back to what passed."""
    commit = state["passing_commit"]
    deps.workspace.restore(commit)
    sha = deps.workspace.commit(
        "Restore the last passing version",
        role=deps.name_of("ceo"),
        trailers=trailers(state, deps, **{"Devteam-Restored": commit}),
    )
    deps.events.emit(
        Note(
            level="warning",
            text=f"The requested changes broke the tests and could not be repaired; restored "
            f"the last passing version ({commit[:10]}).",
        )
    )
    if sha:
        deps.events.emit(FilesWritten(role=deps.name_of("ceo"), paths=[], commit=sha))
    return {
        "report": state["passing_report"],
        "same_failure": 0,
        "reviews": {
            **state.get("reviews", {}),
            "restore": {"approved": False, "changes": ["changes dropped: they broke the tests"]},
        },
    }


@node("deliver", "ceo", spends=False)
def deliver(state: RunState, deps: Deps) -> dict[str, Any]:
    status = state.get("status", "running")
    report = state.get("report") or {}
    selection = state.get("selection")
    passed = _tests_pass(state, deps)
    update: dict[str, Any] = {}
    if selection is not None:
        # The evidence loop: the chosen candidate must pass every check that is not suspect;
        # a project with no tests at all is not failed for that alone.
        passed = bool(selection.get("clean")) and (not report or passed)
    elif report.get("passed") and not passed:  # a change made after the last passing run
        update["report"] = {**report, "passed": False, "output": "not tested after the last change"}
    # The verdict is the tests': README, RunResult and exit code agree on it, even when a
    # budget ran out after they passed (at review or acceptance).
    if status == "running":
        status = "passed" if passed else "failed"
        reason = state.get("reason") or _reason(status, state, deps)
    elif passed and status in ("budget_exhausted", "error"):
        cut = state.get("reason", "")
        status, reason = "passed", f"{_reason('passed', state, deps)}; then the run stopped: {cut}"
    else:
        reason = state.get("reason") or _reason(status, state, deps)
    if state.get("spec") and state.get("mode", "new") == "new":
        _write_readme(state, deps, passed, reason)
    sha = deps.workspace.commit(
        f"Deliver: {status}",
        role=deps.name_of("ceo"),
        trailers={"Devteam-Run": state["run_id"], "Devteam-Status": status},
    )
    if sha:
        deps.events.emit(FilesWritten(role=deps.name_of("ceo"), paths=["README.md"], commit=sha))
    return {**update, "status": status, "reason": reason}


def _tests_pass(state: RunState, deps: Deps) -> bool:
    """Whether the last test run passed on the code as it is now (no change since)."""
    if not (state.get("report") or {}).get("passed"):
        return False
    commit = state.get("passing_commit")
    changed = deps.workspace.changed_files(commit) if commit else []
    return not [p for p in changed if p not in ("README.md", "PROVENANCE.json")]


def _write_readme(state: RunState, deps: Deps, passed: bool, reason: str) -> None:
    if "README.md" in state.get("files", []):
        return
    spec = spec_of(state)
    ceo = deps.name_of("ceo")
    role = deps.prompt(deps.team.role("ceo") or "ceo")  # a team without a CEO: the built-in one
    checks = (state.get("acceptance") or {}).get("checks") or []
    readme = role.render(
        "readme",
        title=PurePosixPath(spec.files[0]).stem,
        spec=spec.model_dump(),
        files=state.get("files", []),
        verdict=(
            ("passed" if passed else "not passing") + f" ({reason})"
            if state.get("selection") is not None
            else ("passed" if passed else f"not passing ({reason})")
        ),
        acceptance=[
            ("met" if c["met"] else "not met") + (f": {c['evidence']}" if c["evidence"] else "")
            for c in checks
        ]
        if checks
        else None,
        review=review_verdict(state),
        run_id=state["run_id"],
        team=deps.team.name,
        task=state["task"],
    )
    deps.workspace.write("README.md", readme)
    provenance.record(
        deps.workspace,
        ["README.md"],
        run_id=state["run_id"],
        role=ceo,
        model="(template)",
        template=f"{role.name}.readme",
        template_hash=role.template_hash,
        step=deps.budget.steps,
    )


def evidence_reason(status: str, sel: SelectionState, state: RunState) -> str:
    """One line on what the evidence loop's choice rests on."""
    n_examples = len(state.get("examples") or [])
    pool = sel.get("pool", 1)
    where = f"candidate {sel.get('chosen', 0)} of {pool}"
    if status == "passed":
        if sel.get("verdict") == "verified":
            return f"verified: the request's {n_examples} example(s) and the tests pass ({where})"
        if str(sel.get("verdict", "")).startswith("consensus"):
            return (
                f"{sel['verdict']}: {sel.get('agree')} of {pool} independent candidates "
                "agree on every shared input, and the tests pass"
            )
        return (
            "unverified: the tests pass, and most candidates pass them too, but no example "
            "or second candidate that answers the same confirms it"
        )
    problems = sel.get("hard_evidence") or []
    if sel.get("unconfirmed") and not problems:
        return (
            "unverified: nothing that ran confirms the code: the request states no example, "
            f"no other of {pool} independent candidates answers the same, and no test of the "
            f"tester's passes on most of them; one that only the chosen one passes confirms "
            f"nothing, since a model wrote what it expects ({where})"
        )
    if sel.get("disagree") and not problems:
        return (
            f"unverified: the request states no example, and {_others(sel)} of {pool} "
            f"independent candidates return what the chosen one returns: no majority ({where})"
        )
    report = state.get("report") or {}
    failing = ", ".join(report.get("failing_tests", [])[:3]) or "see the test output"
    first = problems[0].splitlines()[0] if problems else f"the delivered tests fail ({failing})"
    return f"no candidate passes every check ({where}): {first}"[:400]


def _others(sel: SelectionState) -> str:
    """How many other candidates agree with the chosen one, in words."""
    others = max(0, int(sel.get("agree", 1)) - 1)
    return "no other" if others == 0 else f"only {others} other"


def review_verdict(state: RunState) -> str:
    """One line: what the reviewers said, for the README and the result."""
    reviews = state.get("reviews") or {}
    if not reviews:
        return ""
    parts = []
    for name, r in reviews.items():
        if r.get("approved") is None:
            parts.append(f"{name}: not reviewed (its reply could not be read)")
        elif r.get("approved"):
            parts.append(f"{name} approved")
        else:
            parts.append(f"{name} asked for changes ({'; '.join(r.get('changes', []))[:200]})")
    if state.get("revisions"):
        parts.append(f"{state['revisions']} revision(s) made")
    return "; ".join(parts)


def _reason(status: str, state: RunState, deps: Deps) -> str:
    report = state.get("report") or {}
    selection = state.get("selection")
    if selection is not None:
        return evidence_reason(status, selection, state)
    if status == "passed":
        return "all tests pass in the sandbox"
    if state.get("same_failure", 0) >= deps.team.bounds.same_failure:
        return "the same failure came back after different fixes; stopped rather than loop"
    if state.get("same_code", 0) >= 2:
        return "the fixes stopped changing the code; stopped rather than loop"
    failing = ", ".join(report.get("failing_tests", [])[:5]) or "see the test output"
    return f"tests still fail after {state.get('fix_attempts', 0)} fix attempt(s): {failing}"
