from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from devteam.errors import PathEscapeError, WorkspaceError
from devteam.workspace import Workspace


@pytest.mark.parametrize(
    "bad", ["/etc/passwd", "../x.py", "a/../../x.py", ".git/config", "", "a\x00b"]
)
def test_paths_that_leave_the_workspace_are_refused(tmp_path: Path, bad: str) -> None:
    ws = Workspace.create(tmp_path / "ws")
    with pytest.raises(PathEscapeError):
        ws.write(bad, "x")


def test_a_symlink_out_is_refused(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, ws.root / "link")
    with pytest.raises(PathEscapeError):
        ws.write("link/x.py", "x")
    assert not (outside / "x.py").exists()


def test_one_bad_path_writes_nothing(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    with pytest.raises(PathEscapeError):
        ws.write_files({"ok.py": "1", "../bad.py": "2"})
    assert not (ws.root / "ok.py").exists()


def test_commits_are_authored_by_the_role_with_trailers(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    ws.write("m.py", "x = 1\n")
    sha = ws.commit("Write code", role="coder", trailers={"Devteam-Run": "r1"})
    assert sha and ws.commit("nothing", role="coder") is None
    out = subprocess.run(
        ["git", "log", "-1", "--format=%an <%ae>%n%B"], cwd=ws.root, capture_output=True, text=True
    ).stdout
    assert out.startswith("devteam coder <coder@devteam.localhost>")
    assert "Devteam-Run: r1" in out
    assert ws.files() == ["m.py"]


def test_a_non_repo_folder_with_files_is_not_taken_over(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "precious.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match="not a git repository"):
        Workspace.create(tmp_path / "ws")


# -- incremental mode: an existing repository, a branch of the team's own ---------------------


def _git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "me",
        "GIT_AUTHOR_EMAIL": "me@example.com",
        "GIT_COMMITTER_NAME": "me",
        "GIT_COMMITTER_EMAIL": "me@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A user's repository on ``main`` with two commits."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    (root / "pkg" / "core.py").write_text("def f():\n    return 1\n")
    (root / "README.md").write_text("# repo\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "first")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "second")
    return root


def test_open_repo_branches_from_head_and_records_the_base(repo: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD").strip()
    ws = Workspace.open_repo(repo, "devteam/feature")
    assert ws.branch == "devteam/feature" and ws.base == head
    assert ws.diff() == "" and ws.changed_files() == []
    ws.write("pkg/core.py", "def f():\n    return 2\n")
    sha = ws.commit("Change f", role="coder")
    assert sha and _git(repo, "rev-parse", "main").strip() == head  # main is untouched
    assert ws.changed_files() == ["pkg/core.py"]
    assert "-    return 1\n+    return 2" in ws.diff()


def test_open_repo_again_resumes_the_branch_with_the_same_base(repo: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD").strip()
    ws = Workspace.open_repo(repo, "work")
    ws.write("new.py", "y = 2\n")
    ws.commit("Add new.py", role="coder")
    _git(repo, "checkout", "-q", "main")

    again = Workspace.open_repo(repo, "work")
    assert again.branch == "work" and again.base == head
    assert again.exists("new.py") and again.changed_files() == ["new.py"]
    # and from the branch itself, too
    assert Workspace.open_repo(repo, "work").base == head


def test_open_repo_refuses_uncommitted_changes_to_tracked_files(repo: Path) -> None:
    (repo / "README.md").write_text("# edited\n")
    with pytest.raises(WorkspaceError, match="commit or stash them first") as err:
        Workspace.open_repo(repo, "work")
    assert "README.md" in str(err.value)
    assert _git(repo, "branch", "--show-current").strip() == "main"


@pytest.mark.parametrize("where", ["plain", "subdir", "missing"])
def test_open_repo_refuses_what_is_not_a_repository_top(repo: Path, where: str) -> None:
    path = {"plain": repo.parent / "plain", "subdir": repo / "pkg", "missing": repo / "nope"}[where]
    if where == "plain":
        path.mkdir()
    with pytest.raises(WorkspaceError) as err:
        Workspace.open_repo(path, "work")
    assert str(err.value).count(";") == 1  # one sentence: what is wrong; what to do


def test_open_repo_refuses_a_bad_branch_name(repo: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a valid git branch name"):
        Workspace.open_repo(repo, "bad..name")


def test_open_repo_on_an_empty_repository_diffs_against_the_empty_tree(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    ws = Workspace.open_repo(root, "work")
    assert ws.base is None and ws.branch == "work"
    ws.write("a.py", "a = 1\n")
    assert ws.changed_files() == ["a.py"]
    assert ws.commit("Add a", role="coder")


def test_the_users_untracked_files_are_never_committed_or_diffed(repo: Path) -> None:
    (repo / "notes.txt").write_text("my scratch notes\n")
    ws = Workspace.open_repo(repo, "work")
    ws.write("pkg/new.py", "z = 3\n")
    assert ws.changed_files() == ["pkg/new.py"]
    ws.commit("Add new", role="coder")
    assert _git(repo, "ls-files", "notes.txt") == ""
    assert (repo / "notes.txt").read_text() == "my scratch notes\n"
    assert ws.commit("nothing", role="coder") is None
    ws.write("notes.txt", "now the team's\n")  # written by the team: now it is the team's file
    ws.commit("Take notes", role="coder")
    assert _git(repo, "ls-files", "notes.txt").strip() == "notes.txt"


def test_diff_covers_commits_uncommitted_and_new_files_without_touching_the_index(
    repo: Path,
) -> None:
    ws = Workspace.open_repo(repo, "work")
    ws.write("pkg/core.py", "def f():\n    return 3\n")
    ws.commit("c1", role="coder")
    ws.write("pkg/util.py", "X = 2\n")  # uncommitted
    ws.write("pkg/fresh.py", "F = 1\n")  # new, untracked
    (repo / "README.md").unlink()  # deleted
    assert ws.changed_files() == ["README.md", "pkg/core.py", "pkg/fresh.py", "pkg/util.py"]
    text = ws.diff()
    assert "diff --git a/pkg/fresh.py b/pkg/fresh.py" in text and "+F = 1" in text
    assert "-# repo" in text and "+X = 2" in text
    assert _git(repo, "diff", "--cached", "--name-only") == ""  # the real index is untouched
    assert "?? pkg/fresh.py" in _git(repo, "status", "--porcelain")
    # against another base: only what changed since the first commit of the user's
    first = _git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    assert "pkg/util.py" in ws.changed_files(first)


def test_a_long_diff_is_cut_at_a_line_with_a_marker(repo: Path) -> None:
    ws = Workspace.open_repo(repo, "work")
    for i in range(30):
        ws.write(f"gen/m{i:02d}.py", "".join(f"v{j} = {j}\n" for j in range(50)))
    text = ws.diff(max_chars=2000)
    assert len(text) < 2400 and text.count("\n[... diff truncated: ") == 1
    marker = text.splitlines()[-1]
    assert marker.endswith("]") and "files not shown: gen/m04.py," in marker
    assert marker.endswith("and 6 more]")  # 26 files left out, 20 named
    assert "truncated" not in ws.diff()  # the default cap is well above 18 kB


def test_a_fresh_workspace_diffs_against_the_empty_tree(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    assert ws.base is None and ws.branch == "main" and ws.diff() == ""
    ws.write("m.py", "x = 1\n")
    ws.commit("Write", role="coder")
    ws.write("n.py", "y = 2\n")
    assert ws.changed_files() == ["m.py", "n.py"]
    assert "+x = 1" in ws.diff() and "+y = 2" in ws.diff()


def test_restore_brings_files_back_without_moving_head(repo: Path) -> None:
    ws = Workspace.open_repo(repo, "work")
    base = ws.base
    assert base
    ws.write("pkg/core.py", "broken(\n")
    ws.write("pkg/added.py", "A = 1\n")
    ws.commit("A bad step", role="coder")
    head = ws.head()
    ws.write("pkg/util.py", "X = 99\n")

    assert ws.restore(base, ["pkg/core.py"]) == ["pkg/core.py"]
    assert ws.read("pkg/core.py") == "def f():\n    return 1\n"
    assert ws.read("pkg/util.py") == "X = 99\n" and ws.head() == head

    restored = ws.restore(base)  # everything that changed since base
    assert restored == ["pkg/added.py", "pkg/util.py"]
    assert not (repo / "pkg" / "added.py").exists() and ws.read("pkg/util.py") == "X = 1\n"
    assert ws.head() == head and ws.changed_files() == []
    sha = ws.commit("Undo the bad step", role="coder")
    assert sha and _git(repo, "diff", "--name-only", base, sha) == ""


def test_restore_deletes_files_that_did_not_exist_and_prunes_empty_folders(repo: Path) -> None:
    ws = Workspace.open_repo(repo, "work")
    assert ws.base
    ws.write("deep/er/new.py", "n = 1\n")
    ws.restore(ws.base, ["deep/er/new.py"])
    assert not (repo / "deep").exists()


def test_restore_refuses_an_unknown_commit_and_an_escaping_path(repo: Path) -> None:
    ws = Workspace.open_repo(repo, "work")
    with pytest.raises(WorkspaceError, match="is not a commit"):
        ws.restore("no-such-ref")
    assert ws.base
    with pytest.raises(PathEscapeError):
        ws.restore(ws.base, ["../outside.py"])


def test_files_lists_tracked_and_new_files_but_not_ignored_ones(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    ws.write(".gitignore", "build/\n")
    ws.write("build/out.txt", "generated")
    ws.write("pkg/m.py", "x = 1\n")
    ws.write("pkg/__pycache__/m.cpython-311.pyc", b"\0")
    assert ws.files() == ["pkg/m.py"]
    assert ws.files(text_only=False) == [".gitignore", "pkg/m.py"]


def test_resuming_on_the_branch_keeps_a_crashed_steps_edits_and_new_files(repo: Path) -> None:
    (repo / "notes.txt").write_text("mine\n")
    ws = Workspace.open_repo(repo, "work")
    ws.write("pkg/core.py", "half-written\n")  # a step that crashed before its commit
    ws.write("pkg/half.py", "H = 1\n")

    again = Workspace.open_repo(repo, "work")  # still on "work": not refused
    assert again.read("pkg/core.py") == "half-written\n"
    assert again.changed_files() == ["pkg/core.py", "pkg/half.py"]  # notes.txt stays the user's
    again.commit("Finish the step", role="coder")
    assert _git(repo, "ls-files", "pkg/half.py").strip() == "pkg/half.py"
    assert _git(repo, "ls-files", "notes.txt") == ""

    # switching to the branch with uncommitted edits is still refused
    _git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("# edited on main\n")
    with pytest.raises(WorkspaceError, match="commit or stash them first"):
        Workspace.open_repo(repo, "work")


HOOKS = [
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "reference-transaction",
    "post-index-change",
]


def test_the_users_git_hooks_never_run_on_the_teams_git_commands(
    repo: Path, tmp_path: Path
) -> None:
    log = tmp_path / "hooks.log"
    hooks = repo / ".git" / "hooks"
    for name in HOOKS:
        (hooks / name).write_text(f"#!/bin/sh\necho {name} >> {log}\nexit 0\n")
        (hooks / name).chmod(0o755)
    # control: the hooks are live for the user's own git commands
    _git(repo, "commit", "-q", "--allow-empty", "-m", "user's own")
    assert {"pre-commit", "commit-msg", "post-commit"} <= set(log.read_text().split())
    log.unlink()

    ws = Workspace.open_repo(repo, "devteam/hooks")  # a checkout: post-checkout would run
    ws.write("pkg/core.py", "def f():\n    return 2\n")
    assert ws.commit("Change f", role="coder")
    ws.restore(ws.base or "", ["pkg/core.py"])
    assert ws.commit("Undo", role="ceo")
    assert not log.exists(), log.read_text()
