"""What the request says about its own API, checked by running each candidate: names in
the module the request puts them in, requested functions no example calls run once (smoke
calls), the hint beside hard evidence, and a second repair that is a different answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.test_evidence import RIGHT, TASK, WRONG, events, roles, run

REQUEST = """Write a geometry library as two Python files, shapes.py and report.py.

shapes.py defines:
- `area(w: float, h: float) -> float`: the area of a w by h rectangle.
- `class Square` and `class Circle`, each with `size: float`.

report.py imports area with `from shapes import area` and defines `class Report`:
- `describe(w: float, h: float) -> str`: `describe(2.0, 3.0)` returns `'2.0 x 3.0 = 6.0'`.
- `scale(w: float, k: int = 2) -> float` and `ratio(w: float, h: float) -> float`.
- `render(self, shape: Square) -> str`.
"""


def test_each_requested_name_is_placed_in_the_module_the_request_puts_it_in() -> None:
    from devteam.agents.request_api import name_homes

    names = ["area", "Square", "Circle", "Report", "describe", "scale", "ratio", "render"]
    homes = name_homes(REQUEST, names, ["shapes", "report"])
    assert homes == {
        "area": "shapes",  # not report: the header's import is not a definition
        "Square": "shapes",
        "Circle": "shapes",  # the second class on a bullet
        "Report": "report",
        "describe": "report",
        "scale": "report",
        "render": "report",
    }  # ratio is no bullet's first name: not placed
    # a name placed in two modules, or a file that is no module of the project, places nothing
    twice = REQUEST + "\nshapes.py also defines:\n- `describe(w: float) -> str`\n"
    assert "describe" not in name_homes(twice, names, ["shapes", "report"])
    assert name_homes(REQUEST, names, ["report"]).keys() <= {
        "Report",
        "describe",
        "scale",
        "render",
    }
    assert name_homes(REQUEST, names, ["pkg.shapes", "pkg.report"])["area"] == "pkg.shapes"


def test_requested_functions_no_example_calls_are_called_on_the_examples_arguments() -> None:
    from devteam.agents.examples import extract_examples
    from devteam.agents.request_api import smoke_calls, typed_calls

    typed = typed_calls(REQUEST)
    assert typed["area"] == ["float", "float"] and typed["scale"] == ["float"]  # k has a default
    assert typed["render"] == ["Square"]  # self is left out
    names = ["area", "describe", "scale", "ratio", "render"]
    examples = extract_examples(REQUEST, names)
    assert [e.call for e in examples] == ["describe(2.0, 3.0)"]
    calls = smoke_calls(REQUEST, names, examples)
    # describe has its example; render takes a Square, which no example supplies
    assert calls == [
        "area(2.0, 3.0)",
        "area(3.0, 2.0)",
        "scale(2.0)",
        "scale(3.0)",
        "ratio(2.0, 3.0)",
        "ratio(3.0, 2.0)",
    ]
    assert smoke_calls(REQUEST, names, []) == []  # no example: no argument to borrow


def test_a_hint_restates_the_error_as_the_change_it_calls_for() -> None:
    from devteam.agents.hints import hint, with_hint

    assert hint("E   TypeError: object of type 'Inventory' has no len()") == (
        "class `Inventory` needs a `__len__` method"
    )
    assert "`__iter__`" in (hint("TypeError: 'Deck' object is not iterable") or "")
    assert "define `history` in class `Account`" in (
        hint("AttributeError: 'Account' object has no attribute 'history'") or ""
    )
    unbound = "UnboundLocalError: cannot access local variable 'total' where it is not"
    assert "give the local variable another name" in (hint(unbound) or "")
    # built-in types, or a str method asked of a class: another mistake; no hint
    assert hint("TypeError: 'NoneType' object is not subscriptable") is None
    assert hint("AttributeError: 'Task' object has no attribute 'strip'") is None
    assert hint("AssertionError: assert 4 == 5") is None
    # the last error in a trace is the one hinted at
    both = "NameError: name 'x' is not defined\n...\nTypeError: 'Bag' object is not iterable"
    assert "`Bag`" in (hint(both) or "")
    assert with_hint("assert 4 == 5") == "assert 4 == 5"
    assert with_hint("name 'x' is not defined").endswith(
        "Hint: `x` is used but never defined or imported in that module."
    )


def _ev(**fields: Any) -> Any:
    from devteam.agents.select import Evidence

    return Evidence(imports={"shapes": None, "report": None}, **fields)


def test_a_misplaced_name_fails_the_smoke_check_and_is_hard_evidence() -> None:
    from devteam.agents.select import Candidate, choose, hard_evidence

    why = "the request puts `describe` in report.py, and it is not there"
    ev = _ev(misplaced=[why])
    assert not ev.smoke_ok and hard_evidence(ev, set()) == [why]
    cands = [Candidate(id=0, origin="draft", files={}), Candidate(id=1, origin="sample", files={})]
    assert choose(cands, {0: ev, 1: _ev()}, has_examples=False).chosen == 1


def test_passing_more_examples_counts_once_candidate_0_is_out_of_the_race() -> None:
    from devteam.agents.select import Candidate, choose

    def examples(*ok: bool) -> list[dict[str, Any]]:
        return [{"call": f"f({i})", "expected": "0", "ok": o} for i, o in enumerate(ok)]

    cands = [Candidate(id=i, origin="draft" if i == 0 else "sample", files={}) for i in range(3)]
    evidence = {
        0: _ev(examples=examples(False, False)),
        1: _ev(examples=examples(False, False)),
        2: _ev(examples=examples(True, False)),
    }
    assert choose(cands, evidence, has_examples=True).chosen == 0  # candidate 0 keeps its place
    evidence[0] = _ev(examples=examples(False, False), missing=["f"])
    sel = choose(cands, evidence, has_examples=True)
    assert sel.chosen == 2 and sel.verdict == "unverified"


def test_the_requests_examples_are_never_outvoted_by_the_candidates() -> None:
    from devteam.agents.select import Candidate, suspect_tests

    example = "tests/test_examples.py::test_example_1"
    cands = [Candidate(id=i, origin="draft" if i == 0 else "sample", files={}) for i in range(4)]
    evidence = {
        i: _ev(tests={"passed": [example] if i == 3 else [], "failed": {example: "x"}})
        for i in range(4)
    }
    evidence[3] = _ev(tests={"passed": [example], "failed": {}})
    assert suspect_tests(evidence, cands, anchored=True) == set()


TWO_FILES = """Write a geometry library as two Python files, shapes.py and report.py.

