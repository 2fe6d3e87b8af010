"""``devteam bot serve`` as users run it: uvicorn on a real port, real HTTP requests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.github.conftest import example, headers

SECRET = b"serve-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_http_and_caps_the_body(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DEVTEAM_BOT__REPOSITORIES": '["octo-org/widgets"]',
        "DEVTEAM_BOT__TOKEN": "t",
        "DEVTEAM_BOT__WEBHOOK_SECRET": SECRET.decode(),
        "DEVTEAM_BOT__STATE_DIR": str(tmp_path / "bot"),
        "DEVTEAM_STATE_DIR": str(tmp_path / "state"),
    }
    env.pop("DEVTEAM_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devteam.cli", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        body = json.dumps(example("ping")).encode()
        r = httpx.post(f"{url}/webhook", content=body, headers=headers(body, "ping", "s-1", SECRET))
        assert r.status_code == 200 and r.json()["status"] == "pong"
        r = httpx.post(f"{url}/webhook", content=body, headers=headers(body, "ping", "s-1", SECRET))
        assert r.json()["status"] == "replay"
        big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
        r = httpx.post(f"{url}/webhook", content=big, headers=headers(big, "ping", "s-2", SECRET))
        assert r.status_code == 413
        unsigned = httpx.post(f"{url}/webhook", content=body, headers={"x-github-event": "ping"})
        assert unsigned.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
