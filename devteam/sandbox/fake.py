"""A sandbox that replays scripted results, for fast tests (beside ``devteam.llm.scripted``).

It runs nothing: each ``exec`` returns the next scripted ``ExecResult`` (with the command
filled in) or raises the next scripted exception. What it was asked is kept for assertions:
``commands`` (every argv), ``synced`` (the files each ``sync_dir`` would copy, as a real
backend selects them) and ``files`` (everything ``put_files`` wrote).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Unpack

from devteam.sandbox.base import Command, ExecOptions, ExecResult, Lifecycle, argv_of
from devteam.sandbox.selection import files_to_sync
from devteam.sandbox.transfer import as_bytes, safe_relpath


class ScriptExhaustedError(AssertionError):
    """A command was run after the last scripted result was used."""


class FakeSandbox(Lifecycle):
    """A ``ManagedSandbox`` whose commands return scripted results."""

    def __init__(self, results: Sequence[ExecResult | Exception] = ()) -> None:
        self.results = list(results)
        self.synced: list[dict[str, str]] = []
        self.commands: list[list[str]] = []
        self.files: dict[str, bytes] = {}
        self.started = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def is_alive(self) -> bool:
        return True

    def put_files(self, files: Mapping[str, bytes | str]) -> None:
        self.files.update(as_bytes(files))

    def sync_dir(self, src: Path) -> None:
        # what a real backend copies: what git sees there (devteam.sandbox.selection)
        self.synced.append({name: (src / name).read_text() for name in files_to_sync(src)})

    def get_file(self, path: str) -> bytes:
        """What ``put_files`` wrote there; b"" for any other file (no command writes here)."""
        return self.files.get(safe_relpath(path), b"")

    def exec(self, command: Command, **options: Unpack[ExecOptions]) -> ExecResult:
        argv = argv_of(command)
        self.commands.append(argv)
        if not self.results:
            raise ScriptExhaustedError(f"no scripted sandbox result left for {argv}")
        item = self.results.pop(0)
        if isinstance(item, Exception):
            raise item
        return item.model_copy(update={"command": argv})


def passed(output: str = "3 passed in 0.01s") -> ExecResult:
    """A test run that passed."""
    return ExecResult(command=[], exit_code=0, stdout=output)


def failed(test: str = "tests/test_m.py::test_a", error: str = "E   assert 1 == 2") -> ExecResult:
    """A test run in which ``test`` failed with ``error``."""
    return ExecResult(
        command=[],
        exit_code=1,
        stdout=f"F\n{error}\nFAILED {test} - AssertionError\n1 failed in 0.02s",
        failing_tests=[test],
    )
