"""Which deliveries start (or stop) a job. Pure functions of the payload and the settings.

A trigger found here is only a candidate: the worker checks the sender's permission with the
collaborator-permission API before anything visible happens.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from devteam.github.payloads import IssueCommentEvent, IssuesEvent, User
from devteam.github.settings import BotSettings

MARKER = "<!-- devteam:bot -->"  # opens every comment the bot writes

TriggerKind = Literal["label", "command", "stop"]


class Trigger(BaseModel):
    repo: str
    issue: int
    kind: TriggerKind
    sender: str
    delivery: str
    comment_id: int | None = None
    installation_id: int | None = None


class Ignored(BaseModel):
    reason: str


def classify(
    event: str, delivery: str, payload: dict[str, Any], bot: BotSettings
) -> Trigger | Ignored:
    """A Trigger, or why this delivery is ignored."""
    try:
        if event == "issues":
            return _issues(IssuesEvent.model_validate(payload), delivery, bot)
        if event == "issue_comment":
            return _comment(IssueCommentEvent.model_validate(payload), delivery, bot)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        return Ignored(reason=f"{event} payload without the field {where!r}")
    return Ignored(reason=f"event {event!r} is not handled")


def _sender_ignored(sender: User, bot: BotSettings) -> str | None:
    if sender.is_bot:
        return f"sender {sender.login} is a bot"
    if bot.login and sender.login.lower() == bot.login.lower():
        return "sender is the bot itself"
    return None


def _issues(ev: IssuesEvent, delivery: str, bot: BotSettings) -> Trigger | Ignored:
    repo = ev.repository.full_name.lower()
    if ev.action != "labeled":
        # A label set when an issue is opened also arrives as its own ``labeled`` event.
        return Ignored(reason=f"issues.{ev.action} is not handled")
    if ev.label is None or ev.label.name != bot.label:
        return Ignored(reason=f"label is not {bot.label!r}")
    if not bot.allows(repo):
        return Ignored(reason=f"repository {repo} is not configured")
    if reason := _sender_ignored(ev.sender, bot):
        return Ignored(reason=reason)
    if ev.issue.is_pull_request or ev.issue.state != "open":
        return Ignored(reason="only open issues are handled")
    return Trigger(
        repo=repo,
        issue=ev.issue.number,
        kind="label",
        sender=ev.sender.login,
        delivery=delivery,
        installation_id=ev.installation.id if ev.installation else None,
    )


def parse_command(body: str, command: str) -> str | None:
    """The words after ``command`` when ``body`` starts with it; None when it does not."""
    text = body.strip()
    if not text.startswith(command):
        return None
    rest = text[len(command) :]
    if rest and not rest[0].isspace():
        return None  # "/devteamish" is not "/devteam"
    return rest.strip()


def _comment(ev: IssueCommentEvent, delivery: str, bot: BotSettings) -> Trigger | Ignored:
    repo = ev.repository.full_name.lower()
    if ev.action != "created":
        return Ignored(reason=f"issue_comment.{ev.action} is not handled")
    body = ev.comment.body or ""
    if MARKER in body:
        return Ignored(reason="the bot's own comment")
    args = parse_command(body, bot.command)
    if args is None:
        return Ignored(reason=f"comment does not start with {bot.command}")
    if not bot.allows(repo):
        return Ignored(reason=f"repository {repo} is not configured")
    if reason := _sender_ignored(ev.sender, bot):
        return Ignored(reason=reason)
    if ev.comment.performed_via_github_app is not None:
        return Ignored(reason="comment written by an app")
    if ev.issue.is_pull_request:
        return Ignored(reason="pull requests (forks included) are not handled; comment on an issue")
    stop = args.split()[:1] == ["stop"]
    if not stop and ev.issue.state != "open":
        return Ignored(reason="only open issues are handled")
    return Trigger(
        repo=repo,
        issue=ev.issue.number,
        kind="stop" if stop else "command",
        sender=ev.sender.login,
        delivery=delivery,
        comment_id=ev.comment.id,
        installation_id=ev.installation.id if ev.installation else None,
    )
