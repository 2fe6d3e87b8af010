"""git for the bot: a clone per issue, fetched fresh; push of the run's branch.

A token is handed to git through ``GIT_CONFIG_*`` variables (an ``http.extraHeader``), never
on a command line or in a URL, and any text from git is scrubbed of it before it is shown.
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

from devteam.errors import DevteamError

WORKFLOWS = ".github/workflows/"


class GitError(DevteamError, RuntimeError):
    """A git command of the bot failed."""


def _env(token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true")
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
    return env


def git(cwd: Path, *args: str, token: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=_env(token), capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        text = detail[-1] if detail else f"exit {proc.returncode}"
        if token:
            text = text.replace(token, "***")
        raise GitError(f"git {args[0]} failed: {text}")
    return proc.stdout


def fresh_checkout(url: str, dest: Path, base: str, token: str | None) -> str:
    """``dest`` holds a clean checkout of ``base`` as on the remote now; returns its commit."""
    if not (dest / ".git").exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        git(dest.parent, "clone", "-q", "--no-checkout", url, dest.name, token=token)
    git(dest, "fetch", "-q", "--prune", "origin", token=token)
    git(dest, "checkout", "-q", "-f", "--detach", f"origin/{base}")
    git(dest, "reset", "-q", "--hard")
    git(dest, "clean", "-q", "-fdx")
    return git(dest, "rev-parse", "HEAD").strip()


def changed_paths(dest: Path, base: str, branch: str) -> list[str]:
    return [p for p in git(dest, "diff", "--name-only", f"{base}..{branch}").splitlines() if p]


def touches_workflows(paths: list[str]) -> list[str]:
    return [p for p in paths if p.startswith(WORKFLOWS) or p == WORKFLOWS.rstrip("/")]


def push(dest: Path, branch: str, remote_branch: str, token: str | None) -> None:
    """Push local ``branch`` to ``remote_branch`` of origin (the bot's own branch: forced)."""
    git(
        dest, "push", "-q", "--force", "origin", f"{branch}:refs/heads/{remote_branch}", token=token
    )
