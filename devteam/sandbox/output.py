"""Output handling shared by every backend: head+tail capping and pytest failure parsing."""

from __future__ import annotations

import re

#: The line put where the middle of a long output was cut.
CUT_MARKER = "\n[... {n} bytes cut by devteam sandbox ...]\n"


class CappedBuffer:
    """Keep the first and last bytes of a stream, counting what falls in between.

    Memory use is bounded by ``limit`` whatever the stream's length: feed it chunks as they
    arrive instead of collecting the whole output first.
    """

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("limit must be positive")
        self.limit = limit
        self._head_cap = limit - limit // 2
        self._tail_cap = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
            if not chunk:
                return
        if self._tail_cap == 0:
            return
        if len(chunk) >= self._tail_cap:
            self._tail = bytearray(chunk[-self._tail_cap :])
        else:
            self._tail += chunk
            excess = len(self._tail) - self._tail_cap
            if excess > 0:
                del self._tail[:excess]

    @property
    def cut(self) -> int:
        """How many bytes were dropped from the middle."""
        return self.total - len(self._head) - len(self._tail)

    @property
    def truncated(self) -> bool:
        return self.cut > 0

    def getvalue(self) -> bytes:
        if not self.truncated:
            return bytes(self._head + self._tail)
        marker = CUT_MARKER.format(n=self.cut).encode()
        return bytes(self._head) + marker + bytes(self._tail)

    def text(self) -> str:
        return self.getvalue().decode("utf-8", errors="replace")


def cap_output(data: bytes | str, limit: int) -> tuple[str, bool]:
    """Cap a complete output to ``limit`` bytes (head + tail). Returns (text, truncated)."""
    raw = data.encode("utf-8", errors="replace") if isinstance(data, str) else data
    buf = CappedBuffer(limit)
    buf.feed(raw)
    return buf.text(), buf.truncated


# "FAILED tests/test_x.py::test_y - AssertionError" / "ERROR tests/test_x.py - ImportError"
_SUMMARY_RE = re.compile(r"^(?:FAILED|ERROR)\s+(?P<node>\S+?)(?:\s+-\s.*)?\s*$", re.MULTILINE)
# Verbose progress lines: "tests/test_x.py::test_y FAILED  [ 50%]"
_VERBOSE_RE = re.compile(
    r"^(?P<node>[^\s:]+\.py::\S+)\s+(?:FAILED|ERROR)(?:\s+\[\s*\d+%\])?\s*$", re.MULTILINE
)
# Section headers: "____ test_y ____" are names only; ignore them. Collection errors:
# "ERROR collecting tests/test_x.py"
_COLLECT_RE = re.compile(r"^_*\s*ERROR collecting (?P<node>\S+)\s*_*\s*$", re.MULTILINE)
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def parse_failing_tests(output: str) -> list[str]:
    """Pytest node ids that failed or errored, in order of first mention, without duplicates.

    Reads the short test summary (``-rf``/``-rE``/``-ra``: ``FAILED node - msg`` and ``ERROR node``
    lines), verbose progress lines (``node FAILED``) and collection errors.
    """
    text = _ANSI_RE.sub("", output)
    found: list[tuple[int, str]] = []
    for rx in (_SUMMARY_RE, _VERBOSE_RE, _COLLECT_RE):
        for m in rx.finditer(text):
            node = m.group("node").rstrip(":")
            if node in {"", "-"} or node.startswith("["):
                continue
            found.append((m.start(), node))
    seen: set[str] = set()
    result: list[str] = []
    for _, node in sorted(found):
        if node not in seen:
            seen.add(node)
            result.append(node)
    return result
