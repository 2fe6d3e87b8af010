"""The choice among candidates (``devteam.agents.select``) on evidence given directly: which
tests keep their vote, what counts as confirmation, and what outranks candidate 0."""

from __future__ import annotations

from typing import Any


def test_a_lone_candidate_that_fails_an_example_keeps_the_testers_vote() -> None:
    from devteam.agents.select import Candidate, Evidence, choose

    ev = Evidence(
        imports={"solution": None},
        examples=[{"call": "add(2, 3)", "expected": "5", "ok": False, "got": "-1"}],
        tests={"passed": ["t::a"], "failed": {"t::b": "x"}},
    )
    sel = choose([Candidate(id=0, origin="draft", files={})], {0: ev}, True, anchor_pool=1)
    assert sel.suspect_tests == [] and not sel.clean


def test_a_test_most_candidates_fail_loses_its_vote_only_where_examples_anchor() -> None:
    from devteam.agents.select import Candidate, Evidence, suspect_tests

    def ev(*passed: str, failed: tuple[str, ...] = ()) -> Evidence:
        return Evidence(
            imports={"solution": None},
            tests={"passed": list(passed), "failed": dict.fromkeys(failed, "x")},
        )

    cands = [Candidate(id=i, origin="draft" if i == 0 else "sample", files={}) for i in range(4)]
    evidence = {
        0: ev("t::a", failed=("t::edge",)),
        1: ev("t::a", failed=("t::edge",)),
        2: ev("t::a", failed=("t::edge",)),
        3: ev("t::a", "t::edge"),
    }
    assert suspect_tests(evidence, cands, anchored=True) == {"t::edge"}
    assert suspect_tests(evidence, cands, anchored=False) == set()
    assert suspect_tests({0: evidence[0]}, cands[:1], anchored=True) == set()  # one: no vote


def test_nothing_that_ran_confirming_the_choice_is_not_a_success() -> None:
    from devteam.agents.select import Candidate, Evidence, choose

    def ev(**probes: str) -> Evidence:
        # no example; every test of the tester fails on every candidate (so all lose their
        # vote); the candidates share no input to compare them on
        return Evidence(imports={"solution": None}, tests={"failed": {"t::a": "x"}}, probes=probes)

    cands = [Candidate(id=i, origin="draft" if i == 0 else "sample", files={}) for i in range(3)]
    sel = choose(cands, {0: ev(), 1: ev(), 2: ev()}, has_examples=False)
    assert sel.suspect_tests == ["t::a"]
    assert sel.unconfirmed and not sel.clean and sel.verdict == "unverified"
    agreeing = choose(cands, {0: ev(x="1"), 1: ev(x="1"), 2: ev(x="2")}, has_examples=False)
    assert agreeing.clean and not agreeing.unconfirmed and agreeing.verdict == "consensus 2/3"


def test_a_test_only_the_chosen_candidate_passes_confirms_nothing() -> None:
    """A model wrote what the tester's tests expect: one that most independent candidates
    fail and only the chosen one passes is as likely to share its mistake as to catch theirs."""
    from devteam.agents.select import Candidate, Evidence, choose

    def ev(passed: list[str]) -> Evidence:
        failed = {t: "x" for t in ("t::a", "t::b") if t not in passed}
        return Evidence(imports={"solution": None}, tests={"passed": passed, "failed": failed})

    cands = [Candidate(id=i, origin="draft" if i == 0 else "sample", files={}) for i in range(3)]
    sel = choose(cands, {0: ev([]), 1: ev([]), 2: ev(["t::a", "t::b"])}, has_examples=False)
    assert sel.chosen == 2 and sel.suspect_tests == []  # the tests kept their vote ...
    assert sel.unconfirmed and not sel.clean and sel.verdict == "unverified"  # ... and no more
    most = choose(cands, {0: ev(["t::a"]), 1: ev([]), 2: ev(["t::a", "t::b"])}, False)
    assert most.chosen == 2 and most.clean and not most.unconfirmed  # t::a: 2 of 3 pass it
    alone = choose(cands[:1], {0: ev(["t::a", "t::b"])}, has_examples=False)
    assert alone.clean and not alone.unconfirmed  # a lone candidate: its tests are the vote


