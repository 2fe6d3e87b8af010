"""The webhook receiver: a Starlette app, served by uvicorn (``devteam bot serve``).

Order of checks, each answered before anything is recorded: body size (413, read no further),
signature over the raw bytes (401), content type (415), event header and JSON (400). Then the
delivery id goes into the ledger (a replay answers 200 and does nothing), ``ping`` is answered,
and a trigger is put on the durable queue (202); everything else is 200 "ignored".
Nothing is done inline that could take long: the worker checks permissions and runs the job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devteam.github.ledger import Ledger
from devteam.github.settings import BotSettings
from devteam.github.signature import verify
from devteam.github.triggers import Ignored, Trigger, classify

log = logging.getLogger("devteam.bot")

Enqueue = Callable[[Trigger], None]


class _TooLarge(Exception):
    pass


def _answer(code: int, status: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": status, "detail": detail, **extra}, status_code=code)


async def _read_capped(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(bot: BotSettings, ledger: Ledger, enqueue: Enqueue) -> Starlette:
    """The receiver for ``bot``: deliveries recorded in ``ledger``, triggers to ``enqueue``."""
    secrets = bot.secrets

    async def webhook(request: Request) -> JSONResponse:
        delivery = request.headers.get("x-github-delivery", "")
        event = request.headers.get("x-github-event", "")
        try:
            body = await _read_capped(request, bot.max_body_bytes)
        except _TooLarge:
            log.warning("delivery %s: body over %d bytes refused", delivery, bot.max_body_bytes)
            return _answer(413, "refused", f"The body is larger than {bot.max_body_bytes} bytes.")
        if not secrets:
            log.error("delivery %s refused: no webhook secret is configured", delivery)
            return _answer(
                401, "refused", "No webhook secret is configured; set bot.webhook_secret."
            )
        if not verify(body, request.headers.get("x-hub-signature-256"), secrets):
            log.warning("delivery %s: bad or missing X-Hub-Signature-256", delivery)
            return _answer(
                401,
                "refused",
                "X-Hub-Signature-256 is missing or does not match; check the webhook secret.",
            )
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return _answer(
                415,
                "refused",
                f"Content type {ctype or 'none'!r} is not handled; set the webhook's content "
                "type to application/json.",
            )
        if not event or not delivery:
            return _answer(
                400, "refused", "X-GitHub-Event and X-GitHub-Delivery headers are required."
            )
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _answer(400, "refused", "The body is not valid JSON.")
        if not isinstance(payload, dict):
            return _answer(400, "refused", "The body is JSON but not an object.")
        first = ledger.record_delivery(delivery, event)
        if not first and ledger.delivery_outcome(delivery) != "queue failed":
            log.info("delivery %s replayed; nothing done", delivery)
            return _answer(200, "replay", "This delivery was already received; nothing done.")
        if event == "ping":
            ledger.set_outcome(delivery, "pong")
            return _answer(200, "pong", "The webhook reaches devteam.")
        found = classify(event, delivery, payload, bot)
        if isinstance(found, Ignored):
            ledger.set_outcome(delivery, f"ignored: {found.reason}")
            log.info("delivery %s (%s) ignored: %s", delivery, event, found.reason)
            return _answer(200, "ignored", found.reason)
        try:
            enqueue(found)
        except Exception as exc:
            log.error("delivery %s: could not queue (%s)", delivery, type(exc).__name__)
            ledger.set_outcome(delivery, "queue failed")
            return _answer(503, "error", "The job queue is unavailable; redeliver later.")
        ledger.set_outcome(delivery, f"queued {found.kind} for {found.repo}#{found.issue}")
        log.info("delivery %s: %s queued for %s#%d", delivery, found.kind, found.repo, found.issue)
        return _answer(202, "queued", f"{found.kind} for {found.repo}#{found.issue}")

    async def health(_request: Request) -> JSONResponse:
        return _answer(200, "ok", "devteam bot")

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/", webhook, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
