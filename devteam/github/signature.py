"""X-Hub-Signature-256: HMAC-SHA256 of the raw body, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "sha256="


def sign(body: bytes, secret: bytes) -> str:
    """The header value GitHub sends for ``body`` signed with ``secret``."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secrets: Sequence[bytes]) -> bool:
    """True when ``header`` is ``sha256=<hex>`` of ``body`` under one of ``secrets``.

    Fails closed: no secret, no header, another algorithm (GitHub's SHA-1 ``X-Hub-Signature``
    is never enough) or a malformed digest are all False. Every secret is tried, so the time
    taken does not tell which one matched.
    """
    if not secrets or not header or not header.startswith(PREFIX):
        return False
    given = header[len(PREFIX) :].strip().lower().encode()
    ok = False
    for secret in secrets:
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
        ok = hmac.compare_digest(expected, given) or ok
    return ok
