"""The real embedded server streams a reply piece by piece and ends it with the usage that
the same request, not streamed, reports."""

from __future__ import annotations

import time
from typing import Any

import pytest

from devteam.config import BudgetSettings
from devteam.events import EventBus, ModelCall, ModelDelta
from devteam.llm.budget import Budget
from devteam.llm.client import ChatClient
from devteam.llm.metered import MeteredModel
from devteam.llm.server import EmbeddedServer

MESSAGES = [
    {"role": "system", "content": "You write Python. Reply with code only."},
    {"role": "user", "content": "Write a function add(a, b) that returns a + b, with a docstring."},
]


def metered(server: EmbeddedServer, events: EventBus, *, stream: bool) -> MeteredModel:
    chat = ChatClient(
        base_url=server.base_url, model=server.model_name, api_key="none", stream=stream
    )
    return MeteredModel(chat, Budget(BudgetSettings()), events, max_tokens=60)


@pytest.mark.model
def test_real_server_streams_and_charges_the_usage_of_the_whole_reply(
    embedded_server: EmbeddedServer,
) -> None:
    seen: list[tuple[float, Any]] = []
    streamed = metered(
        embedded_server, EventBus("r", [lambda e: seen.append((time.monotonic(), e))]), stream=True
    )
    started = time.monotonic()
    reply = streamed.complete(MESSAGES, role="coder", temperature=0.0, seed=7)
    deltas = [(t, e) for t, e in seen if isinstance(e, ModelDelta)]
    ((done, call),) = [(t, e) for t, e in seen if isinstance(e, ModelCall)]
    # pieces came while the reply was written, not all at its end
    assert len(deltas) >= 10
    assert deltas[-1][0] - deltas[0][0] > 0.2 * (done - started)
    assert "".join(e.text for _, e in deltas) == reply.text == call.reply
    assert {e.call_id for _, e in deltas} == {call.call_id}
    assert streamed.model.stream  # type: ignore[attr-defined]  # the usage came: it keeps streaming
    # the same request whole: the same text, the same counts
    whole = metered(embedded_server, EventBus(), stream=False).complete(
        MESSAGES, role="coder", temperature=0.0, seed=7
    )
    assert whole.text == reply.text
    assert (reply.prompt_tokens, reply.completion_tokens) == (
        whole.prompt_tokens,
        whole.completion_tokens,
    )
    assert 0 < reply.completion_tokens <= 60
    assert streamed.budget.tokens == reply.prompt_tokens + reply.completion_tokens


@pytest.mark.model
def test_real_server_a_prompt_over_the_context_is_one_clear_error_streamed_or_not(
    embedded_server: EmbeddedServer,
) -> None:
    from devteam.errors import ModelError, ModelUnavailableError

    words = " ".join(f"w{i}" for i in range(embedded_server.n_ctx * 2))  # 2+ tokens a word
    too_long = [{"role": "user", "content": f"Repeat: {words}"}]
    for stream in (True, False):
        model = metered(embedded_server, EventBus(), stream=stream)
        with pytest.raises(ModelError) as info:
            model.complete(too_long, role="coder", temperature=0.0)
        # the server's own reason, not a dropped connection to resume from
        assert not isinstance(info.value, ModelUnavailableError), info.value
        assert "answered 400" in str(info.value) and "context" in str(info.value)
