"""The evidence loop with a scripted model and real execution (the local backend: each
candidate really runs, with python3 and pytest, in a temporary folder)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from devteam.config import LocalSandboxSettings, Settings
from devteam.events import read_audit_log
from devteam.llm.scripted import ScriptedModel, by_role
from devteam.sandbox.local import LocalSandbox
from devteam.team import Team

TASK = '''Write a Python module solution.py that defines the function `add` below.

```python
def add(a, b):
    """Return the sum of a and b.
    >>> add(2, 3)
    5
    add(-1, 1) == 0
    """
```
'''
NO_EXAMPLES = "Write a Python module solution.py with a function `add(a, b)` returning a + b."


def code(body: str) -> str:
    return f"FILE: solution.py\n```python\ndef add(a, b):\n    {body}\n```\n"


RIGHT = code("return a + b")
WRONG = code("return a - b")
CRASH = code("return total + a + b")  # NameError
TESTS = """FILE: tests/test_solution.py
```python
from solution import add


def test_commutes():
    assert add(4, 7) == add(7, 4)


def test_zero_is_neutral():
    assert add(9, 0) == 9
```
"""
WRONG_TEST = """FILE: tests/test_solution.py
```python
from solution import add


def test_commutes():
    assert add(4, 7) == add(7, 4)


def test_hand_computed():
    assert add(2, 2) == 5
```
"""
EMPTY_TESTS = "FILE: tests/test_solution.py\n```python\nfrom solution import add\n```\n"


def run(tmp_path: Path, task: str, script: dict[str, Any], **loop: Any):  # type: ignore[no-untyped-def]
    from devteam.teams import load_team

    team = load_team("default")
    if loop:
        team = team.model_copy(update={"loop": team.loop.model_copy(update=loop)})
    sb_settings = LocalSandboxSettings(
        env={"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"},
    )
    model = ScriptedModel(by_role(script))
    with LocalSandbox(sb_settings) as sandbox:
        result = Team(
            Settings(workspace_root=tmp_path / "ws", state_dir=tmp_path / "state"),
            team=team,
            model=model,
            sandbox=sandbox,
        ).run(task, run_id="e1")
    return result, model


def roles(model: ScriptedModel) -> list[str]:
    return [role for role, _ in model.calls]


def events(result: Any, kind: str) -> list[Any]:
    return [e for e in read_audit_log(result.audit_log) if e.kind == kind]


def test_candidate_0_that_passes_the_requests_examples_costs_two_calls(tmp_path: Path) -> None:
    result, model = run(tmp_path, TASK, {"coder": [RIGHT], "tester": [TESTS]})
    assert result.status == "passed" and result.verdict == "verified"
    assert roles(model) == ["coder", "tester"]  # no plan, no review, no sampling
    examples = (result.workspace / "tests/test_examples.py").read_text()
    assert "add(2, 3)" in examples and "add(-1, 1)" in examples
    assert result.tests_passed is True
    readme = (result.workspace / "README.md").read_text()
    assert "verified" in readme


def test_a_crash_is_repaired_from_its_trace(tmp_path: Path) -> None:
    result, model = run(tmp_path, TASK, {"coder": [CRASH, RIGHT], "tester": [TESTS]})
    assert result.status == "passed" and result.verdict == "verified"
    assert roles(model) == ["coder", "tester", "coder"]
    repair_prompt = str(model.calls[2][1][-1]["content"])
    assert "NameError" in repair_prompt and "add(2, 3)" in repair_prompt
    assert "return a + b" in (result.workspace / "solution.py").read_text()


def test_a_failed_example_resamples_and_the_right_candidate_wins(tmp_path: Path) -> None:
    coder = [WRONG, WRONG, RIGHT, WRONG, WRONG]
    result, model = run(tmp_path, TASK, {"coder": coder, "tester": [TESTS]}, parallel=1)
    assert result.status == "passed" and result.verdict == "verified"
    assert roles(model) == ["coder", "tester", *["coder"] * 4]
    temps = model.temperatures[2:]
    assert temps == [0.8] * 4 and len(set(model.seeds[2:])) == 4  # distinct samples
    assert "return a + b" in (result.workspace / "solution.py").read_text()
    (checked,) = events(result, "candidates")[-1:]
    assert checked.chosen == 2


def test_a_repair_that_passes_no_more_is_not_kept(tmp_path: Path) -> None:
    coder = [WRONG, *[WRONG] * 4, WRONG, *[WRONG] * 4, WRONG, WRONG]
    result, model = run(tmp_path, TASK, {"coder": coder, "tester": [TESTS]}, parallel=1)
    assert result.status == "failed" and result.verdict == "unverified"
    assert "the request says" in result.reason
    sel = events(result, "candidates")[-1]
    repairs = [c for c in sel.candidates if c["origin"] == "repair"]
    assert repairs and all(c["rejected"] for c in repairs)
    assert sel.chosen == 0  # candidate 0 keeps its place: no challenger was better
    # bounded: 2 sample rounds of 4 and 2 repairs at most
    assert roles(model).count("coder") <= 1 + 8 + 2


def test_the_requests_examples_outrank_the_tester_without_sampling(tmp_path: Path) -> None:
    result, model = run(tmp_path, TASK, {"coder": [RIGHT], "tester": [WRONG_TEST]})
    assert result.status == "passed" and result.verdict == "verified", result.reason
    # the default team spends nothing more when only the tester disagrees with a candidate
    # that passes every example: the hand-computed test loses its vote
    assert roles(model) == ["coder", "tester"]
    tests = (result.workspace / "tests/test_solution.py").read_text()
    assert "@pytest.mark.skip" in tests.split("def test_hand_computed")[0].splitlines()[-1]
    assert "@pytest.mark.skip" not in tests.split("def test_commutes")[0].splitlines()[-1]


def test_a_test_no_candidate_passes_is_suspect_and_marked(tmp_path: Path) -> None:
    coder = [RIGHT, RIGHT, RIGHT]
    script = {"coder": coder, "tester": [WRONG_TEST]}
    result, model = run(tmp_path, TASK, script, parallel=1, samples_anchored=2)
    assert result.status == "passed" and result.verdict == "verified", result.reason
    # with samples_anchored 2, the tester's disagreement is settled by two samples, no repair
    assert roles(model) == ["coder", "tester", "coder", "coder"]
    tests = (result.workspace / "tests/test_solution.py").read_text()
    assert "@pytest.mark.skip" in tests.split("def test_hand_computed")[0].splitlines()[-1]
    assert "test_commutes" in tests
    assert result.tests_passed is True


def test_a_test_file_with_no_tests_goes_back_to_the_tester_not_the_coder(
    tmp_path: Path,
) -> None:
    result, model = run(tmp_path, TASK, {"coder": [RIGHT], "tester": [EMPTY_TESTS, TESTS]})
    assert roles(model) == ["coder", "tester", "tester"]
    assert "no tests were collected" in str(model.calls[2][1][-1]["content"])
    assert result.status == "passed"
    decisions = [e.target for e in events(result, "decision")]
    assert "fix" not in decisions and "repair" not in decisions


def test_a_tester_file_that_never_runs_is_left_out_not_blamed_on_the_code(
    tmp_path: Path,
) -> None:
    broken = (
        "FILE: tests/test_solution.py\n```python\nimport no_such_library\n\n\n"
        "def test_a():\n    pass\n```\n"
    )
    result, model = run(tmp_path, TASK, {"coder": [RIGHT], "tester": [broken, broken]})
    assert roles(model) == ["coder", "tester", "tester"]
    assert result.status == "passed" and result.verdict == "verified", result.reason
    assert not (result.workspace / "tests/test_solution.py").exists()
    assert (result.workspace / "tests/test_examples.py").is_file()
    # nothing later (acceptance, review, the README) is pointed at the file left out
    assert "tests/test_solution.py" not in result.files


def test_without_examples_agreement_decides(tmp_path: Path) -> None:
    odd = code("return a + b + 1")
    coder = [odd, RIGHT, RIGHT, odd, RIGHT]
    result, _ = run(tmp_path, NO_EXAMPLES, {"coder": coder, "tester": [TESTS]}, parallel=1)
    # the tester's zero test fails on the odd ones; the three right ones agree
    assert result.verdict == "consensus 3/5" and result.status == "passed"
    assert "return a + b\n" in (result.workspace / "solution.py").read_text()


def test_sampling_can_be_switched_off(tmp_path: Path) -> None:
    result, model = run(tmp_path, TASK, {"coder": [WRONG], "tester": [TESTS]}, samples=0, repairs=0)
    assert roles(model) == ["coder", "tester"]
    assert result.status == "failed" and "returns -1" in result.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (">>> f(1, 2)\n3\n", [("f(1, 2)", "3")]),
        ("f([1, 2]) == [2, 1]", [("f([1, 2])", "[2, 1]")]),
        ("f('a') ➞ True", [("f('a')", "True")]),
        ("f(3) => false", [("f(3)", "False")]),
        ("`f(2)` returns `(1, 2)`.", [("f(2)", "(1, 2)")]),
        ("For x = 3, y = [1] the output should be 5.", [("f(3, [1])", "5")]),
        (">>> round(f(1.5), 2)  # a comment\n0.5\n", [("round(f(1.5), 2)", "0.5")]),
        (">>> print(f(1))\n2\n", []),  # print shows, it does not shape a result
        (">>> round(g(1), 2)\n2\n", []),  # a shaper needs a target call inside
        ("Input: x = [4, 2], y = 3\n\n  Output: [2, 4]\n", [("f([4, 2], 3)", "[2, 4]")]),
        ("Input: y = 3, x = 'a'\nOutput: 'aaa'\n", [("f('a', 3)", "'aaa'")]),
        ("Input: x = [4, 2]\nOutput: [2, 4]\n", []),  # y is not given: not a whole call
        ("Input: [4, 2]\nOutput: [2, 4]\n", []),  # positional only for one parameter
        ("f(a) => True", []),  # not a literal argument: ambiguous, left out
        ("g(1) == 2", []),  # not a function the request names
    ],
)
def test_examples_are_taken_from_the_request_as_written(
    text: str, expected: list[tuple[str, str]]
) -> None:
    from devteam.agents.examples import extract_examples

    request = "def f(x, y=0):\n    pass\n" + text
    assert [(e.call, e.expected) for e in extract_examples(request)] == expected


def test_an_input_output_block_for_a_function_of_one_parameter() -> None:
    from devteam.agents.examples import extract_examples

    request = "def pluck(arr):\n    Example 1:\n        Input: [4,2,3]\n        Output: [2, 1]\n"
    assert [(e.call, e.expected) for e in extract_examples(request)] == [
        ("pluck([4, 2, 3])", "[2, 1]")
    ]


def test_candidates_that_all_disagree_are_not_a_success(tmp_path: Path) -> None:
    coder = [code(f"return a + b + {k}") for k in range(9)]
    result, model = run(tmp_path, NO_EXAMPLES, {"coder": coder, "tester": [TESTS]}, parallel=1)
    assert roles(model) == ["coder", "tester", *["coder"] * 8]  # two full rounds, no repair
    assert result.status == "failed" and result.verdict == "unverified"
    assert "no other of 9 independent candidates" in result.reason


def test_a_copy_of_the_prompts_example_is_removed_and_prose_calls_are_targets(
    tmp_path: Path,
) -> None:
    from devteam.agents.examples import signatures, target_names

    task = "Write solution.py with add(a, b) returning a + b"
    assert target_names(task) == ["add"] and signatures(task) == {"add": ["a", "b"]}
    echo = (
        "FILE: solution.py\n```python\ndef double(x):\n    return 2 * x\n\n\n"
        "def add(a, b):\n    return a + b\n```\n"
    )
    result, _ = run(
        tmp_path, task, {"coder": [echo, RIGHT, RIGHT, RIGHT, RIGHT], "tester": [TESTS]}
    )
    delivered = (result.workspace / "solution.py").read_text()
    assert "def double" not in delivered and "def add" in delivered


def test_parametrized_tests_give_shared_inputs_but_never_expected_values() -> None:
    from devteam.agents.execution import _probes

    tests = """import pytest
