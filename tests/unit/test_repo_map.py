from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from devteam.workspace.repo_map import (
    PYTEST_COMMAND,
    command_for_tests,
    detect_test_command,
    relevant_files,
    repo_map,
)


def _repo(
    root: Path, files: Mapping[str, str | bytes], *, untracked: dict[str, str] | None = None
) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    who = {"NAME": "t", "EMAIL": "t@example.com"}
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    env |= {f"GIT_{role}_{k}": v for role in ("AUTHOR", "COMMITTER") for k, v in who.items()}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    for rel, content in (untracked or {}).items():
        (root / rel).write_text(content)
    return root


CART = '''"""Shopping cart."""

import dataclasses


class Cart(dict):
    """A cart of items.

    More text that is not shown.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner

    def add_item(self, sku: str, qty: int = 1) -> None:
        """Add qty of sku."""

    def _internal(self) -> None: ...

    @property
    def total(self) -> float:
        return 0.0


async def checkout(cart: Cart, *, coupon: str | None = None) -> str:
    """Pay for the cart and return the order id."""
    return "x"


def _helper() -> None: ...


CONSTANT = 3
'''

SHOP: dict[str, str | bytes] = {
    "README.md": "# shop\n",
    "pyproject.toml": '[project]\nname = "shop"\n',
    "shop/__init__.py": "",
    "shop/cart.py": CART,
    "shop/broken.py": "def oops(:\n    pass\n",
    "shop/static/logo.png": b"\x89PNG\r\n\x1a\n\0\0\0binary",
    "shop/data.bin.txt": "looks like text\0but has a NUL\n",
    "node_modules/left-pad/index.js": "module.exports = 1\n",
    "package-lock.json": "{}\n",
    "web/app.js": "console.log(1)\n",
    "tests/test_cart.py": "from shop.cart import Cart\n\ndef test_cart():\n    assert Cart('me')\n",
    "docs/guide.md": "# Guide\n",
    "scripts/release.sh": "echo release\n",
}


def test_the_map_lists_symbols_in_relevance_order_and_skips_noise(tmp_path: Path) -> None:
    root = _repo(tmp_path / "shop", SHOP, untracked={"scratch.py": "def mine(): ...\n"})
    text = repo_map(root)
    lines = text.splitlines()
    assert lines[:2] == ["README.md", "pyproject.toml"]
    order = [ln for ln in lines if not ln.startswith(" ")]
    assert order == [
        "README.md", "pyproject.toml", "shop/__init__.py", "shop/broken.py", "shop/cart.py",
        "web/app.js", "tests/test_cart.py", "scripts/release.sh", "docs/guide.md",
    ]  # fmt: skip
    assert "  class Cart(dict)  # A cart of items." in lines
    assert "    def __init__(self, owner: str) -> None" in lines
    assert "    def add_item(self, sku: str, qty: int=1) -> None  # Add qty of sku." in lines
    assert "    @property def total(self) -> float" in lines
    assert (
        "  async def checkout(cart: Cart, *, coupon: str | None=None) -> str"
        "  # Pay for the cart and return the order id." in lines
    )
    assert "  (private: _helper)" in lines
    assert "  (not parsed: syntax error at line 1)" in lines
    for absent in ("_internal", "More text", "CONSTANT", "logo.png", "node_modules",
                   "package-lock", "data.bin", "scratch.py"):  # fmt: skip
        assert absent not in text


@pytest.mark.parametrize("max_chars", [60, 150, 300, 500])
def test_the_map_is_cut_to_size_with_a_count_of_what_is_left(
    tmp_path: Path, max_chars: int
) -> None:
    root = _repo(tmp_path / "shop", SHOP)
    full = repo_map(root, max_chars=100_000)
    assert "more files" not in full
    text = repo_map(root, max_chars=max_chars)
    assert len(text) <= max_chars
    shown = [ln for ln in text.splitlines()[:-1] if not ln.startswith(" ")]
    assert text.splitlines()[-1] == f"... {9 - len(shown)} more files"
    kept = [ln for ln in text.splitlines()[:-1] if ln != "  ..."]
    assert full.splitlines()[: len(kept)] == kept  # a prefix of the full map, in order


def test_a_file_too_big_to_fit_whole_shows_its_first_symbols(tmp_path: Path) -> None:
    big = "".join(f"def function_number_{i}(x: int) -> int: ...\n" for i in range(100))
    root = _repo(tmp_path / "r", {"pkg/big.py": big, "pkg/small.py": "def s(): ...\n"})
    text = repo_map(root, max_chars=400)
    lines = text.splitlines()
    assert lines[0] == "pkg/big.py" and "  def function_number_0(x: int) -> int" in lines
    assert lines[-2:] == ["  ...", "... 1 more files"] and len(text) <= 400


