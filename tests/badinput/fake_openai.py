"""A fake OpenAI chat-completions server on loopback that misbehaves on request.

Modes: ``good`` (sensible replies: a spec, code and tests for ``add``, approvals), ``hang``
(takes the request, never answers), ``hang_after_first`` (one good answer, then hangs),
``non_json`` (200 with an HTML body), ``garbage`` (valid JSON, nonsense content),
``broken_spec`` (structured replies cut off mid-JSON), ``500_once`` (one 500, then good),
``drop`` (closes the connection without an answer).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devteam.roles import load_role
from tests import openai_wire as wire

MODES = (
    "good",
    "hang",
    "hang_after_first",
    "non_json",
    "garbage",
    "broken_spec",
    "500_once",
    "drop",
)

SPEC = {
    "goal": "A function add(a, b) that returns the sum of two integers.",
    "files": ["adder.py"],
    "requirements": ["adder.add(a: int, b: int) -> int returns a + b"],
    "acceptance_criteria": ["add(2, 3) == 5"],
    "questions": [],
}
CODE = "FILE: adder.py\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n"
TESTS = (
    "FILE: tests/test_adder.py\n```python\nfrom adder import add\n\n\n"
    "def test_add() -> None:\n    assert add(2, 3) == 5\n```\n"
)


@dataclass
class FakeState:
    mode: str = "good"
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def good_content(body: dict[str, Any]) -> str:
    """A plausible reply: the object a schema asks for, else files for the role asking."""
    fmt = body.get("response_format") or {}
    schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema") or {}
    props = set((schema.get("properties") or {}).keys())
    if "goal" in props:
        return json.dumps(SPEC)
    if "approved" in props:
        return json.dumps({"approved": True, "changes": []})
    if "checks" in props:
        return json.dumps({"checks": [{"met": True, "evidence": "test_add passes"}]})
    if fmt:
        return "{}"
    system = str((body.get("messages") or [{}])[0].get("content", ""))
    if load_role("tester").system.strip() in system:  # the tester asks (its prompt file)
        return TESTS
    return CODE + TESTS


def completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    model = body.get("model", "fake")
    return wire.completion(model, content, id="chatcmpl-fake", usage=wire.usage(50, 20))


def make_handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with state.lock:
                state.requests.append(body)
                n = len(state.requests)
            mode = state.mode
            if mode == "hang" or (mode == "hang_after_first" and n > 1):
                state.release.wait()
                return self._close()
            if mode == "drop":
                return self._close()
            if mode == "non_json":
                return self._send(200, b"<html><body>It works!</body></html>")
            if mode == "500_once" and n == 1:
                return self._json(500, {"error": {"message": "internal error, try again"}})
            if mode == "garbage":
                return self._json(200, completion(body, "\x00\ufffd}{ lorem ]]] ```"))
            if mode == "broken_spec" and body.get("response_format"):
                return self._json(200, completion(body, json.dumps(SPEC)[:40]))
            return self._json(200, completion(body, good_content(body)))

        def _close(self) -> None:
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(2)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            wire.send_json(self, status, payload)

        def _send(self, status: int, data: bytes) -> None:
            wire.send_json(self, status, data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_openai(mode: str = "good") -> Iterator[tuple[str, FakeState]]:
    """Serve ``mode`` on a free loopback port; yields (base_url, state)."""
    assert mode in MODES, mode
    state = FakeState(mode=mode)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
