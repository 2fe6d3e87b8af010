"""Choosing among candidates by what running them showed (no model has a say here).

Evidence per candidate (from ``check_script``): does it import, are the requested names
there, which trusted examples (the request's own) pass, what it returns on the shared
probe inputs, which of the tester's tests pass. Choice, in order of trust:

1. it imports and has every requested name, in the module the request puts it in;
2. every trusted example passes (passing some of them counts only once candidate 0 is out
   of the race: see ``score``);
3. no crash (NameError and kin) on the shared inputs and the smoke calls;
4. dual agreement (CodeT): the number of independent candidates that return the same on
   every shared input, times one plus the tester's tests passed. A tester's test that no
   candidate passes is suspect and loses its vote, and so does one that most candidates
   fail where the request's own examples anchor the choice;
5. candidate 0 (the one-call answer) keeps its place unless a challenger is strictly better.

A repair only counts when it passes everything its parent passed and more, or as much
with fewer problems (``Evidence.problems``); a revision when it breaks nothing.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from devteam.agents.examples import EXAMPLES_FILE
from devteam.agents.hints import with_hint

#: Exceptions that are a bug in the code whatever the input. Not AttributeError, TypeError,
#: RecursionError or a timeout: the tester's inputs may be of the wrong type or huge, and a
#: crash on them says nothing about the code (the request's own examples are checked apart).
CRASH_ERRORS = (
    "NameError",
    "UnboundLocalError",
    "ImportError",
    "ModuleNotFoundError",
    "SyntaxError",
)

Origin = Literal["draft", "sample", "repair", "revise"]


class Candidate(BaseModel):
    """One complete answer: its files and where it came from."""

    id: int
    origin: Origin
    files: dict[str, str]
    parent: int | None = None
    temperature: float | None = None


class Evidence(BaseModel):
    """What running one candidate showed."""

    imports: dict[str, str | None] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    misplaced: list[str] = Field(default_factory=list)
    signatures: list[str] = Field(default_factory=list)
    examples: list[dict[str, Any]] = Field(default_factory=list)
    probes: dict[str, str] = Field(default_factory=dict)
    crashes: dict[str, str] = Field(default_factory=dict)
    tests: dict[str, Any] = Field(default_factory=dict)
    harness_error: str = ""

    @property
    def smoke_ok(self) -> bool:
        return (
            not self.harness_error
            and not any(self.imports.values())
            and not self.missing
            and not self.misplaced
            and not self.signatures
        )

    @property
    def problems(self) -> int:
        """What is wrong that no test counts: modules that fail to import, names missing or
        misplaced, wrong parameters, crashes."""
        return (
            sum(1 for t in self.imports.values() if t)
            + len(self.missing)
            + len(self.misplaced)
            + len(self.signatures)
            + len(self.crashes)
            + int(bool(self.harness_error))
        )

    @property
    def examples_passed(self) -> int:
        return sum(1 for e in self.examples if e.get("ok"))

    @property
    def tests_passed(self) -> set[str]:
        return set(self.tests.get("passed") or [])

    @property
    def tests_failed(self) -> dict[str, str]:
        return dict(self.tests.get("failed") or {})

    def passed_set(self, suspect: set[str]) -> set[str]:
        """Everything this candidate passes: examples by call, trusted tests by id."""
        ex = {f"example:{e['call']}" for e in self.examples if e.get("ok")}
        return ex | (self.tests_passed - suspect)


class Selection(BaseModel):
    """The choice and why; kept in the run's state and shown in the result."""

    chosen: int
    clean: bool
    verdict: str
    score: list[int] = Field(default_factory=list)
    agree: int = 1
    pool: int = 1
    suspect_tests: list[str] = Field(default_factory=list)
    hard_evidence: list[str] = Field(default_factory=list)
    crashed: bool = False
    tests_broken: str = ""
    rejected: list[int] = Field(default_factory=list)
    anchored: bool = Field(
        False, description="the choice passes every example the request states (one or more)"
    )
    disagree: bool = Field(
        False, description="no example, and no majority of independent candidates agrees with it"
    )
    unconfirmed: bool = Field(
        False,
        description="nothing that ran confirms the choice: no example, no agreeing candidate, "
        "no test that kept its vote and that most independent candidates pass",
    )


def _independent(c: Candidate) -> bool:
    return c.origin in ("draft", "sample")


