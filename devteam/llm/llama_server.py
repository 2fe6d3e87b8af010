"""The embedded model server's entry point: llama-cpp-python's server, prompt cache bounded.

``python -m devteam.llm.llama_server ARGS`` takes the arguments of ``python -m llama_cpp.server``.
The one difference is the RAM prompt cache's size. llama-cpp-python counts only the KV state
of each cached prompt (about 28 KB a token for the 1.5B), but every entry also holds a copy of
the logits buffer: up to ``n_batch x n_vocab`` floats, 311 MB for Qwen2.5's 151,936-token
vocabulary. A cache capped at 1 GiB could so hold some 70 entries and 20 GB. Here an entry
counts everything it holds, so ``--cache_size`` bounds the memory it names.

Streams: a chat completion streamed with ``stream_options.include_usage`` ends with a chunk
carrying its exact usage, which the stock server never sends, and a stream is never cut short
because another request is waiting (``devteam.llm.llama_stream``).
"""

from __future__ import annotations

from typing import Any

import llama_cpp
from llama_cpp.llama_cache import LlamaRAMCache


def entry_bytes(state: Any) -> int:
    """The bytes a cached ``LlamaState`` holds: KV state, logits copy and token ids."""
    return int(state.llama_state_size) + int(state.scores.nbytes) + int(state.input_ids.nbytes)


class MeasuredRAMCache(LlamaRAMCache):
    """``LlamaRAMCache`` with a ``cache_size`` that counts whole entries."""

    @property
    def cache_size(self) -> int:
        return sum(entry_bytes(s) for s in self.cache_state.values())


def create_app(**kwargs: Any) -> Any:
    """The stock server's app, with streams that report their usage and are never cut short."""
    from llama_cpp.server.app import create_app as stock_create_app

    from devteam.llm.llama_stream import include_usage_route, never_interrupt

    app = stock_create_app(**kwargs)
    never_interrupt()
    include_usage_route(app)
    return app


def main() -> None:
    import llama_cpp.server.__main__ as stock_main

    from devteam.llm.llama_stream import count_generations

    # The server builds its cache as llama_cpp.LlamaRAMCache(capacity_bytes=...).
    llama_cpp.LlamaRAMCache = MeasuredRAMCache  # type: ignore[misc]
    count_generations(llama_cpp.Llama)
    stock_main.create_app = create_app  # type: ignore[assignment]
    stock_main.main()


if __name__ == "__main__":
    main()
