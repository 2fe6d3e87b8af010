"""Stopwatches around the model and the sandbox, so every strategy is timed the same way.

A task's wall time is split into the time spent inside the model (``TimedModel``: every
``complete`` call, waiting for the server included), the time spent inside the sandbox
(``TimedSandbox``: container start and stop, copying files in, every command) and the rest,
which is the strategy's own orchestration overhead (prompt building, parsing, git, state
checkpoints, the audit log). Both wrappers delegate everything else to what they wrap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self, Unpack

from devteam.llm.model import CallOptions, ChatModel, Messages, ModelReply
from devteam.sandbox.base import Command, ExecOptions, ExecResult
from devteam.sandbox.base import ManagedSandbox as Sandbox


class TimedModel:
    """A ChatModel that adds up the seconds spent in ``complete`` (overlapping calls once)
    and counts the calls."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._busy_since = 0.0

    def complete(self, messages: Messages, **options: Unpack[CallOptions]) -> ModelReply:
        with self._lock:
            self._in_flight += 1
            if self._in_flight == 1:
                self._busy_since = time.monotonic()
        try:
            return self.inner.complete(messages, **options)
        finally:
            # Calls in flight together (sampled candidates) count once: ``seconds`` is the
            # wall time during which at least one call was waiting on the model.
            with self._lock:
                self.calls += 1
                self._in_flight -= 1
                if self._in_flight == 0:
                    self.seconds += time.monotonic() - self._busy_since

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class TimedSandbox:
    """A Sandbox that adds up the seconds spent in any of its operations."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.commands = 0
        self._entered = False

    def _timed(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += time.monotonic() - t0

    def start(self) -> None:
        self._timed(self.inner.start)

    def stop(self) -> None:
        self._timed(self.inner.stop)

    def is_alive(self) -> bool:
        return bool(self._timed(self.inner.is_alive))

    def put_files(self, files: Mapping[str, bytes | str]) -> None:
        self._timed(self.inner.put_files, files)

    def sync_dir(self, src: Path) -> None:
        self._timed(self.inner.sync_dir, src)

    def get_file(self, path: str) -> bytes:
        return bytes(self._timed(self.inner.get_file, path))

    def exec(self, command: Command, **options: Unpack[ExecOptions]) -> ExecResult:
        self.commands += 1
        result: ExecResult = self._timed(self.inner.exec, command, **options)
        return result

    def __enter__(self) -> Self:
        self._timed(self.inner.__enter__)
        self._entered = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._entered:
            self._entered = False
            self._timed(self.inner.__exit__, *exc_info)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
