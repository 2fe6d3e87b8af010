"""The run view drawn from synthetic event streams, onto a recording rich Console."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console

from devteam.events import (
    EVENT_ADAPTER,
    CandidatesChecked,
    ModelCall,
    ModelDelta,
    Note,
    PhaseStarted,
    RunFinished,
    RunStarted,
    SandboxRun,
)
from devteam.ui import JsonLines, LineView, RunView, render, replay
from devteam.ui.render import CURRENT, DONE, phase_strip

TEAM = {"roles": {r: {"kind": r} for r in ("ceo", "tester", "coder", "reviewer")}}
BUDGET = {"max_tokens": 1000, "max_wall_s": 100, "max_fix_attempts": 4}


def started(ts: float = 100.0, team: dict[str, Any] = TEAM) -> RunStarted:
    return RunStarted(
        run_id="r1",
        task="Write add(a, b)",
        workspace="/ws/r1",
        model="qwen2.5-coder-0.5b",
        settings={"budget": BUDGET, "team": team},
        ts=ts,
    )


def call(role: str, reply: str, tokens: int = 100, ts: float = 0.0) -> ModelCall:
    return ModelCall(
        role=role,
        model="m",
        messages=[{"role": "user", "content": "secret prompt text"}],
        reply=reply,
        prompt_tokens=tokens - 20,
        completion_tokens=20,
        latency_s=1.5,
        ts=ts,
    )


def pytest_run(code: int, failing: list[str] | None = None, ts: float = 0.0) -> SandboxRun:
    return SandboxRun(
        command=["python", "-m", "pytest", "-q"],
        exit_code=code,
        timed_out=False,
        oom_killed=False,
        duration_s=2.25,
        failing_tests=failing or [],
        ts=ts,
    )


CANDIDATES = CandidatesChecked(
    candidates=[
        {"id": 0, "origin": "draft", "imports": True, "examples": "2/2", "tests_passed": 3,
         "tests_failed": 1, "crashes": 0, "rejected": False},
        {"id": 1, "origin": "sample", "imports": False, "examples": "0/2", "tests_passed": 0,
         "tests_failed": 4, "crashes": 2, "rejected": True},
        {"id": 2, "origin": "sample", "imports": True, "examples": "2/2", "tests_passed": 4,
         "tests_failed": 0, "crashes": 0, "rejected": False},
    ],
    chosen=2,
    verdict="verified",
    suspect_tests=["test_huge"],
    ts=130.0,
)  # fmt: skip


def fold(*events: Any) -> RunView:
    view = RunView()
    for event in events:
        view.apply(event)
    return view


def shown(renderable: Any, width: int = 110) -> str:
    console = Console(record=True, file=io.StringIO(), width=width, color_system="truecolor")
    console.print(renderable)
    return console.export_text()


def test_the_current_stage_is_lit_and_the_done_ones_ticked() -> None:
    view = fold(
        started(),
        PhaseStarted(phase="plan", role="ceo", ts=101),
        PhaseStarted(phase="draft", role="coder", ts=102),
        PhaseStarted(phase="check", role="sandbox", ts=103),
    )
    strip = phase_strip(view)
    lit = [strip.plain[s.start : s.end] for s in strip.spans if s.style == CURRENT]
    done = [strip.plain[s.start : s.end] for s in strip.spans if s.style == DONE]
    assert lit == [" ● test "]
    assert done == ["✓ plan", "✓ write"]
    assert "(check)" in strip.plain  # the graph node inside the stage
    # a later fix comes back to "test": the stage is lit again, not ticked
    view.apply(PhaseStarted(phase="repair", role="coder", attempt=1, ts=104))
    view.apply(PhaseStarted(phase="check", role="sandbox", attempt=1, ts=105))
    strip = phase_strip(view)
    assert [strip.plain[s.start : s.end] for s in strip.spans if s.style == CURRENT] == [" ● test "]
    assert "✓ fix" in strip.plain and view.fix_attempts == 1


def test_a_team_without_reviewer_or_ceo_shows_no_such_stages() -> None:
    view = fold(started(team={"roles": {"coder": {"kind": "coder"}}}))
    text = phase_strip(view).plain
    assert "review" not in text and "accept" not in text
    assert text.split(" → ") == ["plan", "write", "test", "fix", "deliver"]


def test_streaming_deltas_show_who_speaks_and_the_tail_of_what_it_writes() -> None:
    view = fold(
        started(),
        PhaseStarted(phase="draft", role="coder", ts=101),
        ModelDelta(role="coder", text="FILE: m.py\n```python\n"),
        ModelDelta(role="coder", text="def add(a, b):\n    return a + b\n"),
    )
    text = shown(render(view, now=110))
    assert "coder is writing" in text
    assert "def add(a, b):" in text and "return a + b" in text
    # the whole reply arrives: the panel says it was written, and a new reply starts afresh
    view.apply(call("coder", "FILE: m.py\n```python\ndef add(a, b):\n    return a + b\n```"))
    assert "coder wrote" in shown(render(view, now=110))
    view.apply(ModelDelta(role="tester", text="def test_add():"))
    text = shown(render(view, now=110))
    assert "tester is writing" in text and "return a + b" not in text


def sample(call_id: str, text: str) -> ModelDelta:
    return ModelDelta(role="coder", template="solve", call_id=call_id, text=text)


def test_replies_written_at_once_are_shown_apart_one_line_each() -> None:
    view = fold(
        started(),
        PhaseStarted(phase="sample", role="coder", ts=101),
        sample("a1", "def add(a, b):\n"),
        sample("b2", "def add(x, y):\n"),
        sample("a1", "    return a + b\n"),
        sample("c3", "import operator\n"),
        sample("b2", "    return x + y\n"),
    )
    text = shown(render(view, now=110))
    assert "3 replies being written" in text
    lines = {line.strip(" │") for line in text.splitlines() if "coder · solve #" in line}
    assert lines == {
        "coder · solve #1  return a + b",
        "coder · solve #2  return x + y",
        "coder · solve #3  import operator",
    }
    # one ends: the other two stay apart, and the first number is free for the next one
    view.apply(
        call("coder", "def add(a, b):\n    return a + b\n").model_copy(update={"call_id": "a1"})
    )
    view.apply(sample("d4", "def add(p, q):"))
    text = shown(render(view, now=110))
    assert "3 replies being written" in text and "coder · solve #1  def add(p, q):" in text
    for call_id in ("b2", "c3", "d4"):
        view.apply(call("coder", f"reply {call_id}").model_copy(update={"call_id": call_id}))
    text = shown(render(view, now=110))
    assert "coder wrote" in text and "reply d4" in text and "being written" not in text
    assert view.replies == {}


def test_a_reply_left_in_flight_is_dropped_when_the_next_phase_starts() -> None:
    view = fold(started(), sample("a1", "def"), sample("b2", "def"))
    assert len(view.replies) == 2
    view.apply(PhaseStarted(phase="test", role="tester", ts=102))
    assert view.replies == {} and "being written" not in shown(render(view, now=110))


def test_without_deltas_the_reply_of_the_model_call_is_shown() -> None:
    view = fold(started(), call("ceo", '{"goal": "add two numbers"}', ts=101))
    text = shown(render(view, now=101))
    assert "ceo wrote" in text and '"goal": "add two numbers"' in text
    assert "secret prompt text" not in text  # prompts are not shown


def test_sandbox_commands_with_their_verdicts() -> None:
    view = fold(started(), pytest_run(1, ["tests/test_m.py::test_add"]), pytest_run(0))
    text = shown(render(view, now=110))
    assert "python -m pytest -q" in text
    assert "failed (exit 1)" in text and "tests/test_m.py::test_add" in text
    assert "passed" in text and "2.2s" in text
    timed_out = pytest_run(-1).model_copy(update={"timed_out": True})
    view.apply(timed_out)
    assert "timed out" in shown(render(view, now=110))


def test_the_candidates_table_shows_the_evidence_and_the_choice() -> None:
    view = fold(started(), CANDIDATES)
    text = shown(render(view, now=131))
    assert "candidates: chose #2 (verified)" in text
    lines = [ln.strip("│ ") for ln in text.splitlines()]
    row = {k: next(ln for ln in lines if ln.startswith(f"{k} ")) for k in "012"}
    assert "draft" in row["0"] and "3/4" in row["0"]
    assert "no" in row["1"] and "rejected" in row["1"] and "0/4" in row["1"]
    assert "◀ chosen" in row["2"] and "4/4" in row["2"]
    assert "test_huge" in text


def test_budget_bars_against_the_run_s_limits() -> None:
    view = fold(
        started(ts=100.0),
        call("coder", "x", tokens=250, ts=101),
        call("coder", "y", tokens=250, ts=102),
        PhaseStarted(phase="fix", role="coder", attempt=2, ts=103),
    )
    text = shown(render(view, now=125.0))
    assert "500 / 1,000" in text  # tokens
    assert "25 s / 100 s" in text  # wall time since the run started
    assert "2 / 4" in text  # fix attempts
    bar = next(ln for ln in text.splitlines() if "500 / 1,000" in ln)
    assert "━" in bar
    # a spent budget is drawn in red
    view.apply(call("coder", "z", tokens=600, ts=104))
    console = Console(record=True, file=io.StringIO(), width=110, color_system="truecolor")
    console.print(render(view, now=126.0))
    html = console.export_html(inline_styles=True)
    assert "1,100 / 1,000" in html and "color: #800000" in html


def test_a_resumed_run_counts_the_time_before_the_stop() -> None:
    view = fold(
        started(ts=100.0),
        call("ceo", "plan", tokens=100, ts=130.0),
        started(ts=1000.0),  # resumed much later
        call("coder", "code", tokens=100, ts=1010.0),
    )
    assert view.tokens == 200
    assert view.elapsed_s(now=1010.0) == 40.0  # 30 s before + 10 s now


def test_the_finished_run_shows_its_status_and_ticks_every_stage_it_went_through() -> None:
    view = fold(
        started(),
        PhaseStarted(phase="plan", role="ceo", ts=101),
        PhaseStarted(phase="deliver", role="ceo", ts=102),
        RunFinished(
            status="passed",
            reason="all tests pass",
            prompt_tokens=10,
            completion_tokens=5,
            duration_s=12.0,
            fix_attempts=0,
            ts=103,
        ),
    )
    strip = phase_strip(view)
    assert "passed" in strip.plain and not [s for s in strip.spans if s.style == CURRENT]
    assert "✓ deliver" in strip.plain and "12 s / 100 s" in shown(render(view))


def test_plain_lines_have_one_line_per_milestone_and_no_deltas() -> None:
    out = io.StringIO()
    sink = LineView(Console(file=out, width=200), verbose=False)
    for event in (
        PhaseStarted(phase="draft", role="coder"),
        ModelDelta(role="coder", text="partial"),
        call("coder", "FILE: m.py"),
        pytest_run(1, ["test_a"]),
        CANDIDATES,
        Note(level="warning", text="a [bracketed] note"),
    ):
        sink(event)
    lines = out.getvalue().splitlines()
    assert lines[0] == "draft · coder"
    assert "partial" not in out.getvalue()
    assert "model call: 80+20 tokens" in lines[1]
    assert "failed (exit 1)" in lines[2] and "failing: test_a" in lines[2]
    assert "-> #2 (verified)" in lines[3]
    assert lines[4].strip() == "a [bracketed] note"  # markup in text is shown as it is


def test_json_lines_parse_back_into_the_same_events() -> None:
    out = io.StringIO()
    sink = JsonLines(out)
    events = [started(), ModelDelta(role="coder", text="x"), CANDIDATES, pytest_run(0)]
    for event in events:
        sink(event)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(events)
    back = [EVENT_ADAPTER.validate_python(json.loads(line)) for line in lines]
    assert back == events


def test_a_replay_goes_phase_by_phase_and_ends_with_the_budget() -> None:
    events = [
        started(ts=100.0),
        PhaseStarted(phase="plan", role="ceo", ts=101),
        call("ceo", '{"goal": "add"}', ts=102),
        PhaseStarted(phase="draft", role="coder", ts=103),
        call("coder", "FILE: m.py\n" + "\n".join(f"line {i}" for i in range(20)), ts=104),
        PhaseStarted(phase="check", role="sandbox", ts=105),
        pytest_run(0, ts=106),
        CANDIDATES,
        RunFinished(
            status="passed",
            reason="all tests pass",
            prompt_tokens=160,
            completion_tokens=40,
            duration_s=31.0,
            fix_attempts=0,
            ts=131,
        ),
    ]
    console = Console(record=True, file=io.StringIO(), width=110)
    view = replay(events, console)
    text = console.export_text()
    order = [text.index(s) for s in ("plan · ceo", "draft · coder", "check · sandbox")]
    assert order == sorted(order)
    assert '{"goal": "add"}' in text and "line 4" in text and "line 10" not in text
    assert "more line(s)" in text  # a long reply is cut
    assert "candidates: chose #2" in text
    assert "200 / 1,000" in text and "31 s / 100 s" in text
    assert text.rstrip().endswith("passed: all tests pass")
    assert view.finished is not None and '"messages"' not in text
