"""The one place a run's model calls are budgeted, capped, charged and logged.

``MeteredModel`` wraps any ``ChatModel`` (which only answers and reports usage): before a
call it checks the budget and caps ``max_tokens`` at what the budget has left; during it,
pieces of the reply go out as ``ModelDelta`` events; after it, the usage (or, for a server
that reports none, a counted estimate) is charged and the call is one ``ModelCall`` event,
with ``error`` set when the call failed. A call's deltas and its ``ModelCall`` share one
``call_id``, so replies written at once (parallel samples) stay apart.
"""

from __future__ import annotations

import time
import uuid

from pydantic import BaseModel

from devteam.errors import BudgetExceededError, DevteamError
from devteam.events import EventBus, ModelCall, ModelDelta
from devteam.llm.budget import Budget, estimate_prompt_tokens, estimate_tokens
from devteam.llm.model import CallOptions, ChatModel, DeadlineError, Messages, ModelReply

#: A call may run a little past the wall budget (this, or a tenth of the budget if less),
#: so that the budget, not a cut-off request, is what the run reports.
WALL_GRACE_S = 5.0


def new_call_id() -> str:
    """A model call's id: unique within a run (and across its resumes)."""
    return uuid.uuid4().hex[:12]


class ChatReply(BaseModel):
    """A reply as the run was charged for it."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


class MeteredModel:
    """A model bound to one run's budget and events."""

    def __init__(
        self,
        model: ChatModel,
        budget: Budget,
        events: EventBus,
        *,
        max_tokens: int = 1536,
        stream: bool = True,
    ) -> None:
        self.model = model
        self.name = model.name
        self.budget = budget
        self.events = events
        self.max_tokens = max_tokens  # a call's cap when it names none
        self.stream = stream

    def complete(
        self,
        messages: Messages,
        *,
        role: str,
        template: str = "",
        max_tokens: int | None = None,
        schema: type[BaseModel] | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """One call as ``role``: checked, capped, charged and logged."""
        self.budget.check()
        options: CallOptions = {
            "role": role,
            "template": template,
            "max_tokens": self.budget.cap_completion(max_tokens or self.max_tokens),
            "schema": schema,
            "temperature": temperature,
            "stop": stop,
            "seed": seed,
            "timeout_s": self._time_left(),
        }
        call_id = new_call_id()
        if self.stream:
            options["on_text"] = lambda piece: self.events.emit(
                ModelDelta(role=role, text=piece, call_id=call_id, template=template)
            )
        started = time.monotonic()
        try:
            reply = self.model.complete(messages, **options)
        except DeadlineError as exc:
            error: DevteamError = BudgetExceededError(
                f"{exc.where} did not answer within the time budget "
                f"({self.budget.limits.max_wall_s:.0f} s for the run); check the server, or "
                "raise DEVTEAM_BUDGET__MAX_WALL_S.",
                kind="wall",
            )
            self._log(call_id, role, messages, started, error=str(error))
            raise error from exc
        except DevteamError as exc:
            self._log(call_id, role, messages, started, error=str(exc))
            raise
        # A server that reports no usage is charged a counted estimate, never nothing.
        prompt_tokens = reply.prompt_tokens or estimate_prompt_tokens(messages)
        completion_tokens = reply.completion_tokens or estimate_tokens(reply.text)
        self.budget.charge(prompt_tokens, completion_tokens)
        latency = self._log(
            call_id, role, messages, started, reply=reply, usage=(prompt_tokens, completion_tokens)
        )
        return ChatReply(
            text=reply.text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency,
        )

    def _time_left(self) -> float:
        """The run's wall budget left, plus a grace: a call still waiting then is cut off."""
        limits = self.budget.limits
        grace = min(WALL_GRACE_S, limits.max_wall_s / 10)
        return limits.max_wall_s - self.budget.elapsed_s + grace

    def _log(
        self,
        call_id: str,
        role: str,
        messages: Messages,
        started: float,
        *,
        reply: ModelReply | None = None,
        usage: tuple[int, int] = (0, 0),
        error: str | None = None,
    ) -> float:
        latency = time.monotonic() - started
        self.events.emit(
            ModelCall(
                role=role,
                model=self.name,
                messages=messages,
                reply=reply.text if reply else "",
                prompt_tokens=usage[0],
                completion_tokens=usage[1],
                latency_s=round(latency, 3),
                response_format=reply.response_format if reply else "text",
                error=error,
                call_id=call_id,
            )
        )
        return latency
