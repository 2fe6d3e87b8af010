"""Fakes for fast graph tests: a sandbox that replays scripted results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from devteam.sandbox.base import ExecResult


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
        self.synced.append(
            {
                p.relative_to(src).as_posix(): p.read_text()
                for p in src.rglob("*")
                if p.is_file() and ".git" not in p.parts
            }
        )

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
