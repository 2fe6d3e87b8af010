"""The generated project on disk: a git repository, written only inside its root.

Every write goes through ``resolve``, which refuses absolute paths, ``..``, the ``.git``
folder and symlinks that lead outside. Every step is a commit authored by the role that
made it, with trailers (run id, model, step).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from devteam.errors import PathEscapeError, WorkspaceError

MAX_FILE_BYTES = 1_000_000
_TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".cfg", ".ini", ".json", ".yaml", ".yml"}


class Workspace:
    """A folder holding one git repository that the team works in."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @classmethod
    def create(cls, root: Path) -> Workspace:
        if root.exists() and any(root.iterdir()):
            if not (root / ".git").is_dir():
                raise WorkspaceError(
                    f"Workspace {root} exists, is not empty and is not a git repository; "
                    "choose another folder."
                )
            return cls(root)
        root.mkdir(parents=True, exist_ok=True)
        ws = cls(root)
        ws._git("init", "-q", "-b", "main")
        return ws

    # -- paths -------------------------------------------------------------------------
    def resolve(self, rel: str) -> Path:
        """The absolute path of ``rel`` inside the workspace, or PathEscapeError."""
        if not rel or "\x00" in rel:
            raise PathEscapeError(f"Refused file path {rel!r}: it is empty or has a NUL byte.")
        pure = PurePosixPath(rel.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or (pure.parts and pure.parts[0] == ".git"):
            raise PathEscapeError(
                f"Refused file path {rel!r}: it must be relative, inside the workspace and "
                "outside .git."
            )
        target = (self.root / pure).resolve()
        if target != self.root and self.root not in target.parents:
            raise PathEscapeError(f"Refused file path {rel!r}: it resolves outside the workspace.")
        return target

    # -- files -------------------------------------------------------------------------
    def write(self, rel: str, content: str | bytes) -> Path:
        data = content.encode() if isinstance(content, str) else content
        if len(data) > MAX_FILE_BYTES:
            raise WorkspaceError(
                f"Refused to write {rel!r}: {len(data)} bytes is over the {MAX_FILE_BYTES} limit."
            )
        path = self.resolve(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".devteam-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    def write_files(self, files: Mapping[str, str | bytes]) -> list[str]:
        # resolve all first, so one bad path writes nothing at all
        for rel in files:
            self.resolve(rel)
        for rel, content in files.items():
            self.write(rel, content)
        return list(files)

    def read(self, rel: str) -> str:
        return self.resolve(rel).read_text(encoding="utf-8", errors="replace")

    def exists(self, rel: str) -> bool:
        return self.resolve(rel).is_file()

    def files(self, *, text_only: bool = True) -> list[str]:
        """Relative paths of the files in the workspace (``.git`` and caches excluded)."""
        out = []
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if (
                rel.parts[0] in {".git", ".pytest_cache", "__pycache__"}
                or "__pycache__" in rel.parts
            ):
                continue
            if path.is_file() and (not text_only or path.suffix in _TEXT_SUFFIXES):
                out.append(rel.as_posix())
        return out

    def snapshot(self, paths: list[str] | None = None) -> dict[str, str]:
        return {rel: self.read(rel) for rel in (paths if paths is not None else self.files())}

    # -- git ---------------------------------------------------------------------------
    def _git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
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
                ["git", *args],
                cwd=self.root,
                env=full_env,
                capture_output=True,
                text=True,
                check=True,
            )
        except FileNotFoundError as exc:
            raise WorkspaceError("git is not installed; install git and try again.") from exc
        except subprocess.CalledProcessError as exc:
            raise WorkspaceError(
                f"git {args[0]} failed in {self.root}: {exc.stderr.strip()[:300]}"
            ) from exc
        return proc.stdout

    def commit(
        self, message: str, *, role: str, trailers: Mapping[str, str] | None = None
    ) -> str | None:
        """Commit everything as ``role``; None when there was nothing to commit."""
        self._git("add", "-A")
        if not self._git("status", "--porcelain").strip():
            return None
        body = message.strip()
        if trailers:
            body += "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers.items())
        who = {
            "GIT_AUTHOR_NAME": f"devteam {role}",
            "GIT_AUTHOR_EMAIL": f"{role}@devteam.localhost",
        }
        self._git("commit", "-q", "--no-verify", "-m", body, env=who)
        return self._git("rev-parse", "HEAD").strip()

    def head(self) -> str | None:
        try:
            return self._git("rev-parse", "HEAD").strip()
        except WorkspaceError:
            return None

    def log(self) -> list[str]:
        """One line per commit, newest first: ``<sha> <author>: <subject>``."""
        out = self._git("log", "--format=%h %an: %s")
        return [line for line in out.splitlines() if line]
