"""The docker backend's stream pump: output that arrives after docker says the command ended."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from devteam.sandbox.docker_exec import RawExec, pump


class _EndedApi:
    """An exec API that already reports the command as ended."""

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return {"Running": False, "ExitCode": 0}


def _frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def _pump(late_s: float, close: bool = True) -> tuple[bytes, RawExec, float]:
    ours, theirs = socket.socketpair()
    out = bytearray()
    result = RawExec()

    def late_writer() -> None:
        theirs.sendall(_frame(1, b"early\n"))
        time.sleep(late_s)  # longer than a poll: docker already says "ended"
        theirs.sendall(_frame(1, b"THE-END\n"))
        if close:
            theirs.close()

    writer = threading.Thread(target=late_writer)
    writer.start()
    t0 = time.monotonic()
    try:
        pump(
            _EndedApi(),
            "x",
            ours,
            time.monotonic() + 30,
            result,
            out.extend,
            lambda b: None,
        )
    finally:
        writer.join()
        ours.close()
        if not close:
            theirs.close()
    return bytes(out), result, time.monotonic() - t0


def test_output_that_arrives_after_the_command_ended_is_kept() -> None:
    out, result, _ = _pump(late_s=1.0)
    assert out == b"early\nTHE-END\n"
    assert not result.supervisor_lost


def test_a_stream_held_open_after_the_command_ended_is_given_up() -> None:
    out, result, took = _pump(late_s=0.2, close=False)
    assert out == b"early\nTHE-END\n"
    assert result.supervisor_lost and took < 10
