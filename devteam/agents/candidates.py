"""The evidence loop's phases: candidate 0, property tests, sampling, repair, and the check.

Execution decides. Candidate 0 is the coder's one call on the request as it stands (the
bench's ``single``). Every candidate runs in the sandbox before any model judges it
(``check``); more candidates are drawn only when the evidence is missing or against, and a
repair is asked for only on hard evidence. ``devteam.agents.select`` makes the choice.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from devteam.agents.common import (
    Deps,
    files_from_reply,
    merged,
    modules_of,
    node,
    spec_of,
    trailers,
    write_and_commit,
)
from devteam.agents.examples import (
    EXAMPLES_FILE,
    Example,
    examples_test_file,
    extract_examples,
    files_named,
    signatures,
    target_names,
)
from devteam.agents.execution import check_plan, mark_suspect, run_candidates
from devteam.agents.hygiene import strip_echoed_example
from devteam.agents.replies import is_test_path
from devteam.agents.runner import test_workspace
from devteam.agents.select import Candidate, Evidence, Selection, choose
from devteam.agents.state import RETRY_TEMPERATURE, RunState
from devteam.events import CandidatesChecked, Note
from devteam.llm.parsing import extract_files


# -- candidate 0 ---------------------------------------------------------------------------
@node("draft", "coder")
def draft(state: RunState, deps: Deps) -> dict[str, Any]:
    """Candidate 0: one call, the request as it stands; and the request's own examples."""
    spec = spec_of(state)
    task = state["task"]
    names = target_names(task)
    examples = extract_examples(task, names)
    coder = deps.name_of("coder")
    text = deps.ask(coder, "solve", task=task, files=spec.files).text
    files = _sources(text, state, deps)
    if not files:
        deps.events.emit(Note(level="warning", text="Candidate 0 held no usable source file."))
    update: dict[str, Any] = {
        "names": names,
        "signatures": {n: p for n, p in signatures(task).items() if n in names},
        "examples": [e.model_dump() for e in examples],
        "candidates": [Candidate(id=0, origin="draft", files=files).model_dump()],
        "sample_rounds": 0,
        "repairs": 0,
        "tests_rewrites": 0,
    }
    written = dict(files)
    if examples:
        written[EXAMPLES_FILE] = examples_test_file(examples, modules_of(spec))
        deps.events.emit(
            Note(text=f"{len(examples)} example(s) from the request become {EXAMPLES_FILE}.")
        )
    if written:
        write_and_commit(written, state, deps, role=coder, template="solve", message="Candidate 0")
    update["files"] = merged(state.get("files", []), written)
    update["test_files"] = merged(state.get("test_files", []), [EXAMPLES_FILE] if examples else [])
    return update


def _sources(text: str, state: RunState, deps: Deps) -> dict[str, str]:
    spec = spec_of(state)
    packages = {str(PurePosixPath(f).parent) for f in spec.files}

    def allowed(path: str) -> bool:
        pure = PurePosixPath(path)
        if is_test_path(path) or pure.suffix != ".py":
            return False
        return path in spec.files or (pure.name == "__init__.py" and str(pure.parent) in packages)

    files = files_from_reply(
        text,
        deps,
        sources=spec.files,
        test_file=state.get("test_file") or "tests/test_main.py",
        allowed=allowed,
        modules=modules_of(spec),
    )
    example = "\n".join(
        block.content for block in extract_files(deps.prompt(deps.name_of("coder")).system)
    )
    keep = target_names(state["task"])
    for path, content in list(files.items()):
        files[path], removed = strip_echoed_example(content, example, keep)
        if removed:
            deps.events.emit(
                Note(
                    text=f"Removed {', '.join(removed)} from {path}: the prompt's example, copied."
                )
            )
    return files


# -- the tester's property tests -----------------------------------------------------------
@node("write_properties", "tester")
def write_properties(state: RunState, deps: Deps) -> dict[str, Any]:
    """Tests of properties from the request (never the code); a broken file is rewritten."""
    spec = spec_of(state)
    tester = deps.name_of("tester")
    selection = state.get("selection") or {}
    problem = selection.get("tests_broken", "") if state.get("candidates") else ""
    rewrites = state.get("tests_rewrites", 0) + (1 if problem else 0)
    reply = deps.ask(
        tester,
        "properties",
        temperature=RETRY_TEMPERATURE if problem else None,
        task=state["task"],
        requirements=spec.requirements if state.get("planned") else [],
        examples=state.get("examples", []),
        names=state.get("names", []),
        test_file=state["test_file"],
        modules=modules_of(spec),
        problem=problem,
    )
    files = files_from_reply(
        reply.text,
        deps,
        sources=[],
        test_file=state["test_file"],
        allowed=lambda p: is_test_path(p) and p.endswith(".py") and p != EXAMPLES_FILE,
        modules=modules_of(spec),
    )
    if not files:
        deps.events.emit(
            Note(level="warning", text="The tester's reply held no test file; nothing written.")
        )
        return {"tests_rewrites": rewrites}
    write_and_commit(
        files, state, deps, role=tester, template="properties", message="Property tests"
    )
    return {
        "files": merged(state.get("files", []), files),
        "test_files": merged(state.get("test_files", []), files),
        "tester_tests": files,
        "tests_rewrites": rewrites,
    }


