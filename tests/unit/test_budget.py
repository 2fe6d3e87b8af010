"""Budgets inside a run: tokens (with the per-call cap), wall clock and steps; estimates for
servers that report no usage."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devteam.config import BudgetSettings
from devteam.errors import BudgetExceededError
from devteam.events import EventBus, ModelCall, ModelDelta, read_audit_log
from devteam.llm.budget import Budget, estimate_prompt_tokens, estimate_tokens
from devteam.llm.metered import MeteredModel
from devteam.llm.model import Messages
from devteam.llm.scripted import ScriptedModel
from devteam.sandbox.fake import FakeSandbox, failed, passed
from devteam.team import Team
from tests.unit.test_graph import ACCEPT, CODE, PLANNER, SPEC, TASK, make_settings

PADDING = "# " + "x" * 4000 + "\n"  # a reply far longer than any per-call cap below


def model_calls(result_log: Path) -> list[ModelCall]:
    return [e for e in read_audit_log(result_log) if isinstance(e, ModelCall)]


def test_the_scripted_model_stops_a_reply_at_max_tokens() -> None:
    model = ScriptedModel(["y" * 4000, "short"])
    metered = MeteredModel(model, Budget(BudgetSettings()), EventBus(), max_tokens=50)
    long = metered.complete([{"role": "user", "content": "q"}], role="coder", max_tokens=10)
    assert long.completion_tokens == 10 and len(long.text) == 36
    default = metered.complete([{"role": "user", "content": "q"}], role="coder")
    assert default.text == "short" and model.limits == [10, 50]


def test_the_scripted_model_caps_a_call_at_what_the_budget_has_left() -> None:
    budget = Budget(BudgetSettings(max_run_tokens=100), prompt_tokens=80)
    model = ScriptedModel(["y" * 4000])
    metered = MeteredModel(model, budget, EventBus())
    reply = metered.complete([{"role": "user", "content": "q"}], role="coder", max_tokens=500)
    assert model.limits == [20] and reply.completion_tokens == 20
    assert budget.tokens == 80 + 20 + reply.prompt_tokens


def test_long_replies_overshoot_the_token_budget_by_one_prompt_at_most(tmp_path: Path) -> None:
    """Every reply is longer than its cap: the cap, not short canned text, bounds the run."""
    fix = "FILE: m.py\n```python\n" + PADDING + "def add(a, b):\n    return b + a\n```\n"
    replies = [SPEC, CODE.replace("def add", PADDING + "def add", 1)] + [fix] * 8
    model = ScriptedModel(replies)
    settings = make_settings(tmp_path, max_run_tokens=1500, max_fix_attempts=8)
    fails = [failed(error=f"E   assert {i} == 0") for i in range(9)]
    team = Team(settings, team=PLANNER, model=model, sandbox=FakeSandbox(fails))
    result = team.run(TASK, run_id="b1")

    assert result.status == "budget_exhausted" and "Token budget" in result.reason
    calls = model_calls(result.audit_log)
    assert len(calls) >= 3
    for limit, call in zip(model.limits, calls, strict=True):
        assert call.completion_tokens <= limit  # no reply longer than its call's cap
    assert any(c.completion_tokens < len(PADDING) // 4 for c in calls[1:])  # replies were cut
    spent_before_last = sum(c.prompt_tokens + c.completion_tokens for c in calls[:-1])
    assert spent_before_last < 1500  # the last call was allowed ...
    assert result.tokens <= 1500 + calls[-1].prompt_tokens  # ... and stopped at the budget
    assert result.tokens == sum(c.prompt_tokens + c.completion_tokens for c in calls)


def test_the_wall_clock_budget_stops_a_run_between_calls(tmp_path: Path) -> None:
    def slow(role: str, template: str, messages: Messages) -> str:
        if role == "coder":
            time.sleep(1.2)  # the coder's call takes longer than the whole run may
            return CODE
        return SPEC

    model = ScriptedModel(slow)
    settings = make_settings(tmp_path, max_wall_s=1.0)
    result = Team(settings, team=PLANNER, model=model, sandbox=FakeSandbox([passed()])).run(
        TASK, run_id="w1"
    )
    assert result.status == "budget_exhausted"
    assert "Time budget spent" in result.reason and "DEVTEAM_BUDGET__MAX_WALL_S" in result.reason
    assert [role for role, _ in model.calls] == ["ceo", "coder"]  # nothing asked after it ran out
    assert (result.workspace / "m.py").is_file()  # the coder's work is still committed


def test_the_step_budget_stops_a_run_that_keeps_failing(tmp_path: Path) -> None:
    fix = "FILE: m.py\n```python\ndef add(a, b):\n    return {}\n```\n"
    replies = [SPEC, CODE] + [fix.format(i) for i in range(20)]
    fails = [failed(error=f"E   assert {i} == 0") for i in range(20)]
    settings = make_settings(tmp_path, max_steps=5, max_fix_attempts=20)
    model = ScriptedModel(replies)
    result = Team(settings, team=PLANNER, model=model, sandbox=FakeSandbox(fails)).run(
        TASK, run_id="s1"
    )
    assert result.status == "budget_exhausted"
    assert "Step budget spent: 5 of 5 steps" in result.reason
    # plan, code, test, fix, test used the five steps; the next fix was never asked for
    assert [role for role, _ in model.calls] == ["ceo", "coder", "coder"]


def test_a_resumed_budget_keeps_what_was_spent_before() -> None:
    limits = BudgetSettings(max_wall_s=10, max_steps=3)
    budget = Budget(limits, elapsed_s=9.99, steps=2)
    with pytest.raises(BudgetExceededError, match="Time budget") as info:
        time.sleep(0.02)
        budget.check()
    assert info.value.kind == "wall"  # type: ignore[attr-defined]
    budget = Budget(limits, steps=2)
    budget.check()
    budget.step()
    with pytest.raises(BudgetExceededError, match="Step budget spent: 3 of 3"):
        budget.check()


def test_token_estimates_count_words_numbers_and_symbols() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("def add(a, b):\n    return a + b\n") == 12
    assert estimate_tokens("x" * 400) == 40  # a long run of letters is many tokens
    assert estimate_tokens("1234567") == 3
    messages = [{"role": "system", "content": "You code."}, {"role": "user", "content": "add"}]
    assert estimate_prompt_tokens(messages) == 3 + 1 + 2 * 4


def test_accept_is_counted_once_per_call(tmp_path: Path) -> None:
    """The run's totals are exactly the sum of the calls in the audit log."""
    model = ScriptedModel([SPEC, CODE, ACCEPT])
    result = Team(
        make_settings(tmp_path), team=PLANNER, model=model, sandbox=FakeSandbox([passed()])
    ).run(TASK, run_id="a1")
    calls = model_calls(result.audit_log)
    assert result.prompt_tokens == sum(c.prompt_tokens for c in calls) > 0
    assert result.completion_tokens == sum(c.completion_tokens for c in calls) > 0


