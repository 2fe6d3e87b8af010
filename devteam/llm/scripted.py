"""A scripted chat model for fast, deterministic tests of the graph.

Replies come from a list (in order) or a function of (role, messages). It charges the
budget and emits audit events exactly as the real client does, and, like a server, cuts a
reply at its ``max_tokens`` (capped by the budget's remaining tokens) at four characters a
token, the rate it counts tokens at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel

from devteam.events import EventBus
from devteam.llm.budget import Budget
from devteam.llm.client import ChatReply, Messages, account

Responder = Callable[[str, Messages], str]


def by_role(replies: Mapping[str, Sequence[str] | str]) -> Responder:
    """A responder that answers each role from its own script.

    A list is used in order (and running out is an error); a plain string is the role's
    answer every time it is asked.
    """
    queues = {role: (r if isinstance(r, str) else list(r)) for role, r in replies.items()}

    def respond(role: str, messages: Messages) -> str:
        script = queues.get(role)
        if isinstance(script, str):
            return script
        if not script:
            raise ScriptExhaustedError(f"no scripted reply left for the {role}")
        return script.pop(0)

    return respond


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
        max_tokens: int = 1536,
    ) -> None:
        self.name = name
        self.max_tokens = max_tokens
        self._replies = list(replies) if not callable(replies) else None
        self._responder = replies if callable(replies) else None
        self.budget = budget
        self.events = events or EventBus()
        self.calls: list[tuple[str, Messages]] = []
        self.temperatures: list[float | None] = []
        self.seeds: list[int | None] = []
        self.stops: list[list[str]] = []
        self.limits: list[int] = []  # the max_tokens each call ran with, after the budget cap

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
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        if self.budget is not None:
            self.budget.check()
        self.calls.append((role, messages))
        self.temperatures.append(temperature)
        self.seeds.append(seed)
        if self._responder is not None:
            text = self._responder(role, messages)
        elif self._replies:
            text = self._replies.pop(0)
        else:
            raise ScriptExhaustedError(
                f"no scripted reply left for the {role} (call {len(self.calls)})"
            )
        limit = max_tokens or self.max_tokens
        if self.budget is not None:
            limit = self.budget.cap_completion(limit)
        self.limits.append(limit)
        for marker in stop or []:  # as a server does: the reply ends before a stop string
            text = text.split(marker, 1)[0]
        self.stops.append(list(stop or []))
        if len(text) // 4 + 1 > limit:  # as a server does: generation stops at max_tokens
            text = text[: max(0, limit - 1) * 4]
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


def solving_responder(
    files: Mapping[str, str], tests: Mapping[str, str], *, goal: str = "Solve the task."
) -> Responder:
    """Answers every role of any team as a model that gets the task right first time.

    For smoke tests of whole pipelines (teams, benchmarks): the CEO's spec names
    ``files``, the tester writes ``tests``, the coder writes ``files`` (and ``tests``, for
    teams where it writes its own), reviewers approve and the CEO accepts.
    """

    def blocks(contents: Mapping[str, str]) -> str:
        return "\n".join(f"FILE: {p}\n```python\n{c.rstrip()}\n```\n" for p, c in contents.items())

    def respond(role: str, messages: Messages) -> str:
        prompt = str(messages[-1].get("content", ""))
        if "Write the specification" in prompt:
            return json.dumps(
                {
                    "goal": goal,
                    "files": list(files),
                    "requirements": [goal],
                    "acceptance_criteria": ["the tests pass"],
                    "questions": [],
                }
            )
        if "For each criterion" in prompt:
            n = len(re.findall(r"^\d+\. ", prompt, flags=re.MULTILINE)) or 1
            return json.dumps({"checks": [{"met": True, "evidence": "tested"}] * n})
        if '"approved"' in prompt:
            return '{"approved": true, "changes": []}'
        if "VERDICT" in prompt:
            return "VERDICT: code\nREASON: the tests follow the specification."
        if "test engineer" in str(messages[0].get("content", "")):
            return blocks(tests)
        return blocks({**files, **tests})

    return respond