def test_a_folder_that_is_not_a_git_repository_is_walked(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f(a, b=2):\n    '''Add.'''\n")
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "x.py").write_text("def vendored(): ...\n")
    assert repo_map(tmp_path) == "m.py\n  def f(a, b=2)  # Add.\n"
    assert repo_map(tmp_path / "empty-not-there") == ""


# -- detect_test_command ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        {"tests/test_a.py": "def test_a():\n    assert 1\n"},
        {"test_a.py": "import pytest\n\n@pytest.mark.x\ndef test_a(): ...\n"},
        {"pkg/a.py": "", "tests/helpers.py": "X = 1\n"},  # a tests/ folder
        {"pkg/a.py": "", "conftest.py": ""},
        {"pkg/a.py": "", "pytest.ini": "[pytest]\n"},
        {"pkg/a.py": "", "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"},
        {"pkg/a.py": "", "setup.cfg": "[tool:pytest]\ntestpaths = t\n"},
        {"pkg/a.py": "", "tox.ini": "[tox]\n[pytest]\n"},
        {  # mixed: one unittest module, one pytest module
            "tests/test_a.py": "import unittest\nclass T(unittest.TestCase): ...\n",
            "tests/test_b.py": "def test_b(): ...\n",
        },
    ],
)
def test_pytest_is_detected(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    assert detect_test_command(_repo(tmp_path / "r", files)) == PYTEST_COMMAND


def test_unittest_only_repositories_get_unittest_discover(tmp_path: Path) -> None:
    ut = "import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self): ...\n"
    plain = _repo(tmp_path / "a", {"tests/test_a.py": ut, "m.py": ""})
    assert detect_test_command(plain) == ["python3", "-m", "unittest", "discover", "-s", "tests"]
    pkg = _repo(tmp_path / "b", {"tests/__init__.py": "", "tests/test_a.py": ut})
    assert detect_test_command(pkg) == [
        "python3", "-m", "unittest", "discover", "-s", "tests", "-t", ".",
    ]  # fmt: skip
    top = _repo(tmp_path / "c", {"test_a.py": ut, "lib/test_b.py": ut})
    assert detect_test_command(top) == ["python3", "-m", "unittest", "discover"]


def test_no_tests_means_none(tmp_path: Path) -> None:
    root = _repo(tmp_path / "r", {"m.py": "x = 1\n", "pyproject.toml": "[project]\nname='m'\n"})
    assert detect_test_command(root) is None


def test_a_broken_pyproject_is_not_an_error(tmp_path: Path) -> None:
    assert detect_test_command(_repo(tmp_path / "r", {"pyproject.toml": "[[[nope"})) is None


# -- relevant_files ---------------------------------------------------------------------------


def test_relevant_files_rank_by_shared_words(tmp_path: Path) -> None:
    root = _repo(
        tmp_path / "r",
        {
            "shop/cart.py": CART,
            "shop/payment_gateway.py": "class StripeClient:\n    def charge(self): ...\n",
            "shop/inventory.py": "def restock(sku): ...\n",
            "tests/test_cart.py": "def test_cart(): ...\n",
            "docs/payments.md": "# Payments\n",
        },
    )
    assert relevant_files(root, "Add a discount coupon to the cart checkout") == [
        "shop/cart.py",
        "tests/test_cart.py",
    ]
    assert relevant_files(root, "Payments fail when the Stripe gateway charges twice")[:2] == [
        "shop/payment_gateway.py",
        "docs/payments.md",
    ]
    assert relevant_files(root, "restock inventory", limit=1) == ["shop/inventory.py"]
    assert relevant_files(root, "the and of") == []
    assert relevant_files(root, "cart", limit=0) == []
    # deterministic
    q = "cart payment inventory checkout"
    assert relevant_files(root, q) == relevant_files(root, q)


def test_unittest_gives_way_to_pytest_only_for_test_files_unittest_would_skip(
    tmp_path: Path,
) -> None:
    unittest_cmd = ["python3", "-m", "unittest", "discover", "-s", "tests"]
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_a.py").write_text(
        "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n"
    )
    (tmp_path / "tests/test_b.py").write_text("def test_b():\n    assert True\n")
    assert command_for_tests(tmp_path, unittest_cmd, ["tests/test_a.py"]) == unittest_cmd
    assert command_for_tests(tmp_path, unittest_cmd, []) == unittest_cmd
    assert command_for_tests(tmp_path, unittest_cmd, ["tests/test_b.py"]) == PYTEST_COMMAND
    assert command_for_tests(tmp_path, ["make", "test"], ["tests/test_b.py"]) == ["make", "test"]
