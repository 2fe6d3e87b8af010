"""One chat client for every OpenAI-compatible backend.

``ChatClient`` answers a call and reports the server's usage; the budget, the per-call cap,
charging and the audit event are ``MeteredModel``'s (devteam.llm.metered). Structured output
is schema-constrained where the server supports it (probed once: json_schema, then
json_object, then none). With ``stream=True`` the reply comes as server-sent events
(``stream_options.include_usage``, as vLLM, llama.cpp's server and OpenAI send it) and each
piece goes to the call's ``on_text``; a server that answers a streamed request with a whole
reply, or streams without usage, is not asked to stream again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, Unpack

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from devteam.errors import DevteamError, ModelError, ModelUnavailableError
from devteam.llm.model import CallOptions, DeadlineError, Messages, ModelReply

try:  # the HTTP library under the openai SDK (httpx2 from openai 3, httpx before)
    import httpx2 as _http
except ImportError:  # pragma: no cover
    import httpx as _http  # type: ignore[no-redef]

FormatMode = Literal["json_schema", "json_object", "off"]

#: Answers worth the same request again, after a pause (before anything is downgraded).
RETRY_STATUS = frozenset({500, 502, 503})
#: The pauses before the second and third attempt of one call.
RETRY_DELAYS_S = (0.5, 2.0)


class _EmptyStream(Exception):
    """A streamed answer with no event at all, or one that broke off before any text."""


def _refused(exc: openai.APIConnectionError) -> bool:
    """Whether no connection was made at all (nothing listens there: no point retrying)."""
    return "Connect" in type(exc.__cause__).__name__


def _refuses_format(exc: openai.APIStatusError) -> bool:
    """Whether an error answer is a server refusing the response_format (not a fault)."""
    if exc.status_code in (400, 422):
        return True
    text = str(exc).lower()
    return any(word in text for word in ("response_format", "json_object", "json_schema", "schema"))


class ChatClient:
    """Talks to one endpoint; reports what the server says it used."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str,
        temperature: float = 0.0,
        seed: int | None = 0,
        timeout_s: float = 600.0,
        structured_output: Literal["auto", "json_schema", "json_object", "off"] = "auto",
        stream: bool = False,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.name = model
        self.base_url = base_url
        self.temperature = temperature
        self.seed = seed
        self.stream = stream
        self._auto = structured_output == "auto"
        self._confirmed = False
        self._mode: FormatMode = "json_schema" if self._auto else structured_output  # type: ignore[assignment]
        self.timeout_s = timeout_s
        self._client = client or openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )

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

    def _request(self, messages: Messages, options: CallOptions) -> dict[str, Any]:
        """The request's fields apart from response_format (the same on every attempt)."""
        temperature = options.get("temperature")
        seed = options.get("seed")
        seed = self.seed if seed is None else seed
        stop = options.get("stop")
        limit = options.get("max_tokens")
        return {
            "model": self.name,
            "messages": messages,
            "temperature": self.temperature if temperature is None else temperature,
            **({"max_tokens": limit} if limit else {}),
            **({"seed": seed} if seed is not None else {}),
            **({"stop": stop[:4]} if stop else {}),
        }

    def complete(self, messages: Messages, **options: Unpack[CallOptions]) -> ModelReply:
        """One chat completion. ``seed`` overrides the client's (distinct samples need
        distinct seeds on servers that honour them)."""
        request = self._request(messages, options)
        schema = options.get("schema")
        deadline, by_budget = self._deadline(options.get("timeout_s"))
        retries = 0
        while True:
            response_format = self._response_format(schema)
            probing = bool(response_format) and self._auto and not self._confirmed
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._too_slow(by_budget)
            fields = {
                **request,
                **({"response_format": response_format} if response_format else {}),
            }
            try:
                text, prompt_tokens, completion_tokens = self._call(
                    fields, left, deadline, by_budget, options.get("on_text")
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
        return ModelReply(
            text=text,
            prompt_tokens=prompt_tokens or None,
            completion_tokens=completion_tokens or None,
            response_format=response_format["type"] if response_format else "text",
        )

    def _call(
        self,
        fields: dict[str, Any],
        left: float,
        deadline: float,
        by_budget: bool,
        on_text: Callable[[str], None] | None,
    ) -> tuple[str, int, int]:
        client = self._client.with_options(timeout=left, max_retries=0)
        if not (self.stream and on_text):
            return self._read(client.chat.completions.create(**fields))
        raw = client.chat.completions.with_raw_response.create(
            **fields, stream=True, stream_options={"include_usage": True}
        )
        if "text/event-stream" not in raw.headers.get("content-type", ""):
            self.stream = False  # it answered with the whole reply: read it as one
            raw.http_response.read()
            return self._read(self._completion(raw.http_response.json()))
        try:
            return self._read_stream(raw.parse(), deadline, by_budget, on_text)
        except (_http.TimeoutException, openai.APITimeoutError) as exc:
            raise self._too_slow(by_budget) from exc
        except _EmptyStream:
            return self._whole(fields, deadline, by_budget)
        except (_http.TransportError, openai.APIConnectionError) as exc:
            raise ModelUnavailableError(
                f"The model server at {self.base_url} closed the connection in the middle of a "
                f"reply ({exc}); check its log, then resume the run."
            ) from exc

    def _whole(
        self, fields: dict[str, Any], deadline: float, by_budget: bool
    ) -> tuple[str, int, int]:
        """The request again, not streamed. A server that fails a request only after its
        stream has begun (llama-cpp-python's, for a prompt longer than its context, sends an
        empty stream) says why to the same request whole, and its errors are the usual ones."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._too_slow(by_budget)
        # max_retries: the server may have closed the connection the stream came on
        whole = self._client.with_options(timeout=left, max_retries=1)
        return self._read(whole.chat.completions.create(**fields))

    def _read_stream(
        self, chunks: Any, deadline: float, by_budget: bool, on_text: Callable[[str], None]
    ) -> tuple[str, int, int]:
        pieces: list[str] = []
        prompt_tokens = completion_tokens = 0
        seen = 0
        with chunks:
            try:
                for chunk in chunks:
                    seen += 1
                    if chunk.usage:
                        prompt_tokens = int(chunk.usage.prompt_tokens or 0)
                        completion_tokens = int(chunk.usage.completion_tokens or 0)
                    for choice in chunk.choices or []:
                        piece = choice.delta.content if choice.delta else None
                        if piece:
                            pieces.append(piece)
                            on_text(piece)
                    if time.monotonic() > deadline:
                        raise self._too_slow(by_budget)
            except (_http.TimeoutException, openai.APITimeoutError):
                raise
            except (_http.TransportError, openai.APIConnectionError) as exc:
                if not pieces:  # broken off before any text: as good as empty
                    raise _EmptyStream from exc
                raise
        if not seen:
            raise _EmptyStream
        if not (prompt_tokens and completion_tokens):
            self.stream = False  # no usage in its streams: whole replies report it exactly
        return "".join(pieces), prompt_tokens, completion_tokens

    def _deadline(self, time_left: float | None) -> tuple[float, bool]:
        """When this call must have its answer, retries included, and whether the run's time
        left (not ``request_timeout_s``) sets that time."""
        now = time.monotonic()
        if time_left is not None and time_left < self.timeout_s:
            return now + time_left, True
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
            return DeadlineError(f"The model server at {self.base_url}")
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

    def _completion(self, data: Any) -> ChatCompletion:
        try:
            return ChatCompletion.model_validate(data)
        except ValidationError as exc:
            raise self._bad_body(
                f"JSON that is not a chat completion ({exc.error_count()} problems)"
            ) from None
