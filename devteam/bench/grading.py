"""Grading: the solver's source files plus the hidden tests, in a fresh sandbox.

Only source files go across: tests the solver wrote (``tests/``, ``test_*.py``,
``*_test.py``, ``conftest.py``) and anything that is not Python stay behind, so neither the
solver's tests nor its pytest configuration can change the verdict. The hidden tests go into
their own folder, ``bench_hidden_tests/``, and run with ``python3 -m pytest`` (the working
directory is on sys.path, so they import the solver's modules). Pass = exit code 0.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from devteam.bench.tasks import HIDDEN_DIR, Task
from devteam.config import SandboxSettings
from devteam.sandbox import open_sandbox

PYTEST = ["python3", "-m", "pytest", "-q", "-rfE", "--tb=short", "-p", "no:cacheprovider"]
SKIP_DIRS = {".git", ".devteam", "__pycache__", ".pytest_cache", "tests", "test", HIDDEN_DIR}


class Grade(BaseModel):
    passed: bool
    exit_code: int
    timed_out: bool = False
    failing_tests: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list, description="the source files graded")
    duration_s: float = 0.0
    output_tail: str = ""


def is_source_file(path: str) -> bool:
    """A Python file that is not a test, a conftest or outside the project (no ``..``)."""
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or p.suffix != ".py":
        return False
    if any(part in SKIP_DIRS or part.startswith(".") for part in p.parts[:-1]):
        return False
    name = p.name
    return not (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def source_files(files: Mapping[str, str]) -> dict[str, str]:
    return {path: text for path, text in files.items() if is_source_file(path)}


def read_tree(root: Path) -> dict[str, str]:
    """The Python files under ``root`` (a solver's workspace), as path -> text."""
    out: dict[str, str] = {}
    if not root.is_dir():
        return out
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        try:
            out[rel.as_posix()] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return out


def grade(task: Task, files: Mapping[str, str], settings: SandboxSettings, folder: Path) -> Grade:
    """Write the source files and the hidden tests into ``folder``; run them in a new sandbox."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sources = source_files(files)
    for rel, text in sources.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    hidden = folder / HIDDEN_DIR
    hidden.mkdir()
    for name, text in task.hidden_tests.items():
        (hidden / name).write_text(text, encoding="utf-8")
    started = time.monotonic()
    with open_sandbox(settings, workspace=folder) as sandbox:
        result = sandbox.exec([*PYTEST, HIDDEN_DIR], timeout_s=settings.timeout_s)
    output = (result.stdout + ("\n" + result.stderr if result.stderr.strip() else "")).strip()
    (folder / "grade-output.txt").write_text(output + "\n", encoding="utf-8")
    return Grade(
        passed=result.ok,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        failing_tests=result.failing_tests,
        files=sorted(sources),
        duration_s=time.monotonic() - started,
        output_tail=output[-600:],
    )
