"""A scripted chat model for fast, deterministic tests of the graph.

Replies come from a list (in order), a function of (role, template, messages), or a
script keyed by (role, template). Scripts match on which prompt a role asks with, never on
its wording, so rewording a prompt breaks no test. Like a server, it
cuts a reply at the call's ``max_tokens`` (four characters a token, the rate it counts
tokens at), ends it before a stop string, reports its usage, and hands the reply to the
call's ``on_text`` in a few pieces. Budgets and audit events are ``MeteredModel``'s, as for
every model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Unpack

from devteam.llm.model import CallOptions, Messages, ModelReply

#: A function of (role, template, messages) -> the reply.
Responder = Callable[[str, str, Messages], str]
#: Replies by (role, template): a list is used in order, a plain string every time.
Script = Mapping[tuple[str, str], Sequence[str] | str]
#: How many pieces a reply is handed to ``on_text`` in (as a server streams it).
DELTA_PIECES = 3


def by_role(replies: Mapping[str, Sequence[str] | str]) -> Responder:
    """A responder that answers each role from its own script.

    A list is used in order (and running out is an error); a plain string is the role's
    answer every time it is asked.
    """
    queues = {role: (r if isinstance(r, str) else list(r)) for role, r in replies.items()}

    def respond(role: str, template: str, messages: Messages) -> str:
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
        self, replies: Sequence[str] | Responder | Script, *, name: str = "scripted"
    ) -> None:
        self.name = name
        self._script = (
            {k: (v if isinstance(v, str) else list(v)) for k, v in replies.items()}
            if isinstance(replies, Mapping)
            else None
        )
        self._replies = list(replies) if isinstance(replies, Sequence) else None
        self._responder = replies if callable(replies) else None
        self.calls: list[tuple[str, Messages]] = []
        self.templates: list[str] = []
        self.temperatures: list[float | None] = []
        self.seeds: list[int | None] = []
        self.stops: list[list[str]] = []
        self.limits: list[int | None] = []  # the max_tokens each call ran with

    def complete(self, messages: Messages, **options: Unpack[CallOptions]) -> ModelReply:
        role = options.get("role", "")
        stop = options.get("stop") or []
        self.calls.append((role, messages))
        self.templates.append(options.get("template") or "")
        self.temperatures.append(options.get("temperature"))
        self.seeds.append(options.get("seed"))
        template = options.get("template", "")
        if self._script is not None:
            text = self._scripted(role, template)
        elif self._responder is not None:
            text = self._responder(role, template, messages)
        elif self._replies:
            text = self._replies.pop(0)
        else:
            raise ScriptExhaustedError(
                f"no scripted reply left for the {role} (call {len(self.calls)})"
            )
        limit = options.get("max_tokens")
        self.limits.append(limit)
        for marker in stop:  # as a server does: the reply ends before a stop string
            text = text.split(marker, 1)[0]
        self.stops.append(list(stop))
        if limit and len(text) // 4 + 1 > limit:  # as a server does: it stops at max_tokens
            text = text[: max(0, limit - 1) * 4]
        on_text = options.get("on_text")
        if on_text is not None:
            step = max(1, -(-len(text) // DELTA_PIECES))
            for i in range(0, len(text), step):
                on_text(text[i : i + step])
        return ModelReply(
            text=text,
            prompt_tokens=sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1,
            completion_tokens=len(text) // 4 + 1,
        )

    def _scripted(self, role: str, template: str) -> str:
        assert self._script is not None
        script = self._script.get((role, template))
        if isinstance(script, str):
            return script
        if not script:
            raise ScriptExhaustedError(f"no scripted reply left for the {role}'s {template!r}")
        return script.pop(0)


def solving_responder(
    files: Mapping[str, str], tests: Mapping[str, str], *, goal: str = "Solve the task."
) -> Responder:
    """Answers every role of any team as a model that gets the task right first time.

    For smoke tests of whole pipelines (teams, benchmarks): the CEO's spec names
    ``files`` (with one acceptance criterion), the tester writes ``tests``, the coder writes
    ``files`` (and ``tests``, for teams where it writes its own), reviewers approve and the
    CEO accepts. It goes by the role's kind and the template, never by a prompt's wording.
    """

    def blocks(contents: Mapping[str, str]) -> str:
        return "\n".join(f"FILE: {p}\n```python\n{c.rstrip()}\n```\n" for p, c in contents.items())

    def respond(role: str, template: str, messages: Messages) -> str:
        if template == "spec":
            return json.dumps(
                {
                    "goal": goal,
                    "files": list(files),
                    "requirements": [goal],
                    "acceptance_criteria": ["the tests pass"],
                    "questions": [],
                }
            )
        if template == "accept":
            return json.dumps({"checks": [{"met": True, "evidence": "tested"}]})
        if template == "review":
            return '{"approved": true, "changes": []}'
        if template == "triage":
            return "VERDICT: code\nREASON: the tests follow the specification."
        if template == "properties" or (template == "write" and role.startswith("tester")):
            return blocks(tests)
        return blocks({**files, **tests})

    return respond
