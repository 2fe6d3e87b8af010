"""What a model is to devteam: ``complete(messages, **options) -> ModelReply``.

A model only answers and reports the usage its server reported. Budgets, the per-call cap,
charging and the audit event are the wrapper's (``devteam.llm.metered.MeteredModel``), the
one place that does them for every model: ``ChatClient`` (any OpenAI-protocol endpoint) and
``ScriptedModel`` (tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypedDict, Unpack

from pydantic import BaseModel

from devteam.errors import ModelUnavailableError

Messages = list[dict[str, Any]]


class CallOptions(TypedDict, total=False):
    """The options of one call; a model ignores those it has no use for."""

    role: str  # who asks (for logs and scripted models; never sent to a server)
    template: str  # which prompt template asks (the same)
    max_tokens: int  # the most the reply may have, already capped by the budget
    schema: type[BaseModel] | None  # constrain the reply to this JSON schema where possible
    temperature: float | None
    stop: list[str] | None
    seed: int | None
    timeout_s: float | None  # the run's time left: past it, raise DeadlineError
    on_text: Callable[[str], None] | None  # called with each piece of the reply as it comes


class ModelReply(BaseModel):
    """A reply and the usage the server reported (None: it reported none)."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    response_format: str = "text"


class ChatModel(Protocol):
    """What devteam needs from a model."""

    name: str

    def complete(self, messages: Messages, **options: Unpack[CallOptions]) -> ModelReply: ...


class DeadlineError(ModelUnavailableError):
    """The call's ``timeout_s`` (the run's time left) passed before the model answered."""

    def __init__(self, where: str) -> None:
        super().__init__(f"{where} did not answer within the time budget")
        self.where = where
