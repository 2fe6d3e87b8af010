"""The project on disk: a git repository, written only inside its root.

Either a fresh repository (``Workspace.create``) or an existing one, worked on in a branch of
its own (``Workspace.open_repo``, incremental mode). Every write goes through ``resolve``, which
refuses absolute paths, ``..``, the ``.git`` folder and symlinks that lead outside. Every step
is a commit authored by the role that made it, with trailers (run id, model, step). ``diff``,
``changed_files`` and ``restore`` compare with, and go back to, any commit (by default the one
the run started from) without moving HEAD.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePath, PurePosixPath

from devteam.errors import WorkspaceError
from devteam.workspace.git import cap_diff, run_git
from devteam.workspace.paths import resolve_inside

MAX_FILE_BYTES = 1_000_000
_TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".cfg", ".ini", ".json", ".yaml", ".yml"}
_SKIPPED_DIRS = {".git", ".pytest_cache", "__pycache__"}
DIFF_MAX_CHARS = 60_000
_BASE_KEY = "devteambase"  # git config branch.<name>.devteambase: the commit a run started from


class Workspace:
    """A folder holding one git repository that the team works in.

    ``base`` is the commit the run started from: None for a fresh repository (diffs are then
    against the empty tree), the branch point for ``open_repo``.
    """

    def __init__(self, root: Path, *, base: str | None = None) -> None:
        self.root = root.resolve()
        self.base = base
        # Untracked files that were there before the team came (incremental mode): never
        # committed, diffed or restored, unless the team writes them itself.
        self._foreign: set[str] = set()

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

    @classmethod
    def open_repo(cls, path: Path, branch: str) -> Workspace:
        """Work in the existing git repository ``path``, on ``branch``.

        A new ``branch`` starts at the current HEAD, which becomes ``base``; an existing one is
        checked out (a resumed run) and keeps the base recorded when it was made. Refuses a
        folder that is not the top of a git work tree, and uncommitted changes to tracked files
        unless ``branch`` is already checked out (then they are the run's own, left by a
        crash). Untracked files that were there when the branch was made are the user's:
        left alone and never committed.
        """
        root = Path(path).expanduser().resolve()
        if not root.is_dir():
            raise WorkspaceError(f"{path} is not a folder; give the path of a git repository.")
        ws = cls(root)
        try:
            top = ws._git("rev-parse", "--show-toplevel").strip()
        except WorkspaceError as exc:
            if "git is not installed" in str(exc):
                raise
            raise WorkspaceError(
                f"{root} is not a git work tree; run 'git init' there or give a repository's path."
            ) from None
        if Path(top).resolve() != root:
            raise WorkspaceError(
                f"{root} is inside the git repository {top}, not its top folder; give {top}."
            )
        try:
            ws._git("check-ref-format", "--branch", branch)
        except WorkspaceError:
            raise WorkspaceError(
                f"{branch!r} is not a valid git branch name; choose another branch name."
            ) from None
        exists = ws._ref_exists(f"refs/heads/{branch}")
        resuming_in_place = exists and ws.branch == branch
        dirty = [ln[3:] for ln in ws._git("status", "--porcelain", "-uno").splitlines() if ln]
        if dirty and not resuming_in_place:  # on the run's own branch they are the run's
            raise WorkspaceError(
                f"{root} has uncommitted changes to {len(dirty)} tracked file(s) "
                f"(e.g. {dirty[0]}); commit or stash them first."
            )
        before = ws.head()
        untracked = set(ws._untracked())
        record = ws._foreign_record(branch)
        if exists:
            if not resuming_in_place:
                ws._git("checkout", "-q", branch)
            ws.base = ws._recorded_base(branch, before)
            # The user's untracked files are those recorded when the branch was made; files
            # a crashed step left behind are the run's. Without a record, all are the user's.
            if record.is_file():
                untracked &= set(record.read_text(encoding="utf-8").split("\0"))
        else:
            ws._git("checkout", "-q", "-b", branch)
            ws.base = before
            if before:
                ws._git("config", f"branch.{branch}.{_BASE_KEY}", before)
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text("\0".join(sorted(untracked)), encoding="utf-8")
        ws._foreign = untracked
        return ws

    def _foreign_record(self, branch: str) -> Path:
        """Where the user's untracked files at the branch's creation are listed (in .git)."""
        name = hashlib.sha256(branch.encode()).hexdigest()[:16]
        rel = self._git("rev-parse", "--git-path", f"devteam/untracked-{name}").strip()
        return (self.root / rel).resolve()

    def _recorded_base(self, branch: str, before: str | None) -> str | None:
        try:
            recorded = self._git("config", "--get", f"branch.{branch}.{_BASE_KEY}").strip()
        except WorkspaceError:
            recorded = ""
        if recorded and self._ref_exists(f"{recorded}^{{commit}}"):
            return recorded
        # Not made by open_repo: fall back to where it forked from the previous HEAD.
        head = self.head()
        if before and head and before != head:
            try:
                return self._git("merge-base", before, head).strip() or head
            except WorkspaceError:
                return head
        return head

    # -- paths -------------------------------------------------------------------------
    def resolve(self, rel: str) -> Path:
        """The absolute path of ``rel`` inside the workspace, or PathEscapeError."""
        return resolve_inside(self.root, rel)

    # -- files -------------------------------------------------------------------------
    def write(self, rel: str, content: str | bytes) -> Path:
        data = content.encode() if isinstance(content, str) else content
        if len(data) > MAX_FILE_BYTES:
            raise WorkspaceError(
                f"Refused to write {rel!r}: {len(data)} bytes is over the {MAX_FILE_BYTES} limit."
            )
        path = self.resolve(rel)
        self._foreign.discard(path.relative_to(self.root).as_posix())
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

    def remove(self, rel: str) -> bool:
        """Delete one file (the next ``commit()`` records it); False when it was not there."""
        path = self.resolve(rel)
        if not path.is_file():
            return False
        path.unlink()
        self._prune_empty_parents(path)
        return True

    def read(self, rel: str) -> str:
        return self.resolve(rel).read_text(encoding="utf-8", errors="replace")

    def exists(self, rel: str) -> bool:
        return self.resolve(rel).is_file()

    def files(self, *, text_only: bool = True) -> list[str]:
        """Relative paths of the files in the workspace (``.git``, caches and, in a git
        repository, what its ``.gitignore`` files ignore, excluded)."""
        candidates: list[PurePath]
        if (self.root / ".git").exists():
            listed = self._git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
            candidates = sorted({PurePosixPath(p) for p in listed.split("\0") if p})
        else:
            candidates = [p.relative_to(self.root) for p in sorted(self.root.rglob("*"))]
        out = []
        for rel in candidates:
            if rel.parts[0] in _SKIPPED_DIRS or "__pycache__" in rel.parts:
                continue
            path = self.root / rel
            if path.is_file() and (not text_only or path.suffix in _TEXT_SUFFIXES):
                out.append(rel.as_posix())
        return out

    def snapshot(self, paths: list[str] | None = None) -> dict[str, str]:
        return {rel: self.read(rel) for rel in (paths if paths is not None else self.files())}

    # -- git ---------------------------------------------------------------------------
    def _git(
        self, *args: str, env: Mapping[str, str] | None = None, input: str | None = None
    ) -> str:
        return run_git(self.root, *args, env=env, input=input)

    def commit(
        self, message: str, *, role: str, trailers: Mapping[str, str] | None = None
    ) -> str | None:
        """Commit everything as ``role``; None when there was nothing to commit.

        Untracked files that were in an existing repository before the run are left out.
        """
        self._stage_all()
        if not self._git("status", "--porcelain", "-uno").strip():
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
            return self._git("rev-parse", "-q", "--verify", "HEAD^{commit}").strip() or None
        except WorkspaceError:
            return None

    def log(self) -> list[str]:
        """One line per commit, newest first: ``<sha> <author>: <subject>``."""
        out = self._git("log", "--format=%h %an: %s")
        return [line for line in out.splitlines() if line]

    @property
    def branch(self) -> str | None:
        """The checked-out branch; None with a detached HEAD."""
        try:
            return self._git("symbolic-ref", "--short", "-q", "HEAD").strip() or None
        except WorkspaceError:
            return None

    def diff(self, base: str | None = None, *, max_chars: int = DIFF_MAX_CHARS) -> str:
        """Unified diff from ``base`` (default: ``self.base``, else the empty tree) to the
        working tree: the commits since, plus uncommitted and new files. Over ``max_chars``,
        cut at a line end with a marker that names the files left out."""
        ref = self._base_ref(base)
        with self._full_index() as env:
            text = self._git(
                "diff", "--cached", "--no-color", "--no-ext-diff", "--no-renames",
                "--src-prefix=a/", "--dst-prefix=b/", ref, "--", env=env,
            )  # fmt: skip
        return cap_diff(text, max_chars)

    def changed_files(self, base: str | None = None) -> list[str]:
        """Paths added, changed or deleted between ``base`` (as in ``diff``) and the working
        tree, sorted."""
        ref = self._base_ref(base)
        with self._full_index() as env:
            out = self._git("diff", "--cached", "--name-only", "-z", "--no-renames", ref, env=env)
        return sorted(p for p in out.split("\0") if p)

    def restore(self, commit: str, paths: Iterable[str] | None = None) -> list[str]:
        """Bring ``paths`` (default: every changed file) back to their content at ``commit``;
        a file that did not exist there is deleted. HEAD does not move; the next ``commit()``
        records the result. Returns the paths restored or deleted."""
        sha = self._commit_sha(commit)
        if paths is None:
            targets = self.changed_files(sha)
        else:
            targets = [self.resolve(p).relative_to(self.root).as_posix() for p in paths]
        if not targets:
            return []
        listed = self._git("ls-tree", "-r", "-z", "--name-only", sha, "--", *targets,
                           env={"GIT_LITERAL_PATHSPECS": "1"})  # fmt: skip
        at_commit = {p for p in listed.split("\0") if p}
        keep = [
            t for t in targets if t in at_commit or any(p.startswith(t + "/") for p in at_commit)
        ]
        if keep:
            self._git("restore", f"--source={sha}", "--worktree", "--", *keep,
                      env={"GIT_LITERAL_PATHSPECS": "1"})  # fmt: skip
        for rel in targets:
            if rel in keep:
                continue
            path = self.resolve(rel)
            if path.is_file() or path.is_symlink():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
            self._prune_empty_parents(path)
        return targets

    # -- git helpers -------------------------------------------------------------------
    def _ref_exists(self, ref: str) -> bool:
        try:
            return bool(self._git("rev-parse", "-q", "--verify", ref).strip())
        except WorkspaceError:
            return False

    def _commit_sha(self, rev: str) -> str:
        try:
            return self._git("rev-parse", "-q", "--verify", f"{rev}^{{commit}}").strip()
        except WorkspaceError:
            raise WorkspaceError(
                f"{rev!r} is not a commit of {self.root}; give a commit id or branch name."
            ) from None

    def _base_ref(self, base: str | None) -> str:
        if base is None:
            base = self.base
        if base is None:
            return self._git("hash-object", "-t", "tree", os.devnull).strip()  # the empty tree
        return self._commit_sha(base)

    def _untracked(self) -> list[str]:
        out = self._git("ls-files", "-z", "--others", "--exclude-standard")
        return [p for p in out.split("\0") if p]

    def _stage_all(self, env: Mapping[str, str] | None = None) -> None:
        """``git add -A``, less the foreign untracked files."""
        self._git("add", "-A", env=env)
        if self._foreign:
            self._git(
                "rm", "--cached", "-r", "-q", "--ignore-unmatch",
                "--pathspec-from-file=-", "--pathspec-file-nul",
                env={**(env or {}), "GIT_LITERAL_PATHSPECS": "1"},
                input="\0".join(sorted(self._foreign)),
            )  # fmt: skip

    @contextmanager
    def _full_index(self) -> Iterator[dict[str, str]]:
        """A throwaway copy of the index with every change staged (the real one is untouched),
        as the environment for git commands that read it."""
        index = Path(
            self._git("rev-parse", "--path-format=absolute", "--git-path", "index").strip()
        )
        fd, tmp = tempfile.mkstemp(prefix="devteam-index-")
        os.close(fd)
        try:
            if index.is_file():
                shutil.copyfile(index, tmp)
            else:
                os.unlink(tmp)  # git makes a fresh index there
            env = {"GIT_INDEX_FILE": tmp}
            self._stage_all(env)
            yield env
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _prune_empty_parents(self, path: Path) -> None:
        parent = path.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                return
            parent = parent.parent
