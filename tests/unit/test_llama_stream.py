"""The embedded server's streams end with their exact usage: the real server code over real
HTTP, with a stand-in model that writes one word a token (the real model: tests/llm)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.guards import require_module

require_module("llama_cpp", "pip install 'devteam[local]'")

import llama_cpp  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from llama_cpp.server import app as stock  # noqa: E402
from llama_cpp.server.settings import ServerSettings  # noqa: E402

from devteam.config import BudgetSettings  # noqa: E402
from devteam.events import EventBus, ModelCall, ModelDelta  # noqa: E402
from devteam.llm.budget import Budget  # noqa: E402
from devteam.llm.client import ChatClient  # noqa: E402
from devteam.llm.llama_stream import (  # noqa: E402
    count_generations,
    include_usage_route,
    never_interrupt,
)
from devteam.llm.metered import MeteredModel  # noqa: E402
from devteam.llm.server import free_port  # noqa: E402

EOG = 0  # the stand-in's end-of-generation token


class StandInLlama:
    """Answers with ``words``, one token each, as ``Llama._create_completion`` does: a
    prompt token per word of the messages; an end-of-generation token stops the reply and is
    not counted; ``max_tokens`` cuts it."""

    _model = SimpleNamespace(vocab="stand-in")

    def __init__(self, words: list[str], token_s: float = 0.0) -> None:
        self.words = words
        self.token_s = token_s

    def generate(self, tokens: list[int], **_: Any) -> Iterator[int]:
        for i in range(len(self.words)):
            time.sleep(self.token_s)
            yield i + 1
        yield EOG
        yield from range(100, 110)  # never asked for: the caller stops at EOG

    def _tokens(self, messages: list[dict[str, Any]], max_tokens: int | None) -> Iterator[int]:
        prompt = [7] * sum(len(str(m["content"]).split()) for m in messages)
        for made, token in enumerate(self.generate(prompt), start=1):
            if token == EOG:
                return
            yield token
            if max_tokens and made >= max_tokens:
                return

    def create_chat_completion(
        self, messages: list[dict[str, Any]], stream: bool = False, **kw: Any
    ) -> Any:
        tokens = self._tokens(messages, kw.get("max_tokens"))
        base = {"id": "chatcmpl-1", "created": 1, "model": "stand-in"}
        if stream:
            return (
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [
                        {"index": 0, "delta": {"content": self.words[t - 1]}, "finish_reason": None}
                    ],
                }
                for t in tokens
            )
        made = list(tokens)
        text = "".join(self.words[t - 1] for t in made)
        prompt = sum(len(str(m["content"]).split()) for m in messages)
        completion = len(made)
        return {
            **base,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


WORDS = ["def", " add", "(a", ",", " b", "):", "\n", "    return", " a", " +", " b", "\n"]
PROMPT = [{"role": "user", "content": "Write add(a, b) in Python please."}]


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInLlama]:
    """The stand-in behind the server's own routes, on a loopback port."""
    monkeypatch.setattr(llama_cpp, "llama_vocab_is_eog", lambda vocab, token: token == EOG)
    count_generations(StandInLlama)
    # The stock route calls ``Llama.create_chat_completion(llama, ...)``, by the class.
    monkeypatch.setattr(
        llama_cpp.Llama, "create_chat_completion", StandInLlama.create_chat_completion
    )
    llama = StandInLlama(WORDS)
    monkeypatch.setattr(stock, "_llama_proxy", lambda name: llama)
    monkeypatch.setattr(stock, "_server_settings", ServerSettings())
    never_interrupt()
    app = FastAPI()
    app.include_router(stock.router)
    include_usage_route(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    llama.base_url = f"http://127.0.0.1:{port}/v1"  # type: ignore[attr-defined]
    yield llama
    server.should_exit = True
    thread.join(timeout=10)


def metered(model: StandInLlama, events: EventBus, *, stream: bool) -> MeteredModel:
    chat = ChatClient(
        base_url=model.base_url,  # type: ignore[attr-defined]
        model="stand-in",
        api_key="k",
        stream=stream,
    )
    return MeteredModel(chat, Budget(BudgetSettings()), events, max_tokens=64)


def raw_stream(model: StandInLlama, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON chunks of one streamed request, read off the wire."""
    request = urllib.request.Request(
        model.base_url + "/chat/completions",  # type: ignore[attr-defined]
        data=json.dumps({"messages": PROMPT, "stream": True, **body}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        lines = response.read().decode().splitlines()
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def test_a_stream_is_charged_the_usage_a_whole_reply_reports(model: StandInLlama) -> None:
    seen: list[Any] = []
    streamed = metered(model, EventBus("r", [seen.append]), stream=True)
    reply = streamed.complete(PROMPT, role="coder")
    deltas = [e for e in seen if isinstance(e, ModelDelta)]
    assert "".join(d.text for d in deltas) == reply.text == "".join(WORDS)
    assert len(deltas) == len(WORDS)
    whole = metered(model, EventBus(), stream=False).complete(PROMPT, role="coder")
    assert (reply.prompt_tokens, reply.completion_tokens) == (6, len(WORDS))
    assert (whole.prompt_tokens, whole.completion_tokens) == (6, len(WORDS))
    assert streamed.budget.tokens == 6 + len(WORDS)
    (call,) = [e for e in seen if isinstance(e, ModelCall)]
    assert call.completion_tokens == len(WORDS)
    assert streamed.model.stream  # type: ignore[attr-defined]  # it keeps streaming


def test_a_reply_cut_by_max_tokens_counts_its_last_token(model: StandInLlama) -> None:
    chunks = raw_stream(model, {"max_tokens": 5, "stream_options": {"include_usage": True}})
    *text, last = chunks
    assert "".join(c["choices"][0]["delta"]["content"] for c in text) == "".join(WORDS[:5])
    assert last["choices"] == [] and last["id"] == text[-1]["id"]
    assert last["usage"] == {"prompt_tokens": 6, "completion_tokens": 5, "total_tokens": 11}


def test_a_stream_that_asks_for_no_usage_gets_none(model: StandInLlama) -> None:
    for body in ({}, {"stream_options": {"include_usage": False}}):
        chunks = raw_stream(model, body)
        assert len(chunks) == len(WORDS)
        assert all("usage" not in c and c["choices"] for c in chunks)


def test_a_stream_is_not_cut_short_by_a_request_that_waits(model: StandInLlama) -> None:
    model.token_s = 0.05  # ~0.6 s a reply: the second request arrives while the first streams
    replies: list[Any] = []

    def ask() -> None:
        replies.append(metered(model, EventBus(), stream=True).complete(PROMPT, role="coder"))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.2)
    for thread in threads:
        thread.join(timeout=30)
    assert [(r.text, r.completion_tokens) for r in replies] == [("".join(WORDS), len(WORDS))] * 2