def suspect_tests(
    evidence: dict[int, Evidence],
    candidates: list[Candidate],
    *,
    anchored: bool = False,
    anchor_pool: int = 3,
) -> set[str]:
    """The tester's tests that lose their vote: once two or more candidates were run, those
    no working candidate passes; and, where the request's own examples anchor the choice
    (``anchored``) and at least ``anchor_pool`` independent candidates were run, those that
    most of them fail. With ``anchor_pool`` 1, a lone candidate that passes every example
    outranks the tester's tests on its own (the team file's ``samples_anchored: 0``)."""
    independent = [
        evidence[c.id]
        for c in candidates
        if _independent(c) and c.id in evidence and evidence[c.id].smoke_ok
    ]
    working = [evidence[c.id] for c in candidates if c.id in evidence and evidence[c.id].smoke_ok]
    if not working:
        return set()
    if len(independent) == 1 and anchored and anchor_pool <= 1:
        ev = independent[0]
        passes_examples = bool(ev.examples) and all(e.get("ok") for e in ev.examples)
        if not passes_examples or ev.crashes:
            return set()
        return {t for t in ev.tests_failed if not t.startswith(EXAMPLES_FILE)}
    if len(independent) < 2:
        return set()
    seen: set[str] = set()
    for ev in working:
        seen |= set(ev.tests_failed) | ev.tests_passed
    suspect = seen - set().union(*(ev.tests_passed for ev in working))
    if anchored and len(independent) >= max(anchor_pool, 3):
        for test in seen - suspect:
            if test.startswith(EXAMPLES_FILE):
                continue  # the request's own examples are never outvoted by the candidates
            passing = sum(1 for ev in independent if test in ev.tests_passed)
            if passing * 2 < len(independent):
                suspect.add(test)
    return suspect


def _held(chosen: Evidence, evidence: dict[int, Evidence], known: list[Candidate]) -> set[str]:
    """The tests the chosen candidate passes that most working independent candidates pass."""
    voters = [evidence[c.id] for c in known if _independent(c) and evidence[c.id].smoke_ok] or [
        chosen
    ]
    return {
        t
        for t in chosen.tests_passed
        if 2 * sum(1 for ev in voters if t in ev.tests_passed) > len(voters)
    }


def tests_broken(evidence: dict[int, Evidence], tester_files: list[str]) -> str:
    """Why the tester's tests could not run at all for a candidate that imports, if so."""
    if not tester_files:
        return ""
    for ev in evidence.values():
        if not ev.smoke_ok:
            continue
        tests = ev.tests
        ran = [*tests.get("passed", []), *tests.get("failed", {})]
        errors = [
            e for e in tests.get("errors", []) if e.split("::")[0].split(":")[0] in tester_files
        ]
        if errors:
            return "the tester's test file does not run: " + "; ".join(errors)[:600]
        if not any(node.split("::")[0] in tester_files for node in ran):
            return "no tests were collected from the tester's file"
        return ""
    return ""


#: Errors that say the code broke on a call (a missing ``__len__``, a method it lacks), not
#: that it refused an input on purpose (ValueError, KeyError and the request's own errors).
BREAKAGE = {
    "TypeError",
    "AttributeError",
    "NameError",
    "UnboundLocalError",
    "IndexError",
    "ZeroDivisionError",
    "RecursionError",
}
_RAISED = re.compile(r"^E\s+(?:[\w.]+\.)?(\w+(?:Error|Exception))\b", re.M)


def breakage(detail: str) -> str | None:
    """The error a failed test's code raised, when it is one of ``BREAKAGE``."""
    raised = _RAISED.findall(detail)
    return raised[-1] if raised and raised[-1] in BREAKAGE else None


def hard_evidence(
    ev: Evidence, suspect: set[str], *, limit: int = 4, unanchored: bool = False
) -> list[str]:
    """What is provably wrong with a candidate, in words a coder can act on.

    ``unanchored`` (the request states no example): a test that lost its vote still counts
    where the code breaks on its call (``BREAKAGE``): with no example to check a test
    against, a crash is the hardest evidence there is. A repair from it is kept only if it
    passes strictly more and breaks nothing."""
    out: list[str] = [f"importing {m} fails:\n{t}" for m, t in ev.imports.items() if t]
    out += [f"the request asks for `{name}`, which is not defined" for name in ev.missing]
    out += ev.misplaced
    out += ev.signatures
    if ev.harness_error:
        out.append(ev.harness_error)
    for e in ev.examples:
        if e.get("ok"):
            continue
        if "error" in e:
            out.append(
                f"`{e['call']}` raises {e['error']}; the request says it returns "
                f"{e['expected']}.\n{e.get('trace', '')}".strip()
            )
        else:
            out.append(f"`{e['call']}` returns {e.get('got')}; the request says {e['expected']}.")
    for probe, trace in ev.crashes.items():
        out.append(f"`{probe}` crashes:\n{trace}")
    for test, detail in ev.tests_failed.items():
        if test not in suspect:
            out.append(f"test {test} fails:\n{detail[-800:]}")
        elif unanchored and (error := breakage(detail)):
            out.append(f"test {test} makes the code raise {error}:\n{detail[-800:]}")
    return [with_hint(item) for item in out[:limit]]