shapes.py defines:
- `area(w: float, h: float) -> float`: the area of a w by h rectangle.

report.py imports area with `from shapes import area` and defines:
- `describe(w: float, h: float) -> str`: `describe(2.0, 3.0)` returns `'2.0 x 3.0 = 6.0'`.
- `perimeter(w: float, h: float) -> float`: 2 * (w + h).
"""
SHAPES = "def area(w, h):\n    return w * h\n"
DESCRIBE = "def describe(w, h):\n    return f'{w} x {h} = {area(w, h)}'\n"
PERIMETER = "def perimeter(w, h):\n    return 2 * (w + h)\n"
BROKEN_PERIMETER = "def perimeter(w, h):\n    w = w + h\n    return 2 * total\n"


def _files(shapes: str, report: str) -> str:
    return (
        f"FILE: shapes.py\n```python\n{shapes}```\n\n"
        f"FILE: report.py\n```python\nfrom shapes import area\n\n\n{report}```\n"
    )


RIGHT_FILES = _files(SHAPES, DESCRIBE + "\n\n" + PERIMETER)


def _repaired(tmp_path: Path, first: str) -> tuple[Any, str]:
    """A two-file run whose candidate 0 is ``first`` and whose repair is right: the result
    and the repair's prompt."""
    result, model = run(
        tmp_path,
        TWO_FILES,
        {"coder": [first, RIGHT_FILES], "tester": [""]},
        samples=0,
        plan="never",
        review="never",
    )
    assert roles(model)[:3] == ["coder", "tester", "coder"], roles(model)
    assert result.verdict == "verified" and result.status == "passed", result.reason
    assert (result.workspace / "report.py").read_text().strip() == (
        RIGHT_FILES.split("```python\n")[2].split("```")[0].strip()
    )
    return result, str(model.calls[2][1][-1]["content"])


def test_a_candidate_that_puts_a_name_in_the_wrong_module_is_repaired(tmp_path: Path) -> None:
    # describe and perimeter are in shapes.py: the example passes (the names reach the
    # check), but `from report import describe` would fail
    _, prompt = _repaired(tmp_path, _files(SHAPES + DESCRIBE + PERIMETER, ""))
    assert "the request puts `describe` in report.py" in prompt


def test_a_function_no_example_reaches_is_still_run_and_its_crash_repaired(
    tmp_path: Path,
) -> None:
    _, prompt = _repaired(tmp_path, _files(SHAPES, DESCRIBE + "\n\n" + BROKEN_PERIMETER))
    assert "`perimeter(2.0, 3.0)` crashes" in prompt and "NameError" in prompt
    assert "Hint: `total` is used but never defined" in prompt


def test_a_second_repair_of_the_same_candidate_is_asked_with_a_seed_of_its_own(
    tmp_path: Path,
) -> None:
    result, model = run(tmp_path, TASK, {"coder": [WRONG] * 3, "tester": [""]}, samples=0)
    repairs = [i for i, t in enumerate(model.templates) if t == "retry"]
    assert len(repairs) == 2, model.templates
    first, second = (model.seeds[i] for i in repairs)
    assert first is None and second is not None  # the first keeps the run's own seed
    assert [model.temperatures[i] for i in repairs] == [None, 0.7]
    assert result.status == "failed"
    assert events(result, "candidates")


def test_a_repair_from_the_request_shows_the_evidence_and_not_the_code(tmp_path: Path) -> None:
    wrong = WRONG.replace("return a - b", "return a - b  # the failing line")
    _, model = run(tmp_path, TASK, {"coder": [wrong, RIGHT], "tester": [""]}, samples=0)
    assert model.templates[:3] == ["solve", "properties", "retry"]  # the default team's
    prompt = str(model.calls[2][1][-1]["content"])
    assert "An earlier answer to this request was run" in prompt and "add(2, 3)" in prompt
    assert "the failing line" not in prompt and "Write these files: solution.py" in prompt
    _, model = run(
        tmp_path / "code",
        TASK,
        {"coder": [wrong, RIGHT], "tester": [""]},
        samples=0,
        repair_from="code",
    )
    assert model.templates[2] == "repair" and "the failing line" in str(model.calls[2][1])
