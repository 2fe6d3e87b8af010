"""ChatClient over real HTTP against a local OpenAI-protocol test double."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel

from devteam.config import BudgetSettings
from devteam.errors import BudgetExceededError, ModelError, ModelUnavailableError
from devteam.events import EventBus
from devteam.llm.budget import Budget
from devteam.llm.client import ChatClient
from devteam.llm.metered import MeteredModel
from devteam.llm.structured import ask_structured
from devteam.roles import texts
from tests.openai_wire import completion, send_json


def repair_message(error: str) -> str:
    return texts.text("json_repair", error=error)


class Answer(BaseModel):
    value: int


class FakeOpenAI(BaseHTTPRequestHandler):
    """Accepts json_object (+schema) like llama.cpp's server; refuses json_schema with a 500."""

    requests: list[dict[str, Any]] = []
    status_override: int | None = None
    usage: bool = True  # some servers send no usage at all
    delay_s: float = 0.0
    content: str | None = None
    sse: bool = True  # answers a streamed request with server-sent events
    too_long: bool = False  # a prompt over the context: a stream starts, then breaks off
    cut: bool = False  # the stream breaks off after its first piece of text

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.requests.append(body)
        fmt = (body.get("response_format") or {}).get("type")
        time.sleep(FakeOpenAI.delay_s)
        if FakeOpenAI.status_override == 404:  # what OpenAI's API says for an unknown model
            message = f"The model `{body['model']}` does not exist"
            return self._send(404, {"error": {"message": message, "code": "model_not_found"}})
        if FakeOpenAI.status_override:
            return self._send(FakeOpenAI.status_override, {"error": {"message": "no"}})
        if fmt == "json_schema":
            return self._send(
                500, {"error": {"message": "Input should be 'text' or 'json_object'"}}
            )
        if FakeOpenAI.too_long:
            return self._too_long(bool(body.get("stream")))
        content = '{"value": 42}' if fmt else (FakeOpenAI.content or "plain text")
        usage = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
        if body.get("stream") and FakeOpenAI.sse:
            return self._stream(body, content, usage)
        self._send(
            200, completion(body["model"], content, usage=usage if FakeOpenAI.usage else None)
        )

    def _stream(self, body: dict[str, Any], content: str, usage: dict[str, int]) -> None:
        base = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
        pieces = [content[i : i + 4] for i in range(0, len(content), 4)]
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
            for p in pieces
        ]
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if FakeOpenAI.usage and (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def _too_long(self, stream: bool) -> None:
        """What llama-cpp-python's server does: a whole request gets a 400 that says why; a
        streamed one gets its headers and an empty body (``cut``: one piece of text, then
        the connection ends mid-body)."""
        if not stream:
            message = "Requested tokens (5000) exceed context window of 4096"
            return self._send(400, {"error": {"message": message, "type": "invalid_request"}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if not FakeOpenAI.cut:
            self.wfile.write(b"0\r\n\r\n")  # the end of an empty body
            return None
        base = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        delta = {"index": 0, "delta": {"content": "def "}, "finish_reason": None}
        event = f"data: {json.dumps({**base, 'choices': [delta]})}\n\n".encode()
        self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        self.wfile.write(b"5\r\ndata:")  # a chunk cut short
        self.wfile.flush()
        self.close_connection = True
        return None

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        send_json(self, status, payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    FakeOpenAI.requests = []
    FakeOpenAI.status_override = None
    FakeOpenAI.usage, FakeOpenAI.delay_s, FakeOpenAI.content = True, 0.0, None
    FakeOpenAI.sse, FakeOpenAI.too_long, FakeOpenAI.cut = True, False, False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def client(
    base_url: str,
    events: EventBus | None = None,
    budget: Budget | None = None,
    timeout_s: float = 600.0,
    stream: bool = False,
) -> MeteredModel:
    chat = ChatClient(base_url=base_url, model="m", api_key="k", timeout_s=timeout_s, stream=stream)
    return MeteredModel(chat, budget or Budget(BudgetSettings()), events or EventBus())


def test_structured_output_downgrades_once_to_what_the_server_takes(server: str) -> None:
    seen: list[Any] = []
    c = client(server, EventBus("r", [seen.append]))
    answer, _ = ask_structured(
        c, [{"role": "user", "content": "q"}], Answer, role="ceo", repair=repair_message
    )
    assert answer.value == 42
    formats = [(r.get("response_format") or {}).get("type") for r in FakeOpenAI.requests]
    assert formats == ["json_schema", "json_object"]  # one refusal, not retried
    assert FakeOpenAI.requests[1]["response_format"]["schema"]["required"] == ["value"]
    ask_structured(c, [{"role": "user", "content": "q"}], Answer, role="ceo", repair=repair_message)
    assert len(FakeOpenAI.requests) == 3  # the choice is remembered
    assert c.budget.prompt_tokens == 22 and c.budget.completion_tokens == 10
    calls = [e for e in seen if e.kind == "model_call"]
    assert calls[0].reply == '{"value": 42}' and calls[0].response_format == "json_object"


def test_a_server_that_is_down_is_one_clear_sentence() -> None:
    c = client("http://127.0.0.1:9/v1")
    with pytest.raises(ModelUnavailableError, match=r"not reachable.*DEVTEAM_BASE_URL"):
        c.complete([{"role": "user", "content": "q"}], role="coder")


def test_a_refused_key_says_which_setting_to_fix(server: str) -> None:
    FakeOpenAI.status_override = 401
    with pytest.raises(ModelError, match="DEVTEAM_API_KEY"):
        client(server).complete([{"role": "user", "content": "q"}], role="coder")


def test_stop_strings_and_seed_reach_the_server(server: str) -> None:
    FakeOpenAI.requests.clear()
    c = client(server)
    c.complete([{"role": "user", "content": "hi"}], role="coder", stop=["FILE: tests/"])
    c.complete([{"role": "user", "content": "hi"}], role="coder")
    first, second = FakeOpenAI.requests
    assert first["stop"] == ["FILE: tests/"] and first["seed"] == 0
    assert "stop" not in second


def test_a_reply_without_usage_is_charged_a_counted_estimate(server: str) -> None:
    FakeOpenAI.usage = False
    FakeOpenAI.content = "def add(a, b):\n    return a + b\n"
    seen: list[Any] = []
    c = client(server, EventBus("r", [seen.append]), Budget(BudgetSettings(max_run_tokens=100)))
    prompt = [{"role": "user", "content": "Write add(a, b) in Python."}]
    reply = c.complete(prompt, role="coder")
    assert (reply.prompt_tokens, reply.completion_tokens) == (10 + 4, 12)
    assert c.budget.tokens == 26 and seen[-1].completion_tokens == 12  # charged and logged
    for _ in range(3):
        c.complete(prompt, role="coder")
    # so a token budget trips on such a server too
    with pytest.raises(BudgetExceededError, match="Token budget spent: 104 of 100"):
        c.complete(prompt, role="coder")
    assert len(FakeOpenAI.requests) == 4


def test_a_wrong_model_name_says_which_setting_to_fix(server: str) -> None:
    FakeOpenAI.status_override = 404
    with pytest.raises(ModelError, match=r"has no model 'm'; set DEVTEAM_MODEL") as info:
        client(server).complete([{"role": "user", "content": "q"}], role="coder")
    assert "\n" not in str(info.value)
    assert len(FakeOpenAI.requests) == 1  # a 404 is not retried


def test_a_server_error_is_retried_then_named_with_its_status(server: str) -> None:
    FakeOpenAI.status_override = 503
    with pytest.raises(ModelError, match=r"answered 503") as info:
        client(server).complete([{"role": "user", "content": "q"}], role="coder")
    assert not isinstance(info.value, ModelUnavailableError)
    assert len(FakeOpenAI.requests) == 3  # the first try and two retries


def test_a_server_that_does_not_answer_in_time_is_a_clear_error(server: str) -> None:
    FakeOpenAI.delay_s = 1.0
    with pytest.raises(ModelUnavailableError, match=r"did not answer within 0.2 s") as info:
        client(server, timeout_s=0.2).complete([{"role": "user", "content": "q"}], role="coder")
    assert "\n" not in str(info.value)


def test_a_streamed_reply_goes_out_in_pieces_and_is_charged_its_reported_usage(
    server: str,
) -> None:
    FakeOpenAI.content = "def add(a, b):\n    return a + b\n"
    seen: list[Any] = []
    c = client(server, EventBus("r", [seen.append]), stream=True)
    reply = c.complete([{"role": "user", "content": "q"}], role="coder")
    assert FakeOpenAI.requests[0]["stream"] is True
    assert FakeOpenAI.requests[0]["stream_options"] == {"include_usage": True}
    deltas = [e for e in seen if e.kind == "model_delta"]
    assert len(deltas) > 2 and {d.role for d in deltas} == {"coder"}
    assert "".join(d.text for d in deltas) == reply.text == FakeOpenAI.content
    (call,) = [e for e in seen if e.kind == "model_call"]  # the whole reply, once
    assert (call.prompt_tokens, call.completion_tokens, call.reply) == (11, 5, reply.text)
    assert c.budget.tokens == 16


def test_a_server_that_does_not_stream_is_read_whole_and_not_asked_again(server: str) -> None:
    FakeOpenAI.sse = False
    c = client(server, stream=True)
    assert c.complete([{"role": "user", "content": "q"}], role="coder").text == "plain text"
    c.complete([{"role": "user", "content": "q"}], role="coder")
    assert [r.get("stream") for r in FakeOpenAI.requests] == [True, None]
    assert c.budget.tokens == 32  # both charged what the server reported


def test_a_stream_without_usage_is_estimated_once_then_replies_come_whole(server: str) -> None:
    FakeOpenAI.usage = False
    FakeOpenAI.content = "def add(a, b):\n    return a + b\n"
    c = client(server, stream=True)
    prompt = [{"role": "user", "content": "Write add(a, b) in Python."}]
    reply = c.complete(prompt, role="coder")
    assert (reply.prompt_tokens, reply.completion_tokens) == (14, 12)  # counted, not nothing
    c.complete(prompt, role="coder")
    assert [r.get("stream") for r in FakeOpenAI.requests] == [True, None]


def test_an_empty_stream_is_asked_whole_for_the_reason(
    server: str,
) -> None:
    FakeOpenAI.too_long = True
    c = client(server, stream=True)
    with pytest.raises(ModelError, match=r"answered 400: .*exceed context window") as info:
        c.complete([{"role": "user", "content": "q"}], role="coder")
    assert not isinstance(info.value, ModelUnavailableError)  # not "resume the run"
    assert [r.get("stream") for r in FakeOpenAI.requests] == [True, None]


def test_a_stream_that_breaks_off_mid_reply_says_so_and_is_resumable(server: str) -> None:
    FakeOpenAI.too_long = FakeOpenAI.cut = True
    seen: list[Any] = []
    c = client(server, EventBus("r", [seen.append]), stream=True)
    with pytest.raises(ModelUnavailableError, match=r"in the middle of a reply.*resume the run"):
        c.complete([{"role": "user", "content": "q"}], role="coder")
    assert [r.get("stream") for r in FakeOpenAI.requests] == [True]  # not asked again
    assert "".join(e.text for e in seen if e.kind == "model_delta") == "def "


def test_a_failed_call_is_logged_with_its_error(server: str) -> None:
    FakeOpenAI.status_override = 401
    seen: list[Any] = []
    with pytest.raises(ModelError, match="DEVTEAM_API_KEY") as info:
        client(server, EventBus("r", [seen.append])).complete(
            [{"role": "user", "content": "q"}], role="coder"
        )
    (call,) = seen
    assert call.kind == "model_call" and call.error == str(info.value)
    assert (call.prompt_tokens, call.completion_tokens, call.reply) == (0, 0, "")
