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
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from devteam.errors import (
    BudgetExceededError,
    DevteamError,
    ModelError,
    ModelOutputError,
    ModelUnavailableError,
)
from devteam.events import EventBus, ModelCall
from devteam.llm.budget import Budget, estimate_prompt_tokens, estimate_tokens
from devteam.llm.parsing import parse_model

T = TypeVar("T", bound=BaseModel)
FormatMode = Literal["json_schema", "json_object", "off"]
Messages = list[dict[str, Any]]

#: Answers worth the same request again, after a pause (before anything is downgraded).
RETRY_STATUS = frozenset({500, 502, 503})
#: The pauses before the second and third attempt of one call.
RETRY_DELAYS_S = (0.5, 2.0)
#: A call may run a little past the wall budget (this, or a tenth of the budget if less),
#: so that the budget, not a cut-off request, is what the run reports.
WALL_GRACE_S = 5.0


def _refused(exc: openai.APIConnectionError) -> bool:
    """Whether no connection was made at all (nothing listens there: no point retrying)."""
    return "Connect" in type(exc.__cause__).__name__


def _refuses_format(exc: openai.APIStatusError) -> bool:
    """Whether an error answer is a server refusing the response_format (not a fault)."""
    if exc.status_code in (400, 422):
        return True
    text = str(exc).lower()
    return any(word in text for word in ("response_format", "json_object", "json_schema", "schema"))


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
        self.timeout_s = timeout_s
        self._client = client or openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
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
        deadline, by_budget = self._deadline()
        retries = 0
        while True:
            response_format = self._response_format(schema)
            probing = bool(response_format) and self._auto and not self._confirmed
            started = time.monotonic()
            left = deadline - started
            if left <= 0:
                raise self._too_slow(by_budget)
            try:
                resp = self._client.with_options(
                    timeout=left, max_retries=0
                ).chat.completions.create(  # type: ignore[call-overload]
                    model=self.name,
                    messages=messages,
                    temperature=self.temperature if temperature is None else temperature,
                    max_tokens=limit,
                    **({"seed": seed} if seed is not None else {}),
                    **({"stop": stop[:4]} if stop else {}),
                    **({"response_format": response_format} if response_format else {}),
                )
            except openai.APITimeoutError as exc:
                raise self._too_slow(by_budget) from exc
            except openai.APIConnectionError as exc:
                if not _refused(exc) and self._backoff(retries, deadline):
                    retries += 1
                    continue
                raise self._connection_error(exc) from exc
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
                if probing and _refuses_format(exc) and self._downgrade():
                    continue  # this server does not take that response_format: try the next
                if exc.status_code in RETRY_STATUS and self._backoff(retries, deadline):
                    retries += 1  # a transient failure: the same request again, later
                    continue
                if probing and self._downgrade():
                    continue
                raise ModelError(
                    f"The model server at {self.base_url} answered {exc.status_code}: "
                    f"{str(exc)[:200]}"
                ) from exc
            except ValueError as exc:  # a 200 whose body is not JSON
                raise self._bad_body(f"a body that is not JSON ({exc})") from exc
            break
        if response_format:
            self._confirmed = True
        latency = time.monotonic() - started
        text, prompt_tokens, completion_tokens = self._read(resp)
        # A server that reports no usage is charged a counted estimate, never nothing.
        prompt_tokens = prompt_tokens or estimate_prompt_tokens(messages)
        completion_tokens = completion_tokens or estimate_tokens(text)
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

    def _deadline(self) -> tuple[float, bool]:
        """When this call must have its answer, retries included, and whether the run's wall
        budget (not ``request_timeout_s``) sets that time."""
        limits = self.budget.limits
        grace = min(WALL_GRACE_S, limits.max_wall_s / 10)
        left_in_budget = limits.max_wall_s - self.budget.elapsed_s + grace
        now = time.monotonic()
        if left_in_budget < self.timeout_s:
            return now + left_in_budget, True
        return now + self.timeout_s, False

    def _backoff(self, retries: int, deadline: float) -> bool:
        """Sleep before another attempt; False when the attempts or the time are used up."""
        if retries >= len(RETRY_DELAYS_S):
            return False
        delay = RETRY_DELAYS_S[retries]
        if time.monotonic() + delay >= deadline:
            return False
        time.sleep(delay)
        return True

    def _too_slow(self, by_budget: bool) -> DevteamError:
        if by_budget:
            return BudgetExceededError(
                f"The model server at {self.base_url} did not answer within the time budget "
                f"({self.budget.limits.max_wall_s:.0f} s for the run); check the server, or raise "
                "DEVTEAM_BUDGET__MAX_WALL_S.",
                kind="wall",
            )
        return ModelUnavailableError(
            f"The model server at {self.base_url} did not answer within {self.timeout_s:g} s "
            "(it took the request, so it is up but slow or stuck); check it, or raise "
            "DEVTEAM_REQUEST_TIMEOUT_S."
        )

    def _connection_error(self, exc: openai.APIConnectionError) -> ModelUnavailableError:
        cause = exc.__cause__
        if _refused(exc):
            return ModelUnavailableError(
                f"The model server at {self.base_url} is not reachable ({cause}); "
                "start it, or unset DEVTEAM_BASE_URL to use the embedded model."
            )
        return ModelUnavailableError(
            f"The model server at {self.base_url} closed the connection without an answer "
            f"({str(cause or exc).rstrip('.')}); check its log, then resume the run."
        )

    def _bad_body(self, what: str) -> ModelError:
        return ModelError(
            f"The model server at {self.base_url} answered with {what[:200]}; it does not speak "
            "the OpenAI chat-completions protocol: check DEVTEAM_BASE_URL (it usually ends in /v1)."
        )

    def _read(self, resp: Any) -> tuple[str, int, int]:
        """The reply text and token counts, or a ModelError for a body that is not a
        chat completion."""
        if not isinstance(resp, ChatCompletion):
            return self._fail_read(f"{type(resp).__name__} instead of a chat completion")
        try:
            choices = resp.choices or []
            text = (choices[0].message.content or "") if choices else ""
            usage = resp.usage
            prompt_tokens = int(usage.prompt_tokens or 0) if usage else 0
            completion_tokens = int(usage.completion_tokens or 0) if usage else 0
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            return self._fail_read(f"JSON that is not a chat completion ({exc})")
        if not isinstance(text, str):
            return self._fail_read("a message content that is not text")
        return text, prompt_tokens, completion_tokens

    def _fail_read(self, what: str) -> tuple[str, int, int]:
        raise self._bad_body(what)

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
