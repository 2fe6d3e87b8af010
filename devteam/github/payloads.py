"""The few fields of GitHub's webhook payloads the bot reads, as small tolerant models.

Real payloads carry far more (and change over time); every model ignores what it does not
name, so an unmodified delivery from GitHub always parses when the fields below are there.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class User(_Loose):
    login: str
    id: int = 0
    type: str = "User"

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.endswith("[bot]")


class Label(_Loose):
    name: str


class Repository(_Loose):
    full_name: str
    default_branch: str = "main"
    fork: bool = False


class Issue(_Loose):
    number: int
    title: str = ""
    body: str | None = None
    user: User | None = None
    state: str = "open"
    labels: list[Label] = Field(default_factory=list)
    pull_request: dict[str, Any] | None = None

    @property
    def is_pull_request(self) -> bool:
        return self.pull_request is not None


class Comment(_Loose):
    id: int
    body: str | None = ""
    user: User | None = None
    performed_via_github_app: dict[str, Any] | None = None


class Installation(_Loose):
    id: int


class _IssueEvent(_Loose):
    """What every issue event carries: the action, the issue, where, who."""

    action: str
    issue: Issue
    repository: Repository
    sender: User
    installation: Installation | None = None


class IssuesEvent(_IssueEvent):
    """``issues``: opened, labeled, ... (``label`` is set for labeled/unlabeled)."""

    label: Label | None = None


class IssueCommentEvent(_IssueEvent):
    """``issue_comment``: created, edited, deleted, on an issue or a pull request."""

    comment: Comment
