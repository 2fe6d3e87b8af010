"""Inputs made from the request's example calls by changing one argument."""

import ast

from devteam.agents.examples import Example
from devteam.agents.execution import MAX_PROBES, check_plan
from devteam.agents.variants import input_variants


def test_each_argument_is_changed_alone_and_types_are_kept() -> None:
    out = input_variants(["f(2, [1, 2, 3])"], ["f"])
    assert out == ["f(3, [1, 2, 3])", "f(5, [1, 2, 3])", "f(2, [3, 2, 1])", "f(2, [2, 3, 1])"]
    for call in out:
        args = [ast.literal_eval(a) for a in ast.parse(call, mode="eval").body.args]  # type: ignore[attr-defined]
        assert [type(a) for a in args] == [int, list]


def test_every_example_contributes_before_any_contributes_twice() -> None:
    out = input_variants(["g('ab')", "g('xyz')", "h(1)"], ["g", "h"], limit=3)
    assert out == ["g('ba')", "g('zyx')", "h(2)"]


def test_calls_that_are_not_literal_target_calls_give_nothing() -> None:
    assert input_variants(["other(1)", "f(x)", "f(1, key=2)", "f(True)", "f("], ["f"]) == []
    # a palindrome reversed is the same call: never offered as new
    assert input_variants(["f('aba')", "f([1, 1])"], ["f"]) == []


def test_the_plan_lists_variants_apart_and_only_when_asked() -> None:
    examples = [Example(call="f([3, 1, 2])", expected="[1, 2, 3]")]
    plain = check_plan(["m"], ["f"], {}, examples, {}, timeout_s=10)
    assert plain["probes"] == ["f([3, 1, 2])"] and plain["variants"] == []
    more = check_plan(["m"], ["f"], {}, examples, {}, timeout_s=10, variants=True)
    assert more["variants"] == ["f([2, 1, 3])", "f([1, 2, 3])"]
    assert more["probes"] == ["f([3, 1, 2])", *more["variants"]]
    assert len(more["probes"]) <= MAX_PROBES
