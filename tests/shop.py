"""The buggy shop both the repository-mode tests and the bot's tests fix: its files, the
replies of a team that fixes it, and git for the test's own repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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
CART = (
    '"""A shopping cart."""\n\n\ndef total(prices, discount=0):\n'
    '    """Sum of prices less the discount."""\n    return sum(prices) - discount\n'
)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def write_shop(root: Path, test_cart: str) -> None:
    """The shop's package (with the bug) and ``tests/test_cart.py`` under ``root``."""
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "shop/__init__.py").write_text("")
    (root / "shop/cart.py").write_text(CART)
    (root / "tests/test_cart.py").write_text(test_cart)


def commit_start(root: Path, *paths: str) -> None:
    """A new repository at ``root`` on ``main``, ``paths`` (default: all) in its first commit."""
    git(root, "init", "-q", "-b", "main")
    git(root, "add", *(paths or (".",)))
    git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "start")