from calc import add


@pytest.mark.parametrize("a, b", [(1, 2), (-5, -6)])
def test_add(a, b):
    assert add(a, b) == 99  # a hand-computed value: never taken
    assert add(a, 1) > a


@pytest.mark.parametrize("b", [0])
def test_unbound(b):
    assert add(x, b) == 0  # x is no parameter: no input to take


def test_literal():
    assert add(7, 8) == 15
"""
    probes = _probes([], {"tests/test_calc.py": tests}, ["add"])
    assert probes == ["add(1, 2)", "add(-5, -6)", "add(1, 1)", "add(-5, 1)", "add(7, 8)"]


# passes both of the request's examples, and is wrong everywhere else
FITS_EXAMPLES = code("return a + b if (a, b) in ((2, 3), (-1, 1)) else a * b")
UNPROBED_WRONG_TEST = """FILE: tests/test_solution.py
```python
from solution import add


def test_hand_computed():
    x = 2
    assert add(x, x) == 5
```
"""


@pytest.mark.parametrize("vary", [False, True])
def test_inputs_varied_from_the_examples_part_a_candidate_that_only_fits_them(
    tmp_path: Path, vary: bool
) -> None:
    script = {"coder": [FITS_EXAMPLES, RIGHT, RIGHT], "tester": [UNPROBED_WRONG_TEST]}
    result, model = run(tmp_path, TASK, script, parallel=1, samples_anchored=2, vary_inputs=vary)
    assert roles(model) == ["coder", "tester", "coder", "coder"]
    delivered = (result.workspace / "solution.py").read_text()
    (chosen,) = [e.chosen for e in events(result, "candidates")][-1:]
    if vary:
        # add(3, 3), add(2, 4), ...: the two samples agree with each other, not with it
        assert chosen != 0 and "a * b" not in delivered
    else:
        # on the examples alone all three agree, and candidate 0 keeps its place
        assert chosen == 0 and "a * b" in delivered
