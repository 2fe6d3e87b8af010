"""The run report in a real browser: Debian's Chromium, headless, renders the page of a
scripted-model run; the screenshot is a picture, the console stays silent, and the DOM after
rendering holds the run's phases and the timeline chart."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli
from tests.guards import missing
from tests.unit.test_report import classic_run  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1200, 2400


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    missing("no chromium (apt-get install chromium)")


def headless(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run on ``page``, its console messages logged to stderr."""
    command = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={WIDTH},{HEIGHT}",
        *args,
        page.resolve().as_uri(),
    ]
    if os.geteuid() == 0:  # Chromium's own sandbox refuses root
        command.insert(2, "--no-sandbox")
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def console_lines(stderr: str) -> list[str]:
    """What the page wrote to the console, errors and CSP violations included."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the raw (filtered) scanlines of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, width, height, idat = 8, 0, 0, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_the_console_check_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "noisy.html"
    page.write_text("<p>x</p><script>console.error('broken-42')</script>")
    dom = headless(page, tmp_path / "profile", "--dump-dom")
    assert any("broken-42" in line for line in console_lines(dom.stderr)), dom.stderr[-2000:]


def test_the_report_renders_in_chromium(classic_run: str, tmp_path: Path) -> None:  # noqa: F811
    page = tmp_path / "report.html"
    res = CliRunner().invoke(cli.app, ["report", classic_run, "--out", str(page)])
    assert res.exit_code == 0, res.output
    shot = tmp_path / "report.png"
    drawn = headless(page, tmp_path / "profile", f"--screenshot={shot}")
    dom = headless(page, tmp_path / "profile", "--dump-dom")
    assert console_lines(drawn.stderr + dom.stderr) == []

    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(set(pixels[:: max(1, len(pixels) // 20000)])) > 20, "a blank screenshot"

    html = dom.stdout
    assert html.startswith("<!DOCTYPE html>") or "<html" in html[:200]
    timeline = re.search(r'<svg[^>]*class="timeline".*?</svg>', html, re.S)
    assert timeline, "no timeline chart in the rendered page"
    phases = re.findall(
        r'<rect[^>]*class="bar phase"[^>]*><title>([a-z_]+)[^<]*</title>', timeline.group(0)
    )
    assert phases[:4] == ["plan", "write_tests", "code", "test"]
    for phase in ("triage", "fix", "review_reviewer", "accept", "deliver"):
        assert phase in phases
    assert len(re.findall(r'class="bar call"', timeline.group(0))) == 7
    visited = set(re.findall(r'class="node visited" data-node="([^"]+)"', html))
    assert set(phases) <= visited
