"""A scripted model behind a real OpenAI-protocol HTTP server, for tests of whole processes
(the CLI) that reach their model only through DEVTEAM_BASE_URL."""

from __future__ import annotations

import json
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from tests.openai_wire import completion, send_json, usage

#: A scripted reply that never comes: the request waits until the double is closed.
HANG = object()


class OpenAIDouble:
    """Answers chat completions from ``replies`` in order (``HANG`` blocks that request).

    ``hanging`` is set once a request reaches a ``HANG``; ``requests`` holds every body.
    """

    def __init__(self, replies: list[str | object]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.hanging = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with double._lock:
                    double.requests.append(body)
                    reply = double.replies.pop(0) if double.replies else None
                if reply is HANG:
                    double.hanging.set()
                    double._release.wait()
                    return
                if reply is None:
                    return self._send(500, {"error": {"message": "no scripted reply left"}})
                n = len(double.requests)
                answer = completion(body["model"], str(reply), id=f"c{n}", usage=usage(10, 5))
                self._send(200, answer)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                with suppress(OSError):  # the client went away (it was interrupted)
                    send_json(self, status, payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
