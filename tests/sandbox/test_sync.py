"""What a workspace sync puts in the sandbox: in a git work tree what git sees (tracked, and
untracked files that are not ignored), never ignored files (.env, .venv) and never .git."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from devteam.sandbox.local import LocalSandbox
from devteam.sandbox.selection import files_to_sync

SECRET = "API_TOKEN=do-not-copy-me"

EXPECTED = [
    ".gitignore",
    "app.py",
    "data/.gitignore",
    "data/keep.csv",
    "notes.txt",  # untracked, not ignored: the user's work in progress is tested too
    "pkg/__init__.py",
    "tests/test_app.py",
    "tracked.log",  # ignored by a pattern but tracked: git sees it
]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        ".gitignore": ".env\n.venv/\n*.log\nbuild/\n",
        "app.py": "X = 1\n",
        "pkg/__init__.py": "",
        "tests/test_app.py": "from app import X\n\ndef test_x():\n    assert X == 1\n",
        "data/keep.csv": "a,b\n",
        "data/.gitignore": "*.tmp\n",
        "gone.py": "deleted from the work tree after the commit\n",
        "tracked.log": "committed before the ignore rule mattered\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-f", ".")
    git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "start")
    (root / "gone.py").unlink()
    (root / "notes.txt").write_text("untracked\n")
    (root / ".env").write_text(SECRET + "\n")
    (root / ".venv/lib").mkdir(parents=True)
    (root / ".venv/lib/site.py").write_text("huge = True\n")
    (root / "build").mkdir()
    (root / "build/out.bin").write_bytes(b"\0" * 10)
    (root / "data/scratch.tmp").write_text("nested ignore\n")
    return root


def test_a_git_work_tree_syncs_what_git_sees(repo: Path) -> None:
    assert files_to_sync(repo) == EXPECTED


def test_a_plain_folder_syncs_every_file_but_git_metadata(tmp_path: Path) -> None:
    (tmp_path / "a/b").mkdir(parents=True)
    (tmp_path / "a/b/c.py").write_text("")
    (tmp_path / ".env").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert files_to_sync(tmp_path) == [".env", "a/b/c.py", "link"]


def test_the_local_backend_copies_only_what_git_sees(repo: Path) -> None:
    with LocalSandbox(workspace=repo) as sb:
        copied = sorted(
            p.relative_to(sb.root).as_posix() for p in sb.root.rglob("*") if p.is_file()
        )
    assert copied == EXPECTED


@pytest.mark.docker
def test_the_docker_sandbox_receives_only_what_git_sees(repo: Path, healthy: Any) -> None:
    healthy.sync_dir(repo)
    res = healthy.exec("cd /workspace && find . -type f | sed 's|^./||' | sort", timeout_s=30)
    assert res.ok, res
    assert res.stdout.split() == EXPECTED
    secret = healthy.exec(f"grep -rs '{SECRET}' /workspace /tmp; echo done", timeout_s=30)
    assert secret.stdout.strip() == "done"
    # and what is there runs
    ran = healthy.exec(["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"], timeout_s=60)
    assert ran.ok and "1 passed" in ran.stdout, ran


def test_a_git_folder_that_is_no_repository_syncs_every_file(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "a.py").write_text("")
    assert files_to_sync(tmp_path) == ["a.py"]
