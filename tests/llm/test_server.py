"""EmbeddedServer: lifecycle on a stand-in process, then the real llama-cpp-python server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from pydantic import BaseModel

from devteam.config import load_settings
from devteam.errors import ModelError, ModelUnavailableError
from devteam.llm import server as server_mod
from devteam.llm.budget import estimate_tokens
from devteam.llm.server import EmbeddedServer
from tests.guards import require_module

# A stand-in for llama_cpp.server: answers GET /v1/models, and leaves a child process
# in its process group (whose pid it writes to argv[2]) to show that stop() takes both.
FAKE_SERVER = r"""
import http.server, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open(sys.argv[2], "w").write(str(child.pid))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"object": "list", "data": [{"id": "fake"}]}'
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.end_headers()
        self.wfile.write(body)
print("fake server up", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


class FakeServer(EmbeddedServer):
    def __init__(self, tmp_path: Path, script: str = FAKE_SERVER, **kw: object) -> None:
        model = tmp_path / "m.gguf"
        model.write_bytes(b"GGUF")
        super().__init__(model, log_path=tmp_path / "logs" / "server.log", **kw)  # type: ignore[arg-type]
        self.script = script
        self.child_pid_file = tmp_path / "child.pid"

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-c", self.script, str(port), str(self.child_pid_file)]


@pytest.fixture(autouse=True)
def _llama_cpp_present(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in tests need no llama-cpp-python."""
    if "model" not in request.keywords:
        monkeypatch.setattr(server_mod, "llama_cpp_available", lambda: True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def wait_gone(pid: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_start_waits_for_ready_and_stop_takes_the_process_group(tmp_path: Path) -> None:
    srv = FakeServer(tmp_path, model_name="fake")
    with srv:
        assert srv.is_running() and srv.port is not None
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
        assert srv.model_name == "fake" and srv.startup_s is not None
        pid, child = srv.pid, int(srv.child_pid_file.read_text())
        assert pid is not None and alive(child)
        port = srv.port
    assert not srv.is_running() and srv.port is None
    assert wait_gone(pid) and wait_gone(child)
    with socket.socket() as sock:  # the port is free again
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    log = (tmp_path / "logs" / "server.log").read_text()
    assert "fake server up" in log and "$ " in log.splitlines()[0]
    with pytest.raises(ModelError, match="not running"):
        _ = srv.base_url
    srv.stop()  # twice is fine


def test_stop_runs_when_the_body_raises(tmp_path: Path) -> None:
    srv = FakeServer(tmp_path)
    with pytest.raises(KeyError), srv:
        pid = srv.pid
        raise KeyError("boom")
    assert pid is not None and wait_gone(pid)


def test_a_server_that_dies_fails_fast_with_its_last_words(tmp_path: Path) -> None:
    script = "import sys; print('error loading model: bad magic', flush=True); sys.exit(3)"
    srv = FakeServer(tmp_path, script=script, startup_timeout_s=60)
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"exited with code 3 .*bad magic"):
        srv.start()
    assert time.monotonic() - started < 10
    assert not srv.is_running()


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    srv = FakeServer(tmp_path, script="import time; time.sleep(60)", startup_timeout_s=1)
    with pytest.raises(ModelUnavailableError, match="did not answer within 1 s"):
        srv.start()
    assert not srv.is_running()


def test_missing_llama_cpp_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_mod, "llama_cpp_available", lambda: False)
    with pytest.raises(ModelError, match=r"pip install 'devteam\[local\]'.*DEVTEAM_BASE_URL"):
        FakeServer(tmp_path).start()


def test_the_entry_point_takes_the_stock_servers_arguments() -> None:
    require_module("llama_cpp.server", "pip install 'devteam[local]'")
    out = subprocess.run(
        [sys.executable, "-m", "devteam.llm.llama_server", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "--cache_size" in out.stdout and "--model_alias" in out.stdout


def test_missing_model_file(tmp_path: Path) -> None:
    srv = EmbeddedServer(tmp_path / "none.gguf", log_path=tmp_path / "log")
    with pytest.raises(ModelError, match="does not exist"):
        srv.start()


def test_command_line(tmp_path: Path) -> None:
    srv = EmbeddedServer(
        tmp_path / "m.gguf", log_path=tmp_path / "log", model_name="q", n_ctx=4096, n_threads=2
    )
    cmd = srv.command(1234)
    assert cmd[:3] == [sys.executable, "-m", "devteam.llm.llama_server"]
    flags = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert flags["--host"] == "127.0.0.1" and flags["--port"] == "1234"
    assert flags["--n_ctx"] == "4096" and flags["--n_threads"] == "2"
    assert flags["--model_alias"] == "q" and flags["--logits_all"] == "False"
    assert flags["--cache"] == "True" and int(flags["--cache_size"]) == 1 << 30


def test_from_settings_uses_model_file(tmp_path: Path) -> None:
    own = tmp_path / "own-model.gguf"
    own.write_bytes(b"GGUF")
    srv = EmbeddedServer.from_settings(
        load_settings(model_file=own, context_tokens=4096), log_path=tmp_path / "log"
    )
    assert srv.model_path == own and srv.model_name == "own-model" and srv.n_ctx == 4096


# --- the real server on the real 0.5B --------------------------------------------------


class Project(BaseModel):
    language: str
    files: list[str]
    done: bool


def client_for(server: EmbeddedServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="none", max_retries=0, timeout=600)


@pytest.mark.model
def test_real_server_lists_its_model(embedded_server: EmbeddedServer) -> None:
    ids = [m.id for m in client_for(embedded_server).models.list().data]
    assert ids == [embedded_server.model_name]


@pytest.mark.model
def test_real_chat_completion(embedded_server: EmbeddedServer) -> None:
    resp = client_for(embedded_server).chat.completions.create(
        model=embedded_server.model_name,
        messages=[
            {"role": "system", "content": "You write Python. Reply with code only."},
            {"role": "user", "content": "A function add(a, b) returning a + b."},
        ],
        temperature=0,
        max_tokens=48,
    )
    text = resp.choices[0].message.content or ""
    assert "def add" in text
    assert resp.usage is not None and resp.usage.completion_tokens > 0
    assert "<|im_end|>" not in text  # the GGUF's own chat template and stop token are used


@pytest.mark.model
def test_token_estimates_stay_near_the_real_tokenizers_counts(embedded_model_path: Path) -> None:
    """The estimate charged when a server sends no usage, against Qwen's own tokenizer on
    prose, a prompt template, code and a reply with a file block."""
    llama_cpp = require_module("llama_cpp", "pip install 'devteam[local]'")
    vocab = llama_cpp.Llama(str(embedded_model_path), vocab_only=True, verbose=False)
    root = Path(__file__).resolve().parents[2]
    samples = [
        "Write a module stats.py with mean(xs) and median(xs) for lists of numbers; raise "
        "ValueError('empty') for an empty list. Add pytest tests.",
        (root / "devteam/roles/prompts/coder.yaml").read_text(),
        (root / "devteam/llm/budget.py").read_text(),
        (root / "README.md").read_text()[:4000],
        "FILE: stats.py\n```python\ndef mean(xs):\n    if not xs:\n"
        "        raise ValueError('empty')\n    return sum(xs) / len(xs)\n```\n",
    ]
    for text in samples:
        real = len(vocab.tokenize(text.encode(), add_bos=False, special=False))
        assert 0.8 <= estimate_tokens(text) / real <= 1.3, (estimate_tokens(text), real, text[:80])


@pytest.mark.model
def test_real_grammar_constrained_json(embedded_server: EmbeddedServer) -> None:
    resp = client_for(embedded_server).chat.completions.create(
        model=embedded_server.model_name,
        messages=[{"role": "user", "content": "Describe a tiny Python project as JSON."}],
        temperature=0,
        max_tokens=96,
        response_format={"type": "json_object", "schema": Project.model_json_schema()},  # type: ignore[call-overload]
    )
    project = Project.model_validate_json(resp.choices[0].message.content or "")
    assert isinstance(project.files, list)


@pytest.mark.model
def test_real_plain_json_object(embedded_server: EmbeddedServer) -> None:
    resp = client_for(embedded_server).chat.completions.create(
        model=embedded_server.model_name,
        messages=[{"role": "user", "content": 'Reply with JSON: {"ok": true}'}],
        temperature=0,
        max_tokens=24,
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(resp.choices[0].message.content or ""), dict)


@pytest.mark.model
def test_real_server_refuses_openai_json_schema(embedded_server: EmbeddedServer) -> None:
    """llama-cpp-python 0.3.x knows only "text" and "json_object"; clients must fall back."""
    with pytest.raises(openai.APIStatusError) as err:
        client_for(embedded_server).chat.completions.create(
            model=embedded_server.model_name,
            messages=[{"role": "user", "content": "hi"}],
            max_tokens=4,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "Project", "schema": Project.model_json_schema()},
            },
        )
    assert err.value.status_code in (400, 422, 500)


@pytest.mark.model
def test_real_server_reuses_a_shared_prompt_prefix(embedded_server: EmbeddedServer) -> None:
    system = "You are a terse Python reviewer. " * 20
    client = client_for(embedded_server)
    for question in ("Is x = 1 valid Python?", "Is y = 2 valid Python?"):
        client.chat.completions.create(
            model=embedded_server.model_name,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
            temperature=0,
            max_tokens=2,
        )
    log = embedded_server.log_path.read_text(errors="replace")
    assert "prefix-match hit" in log


def test_real_server_start_failure_is_reported(tmp_path: Path) -> None:
    """A file that is no GGUF makes the real server exit; the error carries its log."""
    require_module("llama_cpp", "pip install 'devteam[local]'")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    srv = EmbeddedServer(bad, log_path=tmp_path / "log", startup_timeout_s=120)
    with pytest.raises(ModelError, match="exited with code"):
        srv.start()
    assert not srv.is_running()


def test_the_server_dies_with_a_sigkilled_parent(tmp_path: Path) -> None:
    """A devteam process killed with SIGKILL must not leave its model server behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from devteam.llm import server\n"
        "s = server.EmbeddedServer(Path('x.gguf'), log_path=Path(sys.argv[1]))\n"
        "s.command = lambda port: [sys.executable, '-c', 'import time; time.sleep(600)']\n"
        "s._launch(0)\n"
        "print(s.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "log")], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        # a zombie child of init counts as gone once reaped; check its state
        stat = Path(f"/proc/{child}/stat")
        if not stat.exists() or stat.read_text().split()[2] == "Z":
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the server outlived its SIGKILLed parent")
