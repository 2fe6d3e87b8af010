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
