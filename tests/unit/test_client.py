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
from devteam.llm.client import ChatClient, ask_structured


class Answer(BaseModel):
    value: int


class FakeOpenAI(BaseHTTPRequestHandler):
    """Accepts json_object (+schema) like llama.cpp's server; refuses json_schema with a 500."""

    requests: list[dict[str, Any]] = []
    status_override: int | None = None
    usage: bool = True  # some servers send no usage at all
    delay_s: float = 0.0
    content: str | None = None

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
        content = '{"value": 42}' if fmt else (FakeOpenAI.content or "plain text")
        usage = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
        self._send(
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                **({"usage": usage} if FakeOpenAI.usage else {}),
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    FakeOpenAI.requests = []
    FakeOpenAI.status_override = None
    FakeOpenAI.usage, FakeOpenAI.delay_s, FakeOpenAI.content = True, 0.0, None
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
) -> ChatClient:
    return ChatClient(
        base_url=base_url,
        model="m",
        api_key="k",
        budget=budget or Budget(BudgetSettings()),
        events=events or EventBus(),
        timeout_s=timeout_s,
    )


def test_structured_output_downgrades_once_to_what_the_server_takes(server: str) -> None:
    seen: list[Any] = []
    c = client(server, EventBus("r", [seen.append]))
    answer, _ = ask_structured(c, [{"role": "user", "content": "q"}], Answer, role="ceo")
    assert answer.value == 42
    formats = [(r.get("response_format") or {}).get("type") for r in FakeOpenAI.requests]
    assert formats == ["json_schema", "json_object"]  # one refusal, not retried
    assert FakeOpenAI.requests[1]["response_format"]["schema"]["required"] == ["value"]
    ask_structured(c, [{"role": "user", "content": "q"}], Answer, role="ceo")
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
    c = client(server, EventBus("r", [seen.append]), Budget(BudgetSettings(max_tokens=100)))
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
