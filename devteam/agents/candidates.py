"""The evidence loop's phases: candidate 0, property tests, sampling, repair, and the check.

Execution decides. Candidate 0 is the coder's one call on the request as it stands (the
bench's ``single``). Every candidate runs in the sandbox before any model judges it
(``check``); more candidates are drawn only when the evidence is missing or against, and a
repair is asked for only on hard evidence. ``devteam.agents.select`` makes the choice.
"""

from __future__ import annotations

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
    write_and_commit,
)
from devteam.agents.examples import (
    EXAMPLES_FILE,
    examples_test_file,
    extract_examples,
    files_named,
    signatures,
    target_names,
)
from devteam.agents.hygiene import strip_echoed_example
from devteam.agents.replies import is_test_path
from devteam.agents.select import Candidate, Selection
from devteam.agents.state import RETRY_TEMPERATURE, RunState
from devteam.agents.test_imports import fix_test_imports
from devteam.events import Note
from devteam.llm.parsing import extract_files

#: Seeds of the samples: ``SAMPLE_SEED * round + i`` on top of the run's seed.
SAMPLE_SEED = 1000
#: Seeds of second repairs (``REPAIR_SEED + n``), apart from the samples'.
REPAIR_SEED = 500


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
    first = [Candidate.model_validate(c) for c in state.get("candidates", [])[:1]]
    if first:  # the tester never sees the code; only its imports are wired to the modules
        for path, content in files.items():
            files[path], repairs = fix_test_imports(content, first[0].files)
            if repairs:
                deps.events.emit(
                    Note(text=f"Repaired the tester's imports in {path}: {'; '.join(repairs)}.")
                )
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
    base_seed = (deps.settings.seed or 0) + SAMPLE_SEED * round_
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
    coder = deps.name_of("coder")
    # From the request (``repair_from: request``): the evidence without the code, so the
    # answer is written afresh; a small model shown its code tends to return it unchanged.
    fresh = deps.team.loop.repair_from == "request" and "retry" in deps.prompt(coder).templates
    # A second try at the same parent is the same prompt: on a server that honours the
    # seed, only a seed of its own makes it a different answer.
    text = deps.ask(
        coder,
        "retry" if fresh else "repair",
        temperature=RETRY_TEMPERATURE if tried else None,
        seed=(deps.settings.seed or 0) + REPAIR_SEED + tried if tried else None,
        task=state["task"],
        evidence=selection.hard_evidence,
        files=spec_of(state).files if fresh else parent.files,
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
