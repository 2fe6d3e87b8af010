"""``devteam report``: the HTML page made from a real audit log (a scripted-model run), and
the pieces it is drawn from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli
from devteam.config import Settings
from devteam.events import (
    CandidatesChecked,
    ModelCall,
    Note,
    PhaseStarted,
    RunFinished,
    RunStarted,
)
from devteam.llm.scripted import ScriptedModel, by_role
from devteam.report import gather
from devteam.report.data import from_events
from devteam.report.graph import GraphShape, draw, layout, team_graph
from devteam.report.page import render, run_path
from devteam.sandbox.fake import FakeSandbox, failed, passed
from devteam.team import Team
from devteam.teams import load_team
from tests.unit.test_roles import ACCEPT, APPROVE, CODE, SPEC, TASK, TESTS

FIXED = CODE.replace("a + b", "b + a")
CODE_IS_WRONG = "VERDICT: code\nREASON: add must return the sum."


@pytest.fixture
def classic_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A classic-team run on a scripted model: spec, tests, a failing round, a fix, a
    review, acceptance. Its records live under tmp_path/.devteam (the CLI's default there)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    script = {
        "ceo": [SPEC, ACCEPT],
        "tester": [TESTS, CODE_IS_WRONG],
        "coder": [CODE, FIXED],
        "reviewer": [APPROVE],
    }
    settings = Settings(workspace_root=tmp_path / "ws", state_dir=Path(".devteam"))
    result = Team(
        settings,
        team="classic",
        model=ScriptedModel(by_role(script)),
        sandbox=FakeSandbox([failed("tests/test_m.py::test_add"), passed()]),  # type: ignore[arg-type]
    ).run(TASK, run_id="r1")
    assert result.status == "passed" and result.fix_attempts == 1
    return "r1"


def test_report_writes_one_self_contained_page_with_every_part(
    classic_run: str, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "r1.html"
    res = CliRunner().invoke(cli.app, ["report", classic_run, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    html = out.read_text(encoding="utf-8")
    # offline: no script, no remote resource, a policy that forbids both
    assert "<script" not in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    # the request and the CEO's spec (from the run's checkpoint)
    assert "Write a Python module m.py with add(a, b)" in html
    assert 'id="status">passed<' in html
    for section in ("timeline", "graph", "tests", "review", "changes", "roles"):
        assert f'<section id="{section}">' in html
    # the timeline: a lane per role, a bar per phase and per model call
    timeline = html[html.index('class="timeline"') : html.index("</svg>", html.index("timeline"))]
    for lane in ("phases", "ceo", "tester", "coder", "reviewer", "sandbox"):
        assert f">{lane}</text>" in timeline
    assert timeline.count('class="bar call"') == 7  # 2 ceo, 2 tester, 2 coder, 1 reviewer
    assert 'class="bar phase"' in timeline
    # the graph: the classic loop's route through a failure and its fix
    for edge in ("test:triage", "triage:fix", "fix:test", "test:review_reviewer"):
        assert re.search(rf'class="edge taken" data-edge="{re.escape(edge)}"', html), edge
    assert 'data-edge="check:sample"' not in html  # the classic team has no evidence loop
    # tests per round, the review, the changes with line counts, tokens per role
    assert "failed (exit 1)" in html and "tests/test_m.py::test_add" in html
    assert "reviewer: approved" in html
    assert re.search(r"<code>m\.py</code></td><td>[0-9a-f]{10}</td><td>\+\d+</td>", html)
    assert re.search(r"<td>coder</td><td>2</td>", html)


def test_report_defaults_beside_the_audit_log_and_opens_the_browser(
    classic_run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    res = CliRunner().invoke(cli.app, ["report", classic_run, "--open"])
    assert res.exit_code == 0, res.output
    path = Path(".devteam/runs/r1/report.html")
    assert path.is_file() and opened == [path.resolve().as_uri()]


def test_report_of_an_unknown_run_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli.app, ["report", "nope"])
    assert res.exit_code == 1
    assert "No audit log for run 'nope'" in res.output and "devteam runs" in res.output
    assert "Traceback" not in res.output


def test_help_of_each_new_command_has_an_example() -> None:
    for args in (["report"], ["doctor"], ["config", "show"]):
        res = CliRunner().invoke(cli.app, [*args, "--help"])
        assert res.exit_code == 0 and "Example: " in res.output, args


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_run_text_never_becomes_markup() -> None:
    """Model output and the task reach the page escaped, in text and in tooltips alike."""
    events = [
        RunStarted(task=HOSTILE, workspace="/nowhere", model="m", ts=100.0),
        PhaseStarted(phase="plan", role=HOSTILE, ts=100.5),
        ModelCall(
            role=HOSTILE, model="m", messages=[], reply=HOSTILE, prompt_tokens=3,
            completion_tokens=4, latency_s=0.3, error=HOSTILE, ts=101.0,
        ),
        Note(text=HOSTILE, ts=101.5),
        CandidatesChecked(
            candidates=[{"id": 0, "origin": HOSTILE, "imports": True}],
            chosen=0, verdict=HOSTILE, suspect_tests=[HOSTILE], ts=102.0,
        ),
    ]  # fmt: skip
    data = from_events("r<1>", events)
    data.spec = {"goal": HOSTILE, "files": [HOSTILE]}
    html = render(data, None)
    assert "<script" not in html and "<img" not in html
    assert html.count("&lt;script&gt;") >= 6


def test_the_graph_drawn_is_langgraphs_and_the_path_is_the_decisions(classic_run: str) -> None:
    data = gather(Settings(state_dir=Path(".devteam")), classic_run)
    shape = team_graph(data.team_config)
    assert shape == team_graph(load_team("classic"))
    placed = layout(shape)
    assert set(placed.pos) == set(shape.nodes)  # every node placed ...
    assert len({(round(x), round(y)) for x, y in placed.pos.values()}) == len(shape.nodes)
    taken, visited = run_path(data)
    svg = draw(placed, taken, visited)
    drawn = re.findall(r'data-edge="([^"]+)"', svg)
    assert sorted(drawn) == sorted(f"{s}:{t}" for s, t, _ in shape.edges)  # ... every edge
    highlighted = set(re.findall(r'class="edge taken" data-edge="([^"]+)"', svg))
    decided = {f"{d.source}:{d.target}" for d in data.decisions}
    assert decided <= highlighted and "__start__:plan" in highlighted
    assert "deliver:__end__" in highlighted
    assert set(re.findall(r'class="node visited" data-node="([^"]+)"', svg)) == visited
    assert {"plan", "write_tests", "code", "test", "triage", "fix", "accept"} <= visited


def test_the_candidates_table_marks_the_chosen_one() -> None:
    rows = [
        {"id": i, "origin": "draft" if i == 0 else "sample", "imports": True,
         "examples": f"{2 * (i == 1)}/2", "tests_passed": 3, "tests_failed": 1 - i % 2,
         "crashes": 0, "rejected": i == 2}
        for i in range(3)
    ]  # fmt: skip
    events = [
        RunStarted(task="t", workspace="/w", model="m", ts=1.0),
        CandidatesChecked(candidates=rows, chosen=1, verdict="verified", ts=2.0),
    ]
    html = render(from_events("r", events), GraphShape(nodes=["a"], edges=[]))
    table = html[html.index('<section id="candidates">') :]
    assert "candidate #1 chosen, verdict <b>verified</b>" in table
    assert '<tr class="chosen"><td>#1</td><td>sample</td><td>yes</td><td>2/2</td>' in table
    assert table.count('<tr class="chosen">') == 1


def test_a_run_that_waited_at_a_gate_and_was_resumed() -> None:
    """The phase open when the run stopped ends there, not when it was resumed an hour later;
    a run still waiting says so."""
    events = [
        RunStarted(task="t", workspace="/w", model="m", ts=0.0),
        PhaseStarted(phase="plan", role="ceo", ts=1.0),
        Note(text="Waiting at the approve_spec gate for an answer.", ts=3.0),
    ]
    waiting = from_events("r", events)
    assert waiting.status == "waiting" and "approve_spec" in waiting.reason
    resumed = [
        *events,
        RunStarted(task="t", workspace="/w", model="m", ts=3600.0),
        PhaseStarted(phase="code", role="coder", ts=3601.0),
        RunFinished(
            status="passed", reason="ok", prompt_tokens=5, completion_tokens=6,
            duration_s=4.0, fix_attempts=0, ts=3605.0,
        ),
    ]  # fmt: skip
    data = from_events("r", resumed)
    assert data.status == "passed" and data.prompt_tokens == 5
    phases = [(s.label, s.start_s, s.end_s) for s in data.spans if s.kind == "phase"]
    assert phases == [("plan (ceo)", 1.0, 3.0), ("code (coder)", 3601.0, 3605.0)]
    assert {r.role: r.phase_s for r in data.roles} == {"ceo": 2.0, "coder": 4.0}
