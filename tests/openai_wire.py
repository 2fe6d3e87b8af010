"""The OpenAI chat-completions wire format, for the tests' HTTP doubles of a model server:
the body of a completion, and a JSON answer sent from a request handler."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


def completion(
    model: str, content: str, *, id: str = "x", usage: dict[str, int] | None = None
) -> dict[str, Any]:
    """A whole (not streamed) chat completion of ``content``; ``usage`` left out when None."""
    return {
        "id": id,
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        **({"usage": usage} if usage is not None else {}),
    }


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    """Answer ``payload`` as JSON, with its length (bytes: sent as they are)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
