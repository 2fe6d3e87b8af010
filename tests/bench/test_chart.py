"""``devteam bench compare --chart``: pass rate vs tokens per solved task, one labelled point
per results file, drawn from the committed results of real runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from devteam import cli
from devteam.bench.results import load_results

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
SVG = "{http://www.w3.org/2000/svg}"


def test_compare_writes_a_chart_next_to_its_table(tmp_path: Path) -> None:
    files = [RESULTS / "humaneval-single-1.5b.json", RESULTS / "humaneval-team-1.5b.json"]
    chart = tmp_path / "chart.svg"
    res = CliRunner().invoke(cli.app, ["bench", "compare", *map(str, files), "--chart", str(chart)])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("| suite | strategy |")  # the table is still printed
    root = ET.parse(chart).getroot()  # well-formed XML: a standalone SVG file
    assert root.tag == f"{SVG}svg"
    labels = {t.text for t in root.iter(f"{SVG}text")}
    assert {"humaneval-single-1.5b", "humaneval-team-1.5b"} <= labels
    assert "tokens per solved task" in labels and "pass rate (%)" in labels
    points = {
        c.find(f"{SVG}title").text.split(":")[0]: (float(c.get("cx")), float(c.get("cy")))  # type: ignore[union-attr]
        for c in root.iter(f"{SVG}circle")
    }
    single, team = (load_results(f).summary for f in files)
    assert len(points) == 2
    # more tokens per solved task: further right; a higher pass rate: higher up
    (sx, sy), (tx, ty) = points["humaneval-single-1.5b"], points["humaneval-team-1.5b"]
    assert single.tokens_per_solved is not None and team.tokens_per_solved is not None
    assert (sx < tx) == (single.tokens_per_solved < team.tokens_per_solved)
    assert (sy < ty) == (single.pass_at_1 > team.pass_at_1)


def test_a_run_that_solved_nothing_is_named_not_drawn(tmp_path: Path) -> None:
    unsolved = next(
        p for p in sorted(RESULTS.glob("*.json")) if load_results(p).summary.passed == 0
    )
    chart = tmp_path / "chart.svg"
    res = CliRunner().invoke(cli.app, ["bench", "compare", str(unsolved), "--chart", str(chart)])
    assert res.exit_code == 0, res.output
    assert f"nothing solved: {unsolved.stem}" in res.output
    root = ET.parse(chart).getroot()
    assert list(root.iter(f"{SVG}circle")) == []
    assert "no data" in {t.text for t in root.iter(f"{SVG}text")}
