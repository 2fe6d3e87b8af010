"""The one reply format: which file each code block of a model's reply becomes.

The team and every bench strategy read replies with these functions, so a benchmark
compares strategies and never two parsers. A reply names files as ``FILE: path`` (or the
other spellings ``devteam.llm.parsing`` accepts) before a fenced block; unnamed blocks go
to the test file (when they look like tests) or to the next expected source file.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from devteam.llm.parsing import FileBlock, extract_files

#: Fence languages that never hold a project file.
NON_CODE_LANGS = frozenset(
    {"bash", "sh", "shell", "console", "text", "txt", "plaintext", "output", "diff", "json"}
    | {"yaml", "toml", "ini"}
)
#: Output kept for feedback: the head (where the command and first error are) and the
#: tail (where pytest's summary is).
FEEDBACK_HEAD = 600
FEEDBACK_TAIL = 2400


def strip_dot(path: str) -> str:
    """``./a.py`` -> ``a.py``; anything else (``../a.py`` included) unchanged."""
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def safe_path(path: str) -> str | None:
    """A relative POSIX path inside the project, or None (absolute, ``..``, dot folders)."""
    path = strip_dot(path)
    p = PurePosixPath(path)
    if not path or p.is_absolute():
        return None
    if any(part in ("", "..") or part.startswith(".") for part in p.parts):
        return None
    return p.as_posix()


def is_test_path(path: str) -> bool:
    """A pytest file: ``test_*.py``, ``*_test.py``, ``conftest.py``, or anything under tests/."""
    p = PurePosixPath(path)
    name = p.name
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or "tests" in p.parts[:-1]
    )


def looks_like_tests(content: str) -> bool:
    return "def test_" in content or "import pytest" in content


def assign_paths(
    blocks: list[FileBlock],
    sources: list[str],
    test_file: str | None,
    *,
    keep_unsafe: bool = False,
) -> dict[str, str]:
    """Name every code block: its own name, else the test file or the next expected source.

    - A named block whose file name (not folder) is an expected source's takes that
      source's path, so ``pkg/item.py`` lands on ``item.py`` when ``item.py`` was asked for.
    - ``test_file`` None: test files are dropped (the reply was asked for sources only).
    - A path that would leave the project is dropped, or with ``keep_unsafe`` kept as
      written so that the caller (the workspace) can refuse it and say so.
    """
    out: dict[str, str] = {}
    pending = list(sources)
    for block in blocks:
        path: str | None = None
        if block.path:
            path = safe_path(block.path)
            if path is None:
                if keep_unsafe:
                    out[strip_dot(block.path)] = block.content
                continue
        if path is None:
            if block.language in NON_CODE_LANGS:
                continue
            if looks_like_tests(block.content):
                if test_file is None or test_file in out:
                    continue
                path = test_file
            elif pending:
                path = pending[0]
            else:
                continue
        elif path not in sources and not is_test_path(path):
            same_name = [s for s in pending if PurePosixPath(s).name == PurePosixPath(path).name]
            path = same_name[0] if same_name else path
        if test_file is None and is_test_path(path):
            continue
        if path in pending:
            pending.remove(path)
        out[path] = block.content
    return out


def files_in(text: str, sources: list[str], test_file: str | None = None) -> dict[str, str]:
    """The files a whole-file reply holds, named by :func:`assign_paths` (unsafe ones dropped)."""
    return assign_paths(extract_files(text), sources, test_file)


def clip_output(stdout: str, stderr: str = "") -> str:
    """A command's output for a prompt: stdout then stderr, the middle cut when long."""
    output = (stdout + ("\n" + stderr if stderr.strip() else "")).strip()
    if len(output) > FEEDBACK_HEAD + FEEDBACK_TAIL:
        cut = len(output) - FEEDBACK_HEAD - FEEDBACK_TAIL
        output = (
            f"{output[:FEEDBACK_HEAD]}\n[... {cut} characters cut ...]\n{output[-FEEDBACK_TAIL:]}"
        )
    return output
