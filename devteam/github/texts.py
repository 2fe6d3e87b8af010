"""The bot's texts: the task handed to the team and the comments and PR it writes.

Templates are data (``prompts/bot.yaml``). Issue text is cleaned (HTML comments and invisible
characters removed) and fenced, with a fence longer than any run of backticks inside it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from devteam.github.triggers import MARKER

INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
MAX_TEXT = 8000


def clean(text: str | None, limit: int = MAX_TEXT) -> str:
    """Issue text without HTML comments, invisible characters or CRs, cut at ``limit``."""
    out = HTML_COMMENT.sub("", text or "")
    out = INVISIBLE.sub("", out).replace("\r\n", "\n").replace("\r", "\n").strip()
    return out if len(out) <= limit else out[:limit] + "\n[... cut ...]"


def fence_for(*texts: str) -> str:
    longest = max((len(m) for t in texts for m in re.findall(r"`+", t)), default=0)
    return "`" * max(3, longest + 1)


@cache
def _templates() -> dict[str, jinja2.Template]:
    raw = yaml.safe_load((Path(__file__).parent / "prompts" / "bot.yaml").read_text())
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, autoescape=False)
    return {name: env.from_string(text) for name, text in raw.items()}


def render(name: str, **values: Any) -> str:
    return _templates()[name].render(marker=MARKER, **values).strip()


def task_for(
    repo: str, issue: dict[str, Any], comments: list[dict[str, Any]], bot_login: str | None
) -> str:
    """The request for the team: the issue's title, body and comments, cleaned and fenced."""
    kept = [
        {"user": (c.get("user") or {}).get("login", "?"), "body": clean(c.get("body"), 2000)}
        for c in comments
        if MARKER not in (c.get("body") or "")
        and not (bot_login and (c.get("user") or {}).get("login") == bot_login)
    ]
    title = clean(issue.get("title"), 200).replace("\n", " ")
    body = clean(issue.get("body"))
    return render(
        "task",
        number=issue["number"],
        repo=repo,
        title=title,
        body=body,
        comments=kept,
        fence=fence_for(title, body, *(c["body"] for c in kept)),
    )


def pr_title(issue_title: str) -> str:
    title = clean(issue_title, 200).replace("\n", " ")
    text = render("pr_title", title=title)
    return text if len(text) <= 80 else text[:77] + "..."