def test_the_scripted_model_writes_its_reply_in_a_few_pieces() -> None:
    seen: list[object] = []
    metered = MeteredModel(
        ScriptedModel(["def add(a, b):\n    return a + b\n"]),
        Budget(BudgetSettings()),
        EventBus("r", [seen.append]),
    )
    reply = metered.complete([{"role": "user", "content": "q"}], role="coder")
    deltas = [e for e in seen if isinstance(e, ModelDelta)]
    assert len(deltas) == 3 and "".join(d.text for d in deltas) == reply.text
    assert [type(e) for e in seen][-1] is ModelCall  # the whole reply, once, after its pieces
    silent = MeteredModel(
        ScriptedModel(["x"]), Budget(BudgetSettings()), EventBus("r", [seen.append]), stream=False
    )
    seen.clear()
    silent.complete([{"role": "user", "content": "q"}], role="coder")
    assert [type(e) for e in seen] == [ModelCall]


def test_replies_written_at_once_keep_their_pieces_apart_by_call_id() -> None:
    """Parallel samples interleave their pieces; each piece names the call it belongs to."""
    import threading

    seen: list[object] = []
    ready = threading.Barrier(3)

    def all_at_once(role: str, template: str, messages: Messages) -> str:
        ready.wait(timeout=10)  # all three calls are in flight before any piece goes out
        return f"def f{messages[0]['content']}():\n    return {messages[0]['content']}\n"

    metered = MeteredModel(
        ScriptedModel(all_at_once), Budget(BudgetSettings()), EventBus("r", [seen.append])
    )
    replies: dict[str, str] = {}

    def ask(i: int) -> None:
        replies[str(i)] = metered.complete(
            [{"role": "user", "content": str(i)}], role="coder", template="solve"
        ).text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    calls = {e.call_id: e for e in seen if isinstance(e, ModelCall)}
    assert len(calls) == 3 and all(calls)  # three distinct, non-empty ids
    for call_id, call in calls.items():
        pieces = [e for e in seen if isinstance(e, ModelDelta) and e.call_id == call_id]
        assert "".join(p.text for p in pieces) == call.reply
        assert {(p.role, p.template) for p in pieces} == {("coder", "solve")}
    assert sorted(c.reply for c in calls.values()) == sorted(replies.values())
