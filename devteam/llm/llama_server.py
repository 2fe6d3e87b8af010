"""The embedded model server's entry point: llama-cpp-python's server, prompt cache bounded.

``python -m devteam.llm.llama_server ARGS`` takes the arguments of ``python -m llama_cpp.server``.
The one difference is the RAM prompt cache's size. llama-cpp-python counts only the KV state
of each cached prompt (about 28 KB a token for the 1.5B), but every entry also holds a copy of
the logits buffer: up to ``n_batch x n_vocab`` floats, 311 MB for Qwen2.5's 151,936-token
vocabulary. A cache capped at 1 GiB could so hold some 70 entries and 20 GB. Here an entry
counts everything it holds, so ``--cache_size`` bounds the memory it names.
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


def main() -> None:
    from llama_cpp.server.__main__ import main as serve

    # The server builds its cache as llama_cpp.LlamaRAMCache(capacity_bytes=...).
    llama_cpp.LlamaRAMCache = MeasuredRAMCache  # type: ignore[misc]
    serve()


if __name__ == "__main__":
    main()
