"""The workspace's git: one command run in a repository, and a diff cut to a size.

Every git command the team runs goes through ``run_git``: the system config is not read, the
user's hooks never run, the team is the committer, and a failure is one WorkspaceError.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from devteam.errors import WorkspaceError


def run_git(
    root: Path, *args: str, env: Mapping[str, str] | None = None, input: str | None = None
) -> str:
    """``git ARGS`` in ``root``: its stdout, or WorkspaceError (git missing, or it failed)."""
    full_env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "devteam",
        "GIT_AUTHOR_EMAIL": "devteam@localhost",
        "GIT_COMMITTER_NAME": "devteam",
        "GIT_COMMITTER_EMAIL": "devteam@localhost",
        **(env or {}),
    }
    try:
        proc = subprocess.run(
            # The user's hooks are theirs, not the team's: none runs on a team's git command.
            ["git", "-c", "core.hooksPath=/dev/null", *args],
            cwd=root,
            env=full_env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            input=input,
            check=True,
        )
    except FileNotFoundError as exc:
        raise WorkspaceError("git is not installed; install git and try again.") from exc
    except subprocess.CalledProcessError as exc:
        raise WorkspaceError(f"git {args[0]} failed in {root}: {exc.stderr.strip()[:300]}") from exc
    return proc.stdout


def cap_diff(text: str, max_chars: int) -> str:
    """``text`` cut at a line end before ``max_chars``, with a marker naming the files left
    out; unchanged when it fits."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind("\n", 0, max_chars) + 1 or max_chars
    left_out = [
        line.split(" b/", 1)[-1]
        for line in text[cut:].splitlines()
        if line.startswith("diff --git ")
    ]
    names = ", ".join(left_out[:20]) + (
        f" and {len(left_out) - 20} more" if len(left_out) > 20 else ""
    )
    return (
        text[:cut]
        + f"[... diff truncated: {len(text) - cut} more characters"
        + (f"; files not shown: {names}" if left_out else "")
        + "]\n"
    )
