"""The real ChatClient against a misbehaving server: every fault is one sentence, in time."""

from __future__ import annotations

import time

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
from tests.badinput.fake_openai import fake_openai

Q = [{"role": "user", "content": "q"}]


def repair_message(error: str) -> str:
    return texts.text("json_repair", error=error)


class Answer(BaseModel):
    goal: str


def client(base_url: str, *, wall_s: float = 1800, timeout_s: float = 600) -> MeteredModel:
    return MeteredModel(
        ChatClient(base_url=base_url, model="m", api_key="k", timeout_s=timeout_s),
        Budget(BudgetSettings(max_wall_s=wall_s)),
        EventBus(),
    )


def one_sentence(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_hung_server_is_cut_off_by_the_wall_budget() -> None:
    with fake_openai("hang") as (url, state):
        started = time.monotonic()
        with pytest.raises(BudgetExceededError) as err:
            client(url, wall_s=2).complete(Q, role="coder")
        took = time.monotonic() - started
    assert err.value.kind == "wall"
    assert "did not answer within the time budget" in one_sentence(err.value)
    assert "not reachable" not in str(err.value)
    assert took < 2 + 0.2 + 1.5  # budget + grace + slack; never request_timeout_s (600 s)
    assert len(state.requests) == 1  # a timeout is not retried past the budget


def test_a_hung_server_within_the_budget_is_cut_off_by_request_timeout() -> None:
    with fake_openai("hang") as (url, _):
        started = time.monotonic()
        with pytest.raises(ModelUnavailableError) as err:
            client(url, timeout_s=1).complete(Q, role="coder")
        assert time.monotonic() - started < 2.5
    text = one_sentence(err.value)
    assert "did not answer within 1 s" in text and "DEVTEAM_REQUEST_TIMEOUT_S" in text


def test_a_single_500_is_retried_and_downgrades_nothing() -> None:
    with fake_openai("500_once") as (url, state):
        c = client(url)
        answer, _ = ask_structured(c, Q, Answer, role="ceo", repair=repair_message)
        ask_structured(c, Q, Answer, role="ceo", repair=repair_message)
    assert answer.goal.startswith("A function add")
    formats = [(r.get("response_format") or {}).get("type") for r in state.requests]
    assert formats == ["json_schema"] * 3  # the 500, its retry, and the next call


def test_a_dropped_connection_is_retried_then_named_for_what_it_is() -> None:
    with fake_openai("drop") as (url, state), pytest.raises(ModelUnavailableError) as err:
        client(url).complete(Q, role="coder")
    assert len(state.requests) == 3
    text = one_sentence(err.value)
    assert "closed the connection without an answer" in text and "not reachable" not in text


@pytest.mark.parametrize("mode", ["non_json"])
def test_a_body_that_is_not_json_is_one_sentence(mode: str) -> None:
    with fake_openai(mode) as (url, _), pytest.raises(ModelError) as err:
        client(url).complete(Q, role="coder")
    text = one_sentence(err.value)
    assert "not JSON" in text and "DEVTEAM_BASE_URL" in text


def test_garbage_content_is_a_reply_not_a_crash() -> None:
    with fake_openai("garbage") as (url, _):
        reply = client(url).complete(Q, role="coder")
    assert "lorem" in reply.text
