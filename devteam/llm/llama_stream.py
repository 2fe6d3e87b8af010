"""Streamed chat completions from the embedded server that end with their exact usage.

llama-cpp-python's server (0.3.x) streams a chat completion as server-sent events but never
reports its usage there: it ignores ``stream_options`` and its chunks have no ``usage``. A run
charges its token budget from usage, so without it a stream could only be estimated. This
module, installed by ``devteam.llm.llama_server``, closes that gap as the OpenAI protocol
does it: a request with ``"stream_options": {"include_usage": true}`` gets one more chunk
before ``[DONE]``, with ``"choices": []`` and ``usage`` set.

The counts are the server's own, not an estimate. ``count_generations`` wraps
``Llama.generate`` (the token loop every completion runs) so that each generation records
how many prompt tokens it was given and how many tokens it produced, leaving out the
end-of-generation token, just as the non-streamed reply's ``usage`` counts them. The server
runs one generation at a time (a lock held for the whole stream), so the count on the model
object after a stream is that stream's.

``include_usage_route(app)`` puts a ``POST /v1/chat/completions`` in front of the stock one:
it takes the same body plus ``stream_options``; a request that asks for no usage, or for no
stream, goes to the stock handler unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import llama_cpp
from fastapi import APIRouter, Depends, FastAPI, Request
from llama_cpp.server import app as stock
from llama_cpp.server.errors import RouteErrorHandler
from llama_cpp.server.types import CreateChatCompletionRequest
from pydantic import BaseModel
from sse_starlette.sse import EventSourceResponse

#: Where a model object keeps the count of its latest generation.
COUNT_ATTR = "_devteam_generation_count"

#: The request fields the stock handler drops before it calls the model.
_NOT_MODEL_ARGS = {"n", "logit_bias_type", "user", "min_tokens", "stream_options"}


@dataclass
class GenerationCount:
    """The tokens one generation read and wrote, as its non-streamed ``usage`` counts them."""

    prompt_tokens: int
    completion_tokens: int = 0

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def _is_end_of_generation(llama: Any, token: int) -> bool:
    """The test ``Llama._create_completion`` uses to stop (and not count) a token."""
    return bool(llama_cpp.llama_vocab_is_eog(llama._model.vocab, token))


def count_generations(cls: type) -> None:
    """Make ``cls.generate`` record each generation's token counts on the model object."""
    original: Callable[..., Generator[int, None, None]] = cls.generate  # type: ignore[attr-defined]
    if getattr(original, "counts_tokens", False):
        return

    def generate(self: Any, tokens: Any, *args: Any, **kwargs: Any) -> Iterator[int]:
        count = GenerationCount(prompt_tokens=len(tokens))
        setattr(self, COUNT_ATTR, count)
        with contextlib.closing(original(self, tokens, *args, **kwargs)) as generated:
            for token in generated:
                # Counted before it is handed on: the caller may stop right after it.
                if not _is_end_of_generation(self, token):
                    count.completion_tokens += 1
                yield token

    generate.counts_tokens = True  # type: ignore[attr-defined]
    generate.__doc__ = original.__doc__
    cls.generate = generate  # type: ignore[attr-defined]


def chat_with_usage(llama: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """``llama.create_chat_completion(stream=True, ...)``, then one chunk with the usage."""
    setattr(llama, COUNT_ATTR, None)
    chunks = llama.create_chat_completion(**kwargs)  # formats the prompt now, as the stock call
    return _then_usage(llama, chunks)


def _then_usage(llama: Any, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    last: dict[str, Any] | None = None
    for chunk in chunks:
        last = chunk
        yield chunk
    count: GenerationCount | None = getattr(llama, COUNT_ATTR, None)
    if last is None or count is None:
        return  # nothing was generated: there is no usage to report
    yield {
        "id": last["id"],
        "object": "chat.completion.chunk",
        "created": last["created"],
        "model": last["model"],
        "choices": [],
        "usage": count.usage(),
    }


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(CreateChatCompletionRequest):
    """The stock request, plus OpenAI's ``stream_options``."""

    stream_options: StreamOptions | None = None


async def create_chat_completion(request: Request, body: ChatRequest) -> Any:
    """The stock handler, except that a stream asked for its usage ends with it."""
    wants_usage = body.stream and body.stream_options and body.stream_options.include_usage
    if not wants_usage:
        plain = CreateChatCompletionRequest.model_construct(
            **{name: getattr(body, name) for name in CreateChatCompletionRequest.model_fields}
        )
        return await stock.create_chat_completion(request=request, body=plain)
    send_chan, recv_chan = anyio.create_memory_object_stream[Any](10)
    return EventSourceResponse(
        recv_chan,
        data_sender_callable=partial(
            stock.get_event_publisher,
            request=request,
            inner_send_chan=send_chan,
            body=body,
            body_model=body.model,
            llama_call=chat_with_usage,
            kwargs=body.model_dump(exclude=_NOT_MODEL_ARGS),
        ),
        sep="\n",
        ping_message_factory=stock._ping_message_factory,  # type: ignore[arg-type]
    )


def include_usage_route(app: FastAPI) -> None:
    """Serve ``POST /v1/chat/completions`` with ``create_chat_completion`` in front of the
    stock route (the first route that matches a request takes it)."""
    router = APIRouter(route_class=RouteErrorHandler)
    router.add_api_route(
        "/v1/chat/completions",
        create_chat_completion,
        methods=["POST"],
        dependencies=[Depends(stock.authenticate)],
        summary="Chat",
    )
    before = len(app.router.routes)
    app.include_router(router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added


def never_interrupt() -> None:
    """A stream is never cut short because another request is waiting (the stock default
    ends it early, with ``[DONE]`` and no error, which a client would take for the whole
    reply): the waiting request waits, as a non-streamed one does. Call it after the app is
    created (that sets the settings every request reads)."""
    settings = next(stock.get_server_settings())
    if settings is not None:
        settings.interrupt_requests = False
