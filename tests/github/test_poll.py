"""``bot poll``: labels and commands found by asking the fake GitHub, each taken once."""

from __future__ import annotations

from pathlib import Path

from devteam.config import Settings
from devteam.github.api import GitHubAPI
from devteam.github.job import handle_trigger
from devteam.github.poll import poll_once
from devteam.github.settings import BotSettings
from devteam.github.triggers import MARKER
from devteam.github.worker import Bot
from tests.github.fake_github import FakeGitHub

REPO = "octo-org/widgets"


def test_poll_finds_labels_and_commands_once(tmp_path: Path) -> None:
    gh = FakeGitHub("tok")
    gh.add_repo(REPO)
    for n in (5, 6, 7, 8):
        gh.add_issue(REPO, n, f"issue {n}", "text")
    links = {k: f"https://github.com/{REPO}/pull/9" for k in ("url", "html_url", "diff_url")}
    gh.add_issue(REPO, 9, "a PR", "x", pull_request={**links, "patch_url": links["url"]})
    gh.label(REPO, 5, "devteam", "maint")
    gh.label(REPO, 6, "devteam", "stranger")
    gh.label(REPO, 8, "bug", "maint")
    gh.add_comment(REPO, 7, "/devteam please", "maint")
    gh.add_comment(REPO, 8, f"{MARKER}\n/devteam done", "devteam-bot")
    gh.add_comment(REPO, 8, "/devteam go", "ci[bot]")
    gh.add_comment(REPO, 9, "/devteam on a PR", "maint")
    gh.add_comment(REPO, 8, "please /devteam", "maint")
    gh.permissions[(REPO, "maint")] = "write"
    bot_settings = BotSettings(
        repositories=[REPO], token="tok", state_dir=tmp_path / "bot", login="devteam-bot"
    )  # type: ignore[arg-type]
    bot = Bot(Settings(state_dir=tmp_path / "st"), bot_settings, transport=gh.transport)
    api = GitHubAPI(bot_settings, transport=gh.transport)

    queued = poll_once(bot, api, "2000-01-01T00:00:00Z")
    assert sorted((t.issue, t.kind, t.sender) for t in queued) == [
        (5, "label", "maint"),
        (6, "label", "stranger"),
        (7, "command", "maint"),
    ]
    assert bot.huey.pending_count() == 3
    assert poll_once(bot, api, "2000-01-01T00:00:00Z") == []  # the ledger has them
    # the worker's permission check still decides: the stranger's label starts nothing
    stranger = next(t for t in queued if t.sender == "stranger")
    assert handle_trigger(bot.ctx, stranger) is None
    assert gh.violations == []
    bot.close()
