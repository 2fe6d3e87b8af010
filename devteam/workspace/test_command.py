"""How an existing repository runs its own tests: pytest or unittest, read from its files."""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path, PurePosixPath

from devteam.workspace.repo_files import in_test_dir, is_test_file, list_files

PYTEST_COMMAND = ["python3", "-m", "pytest", "-q", "-rfE", "--tb=short", "-p", "no:cacheprovider"]


def detect_test_command(root: Path) -> list[str] | None:
    """The command that runs the repository's own tests, or None when it has none.

    pytest when there is pytest configuration, a ``conftest.py``, or test files that are not
    (only) unittest-style; ``python3 -m unittest discover`` when every test file is a
    ``unittest.TestCase`` module.
    """
    files = list_files(root)
    if _has_pytest_config(root) or any(PurePosixPath(f).name == "conftest.py" for f in files):
        return list(PYTEST_COMMAND)
    tests = [f for f in files if is_test_file(f)]
    if not tests:
        if any(in_test_dir(f) and f.endswith(".py") for f in files):
            return list(PYTEST_COMMAND)
        return None
    if not all(_is_unittest_style(root / f) for f in tests):
        return list(PYTEST_COMMAND)
    command = ["python3", "-m", "unittest", "discover"]
    tops = {PurePosixPath(f).parts[0] if len(PurePosixPath(f).parts) > 1 else "." for f in tests}
    if len(tops) == 1 and (top := tops.pop()) != ".":
        command += ["-s", top]
        if (root / top / "__init__.py").is_file():
            command += ["-t", "."]
    if all(not PurePosixPath(f).name.startswith("test") for f in tests):
        command += ["-p", "*_test.py"]
    return command


def command_for_tests(root: Path, command: list[str], test_files: list[str]) -> list[str]:
    """``command``, unless it is unittest's and a test file the team wrote is not a
    ``unittest.TestCase`` module (unittest would skip it): then pytest, which runs both."""
    if command[:3] != ["python3", "-m", "unittest"]:
        return command
    if all(_is_unittest_style(root / f) for f in test_files if (root / f).is_file()):
        return command
    return list(PYTEST_COMMAND)


def _has_pytest_config(root: Path) -> bool:
    if (root / "pytest.ini").is_file():
        return True
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            tool = {}
        if isinstance(tool, dict) and "pytest" in tool:
            return True
    for name, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        cfg = root / name
        if cfg.is_file():
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read(cfg, encoding="utf-8")
            except (configparser.Error, OSError, UnicodeDecodeError):
                continue
            if parser.has_section(section):
                return True
    return False


_UNITTEST_RE = re.compile(r"^\s*(import unittest|from unittest\b)", re.MULTILINE)
_PYTEST_RE = re.compile(r"^\s*(import pytest|from pytest\b)|@pytest\.", re.MULTILINE)
_BARE_TEST_RE = re.compile(r"^(async )?def test", re.MULTILINE)  # top level: pytest only


def _is_unittest_style(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(_UNITTEST_RE.search(text)) and not (
        _PYTEST_RE.search(text) or _BARE_TEST_RE.search(text)
    )
