"""scripts/capture_live_view.py's pure parts: a screen's ANSI text as an SVG, and its
arguments (the whole script in a real terminal: tests/integration/test_capture_live_view.py)."""

from __future__ import annotations

import re

import pytest

from tests.capture_script import load

capture = load()


def height(svg: str) -> float:
    found = re.search(r'viewBox="0 0 [\d.]+ ([\d.]+)"', svg)
    assert found, svg[:200]
    return float(found.group(1))


def test_a_screen_keeps_its_colours_and_drops_the_empty_rows_below() -> None:
    screen = "\x1b[1;33mplan\x1b[0m \x1b[38;2;255;0;0mfailed (exit 1)\x1b[0m\nbars\n"
    svg = capture.ansi_to_svg(screen + "\n" * 30 + "\x1b[0m   \n", width=60, title="a run")
    text = svg.replace("&#160;", " ")
    assert "plan" in text and "failed (exit 1)" in text and "bars" in text
    assert "#ff0000" in svg  # the red of the verdict
    assert "font-weight: bold" in svg  # the bold stage
    assert height(svg) == height(capture.ansi_to_svg(screen, width=60, title="a run"))
    assert height(svg) < height(capture.ansi_to_svg(screen + "more\n" * 5, width=60, title="t"))


def test_a_long_line_is_cut_at_the_terminal_width_not_wrapped() -> None:
    one = capture.ansi_to_svg("x" * 200, width=60, title="t")
    assert height(one) == height(capture.ansi_to_svg("x", width=60, title="t"))


def test_arguments_after_a_double_dash_go_to_devteam_run() -> None:
    args = capture.parse(["Write add", "--out", "v.svg", "--", "--team", "solo", "-v"])
    assert (args.request, args.run_args, args.after, args.then) == (
        "Write add",
        ["--team", "solo", "-v"],
        60.0,
        "finish",
    )
    assert (args.width, args.height) == (110, 45)


def test_a_bad_size_says_what_it_should_be(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        capture.parse(["Write add", "--out", "v.svg", "--size", "10x5"])
    assert "is not COLUMNSxROWS of at least 40x10, e.g. 110x45" in capsys.readouterr().err
