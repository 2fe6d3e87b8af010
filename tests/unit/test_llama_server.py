"""The embedded server's prompt cache counts the logits copy each entry holds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.guards import require_module

require_module("llama_cpp", "pip install 'devteam[local]'")

from devteam.llm.llama_server import MeasuredRAMCache, entry_bytes  # noqa: E402

MB = 1 << 20


@dataclass
class State:
    llama_state_size: int
    scores: np.ndarray
    input_ids: np.ndarray


def _state(kv_mb: int, logits_mb: int) -> State:
    return State(
        llama_state_size=kv_mb * MB,
        scores=np.zeros(logits_mb * MB // 4, dtype=np.single),
        input_ids=np.zeros(1024, dtype=np.intc),
    )


def test_an_entry_counts_kv_state_logits_and_token_ids() -> None:
    assert entry_bytes(_state(14, 300)) == 14 * MB + 300 * MB + 4096


def test_the_cap_bounds_what_the_entries_really_hold() -> None:
    from llama_cpp.llama_cache import LlamaRAMCache

    stock, measured = LlamaRAMCache(capacity_bytes=1024 * MB), MeasuredRAMCache(1024 * MB)
    for i in range(10):
        state = _state(14, 300)
        stock[(i, 1, 2)] = state
        measured[(i, 1, 2)] = state
    assert len(stock.cache_state) == 10  # 140 MB counted, 3.1 GB held
    assert len(measured.cache_state) == 3 and measured.cache_size <= 1024 * MB
    # Least recently used goes first; a lookup by prefix still works.
    assert list(measured.cache_state) == [(7, 1, 2), (8, 1, 2), (9, 1, 2)]
    assert measured[(9, 1, 2, 5)] is not None
