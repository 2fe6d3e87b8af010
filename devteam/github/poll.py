"""``devteam bot poll``: the same triggers without a webhook, by asking GitHub.

Each round, for each configured repository: open issues carrying the label (who put it there
comes from the issue's events) and issue comments since the last rounds that start with the
command. Each finding gets a synthetic delivery id (the label event's id, the comment's id),
so the ledger takes it once however many rounds see it; the rest is the webhook's path: the
trigger goes on the durable queue and the worker checks the sender's permission.
"""

from __future__ import annotations

import logging
import threading
import time

from devteam.github.api import GitHubAPI
from devteam.github.payloads import User
from devteam.github.triggers import MARKER, Trigger, parse_command
from devteam.github.worker import Bot

log = logging.getLogger("devteam.bot")


def poll_once(bot: Bot, api: GitHubAPI, since: str) -> list[Trigger]:
    """Queue the triggers found since ``since`` (ISO 8601) that the ledger has not seen."""
    settings = bot.bot
    found: list[Trigger] = []
    for repo in settings.repositories:
        for issue in api.labeled_issues(repo, settings.label):
            labeled = api.labeled_by(repo, int(issue["number"]), settings.label)
            if labeled is None:
                continue
            event_id, actor = labeled
            found.append(
                Trigger(
                    repo=repo,
                    issue=int(issue["number"]),
                    kind="label",
                    sender=actor,
                    delivery=f"poll-label-{event_id}",
                )
            )
        for c in api.comments_since(repo, since):
            body = c.get("body") or ""
            user = User.model_validate(c.get("user") or {"login": "?"})
            args = parse_command(body, settings.command)
            if args is None or MARKER in body or user.is_bot:
                continue
            if settings.login and user.login.lower() == settings.login.lower():
                continue
            number = int(str(c.get("issue_url", "")).rsplit("/", 1)[-1] or 0)
            issue = api.issue(repo, number)
            if "pull_request" in issue:
                continue
            stop = args.split()[:1] == ["stop"]
            if not stop and issue.get("state") != "open":
                continue
            found.append(
                Trigger(
                    repo=repo,
                    issue=number,
                    kind="stop" if stop else "command",
                    sender=user.login,
                    delivery=f"poll-comment-{c['id']}",
                    comment_id=int(c["id"]),
                )
            )
    queued = []
    for trigger in found:
        if bot.ledger.record_delivery(trigger.delivery, "poll"):
            bot.enqueue(trigger)
            bot.ledger.set_outcome(trigger.delivery, f"queued {trigger.kind}")
            queued.append(trigger)
    return queued


def poll_forever(bot: Bot, api: GitHubAPI, stop: threading.Event) -> None:
    """A round every ``bot.poll_interval_s``; comments are asked for two intervals back."""
    while not stop.is_set():
        since = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2 * bot.bot.poll_interval_s - 60)
        )
        try:
            queued = poll_once(bot, api, since)
            if queued:
                log.info("poll: %d trigger(s) queued", len(queued))
        except Exception as exc:  # one bad round must not end the loop
            log.error("poll round failed: %s", exc)
        stop.wait(bot.bot.poll_interval_s)
