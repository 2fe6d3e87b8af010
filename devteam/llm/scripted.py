"""A scripted chat model for fast, deterministic tests of the graph.

Replies come from a list (in order) or a function of (role, messages). It charges the
budget and emits audit events exactly as the real client does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel

from devteam.events import EventBus
from devteam.llm.budget import Budget
from devteam.llm.client import ChatReply, Messages, account

Responder = Callable[[str, Messages], str]


class ScriptExhaustedError(AssertionError):
    """The graph asked the scripted model for more replies than the test scripted."""


class ScriptedModel:
    def __init__(
        self,
        replies: Sequence[str] | Responder,
        *,
        budget: Budget | None = None,
        events: EventBus | None = None,
        name: str = "scripted",
    ) -> None:
        self.name = name
        self._replies = list(replies) if not callable(replies) else None
        self._responder = replies if callable(replies) else None
        self.budget = budget
        self.events = events or EventBus()
        self.calls: list[tuple[str, Messages]] = []
        self.temperatures: list[float | None] = []

    def bind(self, budget: Budget, events: EventBus) -> None:
        self.budget, self.events = budget, events

    def complete(
        self,
        messages: Messages,
        *,
        role: str,
        max_tokens: int | None = None,
        schema: type[BaseModel] | None = None,
        temperature: float | None = None,
    ) -> ChatReply:
        if self.budget is not None:
            self.budget.check()
        self.calls.append((role, messages))
        self.temperatures.append(temperature)
        if self._responder is not None:
            text = self._responder(role, messages)
        elif self._replies:
            text = self._replies.pop(0)
        else:
            raise ScriptExhaustedError(
                f"no scripted reply left for the {role} (call {len(self.calls)})"
            )
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1
        completion_tokens = len(text) // 4 + 1
        return account(
            self.budget,
            self.events,
            role=role,
            model=self.name,
            messages=messages,
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=0.0,
        )
