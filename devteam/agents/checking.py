"""The evidence loop's check: run every candidate not yet run, choose, install the choice.

Every candidate runs in the sandbox (``devteam.agents.execution``) before any model judges
it; ``devteam.agents.select`` makes the choice from what ran; the chosen candidate and the
tests (suspect ones marked) go into the workspace, and the workspace's tests are run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from devteam.agents.common import (
    Deps,
    merged,
    modules_of,
    node,
    spec_of,
    trailers,
    write_and_commit,
)
from devteam.agents.examples import EXAMPLES_FILE, Example
from devteam.agents.execution import check_plan, mark_suspect, run_candidates
from devteam.agents.runner import test_workspace
from devteam.agents.select import Candidate, Evidence, Selection, choose
from devteam.agents.state import RunState
from devteam.events import CandidatesChecked, Note


@node("check", "sandbox")
def check(state: RunState, deps: Deps) -> dict[str, Any]:
    """Run every candidate not yet run; choose; put the choice in the workspace; test it."""
    candidates = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    tester_tests = dict(state.get("tester_tests") or {})
    evidence, key, selection = _evidence(state, deps, candidates, tester_tests)
    update: dict[str, Any] = {}
    if selection.tests_broken and state.get("tests_rewrites", 0) >= 1:
        # The tester had its second chance: its file is left out, never blamed on the code.
        deps.events.emit(
            Note(
                level="warning",
                text=f"The tester's tests still do not run ({selection.tests_broken}); "
                "they are left out, and the request's own examples and agreement decide.",
            )
        )
        for path in tester_tests:
            deps.workspace.remove(path)
        deps.workspace.commit(
            "Leave out the tester's tests: they do not run",
            role=deps.name_of("tester"),
            trailers=trailers(state, deps),
        )
        test_files = [p for p in state.get("test_files", []) if p not in tester_tests]
        files = [p for p in state.get("files", []) if p not in tester_tests]
        update.update(tester_tests={}, test_files=test_files, files=files)
        state = {**state, "tester_tests": {}, "test_files": test_files, "files": files}
        tester_tests = {}
        evidence, key, selection = _evidence(state, deps, candidates, tester_tests)
    chosen = next(c for c in candidates if c.id == selection.chosen)
    _emit_selection(candidates, evidence, selection, deps)
    update.update(_install(chosen, selection, state, deps))
    update.update(
        evidence={str(k): v.model_dump() for k, v in evidence.items()},
        evidence_key=key,
        selection=selection.model_dump(),
        verdict=selection.verdict,
    )
    return update


def _evidence(
    state: RunState, deps: Deps, candidates: list[Candidate], tester_tests: dict[str, str]
) -> tuple[dict[int, Evidence], str, Selection]:
    """Evidence for every candidate (reusing what was gathered against the same checks)."""
    tests = dict(tester_tests)
    if EXAMPLES_FILE in state.get("test_files", []) and deps.workspace.exists(EXAMPLES_FILE):
        tests[EXAMPLES_FILE] = deps.workspace.read(EXAMPLES_FILE)
    plan = plan_for(
        state, tests, timeout_s=deps.settings.sandbox.timeout_s, variants=deps.team.loop.vary_inputs
    )
    key = hashlib.sha256(json.dumps([plan, tests], sort_keys=True).encode()).hexdigest()[:16]
    stored = state.get("evidence", {}) if state.get("evidence_key") == key else {}
    evidence = {int(k): Evidence.model_validate(v) for k, v in stored.items()}
    todo = [c for c in candidates if c.id not in evidence]
    if todo:
        evidence.update(_run_candidates(todo, plan, tests, deps))
    selection = choose(
        candidates,
        evidence,
        has_examples=bool(state.get("examples")),
        tester_files=sorted(tester_tests),
        anchor_pool=1 if deps.team.loop.samples_anchored == 0 else 3,
    )
    return evidence, key, selection


def plan_for(
    state: RunState, tests: dict[str, str], *, timeout_s: float, variants: bool
) -> dict[str, Any]:
    """The check of a run's candidates: what its request asks for (the state's modules,
    names, signatures and examples) and ``tests``, the tests to run."""
    return check_plan(
        modules_of(spec_of(state)),
        state.get("names", []),
        state.get("signatures", {}),
        [Example.model_validate(e) for e in state.get("examples", [])],
        tests,
        timeout_s=timeout_s,
        variants=variants,
        request=state["task"],
    )


def _run_candidates(
    todo: list[Candidate], plan: dict[str, Any], tests: dict[str, str], deps: Deps
) -> dict[int, Evidence]:
    deps.sandbox.sync_dir(deps.workspace.root)
    timeout_s = deps.settings.sandbox.timeout_s
    return run_candidates(
        deps.sandbox, todo, plan, tests, timeout_s=timeout_s, emit=deps.events.emit
    )


def _emit_selection(
    candidates: list[Candidate], evidence: dict[int, Evidence], sel: Selection, deps: Deps
) -> None:
    rows = []
    for c in candidates:
        ev = evidence.get(c.id)
        if ev is None:
            continue
        rows.append(
            {
                "id": c.id,
                "origin": c.origin,
                "parent": c.parent,
                "imports": ev.smoke_ok,
                "examples": f"{ev.examples_passed}/{len(ev.examples)}",
                "tests_passed": len(ev.tests_passed),
                "tests_failed": len(ev.tests_failed),
                "crashes": len(ev.crashes),
                "rejected": c.id in sel.rejected,
            }
        )
    deps.events.emit(
        CandidatesChecked(
            candidates=rows,
            chosen=sel.chosen,
            verdict=sel.verdict,
            suspect_tests=sel.suspect_tests,
        )
    )
    if sel.suspect_tests:
        deps.events.emit(
            Note(
                level="warning",
                text=f"No candidate passes {', '.join(sel.suspect_tests)}: "
                "the test is suspect and loses its vote.",
            )
        )


def _install(chosen: Candidate, sel: Selection, state: RunState, deps: Deps) -> dict[str, Any]:
    """Write the chosen candidate (and the tests, suspect ones marked) and test the result."""
    files = dict(chosen.files)
    for path, content in (state.get("tester_tests") or {}).items():
        files[path] = mark_suspect(content, path, sel.suspect_tests)
    current = {p: deps.workspace.read(p) for p in files if deps.workspace.exists(p)}
    changed = {p: c for p, c in files.items() if current.get(p) != c}
    if changed:
        write_and_commit(
            changed,
            state,
            deps,
            role=deps.name_of("coder"),
            template="solve",
            message=f"Choose candidate {chosen.id} ({chosen.origin}; {sel.verdict})",
        )
    update: dict[str, Any] = {"files": merged(state.get("files", []), files)}
    if not state.get("tester_tests") and EXAMPLES_FILE not in state.get("test_files", []):
        return {**update, "report": {}}  # no tests at all: nothing to run, nothing passed
    report = test_workspace(state, deps)
    update["report"] = report.model_dump()
    if report.passed and sel.clean:
        head = deps.workspace.head()
        if head:
            update.update(passing_commit=head, passing_report=report.model_dump())
    return update
