"""Fixtures of the bot's tests: GitHub's own webhook examples, signing, a ledger, a bot config.

The examples are the npm package @octokit/webhooks-examples, unmodified, installed by
scripts/install.sh --dev into ~/.cache/devteam/npm (or DEVTEAM_WEBHOOK_EXAMPLES names its
api.github.com/index.json). Without it the tests that need it are skipped; under CI they fail.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devteam.github.ledger import Ledger
from devteam.github.settings import BotSettings
from devteam.github.signature import sign
from tests.integration.conftest import postgres_url  # noqa: F401 (the throwaway cluster)

SECRET = b"It's a Secret to Everybody"
EXAMPLES_REL = "node_modules/@octokit/webhooks-examples/api.github.com/index.json"


def examples_path() -> Path:
    named = os.environ.get("DEVTEAM_WEBHOOK_EXAMPLES")
    if named:
        return Path(named)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "devteam" / "npm" / EXAMPLES_REL


def load_examples() -> list[tuple[str, dict[str, Any]]]:
    """(event name, payload) for every example GitHub's package holds."""
    path = examples_path()
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI must install @octokit/webhooks-examples ({path} is missing)")
        pytest.skip(f"@octokit/webhooks-examples is not installed ({path}); see scripts/install.sh")
    return [(e["name"], ex) for e in json.loads(path.read_text()) for ex in e["examples"]]


WEBHOOK_SCHEMAS = Path(__file__).parent / "data" / "openapi-webhooks.json.gz"


def webhook_errors(event: str, payload: dict[str, Any]) -> list[str] | None:
    """What is wrong with ``payload`` by GitHub's official schema of the event (npm
    @octokit/openapi-webhooks, vendored); None when no schema of that event is vendored."""
    from jsonschema import Draft202012Validator

    name = event.replace("_", "-") + (f"-{payload['action']}" if "action" in payload else "")
    schemas = json.loads(gzip.decompress(WEBHOOK_SCHEMAS.read_bytes()))["webhooks"]
    if name not in schemas:
        return None
    return [e.message for e in Draft202012Validator(schemas[name]).iter_errors(payload)]


def example(event: str, action: str | None = None) -> dict[str, Any]:
    """A fresh copy of the first example of ``event`` (with ``action``) that is valid by
    GitHub's schema of the event (some examples lag the schema)."""
    found = [
        p
        for name, p in load_examples()
        if name == event and (action is None or p.get("action") == action)
    ]
    if not found:
        raise LookupError(f"no example of {event}.{action}")
    valid = [p for p in found if not webhook_errors(event, p)]
    return json.loads(json.dumps((valid or found)[0]))


def headers(body: bytes, event: str, delivery: str, secret: bytes = SECRET) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery,
        "x-hub-signature-256": sign(body, secret),
    }


@pytest.fixture
def bot(tmp_path: Path) -> BotSettings:
    return BotSettings(
        repositories=["Codertocat/Hello-World", "octo-org/widgets"],
        webhook_secret=SECRET.decode(),  # type: ignore[arg-type]
        token="ghs_test_token_never_leaks_0123456789",  # type: ignore[arg-type]
        state_dir=tmp_path / "bot",
        login="devteam-bot",
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "ledger.sqlite")
    yield led
    led.close()


@pytest.fixture
def bot_database(postgres_url: str) -> str:  # noqa: F811
    """A fresh database in the throwaway PostgreSQL cluster, for one test."""
    import uuid

    import psycopg

    name = f"bot_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    return postgres_url.replace("/postgres?", f"/{name}?")
