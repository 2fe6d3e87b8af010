"""Incremental mode: the team changes an existing git repository on a branch and runs the
repository's own tests in the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devteam.config import DockerSandboxSettings, Settings
from devteam.events import SandboxRun, read_audit_log
from devteam.llm.scripted import ScriptedModel, by_role
from devteam.team import Team
from tests.shop import EDIT, SPEC, TESTS, commit_start, git, write_shop

pytestmark = pytest.mark.docker

TASK = "Fix the bug in shop/cart.py: total() must apply the discount as a percentage."


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop-repo"
    write_shop(
        root,
        "import os\n\nfrom shop.cart import total\n\n\ndef test_no_discount():\n"
        "    assert total([1, 2]) == 3\n\n\n"
        "def test_ignored_files_stay_on_the_host():\n"
        "    assert not os.path.exists('.env') and not os.path.exists('.venv')\n"
        "    assert os.path.exists('notes.txt')  # untracked but not ignored: copied\n",
    )
    (root / ".gitignore").write_text(".env\n.venv/\n")
    (root / "notes.txt").write_text("mine, untracked\n")
    (root / ".env").write_text("SECRET=never-in-the-sandbox\n")
    (root / ".venv/bin").mkdir(parents=True)
    (root / ".venv/bin/python").write_text("#!/bin/sh\n")
    commit_start(root, "shop", "tests", ".gitignore")
    return root


def test_the_team_fixes_a_repository_on_a_branch(
    tmp_path: Path, repo: Path, docker_sandbox_settings: DockerSandboxSettings
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
    # the repository's own tests and the tester's new one both ran in the sandbox and pass
    assert (repo / "tests/test_cart.py").read_text().startswith("import os")
    assert (repo / "tests/test_cart_2.py").is_file()
    runs = [e for e in read_audit_log(result.audit_log) if isinstance(e, SandboxRun)]
    assert runs[-1].exit_code == 0 and "3 passed" in runs[-1].output_tail, runs[-1]
    assert result.failing_tests == [] and result.tests_passed is True
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
    tmp_path: Path, repo: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    from devteam.errors import WorkspaceError

    (repo / "shop/cart.py").write_text("changed\n")
    settings = Settings(workspace_root=tmp_path / "ws", state_dir=tmp_path / "st")
    with pytest.raises(WorkspaceError, match="uncommitted"):
        Team(settings, model=ScriptedModel([])).run(TASK, run_id="x", repo=repo)


CALC_SPEC = json.dumps(
    {
        "goal": "mul(a, b) returns the product.",
        "files": ["calc.py"],
        "requirements": ["mul(a, b) returns a * b"],
        "acceptance_criteria": ["mul(3, 4) == 12"],
        "questions": [],
    }
)
UNITTEST_TESTS = """FILE: tests/test_mul.py
```python
import unittest

from calc import mul


class TestMul(unittest.TestCase):
    def test_mul(self):
        self.assertEqual(mul(3, 4), 12)
```
"""
CALC_FIX = """EDIT: calc.py
<<<<<<< SEARCH
    return a + b  # wrong
=======
    return a * b
>>>>>>> REPLACE
"""


def calc_repo(tmp_path: Path) -> Path:
    """A repository whose tests are unittest's, with a bug in ``mul``."""
    root = tmp_path / "calc-repo"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b  # wrong\n"
    )
    (root / "tests/test_add.py").write_text(
        "import unittest\n\nfrom calc import add\n\n\n"
        "class TestAdd(unittest.TestCase):\n    def test_add(self):\n"
        "        self.assertEqual(add(2, 3), 5)\n"
    )
    commit_start(root)
    return root


def test_a_unittest_only_repository_runs_its_tests_with_unittest_in_the_sandbox(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    root = calc_repo(tmp_path)
    accept = json.dumps({"checks": [{"met": True, "evidence": "test_mul"}]})
    model = ScriptedModel(
        by_role(
            {
                "ceo": [CALC_SPEC, accept],
                "tester": [UNITTEST_TESTS, "VERDICT: code\nREASON: mul adds."],
                "coder": [CALC_FIX, CALC_FIX],
                "reviewer": ['{"approved": true, "changes": []}'],
            }
        )
    )
    settings = Settings(
        workspace_root=tmp_path / "ws", state_dir=tmp_path / "st", sandbox=docker_sandbox_settings
    )
    result = Team(settings, model=model).run("Fix mul in calc.py", run_id="ut1", repo=root)

    assert result.status == "passed", result.reason
    runs = [e for e in read_audit_log(result.audit_log) if isinstance(e, SandboxRun)]
    assert runs and all(r.command[:3] == ["python3", "-m", "unittest"] for r in runs)
    # both test files ran: the repository's and the tester's
    assert "Ran 2 tests" in runs[-1].output_tail and "OK" in runs[-1].output_tail, runs[-1]
    assert "return a * b" in (root / "calc.py").read_text()


def test_pytest_style_tests_in_a_unittest_repository_are_run_not_skipped(
    tmp_path: Path, docker_sandbox_settings: DockerSandboxSettings
) -> None:
    """unittest's discovery skips plain test functions: a tester's pytest-style file in a
    unittest repository is run with pytest (which runs both kinds), so it can fail."""
    root = calc_repo(tmp_path)
    pytest_style = (
        "FILE: tests/test_mul.py\n```python\nfrom calc import mul\n\n\n"
        "def test_mul():\n    assert mul(3, 4) == 12\n```\n"
    )
    docstring = CALC_FIX.replace("    return a * b", '    """The product."""\n    return a + b')
    fix = (
        'EDIT: calc.py\n<<<<<<< SEARCH\n    """The product."""\n    return a + b\n=======\n'
        '    """The product."""\n    return a * b\n>>>>>>> REPLACE\n'
    )
    model = ScriptedModel(
        by_role(
            {
                "ceo": [CALC_SPEC, json.dumps({"checks": [{"met": True, "evidence": "t"}]})],
                "tester": [pytest_style, "VERDICT: code\nREASON: mul adds."],
                "coder": [docstring, fix],
                "reviewer": ['{"approved": true, "changes": []}'],
            }
        )
    )
    settings = Settings(
        workspace_root=tmp_path / "ws", state_dir=tmp_path / "st", sandbox=docker_sandbox_settings
    )
    result = Team(settings, model=model).run("Fix mul in calc.py", run_id="ut2", repo=root)

    runs = [e for e in read_audit_log(result.audit_log) if isinstance(e, SandboxRun)]
    assert [r.command[2] for r in runs] == ["pytest", "pytest"]
    assert runs[0].failing_tests == ["tests/test_mul.py::test_mul"]  # the wrong mul was caught
    assert result.status == "passed", result.reason
    assert "2 passed" in runs[-1].output_tail  # the repository's unittest test and the new one
    assert "return a * b" in (root / "calc.py").read_text()
