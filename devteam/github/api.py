"""The REST calls the bot makes, through githubkit (token or GitHub App installation auth).

Only plain JSON is read back (``Response.json()``): githubkit's strict models are not needed
for the few fields used here. Every failure becomes a ``GitHubError`` of one sentence that
names the call and the status, never the token.
"""

from __future__ import annotations

from typing import Any

import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.exception import GitHubException, RequestFailed

from devteam.errors import DevteamError
from devteam.github.settings import BotSettings

WRITE = ("admin", "maintain", "write")


class GitHubError(DevteamError, RuntimeError):
    """A GitHub API call failed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GitHubAPI:
    """The bot's GitHub: one client per repository installation (or one token for all)."""

    def __init__(
        self,
        bot: BotSettings,
        *,
        installation_id: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.bot = bot
        self.installation_id = installation_id
        self._transport = transport
        self._app_key: str | None = None
        auth: Any
        if bot.token is not None:
            auth = TokenAuthStrategy(bot.token.get_secret_value())
        elif bot.app_id is not None and bot.app_private_key_file is not None:
            if installation_id is None:
                raise GitHubError(
                    "A GitHub App needs the installation id of the delivery; "
                    "install the App on the repository."
                )
            self._app_key = bot.app_private_key_file.read_text()
            auth = AppInstallationAuthStrategy(bot.app_id, self._app_key, installation_id)
        else:
            raise GitHubError(
                "No GitHub credentials: set bot.token, or bot.app_id and bot.app_private_key_file."
            )
        self.gh = self._client(auth)

    def _client(self, auth: Any) -> GitHub[Any]:
        return GitHub(
            auth,
            base_url=self.bot.api_url.rstrip("/") + "/",
            transport=self._transport,
            http_cache=False,
            user_agent="devteam-bot",
            timeout=30.0,
        )

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs).json()
        except RequestFailed as exc:
            status = exc.response.status_code
            raise GitHubError(f"GitHub refused to {what} (HTTP {status}).", status) from None
        except (GitHubException, httpx.HTTPError) as exc:
            raise GitHubError(
                f"GitHub could not be reached to {what} ({type(exc).__name__}); "
                "check bot.api_url and the network."
            ) from None

    def _on(self, repo: str, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``_call`` for an endpoint of one repository: ``repo`` ("owner/name") goes first."""
        owner, name = repo.split("/")
        return self._call(what, fn, owner, name, *args, **kwargs)

    # -- reads ---------------------------------------------------------------------------
    def permission(self, repo: str, user: str) -> str:
        """The user's permission on the repo: admin, maintain, write, triage, read or none."""
        rest = self.gh.rest.repos
        try:
            data = self._on(repo, "read a permission", rest.get_collaborator_permission_level, user)
        except GitHubError as exc:
            if exc.status == 404:
                return "none"
            raise
        return str(data.get("role_name") or data.get("permission") or "none")

    def can_write(self, repo: str, user: str) -> bool:
        return self.permission(repo, user) in WRITE

    def repository(self, repo: str) -> dict[str, Any]:
        return dict(self._on(repo, "read the repository", self.gh.rest.repos.get))

    def issue(self, repo: str, number: int) -> dict[str, Any]:
        return dict(self._on(repo, "read the issue", self.gh.rest.issues.get, number))

    def comments(self, repo: str, number: int, pages: int = 3) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in range(1, pages + 1):
            fn = self.gh.rest.issues.list_comments
            batch = self._on(repo, "list comments", fn, number, per_page=100, page=page)
            out.extend(batch)
            if len(batch) < 100:
                break
        return out

    def labeled_issues(self, repo: str, label: str) -> list[dict[str, Any]]:
        fn = self.gh.rest.issues.list_for_repo
        items = self._on(repo, "list issues", fn, labels=label, state="open", per_page=100)
        return [i for i in items if "pull_request" not in i]

    def labeled_by(self, repo: str, number: int, label: str) -> tuple[int, str] | None:
        """(event id, login) of the latest time ``label`` was put on the issue."""
        fn = self.gh.rest.issues.list_events
        events = self._on(repo, "list issue events", fn, number, per_page=100)
        found = [
            (int(e["id"]), str((e.get("actor") or {}).get("login", "")))
            for e in events
            if e.get("event") == "labeled" and (e.get("label") or {}).get("name") == label
        ]
        return found[-1] if found else None

    def comments_since(self, repo: str, since: str) -> list[dict[str, Any]]:
        """The repository's issue comments created or edited since ``since`` (ISO 8601)."""
        fn = self.gh.rest.issues.list_comments_for_repo
        return list(self._on(repo, "list comments", fn, since=since, per_page=100))

    def find_pull(self, repo: str, branch: str) -> dict[str, Any] | None:
        """The open PR whose head is ``branch`` of ``repo`` itself (never a fork's)."""
        head = f"{repo.split('/')[0]}:{branch}"
        pulls = self._on(
            repo, "list pull requests", self.gh.rest.pulls.list, head=head, state="open"
        )
        return dict(pulls[0]) if pulls else None

    # -- writes --------------------------------------------------------------------------
    def comment(self, repo: str, number: int, body: str) -> int:
        data = self._on(repo, "comment", self.gh.rest.issues.create_comment, number, body=body)
        return int(data["id"])

    def edit_comment(self, repo: str, comment_id: int, body: str) -> None:
        fn = self.gh.rest.issues.update_comment
        self._on(repo, "edit a comment", fn, comment_id, body=body)

    def react(self, repo: str, comment_id: int, content: str = "eyes") -> None:
        fn = self.gh.rest.reactions.create_for_issue_comment
        self._on(repo, "react", fn, comment_id, content=content)

    def open_pull(self, repo: str, *, head: str, base: str, title: str, body: str) -> int:
        data = self._on(
            repo, "open a pull request", self.gh.rest.pulls.create,
            head=head, base=base, title=title, body=body, draft=True, maintainer_can_modify=True,
        )  # fmt: skip
        return int(data["number"])

    def update_pull(self, repo: str, number: int, *, title: str, body: str) -> None:
        fn = self.gh.rest.pulls.update
        self._on(repo, "update a pull request", fn, number, title=title, body=body)

    def push_token(self) -> str:
        """A token for ``git push``: the configured one, or a fresh installation token."""
        if self.bot.token is not None:
            return self.bot.token.get_secret_value()
        assert self._app_key is not None and self.installation_id is not None
        app = self._client(AppAuthStrategy(self.bot.app_id, self._app_key))
        data = self._call(
            "create an installation token",
            app.rest.apps.create_installation_access_token,
            self.installation_id,
        )
        return str(data["token"])