def choose(
    candidates: list[Candidate],
    evidence: dict[int, Evidence],
    has_examples: bool,
    tester_files: list[str] | None = None,
    anchor_pool: int = 3,
) -> Selection:
    """The best candidate by execution evidence (see the module's docstring)."""
    known = [c for c in candidates if c.id in evidence]
    suspect = suspect_tests(evidence, known, anchored=has_examples, anchor_pool=anchor_pool)
    by_id = {c.id: c for c in known}
    rejected: list[int] = []
    for c in known:
        if c.parent is not None and c.parent in evidence:
            mine = evidence[c.id].passed_set(suspect)
            parent = evidence[c.parent].passed_set(suspect)
            # a repair must pass strictly more, or as much with fewer problems (a name put
            # where the request asks, a crash gone); a revision must only break nothing
            fixed = evidence[c.id].problems < evidence[c.parent].problems
            better = (
                mine >= parent
                if c.origin == "revise"
                else mine > parent or (mine >= parent and fixed)
            )
            broke = evidence[c.parent].smoke_ok and not evidence[c.id].smoke_ok
            if not better or broke:
                rejected.append(c.id)
    eligible = [c for c in known if c.id not in rejected]
    signatures: dict[int, tuple[tuple[str, str], ...]] = {
        c.id: tuple(sorted(evidence[c.id].probes.items())) for c in eligible
    }
    independents = [c for c in eligible if _independent(c)]

    def agreement(c: Candidate) -> int:
        if not signatures[c.id]:
            return 1
        return max(1, sum(1 for o in independents if signatures[o.id] == signatures[c.id]))

    first = next((c for c in eligible if c.origin == "draft"), eligible[0] if eligible else None)
    if first is None:
        raise ValueError("no candidate has been checked")
    # Candidate 0 is out of the race when it does not import, lacks a requested name or
    # crashes: then nothing protects its place, and passing more examples counts.
    draft_out = first.origin == "draft" and (
        not evidence[first.id].smoke_ok or bool(evidence[first.id].crashes)
    )

    def score(c: Candidate) -> tuple[int, ...]:
        ev = evidence[c.id]
        tests = len(ev.tests_passed - suspect)
        # Where the request states examples, only passing all of them counts: if they are
        # right, a candidate that fails one is wrong however many it passes, and if one of
        # them is wrong, candidate 0 (the one-call answer) is the choice that cannot lose to
        # one call. So among candidates that fail an example, candidate 0 keeps its place
        # unless it is out of the race (``draft_out``).
        all_examples = ev.examples_passed == len(ev.examples)
        return (
            int(ev.smoke_ok),
            int(all_examples),
            int(not ev.crashes),
            ev.examples_passed if draft_out else 0,
            agreement(c) * (1 + tests) if all_examples or not has_examples else 0,
        )

    best = first
    for c in eligible:
        if score(c) > score(best):
            best = c
    # a revision the reviewers asked for replaces its parent when it breaks nothing
    for c in eligible:
        if c.origin == "revise" and c.parent == best.id and score(c) >= score(best):
            best = c
    ev = evidence[best.id]
    failing = [t for t in ev.tests_failed if t not in suspect]
    all_examples = ev.examples_passed == len(ev.examples)
    clean = ev.smoke_ok and all_examples and not ev.crashes and not failing
    agree = agreement(best) if signatures.get(best.id) else 1
    pool = len(independents)
    # Passing is claimed only on something that ran and confirms the choice: the request's
    # examples, a second independent candidate that answers the same, or a test that kept
    # its vote and that most independent candidates pass too. A test only the chosen one
    # passes confirms nothing: a model wrote what it expects, and half of such tests are
    # wrong (bench/RESULTS.md, the ceiling).
    confirmed = (has_examples and all_examples) or agree >= 2 or bool(_held(ev, evidence, known))
    # consensus is a majority of the independent candidates: two of five is not
    majority = pool >= 2 and agree >= 2 and agree * 2 > pool
    if has_examples and clean:
        verdict = "verified"
    elif majority and ev.smoke_ok and not ev.crashes and all_examples:
        verdict = f"consensus {agree}/{pool}"
    else:
        verdict = "unverified"
    # Without examples, candidates that were run and answer differently are evidence
    # against: the choice is not clean while no majority of independent candidates agrees.
    disagree = not has_examples and pool >= 2 and not majority and bool(signatures.get(best.id))
    clean = clean and not disagree and confirmed
    return Selection(
        chosen=by_id[best.id].id,
        clean=clean,
        verdict=verdict,
        score=list(score(best)),
        agree=agree,
        pool=pool,
        suspect_tests=sorted(suspect),
        hard_evidence=hard_evidence(ev, suspect, unanchored=not has_examples),
        crashed=bool(ev.crashes) or not ev.smoke_ok or any("error" in e for e in ev.examples),
        tests_broken=tests_broken(evidence, tester_files or []),
        anchored=has_examples and all_examples and ev.smoke_ok and not ev.crashes,
        disagree=disagree,
        unconfirmed=not confirmed,
        rejected=rejected,
    )
