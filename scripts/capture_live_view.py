#!/usr/bin/env python3
"""Capture devteam's live view from a real terminal as an SVG picture.

Starts ``devteam run REQUEST`` in a detached tmux session of a fixed size (a tmux server of
its own), waits until the run is mid-flight (a pattern on the screen, or a number of
seconds), captures the pane with its colours (``tmux capture-pane -e -p``), turns the ANSI
text into an SVG with rich, and writes it. Then it lets the run finish (``--then finish``,
the default) or stops it with Ctrl-C (``--then stop``) and checks that nothing of the run is
left: no process, no sandbox container.

    python scripts/capture_live_view.py "Write a function that ..." \\
        --out docs/images/live-view.svg --until "candidates: chose" -- --team default

Arguments after ``--`` go to ``devteam run``. The run reads its settings as it always does
(environment, devteam.toml), so ``DEVTEAM_BASE_URL`` and the rest apply. Exit status: 0 when
the picture was written and the run ended as asked; 1 otherwise, with one sentence why.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.text import Text

#: Marks the run's processes (in their environment), to find what outlives it.
MARK_VAR = "CAPTURE_LIVE_VIEW_MARK"
EXITED = re.compile(r"EXITED:(\d+)")


class CaptureError(Exception):
    """The capture could not be made or the run did not end as asked (one sentence)."""


def ansi_to_svg(ansi: str, *, width: int, title: str) -> str:
    """A terminal screen (text with ANSI colour codes) as rich's SVG of a terminal window."""
    lines = ansi.rstrip("\n").split("\n")
    while lines and not Text.from_ansi(lines[-1]).plain.strip():
        lines.pop()  # the empty rows below the view
    console = Console(
        record=True, file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor"
    )
    for line in lines:
        console.print(Text.from_ansi(line), no_wrap=True, crop=True, overflow="crop")
    return console.export_svg(title=title)


class TmuxServer:
    """A tmux server of its own (``-L socket``, started by the first session): commands to
    it, and its end. Also the terminal of tests/integration/test_terminal_view.py."""

    socket: str
    env: dict[str, str]

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@dataclass
class Terminal(TmuxServer):
    """A tmux server of its own with one session of a fixed size."""

    width: int
    height: int
    env: dict[str, str]
    socket: str = field(default_factory=lambda: f"devteam-capture-{uuid.uuid4().hex[:8]}")
    session: str = "run"

    def start(self, command: Sequence[str], cwd: Path) -> None:
        """Run ``command``; the pane stays after it ends, showing ``EXITED:<status>``."""
        line = f"trap : INT; {shlex.join(command)}; echo EXITED:$?; sleep 3600"
        self.tmux(
            "new-session", "-d", "-s", self.session, "-x", str(self.width), "-y",
            str(self.height), "-c", str(cwd), "sh", "-c", line,
        )  # fmt: skip

    def screen(self, *, colours: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if colours else []), "-t", self.session)

    def exit_status(self) -> int | None:
        found = EXITED.search(self.screen())
        return int(found.group(1)) if found else None