def test_two_of_five_agreeing_is_no_consensus() -> None:
    from devteam.agents.select import Candidate, Evidence, choose

    cands = [Candidate(id=i, origin="draft" if i == 0 else "sample", files={}) for i in range(5)]
    answers = ["1", "1", "2", "3", "4"]
    evidence = {
        i: Evidence(imports={"solution": None}, tests={"passed": ["t::a"]}, probes={"f(1)": a})
        for i, a in enumerate(answers)
    }
    sel = choose(cands, evidence, has_examples=False)
    assert sel.agree == 2 and sel.disagree and not sel.clean and sel.verdict == "unverified"
    evidence[2] = evidence[0]  # three of five: a majority
    sel = choose(cands, evidence, has_examples=False)
    assert sel.clean and sel.verdict == "consensus 3/5"


def _ev(ok: list[bool], probes: dict[str, str], crashes: dict[str, str] | None = None) -> Any:
    from devteam.agents.select import Evidence

    examples = [{"call": f"f({i})", "expected": "0", "ok": o} for i, o in enumerate(ok)]
    return Evidence(examples=examples, probes=probes, crashes=crashes or {})


def test_passing_some_of_the_examples_does_not_outrank_candidate_0() -> None:
    """If the examples are right, a candidate failing one is wrong however many it passes;
    if one is wrong, candidate 0 is the choice that cannot lose to one call."""
    from devteam.agents.select import Candidate, choose

    cands = [Candidate(id=i, origin="draft" if i == 0 else "sample", files={}) for i in range(4)]
    partial = {"f(0)": "0", "f(1)": "2"}
    evidence = {
        0: _ev([False, False], {"f(0)": "1", "f(1)": "1"}),
        1: _ev([True, False], partial),
        2: _ev([True, False], partial),
        3: _ev([True, False], partial),
    }
    sel = choose(cands, evidence, has_examples=True)
    assert sel.chosen == 0 and not sel.clean
    # a crash still loses to a candidate that does not crash
    evidence[0] = _ev([False, False], {}, crashes={"f(0)": "NameError: name 'x' is not defined"})
    assert choose(cands, evidence, has_examples=True).chosen == 1
    # and one that passes every example wins outright
    evidence[3] = _ev([True, True], {"f(0)": "0", "f(1)": "0"})
    sel = choose(cands, evidence, has_examples=True)
    assert sel.chosen == 3 and sel.verdict == "verified"


def test_a_suspect_test_the_code_breaks_on_is_hard_evidence_only_without_examples() -> None:
    from devteam.agents.select import Evidence, breakage, hard_evidence

    broke = (
        "tests/t.py:5: in test_len\n    assert len(Inventory()) == 0\n"
        "E   TypeError: object of type 'Inventory' has no len()"
    )
    wrong = "tests/t.py:5: in test_v\n    assert f(2) == 5\nE   AssertionError: assert 4 == 5"
    refused = "tests/t.py:5: in test_k\n    inv.get('x')\nE   KeyError: 'x'"
    ev = Evidence(
        imports={"inventory": None},
        tests={"failed": {"t::len": broke, "t::v": wrong, "t::k": refused}},
    )
    suspect = {"t::len", "t::v", "t::k"}
    assert hard_evidence(ev, suspect) == []  # the request's examples anchor: votes lost stay lost
    (only,) = hard_evidence(ev, suspect, unanchored=True)
    assert only.startswith("test t::len makes the code raise TypeError")
    assert (breakage(broke), breakage(wrong), breakage(refused)) == ("TypeError", None, None)
    assert breakage("E   Failed: DID NOT RAISE <class 'KeyError'>") is None
