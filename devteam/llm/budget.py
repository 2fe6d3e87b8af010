"""Run budgets (tokens, wall clock, steps), checked before every model call."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from devteam.config import BudgetSettings
from devteam.errors import BudgetExceededError

# A word (up to 10 letters), a number (up to 3 digits) or any other non-space character is
# about one BPE token, so a server that reports no usage is still charged what it spent.
_PIECE = re.compile(r"[A-Za-z]{1,10}|\d{1,3}|[^\sA-Za-z\d]")
MESSAGE_OVERHEAD_TOKENS = 4  # the chat template's role markers around each message


def estimate_tokens(text: str) -> int:
    """A counted estimate of the tokens in ``text`` (for replies that carry no ``usage``)."""
    return len(_PIECE.findall(text))


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """A counted estimate of a chat prompt's tokens: each message's content plus its markers."""
    return sum(
        estimate_tokens(str(m.get("content") or "")) + MESSAGE_OVERHEAD_TOKENS for m in messages
    )


class Budget:
    """Counts what a run has spent. Carried across resumes through the graph state."""

    def __init__(
        self,
        limits: BudgetSettings,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        elapsed_s: float = 0.0,
        steps: int = 0,
    ) -> None:
        self.limits = limits
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.steps = steps
        self._elapsed_before = elapsed_s
        self._lock = threading.Lock()
        self._started = time.monotonic()

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def elapsed_s(self) -> float:
        return self._elapsed_before + (time.monotonic() - self._started)

    @property
    def remaining_tokens(self) -> int:
        return max(0, self.limits.max_run_tokens - self.tokens)

    def carry(self, spent: Mapping[str, Any]) -> None:
        """Count what the run spent before it was resumed (its graph state's totals)."""
        self.prompt_tokens += int(spent.get("prompt_tokens", 0))
        self.completion_tokens += int(spent.get("completion_tokens", 0))
        self._elapsed_before += float(spent.get("elapsed_s", 0.0))
        self.steps += int(spent.get("steps", 0))

    def check(self) -> None:
        """Raise BudgetExceededError if any bound is already reached."""
        if self.tokens >= self.limits.max_run_tokens:
            raise BudgetExceededError(
                f"Token budget spent: {self.tokens} of {self.limits.max_run_tokens} tokens used; "
                "raise DEVTEAM_BUDGET__MAX_RUN_TOKENS to allow more.",
                kind="tokens",
            )
        if self.elapsed_s >= self.limits.max_wall_s:
            raise BudgetExceededError(
                f"Time budget spent: {self.elapsed_s:.0f} s of {self.limits.max_wall_s:.0f} s; "
                "raise DEVTEAM_BUDGET__MAX_WALL_S to allow more.",
                kind="wall",
            )
        if self.steps >= self.limits.max_steps:
            raise BudgetExceededError(
                f"Step budget spent: {self.steps} of {self.limits.max_steps} steps; "
                "raise DEVTEAM_BUDGET__MAX_STEPS to allow more.",
                kind="steps",
            )

    def cap_completion(self, max_tokens: int) -> int:
        """The most a call may generate so the run overshoots by no more than its prompt."""
        return max(1, min(max_tokens, self.remaining_tokens))

    def charge(self, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:  # sampled candidates are charged from several threads
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def step(self) -> None:
        self.steps += 1