# -- more candidates -----------------------------------------------------------------------
@node("sample", "coder")
def sample(state: RunState, deps: Deps) -> dict[str, Any]:
    """More candidates, at a higher temperature, asked for in parallel."""
    loop = deps.team.loop
    spec = spec_of(state)
    coder = deps.name_of("coder")
    known = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    round_ = state.get("sample_rounds", 0) + 1
    base_seed = (deps.settings.seed or 0) + 1000 * round_
    next_id = max((c.id for c in known), default=-1) + 1
    # The request's own examples pass and only the tester disagrees: a majority of three
    # settles that; full rounds are for evidence that is missing or trusted and against.
    anchored = bool((state.get("selection") or {}).get("anchored"))
    count = min(loop.samples, loop.samples_anchored) if anchored else loop.samples

    def ask(i: int) -> str:
        return deps.ask(
            coder,
            "solve",
            temperature=loop.sample_temperature,
            seed=base_seed + i,
            task=state["task"],
            files=spec.files,
        ).text

    with ThreadPoolExecutor(max_workers=min(loop.parallel, count) or 1) as pool:
        texts = list(pool.map(ask, range(count)))
    new = [
        Candidate(
            id=next_id + i,
            origin="sample",
            files=_sources(text, state, deps),
            temperature=loop.sample_temperature,
        )
        for i, text in enumerate(texts)
    ]
    deps.events.emit(Note(text=f"Sampled {len(new)} more candidate(s) (round {round_})."))
    return {
        "candidates": [c.model_dump() for c in [*known, *new]],
        "sample_rounds": round_,
    }


@node("repair", "coder")
def repair(state: RunState, deps: Deps) -> dict[str, Any]:
    """A repair of the chosen candidate from hard evidence (an exception, a failed example)."""
    selection = Selection.model_validate(state["selection"])
    known = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    parent = next(c for c in known if c.id == selection.chosen)
    tried = sum(1 for c in known if c.origin == "repair" and c.parent == parent.id)
    text = deps.ask(
        deps.name_of("coder"),
        "repair",
        temperature=RETRY_TEMPERATURE if tried else None,
        task=state["task"],
        evidence=selection.hard_evidence,
        files=parent.files,
    ).text
    files = {**parent.files, **_sources(text, state, deps)}
    new = Candidate(id=max(c.id for c in known) + 1, origin="repair", files=files, parent=parent.id)
    return {
        "candidates": [c.model_dump() for c in [*known, new]],
        "repairs": state.get("repairs", 0) + 1,
    }


@node("revise", "coder")
def revise(state: RunState, deps: Deps) -> dict[str, Any]:
    """What the reviewers asked for, as a new candidate: kept only if it breaks nothing."""
    selection = Selection.model_validate(state["selection"])
    known = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    parent = next(c for c in known if c.id == selection.chosen)
    pending = state.get("pending_changes") or []
    changes = pending or [
        c for r in (state.get("reviews") or {}).values() if not r["approved"] for c in r["changes"]
    ]
    tests = {p: c for p, c in (state.get("tester_tests") or {}).items()}
    text = deps.ask(
        deps.name_of("coder"),
        "revise",
        task=state["task"],
        source="the user" if pending else "the review",
        changes=changes,
        files=parent.files,
        tests=tests,
    ).text
    files = {**parent.files, **_sources(text, state, deps)}
    new = Candidate(id=max(c.id for c in known) + 1, origin="revise", files=files, parent=parent.id)
    return {
        "candidates": [c.model_dump() for c in [*known, new]],
        "revisions": state.get("revisions", 0) + 1,
        "pending_changes": [],
        "reviewed": True,
    }


def multi_file(task: str) -> bool:
    """Whether a request names two or more source files (then planning and review pay)."""
    named = {m for m in files_named(task) if "test" not in m}
    return len(named) >= 2


# -- the check -----------------------------------------------------------------------------
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
        update.update(tester_tests={}, test_files=test_files)
        state = {**state, "tester_tests": {}, "test_files": test_files}
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
    spec = spec_of(state)
    examples = [Example.model_validate(e) for e in state.get("examples", [])]
    tests = dict(tester_tests)
    if EXAMPLES_FILE in state.get("test_files", []) and deps.workspace.exists(EXAMPLES_FILE):
        tests[EXAMPLES_FILE] = deps.workspace.read(EXAMPLES_FILE)
    plan = check_plan(
        modules_of(spec),
        state.get("names", []),
        state.get("signatures", {}),
        examples,
        tests,
        timeout_s=deps.settings.sandbox.timeout_s,
        variants=deps.team.loop.vary_inputs,
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
        has_examples=bool(examples),
        tester_files=sorted(tester_tests),
        anchor_pool=1 if deps.team.loop.samples_anchored == 0 else 3,
    )
    return evidence, key, selection


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
