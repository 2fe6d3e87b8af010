"""One chat client for every OpenAI-compatible backend, with token accounting and budgets.

Nodes depend on the small ``ChatModel`` protocol; ``ChatClient`` is the real one and
``ScriptedModel`` (devteam.llm.scripted) the fake for tests. Structured output goes through
``ask_structured``: schema-constrained where the server supports it, parsed tolerantly,
repaired once with the parser's error, and only then a clear ModelOutputError.
"""

from __future__ import annotations

import time
from typing import Any, Literal, Protocol, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from devteam.errors import ModelError, ModelOutputError, ModelUnavailableError
from devteam.events import EventBus, ModelCall
from devteam.llm.budget import Budget, estimate_prompt_tokens, estimate_tokens
from devteam.llm.parsing import parse_model

T = TypeVar("T", bound=BaseModel)
FormatMode = Literal["json_schema", "json_object", "off"]
Messages = list[dict[str, Any]]


class ChatReply(BaseModel):
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


def account(
    budget: Budget | None,
    events: EventBus,
    *,
    role: str,
    model: str,
    messages: Messages,
    text: str,
    prompt_tokens: int,
    completion_tokens: int,
    latency_s: float,
    response_format: str = "text",
) -> ChatReply:
    """Charge one call to the budget and write it to the audit log: every model does this."""
    if budget is not None:
        budget.charge(prompt_tokens, completion_tokens)
    events.emit(
        ModelCall(
            role=role,
            model=model,
            messages=messages,
            reply=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=round(latency_s, 3),
            response_format=response_format,
        )
    )
    return ChatReply(
        text=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_s=latency_s,
    )


class ChatModel(Protocol):
    """What a node needs from a model."""

    name: str

    def bind(self, budget: Budget, events: EventBus) -> None:
        """Charge ``budget`` and report to ``events`` from now on (one run's accounting)."""
        ...

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
    ) -> ChatReply: ...


class ChatClient:
    """Talks to one endpoint. Checks the budget before and charges it after every call."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str,
        budget: Budget,
        events: EventBus,
        temperature: float = 0.0,
        seed: int | None = 0,
        max_tokens: int = 1536,
        timeout_s: float = 600.0,
        structured_output: Literal["auto", "json_schema", "json_object", "off"] = "auto",
        client: openai.OpenAI | None = None,
    ) -> None:
        self.name = model
        self.base_url = base_url
        self.budget = budget
        self.events = events
        self.temperature = temperature
        self.seed = seed
        self.max_tokens = max_tokens
        self._auto = structured_output == "auto"
        self._confirmed = False
        self._mode: FormatMode = "json_schema" if self._auto else structured_output  # type: ignore[assignment]
        self._client = client or openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=2
        )

    def bind(self, budget: Budget, events: EventBus) -> None:
        self.budget, self.events = budget, events

    def _response_format(self, schema: type[BaseModel] | None) -> dict[str, Any] | None:
        if schema is None or self._mode == "off":
            return None
        json_schema = schema.model_json_schema()
        if self._mode == "json_object":  # llama.cpp's server: a grammar from the schema
            return {"type": "json_object", "schema": json_schema}
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": False},
        }

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
        """One chat completion. ``seed`` overrides the client's (distinct samples need
        distinct seeds on servers that honour them)."""
        self.budget.check()
        seed = self.seed if seed is None else seed
        limit = self.budget.cap_completion(max_tokens or self.max_tokens)
        while True:
            response_format = self._response_format(schema)
            probing = bool(response_format) and self._auto and not self._confirmed
            started = time.monotonic()
            # While probing which response_format the server takes, a refusal is not retried.
            client = self._client.with_options(max_retries=0) if probing else self._client
            try:
                resp = client.chat.completions.create(  # type: ignore[call-overload]
                    model=self.name,
                    messages=messages,
                    temperature=self.temperature if temperature is None else temperature,
                    max_tokens=limit,
                    **({"seed": seed} if seed is not None else {}),
                    **({"stop": stop[:4]} if stop else {}),
                    **({"response_format": response_format} if response_format else {}),
                )
            except openai.APIConnectionError as exc:
                raise ModelUnavailableError(
                    f"The model server at {self.base_url} is not reachable "
                    f"({exc.__cause__ or exc}); "
                    "start it, or unset DEVTEAM_BASE_URL to use the embedded model."
                ) from exc
            except openai.AuthenticationError as exc:
                raise ModelError(
                    f"The model server at {self.base_url} refused the API key; set DEVTEAM_API_KEY."
                ) from exc
            except openai.NotFoundError as exc:
                raise ModelError(
                    f"The model server at {self.base_url} has no model {self.name!r}; "
                    "set DEVTEAM_MODEL to one it serves."
                ) from exc
            except openai.APIStatusError as exc:
                if response_format and self._auto and self._downgrade():
                    continue  # this server does not take that response_format: try the next
                raise ModelError(
                    f"The model server at {self.base_url} answered {exc.status_code}: "
                    f"{str(exc)[:200]}"
                ) from exc
            break
        if response_format:
            self._confirmed = True
        latency = time.monotonic() - started
        text = (resp.choices[0].message.content or "") if resp.choices else ""
        usage = resp.usage
        # A server that reports no usage is charged a counted estimate, never nothing.
        prompt_tokens = (usage.prompt_tokens if usage else None) or estimate_prompt_tokens(messages)
        completion_tokens = (usage.completion_tokens if usage else None) or estimate_tokens(text)
        return account(
            self.budget,
            self.events,
            role=role,
            model=self.name,
            messages=messages,
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency,
            response_format=response_format["type"] if response_format else "text",
        )

    def _downgrade(self) -> bool:
        order: list[FormatMode] = ["json_schema", "json_object", "off"]
        idx = order.index(self._mode)
        if idx + 1 >= len(order):
            return False
        self._mode = order[idx + 1]
        return True


REPAIR_PROMPT = (
    "Your reply could not be used: {error}\n"
    "Reply again with only one JSON object that matches the schema. No prose, no code fence."
)


def ask_structured(
    model: ChatModel,
    messages: Messages,
    schema: type[T],
    *,
    role: str,
    max_tokens: int | None = None,
) -> tuple[T, list[ChatReply]]:
    """Ask for a ``schema`` object; repair once with the parser's error; else ModelOutputError."""
    replies: list[ChatReply] = []
    convo = list(messages)
    for attempt in range(2):
        reply = model.complete(convo, role=role, max_tokens=max_tokens, schema=schema)
        replies.append(reply)
        try:
            return schema.model_validate(parse_model(reply.text, schema).model_dump()), replies
        except (ValueError, ValidationError) as exc:
            error = _short_error(exc)
            if attempt == 1:
                raise ModelOutputError(
                    f"The {role}'s reply was not a valid {schema.__name__} even after one repair "
                    f"({error}); the raw replies are in the audit log. Try a larger model."
                ) from exc
            convo = [
                *messages,
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": REPAIR_PROMPT.format(error=error)},
            ]
    raise AssertionError("unreachable")


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}"
            for e in exc.errors()[:3]
        ]
        return "; ".join(parts)
    return str(exc).splitlines()[0][:200]
