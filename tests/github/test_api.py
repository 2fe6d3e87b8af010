"""The bot's REST calls (githubkit) against the fake GitHub, which holds them to the official
API description; and the fake itself refuses what the description does not allow."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from devteam.github.api import GitHubAPI, GitHubError
from devteam.github.settings import BotSettings
from tests.github.fake_github import FakeGitHub

REPO = "octo-org/widgets"


@pytest.fixture
def fake(bot: BotSettings) -> FakeGitHub:
    assert bot.token is not None
    gh = FakeGitHub(bot.token.get_secret_value())
    gh.add_repo(REPO)
    gh.add_issue(REPO, 3, "Add a flag", "Please add --flag.")
    gh.permissions[(REPO, "maint")] = "maintain"
    return gh


def test_every_call_the_bot_makes_conforms_to_the_description(
    bot: BotSettings, fake: FakeGitHub
) -> None:
    api = GitHubAPI(bot, transport=fake.transport)
    assert api.can_write(REPO, "maint")
    assert not api.can_write(REPO, "stranger")
    assert api.repository(REPO)["default_branch"] == "main"
    assert api.issue(REPO, 3)["title"] == "Add a flag"
    cid = api.comment(REPO, 3, "working")
    api.edit_comment(REPO, cid, "done")
    api.react(REPO, cid, "eyes")
    assert [c["body"] for c in api.comments(REPO, 3)] == ["done"]
    assert api.find_pull(REPO, "devteam/issue-3") is None
    number = api.open_pull(REPO, head="devteam/issue-3", base="main", title="t", body="b")
    assert api.find_pull(REPO, "devteam/issue-3")["number"] == number  # type: ignore[index]
    api.update_pull(REPO, number, title="t2", body="b2")
    assert fake.open_pulls(REPO)[0]["draft"] is True
    assert api.labeled_issues(REPO, "devteam") == []
    assert api.push_token() == fake.token
    assert fake.violations == []
    assert len(fake.calls) == 13


def test_errors_are_one_sentence_without_the_token(bot: BotSettings, fake: FakeGitHub) -> None:
    api = GitHubAPI(bot, transport=fake.transport)
    for status in (403, 404, 422):
        fake.fail("issues/create-comment", status)
        with pytest.raises(GitHubError) as err:
            api.comment(REPO, 3, "x")
        assert f"HTTP {status}" in str(err.value) and fake.token not in str(err.value)
    with pytest.raises(GitHubError, match="HTTP 404"):
        api.issue(REPO, 99)
    assert fake.violations == []


def test_a_rate_limited_call_is_retried(bot: BotSettings, fake: FakeGitHub) -> None:
    fake.fail("issues/get", 429)
    api = GitHubAPI(bot, transport=fake.transport)
    assert api.issue(REPO, 3)["number"] == 3
    assert [c.status for c in fake.calls_of("issues/get")] == [429, 200]


def test_the_fake_refuses_requests_the_description_does_not_allow(fake: FakeGitHub) -> None:
    client = httpx.Client(
        transport=fake.transport,
        base_url="https://api.github.com",
        headers={"authorization": f"token {fake.token}"},
    )
    assert client.post(f"/repos/{REPO}/issues/3/comments", json={"text": "x"}).status_code == 422
    assert client.post(f"/repos/{REPO}/pulls", json={"head": "x"}).status_code == 422
    assert client.get(f"/repos/{REPO}/pulls", params={"bogus": "1"}).status_code == 422
    assert client.delete(f"/repos/{REPO}").status_code == 404
    assert len(fake.violations) == 4
    anonymous = httpx.Client(transport=fake.transport, base_url="https://api.github.com")
    assert anonymous.get(f"/repos/{REPO}").status_code == 401


def test_no_credentials_is_one_sentence(bot: BotSettings) -> None:
    bare = BotSettings.model_validate({**bot.model_dump(), "token": None})
    with pytest.raises(GitHubError, match=r"bot\.token"):
        GitHubAPI(bare)


def test_a_github_app_works_with_installation_tokens(bot: BotSettings, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "app.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake = FakeGitHub("no-plain-token", app=(321, public.decode()))
    fake.add_repo(REPO)
    fake.add_issue(REPO, 3, "t", "b")
    app_bot = BotSettings.model_validate(
        {**bot.model_dump(), "token": None, "app_id": 321, "app_private_key_file": pem}
    )
    api = GitHubAPI(app_bot, installation_id=42, transport=fake.transport)
    api.comment(REPO, 3, "hello")
    first = api.push_token()
    assert first.startswith("ghs_installation_") and api.push_token() != first  # fresh each push
    assert set(fake.installation_tokens.values()) == {42}
    assert {c.status for c in fake.calls} == {201}
    assert fake.violations == []
    with pytest.raises(GitHubError, match="installation id"):
        GitHubAPI(app_bot, installation_id=None)