def run_processes(mark: str) -> dict[int, str]:
    """Live processes of the run (pid: command line): whatever carries ``mark`` in its
    environment, except the shell and the ``sleep`` that keep the pane."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if f"{MARK_VAR}={mark}".encode() not in (entry / "environ").read_bytes():
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and not cmdline.startswith(("sh ", "sleep ", "tmux")):
            found[int(entry.name)] = cmdline
    return found


def sandbox_containers(pids: set[int]) -> list[str]:
    """Sandbox containers that these processes started (none when Docker is not there)."""
    try:
        from devteam.sandbox import engine

        client = engine.connect(timeout_s=10)
    except Exception:  # no Docker engine: the run could have started no container
        return []
    try:
        owners = {str(p) for p in pids}
        return [
            c.name
            for c in engine.list_sandbox_containers(client)
            if c.labels.get(engine.LABEL_OWNER_PID) in owners
        ]
    finally:
        client.close()


def wait_until(
    term: Terminal, mark: str, seen: set[int], *, pattern: str | None, seconds: float | None,
    timeout_s: float,
) -> None:  # fmt: skip
    """Until ``pattern`` shows (or ``seconds`` pass); the run ending first is an error."""
    started = time.monotonic()
    while True:
        seen.update(run_processes(mark))
        elapsed = time.monotonic() - started
        screen = term.screen()
        status = term.exit_status()
        if status is not None:
            raise CaptureError(
                f"The run ended (exit status {status}) before the capture point; capture "
                f"earlier (--until, --after). Its screen:\n{screen}"
            )
        if pattern is not None and re.search(pattern, screen):
            return
        if pattern is None and seconds is not None and elapsed >= seconds:
            return
        if elapsed >= timeout_s:
            what = f"{pattern!r} never showed" if pattern else "the time never came"
            raise CaptureError(f"{what} within {timeout_s:.0f} s. The screen:\n{screen}")
        time.sleep(0.25)


def wait_for_exit(term: Terminal, mark: str, seen: set[int], timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen.update(run_processes(mark))
        status = term.exit_status()
        if status is not None:
            return status
        time.sleep(0.5)
    raise CaptureError(f"The run did not end within {timeout_s:.0f} s; raise --timeout.")


def leftovers(mark: str, seen: set[int], grace_s: float = 10.0) -> list[str]:
    """What of the run is still there after a short grace: processes and containers."""
    deadline = time.monotonic() + grace_s
    while True:
        left = [f"process {pid}: {cmd}" for pid, cmd in run_processes(mark).items()]
        left += [f"container {name}" for name in sandbox_containers(seen)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.5)


def capture(args: argparse.Namespace) -> str:
    """Run, capture, finish or stop; the summary line."""
    if shutil.which("tmux") is None:
        raise CaptureError("tmux is not installed; install it (apt-get install tmux).")
    mark = uuid.uuid4().hex
    env = {**os.environ, MARK_VAR: mark, "TERM": "xterm-256color"}
    for name in ("COLUMNS", "LINES", "NO_COLOR", "TMUX", "CI"):
        env.pop(name, None)
    command = [*shlex.split(args.devteam), "run", args.request, *args.run_args]
    term = Terminal(args.width, args.height, env)
    seen: set[int] = set()
    try:
        term.start(command, Path.cwd())
        wait_until(term, mark, seen, pattern=args.until, seconds=args.after, timeout_s=args.timeout)
        time.sleep(args.settle)  # let the view finish its redraw
        svg = ansi_to_svg(term.screen(colours=True), width=args.width, title=args.title)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(svg, encoding="utf-8")
        if args.then == "stop":
            term.tmux("send-keys", "-t", term.session, "C-c")
        status = wait_for_exit(term, mark, seen, args.timeout)
        left = leftovers(mark, seen)
        if left:
            raise CaptureError(f"The run left {len(left)} thing(s) behind: {'; '.join(left)}.")
        if args.then == "finish" and status != 0 and not args.any_status:
            raise CaptureError(
                f"Wrote {args.out}, but the run ended with exit status {status}; its screen:\n"
                f"{term.screen()}"
            )
        return f"wrote {args.out}; the run exited {status}; nothing of it is left"
    finally:
        term.close()


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Capture devteam's live view from a real terminal (tmux) as an SVG.",
        usage="%(prog)s REQUEST --out FILE [options] [-- DEVTEAM_RUN_ARGS ...]",
        epilog='example: %(prog)s "Write add(a, b)" --out view.svg --until "● test" -- -v',
    )
    parser.add_argument("request", help="the request, as for devteam run")
    parser.add_argument("--out", type=Path, required=True, help="where the SVG goes")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--until", metavar="REGEX", help="capture once this shows on the screen")
    when.add_argument("--after", type=float, metavar="S", help="capture S seconds in (60)")
    parser.add_argument(
        "--then",
        choices=("finish", "stop"),
        default="finish",
        help="after the capture: let the run finish, or stop it with Ctrl-C",
    )
    parser.add_argument("--any-status", action="store_true", help="a failed run is fine")
    parser.add_argument("--size", default="110x45", help="the terminal, COLUMNSxROWS")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for each wait")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before the capture")
    parser.add_argument("--title", default="devteam run", help="the SVG window's title")
    parser.add_argument(
        "--devteam",
        default=f"{shlex.quote(sys.executable)} -m devteam.cli",
        help="the command that runs devteam (this Python's devteam by default)",
    )
    argv = list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.run_args = argv[cut + 1 :]  # after --: more arguments for devteam run
    size = re.fullmatch(r"(\d+)x(\d+)", args.size)
    if not size or int(size.group(1)) < 40 or int(size.group(2)) < 10:
        parser.error(f"--size {args.size!r} is not COLUMNSxROWS of at least 40x10, e.g. 110x45.")
    args.width, args.height = int(size.group(1)), int(size.group(2))
    if args.until is None and args.after is None:
        args.after = 60.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        print(capture(args))
    except CaptureError as exc:
        print(f"capture_live_view: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
