"""The webhook receiver against GitHub's own example payloads and the bad inputs it must refuse."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from starlette.testclient import TestClient

from devteam.github.ledger import Ledger
from devteam.github.receiver import create_app
from devteam.github.settings import BotSettings
from devteam.github.signature import sign, verify
from devteam.github.triggers import Trigger
from tests.github.conftest import SECRET, example, headers, load_examples, webhook_errors


class Queue:
    def __init__(self, fail: bool = False) -> None:
        self.items: list[Trigger] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, trigger: Trigger) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        with self.lock:
            self.items.append(trigger)


def client(bot: BotSettings, ledger: Ledger, queue: Queue) -> TestClient:
    return TestClient(create_app(bot, ledger, queue), raise_server_exceptions=True)


def post(c: TestClient, event: str, payload: Any, delivery: str, **kw: Any) -> Any:
    body = json.dumps(payload).encode()
    return c.post("/webhook", content=body, headers=headers(body, event, delivery, **kw))


def command(body: str = "/devteam please") -> dict[str, Any]:
    payload = example("issue_comment", "created")
    payload["comment"]["body"] = body
    payload["issue"].pop("pull_request", None)
    payload["issue"]["state"] = "open"
    payload["repository"]["full_name"] = "octo-org/widgets"
    return payload


def labeled(repo: str = "Codertocat/Hello-World", number: int = 1) -> dict[str, Any]:
    payload = example("issues", "labeled")
    payload["label"]["name"] = "devteam"
    payload["issue"]["number"] = number
    payload["issue"]["state"] = "open"
    payload["repository"]["full_name"] = repo
    return payload


def test_every_github_example_gets_a_2xx_and_only_triggers_are_queued(
    bot: BotSettings, ledger: Ledger
) -> None:
    queue = Queue()
    c = client(bot, ledger, queue)
    examples = load_examples()
    assert len(examples) > 300  # the package's whole set, unmodified
    codes: dict[int, int] = {}
    for i, (event, payload) in enumerate(examples):
        body = json.dumps(payload).encode()
        r = c.post("/webhook", content=body, headers=headers(body, event, f"ex-{i}"))
        assert 200 <= r.status_code < 300, (event, payload.get("action"), r.text)
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
    # the examples' label is "bug", not ours, and their comments do not start with /devteam
    assert queue.items == []
    assert codes[200] == len(examples)


def test_a_label_and_a_command_are_queued_with_their_issue(
    bot: BotSettings, ledger: Ledger
) -> None:
    queue = Queue()
    c = client(bot, ledger, queue)
    r = post(c, "issues", labeled(number=7), "d-1")
    assert r.status_code == 202, r.text
    comment = command()
    r = post(c, "issue_comment", comment, "d-2")
    assert r.status_code == 202, r.text
    assert [(t.repo, t.issue, t.kind) for t in queue.items] == [
        ("codertocat/hello-world", 7, "label"),
        ("octo-org/widgets", comment["issue"]["number"], "command"),
    ]
    comment["comment"]["body"] = "/devteam stop"
    assert post(c, "issue_comment", comment, "d-3").status_code == 202
    assert queue.items[-1].kind == "stop"


def test_ping_is_answered(bot: BotSettings, ledger: Ledger) -> None:
    r = post(client(bot, ledger, Queue()), "ping", example("ping"), "p-1")
    assert r.status_code == 200 and r.json()["status"] == "pong"


@pytest.mark.parametrize(
    "mutate, code",
    [
        ("forged", 401),
        ("missing", 401),
        ("sha1-only", 401),
        ("wrong-secret", 401),
        ("no-prefix", 401),
        ("form-encoded", 415),
        ("bad-json", 400),
        ("not-object", 400),
        ("no-delivery", 400),
        ("too-large", 413),
    ],
)
def test_bad_input_is_refused_with_no_side_effect(
    bot: BotSettings, ledger: Ledger, mutate: str, code: int
) -> None:
    queue = Queue()
    c = client(bot, ledger, queue)
    body = json.dumps(labeled()).encode()
    h = headers(body, "issues", "bad-1")
    if mutate == "forged":
        h["x-hub-signature-256"] = sign(body + b" ", SECRET)
    elif mutate == "missing":
        del h["x-hub-signature-256"]
    elif mutate == "sha1-only":
        import hashlib
        import hmac

        del h["x-hub-signature-256"]
        h["x-hub-signature"] = "sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()
    elif mutate == "wrong-secret":
        h["x-hub-signature-256"] = sign(body, b"not the secret")
    elif mutate == "no-prefix":
        h["x-hub-signature-256"] = sign(body, SECRET).removeprefix("sha256=")
    elif mutate == "form-encoded":
        from urllib.parse import urlencode

        body = urlencode({"payload": body.decode()}).encode()
        h = headers(body, "issues", "bad-1")
        h["content-type"] = "application/x-www-form-urlencoded"
    elif mutate == "bad-json":
        body = body[:-3]
        h = headers(body, "issues", "bad-1")
    elif mutate == "not-object":
        body = b"[1, 2]"
        h = headers(body, "issues", "bad-1")
    elif mutate == "no-delivery":
        del h["x-github-delivery"]
    elif mutate == "too-large":
        body = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'  # a 2 MB body
        h = headers(body, "issues", "bad-1")
    r = c.post("/webhook", content=body, headers=h)
    assert r.status_code == code, r.text
    assert r.json()["detail"].endswith(".")  # one sentence
    assert queue.items == []
    assert ledger.delivery_outcome("bad-1") is None  # not even recorded


def test_a_replayed_delivery_answers_200_and_does_nothing(bot: BotSettings, ledger: Ledger) -> None:
    queue = Queue()
    c = client(bot, ledger, queue)
    assert post(c, "issues", labeled(), "same").status_code == 202
    r = post(c, "issues", labeled(), "same")
    assert r.status_code == 200 and r.json()["status"] == "replay"
    assert len(queue.items) == 1


def test_the_previous_secret_still_works_during_a_rotation(
    bot: BotSettings, ledger: Ledger
) -> None:
    rotated = BotSettings.model_validate(
        {**bot.model_dump(), "webhook_secret": "new secret", "webhook_secret_previous": SECRET}
    )
    queue = Queue()
    c = client(rotated, ledger, queue)
    assert post(c, "issues", labeled(), "r-1").status_code == 202
    assert post(c, "issues", labeled(number=2), "r-2", secret=b"new secret").status_code == 202
    assert post(c, "issues", labeled(number=3), "r-3", secret=b"older").status_code == 401
    assert len(queue.items) == 2


def test_without_a_secret_every_delivery_fails_closed(bot: BotSettings, ledger: Ledger) -> None:
    open_bot = BotSettings.model_validate({**bot.model_dump(), "webhook_secret": None})
    queue = Queue()
    r = post(client(open_bot, ledger, queue), "issues", labeled(), "n-1")
    assert r.status_code == 401 and "secret" in r.json()["detail"]
    assert queue.items == [] and ledger.delivery_outcome("n-1") is None
    assert not verify(b"{}", sign(b"{}", b""), [])


def test_ignored_deliveries_say_why(bot: BotSettings, ledger: Ledger) -> None:
    queue = Queue()
    c = client(bot, ledger, queue)
    cases = {
        "unknown event": ("made_up_event", {"action": "x"}),
        "other repo": ("issues", labeled(repo="someone/else")),
    }
    own = example("issue_comment", "created")
    own["comment"]["body"] = "<!-- devteam:bot -->\n/devteam done"
    cases["own comment"] = ("issue_comment", own)
    on_pr = example("issue_comment", "created")
    on_pr["comment"]["body"] = "/devteam fix this pull request"
    on_pr["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    on_pr["repository"]["full_name"] = "octo-org/widgets"
    cases["comment on a (fork's) pull request"] = ("issue_comment", on_pr)
    opened = example("issues", "opened")
    opened["issue"]["labels"] = [{"name": "devteam"}]
    opened["repository"]["full_name"] = "octo-org/widgets"
    cases["label that came with issues.opened"] = ("issues", opened)
    botsender = labeled()
    botsender["sender"]["type"] = "Bot"
    cases["bot sender"] = ("issues", botsender)
    for i, (event, payload) in enumerate(cases.values()):
        r = post(c, event, payload, f"i-{i}")
        assert r.status_code == 200 and r.json()["status"] == "ignored", r.text
    assert queue.items == []


def test_a_queue_failure_is_503_and_the_redelivery_is_taken(
    bot: BotSettings, ledger: Ledger
) -> None:
    down = Queue(fail=True)
    assert post(client(bot, ledger, down), "issues", labeled(), "q-1").status_code == 503
    up = Queue()
    assert post(client(bot, ledger, up), "issues", labeled(), "q-1").status_code == 202
    assert len(up.items) == 1


def test_the_triggers_the_tests_make_are_valid_by_githubs_own_schemas() -> None:
    """The tests change a label name, a body, a repository name in GitHub's examples; the
    results still conform to @octokit/openapi-webhooks (and a broken one does not)."""
    from tests.github.test_job import labeled as job_labeled

    for event, payload in [
        ("issues", labeled(number=7)),
        ("issues", job_labeled()),
        ("issue_comment", command()),
        ("issue_comment", command("/devteam stop")),
        ("ping", example("ping")),
    ]:
        assert webhook_errors(event, payload) == [], event
    broken = labeled()
    del broken["label"]["name"]
    assert webhook_errors("issues", broken)
