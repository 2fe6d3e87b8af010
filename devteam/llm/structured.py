"""Structured replies: schema-constrained where the server can, parsed tolerantly, repaired
once with the parser's error, and only then a clear ModelOutputError."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from devteam.errors import ModelOutputError
from devteam.llm.metered import ChatReply, MeteredModel
from devteam.llm.model import Messages
from devteam.llm.parsing import parse_model

T = TypeVar("T", bound=BaseModel)

#: The template a repair call is labelled with (for logs and scripted models).
REPAIR_TEMPLATE = "json_repair"


def ask_structured(
    model: MeteredModel,
    messages: Messages,
    schema: type[T],
    *,
    role: str,
    template: str = "",
    max_tokens: int | None = None,
    repair: Callable[[str], str],
) -> tuple[T, list[ChatReply]]:
    """Ask for a ``schema`` object; repair once with the parser's error; else ModelOutputError.

    ``repair(error)`` is the message that asks again (its text is data: the caller's).
    """
    replies: list[ChatReply] = []
    convo = list(messages)
    for attempt in range(2):
        label = template if attempt == 0 else REPAIR_TEMPLATE
        reply = model.complete(
            convo, role=role, template=label, max_tokens=max_tokens, schema=schema
        )
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
                {"role": "user", "content": repair(error)},
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
