"""Incremental mode: the team changes an existing git repository on a branch and runs the
repository's own tests in the real sandbox."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from devteam.config import SandboxSettings, Settings
from devteam.llm.scripted import ScriptedModel, by_role
from devteam.team import Team

pytestmark = pytest.mark.docker

TASK = "Fix the bug in shop/cart.py: total() must apply the discount as a percentage."
SPEC = json.dumps(
    {
        "goal": "total() applies the discount as a percentage.",
        "files": ["shop/cart.py"],
        "requirements": ["total(prices, discount) returns sum(prices) * (1 - discount / 100)"],
        "acceptance_criteria": ["total([10, 10], 50) == 10"],
        "questions": [],
    }
)
TESTS = """FILE: tests/test_cart_2.py
```python
from shop.cart import total


def test_percentage_discount():
    assert total([10, 10], 50) == 10
```
"""
EDIT = """EDIT: shop/cart.py
<<<<<<< SEARCH
    return sum(prices) - discount
=======
    return sum(prices) * (1 - discount / 100)
>>>>>>> REPLACE
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop-repo"
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "shop/__init__.py").write_text("")
    (root / "shop/cart.py").write_text(
        '"""A shopping cart."""\n\n\ndef total(prices, discount=0):\n'
        '    """Sum of prices less the discount."""\n    return sum(prices) - discount\n'
    )
    (root / "tests/test_cart.py").write_text(
        "from shop.cart import total\n\n\ndef test_no_discount():\n    assert total([1, 2]) == 3\n"
    )
    (root / "notes.txt").write_text("mine, untracked\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "shop", "tests")
    git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "start")
    return root


def test_the_team_fixes_a_repository_on_a_branch(
    tmp_path: Path, repo: Path, docker_sandbox_settings: SandboxSettings
) -> None:
    model = ScriptedModel(
        by_role(
            {
                "ceo": [SPEC, json.dumps({"checks": [{"met": True, "evidence": "test"}]})],
                "tester": [TESTS],
                "coder": [EDIT],
                "reviewer": ['{"approved": true, "changes": []}'],
            }
        )
    )
    settings = Settings(
        workspace_root=tmp_path / "ws", state_dir=tmp_path / "st", sandbox=docker_sandbox_settings
    )
    result = Team(settings, model=model).run(TASK, run_id="fix1", repo=repo)

    assert result.status == "passed", result.reason
    assert result.branch == "devteam/fix1" and result.workspace == repo.resolve()
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "devteam/fix1"
    # the CEO saw a map of the repository, not the whole of it
    plan_prompt = model.calls[0][1][-1]["content"]
    assert "shop/cart.py" in plan_prompt and "def total(prices, discount=0)" in plan_prompt
    # the coder saw the file it edits; the edit kept the rest of the file
    cart = (repo / "shop/cart.py").read_text()
    assert '"""Sum of prices less the discount."""' in cart and "1 - discount / 100" in cart
    # the repository's own tests and the tester's new one both ran and pass
    assert (repo / "tests/test_cart.py").read_text().startswith("from shop.cart")
    assert (repo / "tests/test_cart_2.py").is_file()
    # main is untouched; the branch has role-authored commits; no README/PROVENANCE added
    assert "1 - discount" not in git(repo, "show", "main:shop/cart.py")
    authors = git(repo, "log", "--format=%an", "main..HEAD").split()
    assert set(authors) >= {"devteam"} and "tester" in " ".join(authors)
    assert not (repo / "README.md").exists() and not (repo / "PROVENANCE.json").exists()
    # the user's untracked file is neither committed nor lost
    assert (repo / "notes.txt").read_text() == "mine, untracked\n"
    assert "notes.txt" not in git(repo, "ls-tree", "-r", "--name-only", "HEAD")
    # the reviewer was shown a diff against the base
    review_prompt = next(m for r, m in model.calls if r == "reviewer")[-1]["content"]
    assert "-    return sum(prices) - discount" in review_prompt


def test_a_dirty_repository_is_refused_in_one_sentence(
    tmp_path: Path, repo: Path, docker_sandbox_settings: SandboxSettings
) -> None:
    from devteam.errors import WorkspaceError

    (repo / "shop/cart.py").write_text("changed\n")
    settings = Settings(workspace_root=tmp_path / "ws", state_dir=tmp_path / "st")
    with pytest.raises(WorkspaceError, match="uncommitted"):
        Team(settings, model=ScriptedModel([])).run(TASK, run_id="x", repo=repo)
