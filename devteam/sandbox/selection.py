"""What a workspace sync copies into the sandbox.

In a git work tree: what git sees, that is tracked files and untracked files that no
``.gitignore`` (or ``.git/info/exclude``) ignores. A user's ``.env``, ``.venv``,
``node_modules`` or build output stay on the host. Elsewhere (or where ``.git`` is no
repository git can read): every file. Never ``.git``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devteam.errors import SandboxError


def files_to_sync(src: Path) -> list[str]:
    """Relative POSIX paths under ``src`` to copy (files, symlinks, or submodule folders)."""
    if (src / ".git").exists():
        visible = _git_visible(src)
        if visible is not None:
            return visible
    names: list[str] = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        base = Path(root).relative_to(src)
        names += [(base / f).as_posix() for f in sorted(files)]
        # a symlink to a folder is copied as the link, not walked into
        names += [(base / d).as_posix() for d in dirs if (Path(root) / d).is_symlink()]
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
    return sorted(names)


def _git_visible(src: Path) -> list[str] | None:
    """What git sees in ``src``; None when ``.git`` there is no repository git can read."""
    try:
        proc = subprocess.run(
            ["git", "-c", "safe.directory=*", "-C", str(src), "ls-files", "-z",
             "--cached", "--others", "--exclude-standard"],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(
            f"Could not list the files of {src} to copy into the sandbox ({exc}); install git."
        ) from exc
    if proc.returncode != 0 and b"not a git repository" in proc.stderr:
        return None
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise SandboxError(
            f"git could not list the files of {src} to copy into the sandbox ({why[0]}); "
            "check that it is a healthy git work tree."
        )
    names = {n for n in proc.stdout.decode("utf-8", errors="surrogateescape").split("\0") if n}
    # a tracked file deleted from the work tree is not there to copy
    return sorted(n for n in names if os.path.lexists(src / n) and ".git" not in Path(n).parts)
