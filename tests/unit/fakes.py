"""Fakes for fast graph tests: a sandbox that replays scripted results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from devteam.sandbox.base import ExecResult
from devteam.sandbox.selection import files_to_sync


class FakeSandbox:
    def __init__(self, results: Sequence[ExecResult | Exception]) -> None:
        self.results = list(results)
        self.synced: list[dict[str, str]] = []
        self.commands: list[list[str]] = []

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def is_alive(self) -> bool:
        return True

    def put_files(self, files: Mapping[str, bytes | str]) -> None: ...

    def sync_dir(self, src: Path) -> None:
        # what a real backend copies: what git sees there (devteam.sandbox.selection)
        self.synced.append({name: (src / name).read_text() for name in files_to_sync(src)})

    def get_file(self, path: str) -> bytes:
        return b""

    def exec(self, command, *, timeout_s=None, workdir=None, env=None) -> ExecResult:  # type: ignore[no-untyped-def]
        self.commands.append(list(command))
        item = self.results.pop(0)
        if isinstance(item, Exception):
            raise item
        return item.model_copy(update={"command": list(command)})

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def passed() -> ExecResult:
    return ExecResult(command=[], exit_code=0, stdout="3 passed in 0.01s")


def failed(test: str = "tests/test_m.py::test_a", error: str = "E   assert 1 == 2") -> ExecResult:
    return ExecResult(
        command=[],
        exit_code=1,
        stdout=f"F\n{error}\nFAILED {test} - AssertionError\n1 failed in 0.02s",
        failing_tests=[test],
    )
