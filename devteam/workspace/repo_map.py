"""A compact picture of an existing repository, for a model prompt (incremental mode).

- ``repo_map``: the tracked files, most relevant first (project metadata, package code, other
  code, tests, scripts/examples, docs and the rest), with the top-level classes, functions and
  public methods of each Python file (signature and first docstring line), cut to a size.
- ``detect_test_command``: how the repository runs its own tests (pytest or unittest).
- ``relevant_files``: the files whose path and symbol names share most words with a request,
  to choose which files to show a model in full.

Everything is read from disk and git, never imported or executed. Binary, vendored, lock and
huge files are left out.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_SOURCE_BYTES = 512_000  # larger files are left out of the map
MAX_SIGNATURE_CHARS = 100
MAX_DOC_CHARS = 72
MAX_PRIVATE_NAMES = 8

PYTEST_COMMAND = ["python3", "-m", "pytest", "-q", "-rfE", "--tb=short", "-p", "no:cacheprovider"]

_VENDORED_DIRS = {
    "node_modules", "vendor", "vendored", "third_party", "third-party", "site-packages",
    ".venv", "venv", "env", ".tox", ".nox", ".eggs", "__pycache__", ".git", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", "dist", "build",
}  # fmt: skip
_LOCK_FILES = {
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "uv.lock", "Pipfile.lock",
    "Cargo.lock", "go.sum", "composer.lock", "Gemfile.lock",
}  # fmt: skip
_BINARY_SUFFIXES = {
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".svgz", ".pdf", ".zip", ".gz",
    ".tgz", ".bz2", ".xz", ".zst", ".7z", ".tar", ".whl", ".egg", ".jar", ".so", ".dylib",
    ".dll", ".exe", ".bin", ".o", ".a", ".pyc", ".pyo", ".class", ".woff", ".woff2", ".ttf",
    ".otf", ".eot", ".mp3", ".mp4", ".wav", ".ogg", ".avi", ".mov", ".sqlite", ".db", ".gguf",
    ".npy", ".npz", ".pkl", ".pickle", ".parquet", ".onnx", ".pt", ".safetensors", ".h5",
}  # fmt: skip
_CODE_SUFFIXES = {
    ".js", ".jsx", ".ts", ".tsx", ".mjs", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp",
    ".java", ".kt", ".rb", ".php", ".cs", ".swift", ".scala", ".sh", ".bash", ".pyx", ".pyi",
    ".sql", ".lua", ".r", ".jl", ".ex", ".exs", ".hs", ".ml", ".zig", ".vue", ".svelte",
}  # fmt: skip
_PROJECT_FILES = {
    "pyproject.toml", "setup.py", "setup.cfg", "package.json", "cargo.toml", "go.mod",
    "makefile", "requirements.txt", "requirements-dev.txt", "tox.ini", "pytest.ini",
    "dockerfile", "manifest.in",
}  # fmt: skip
_TEST_DIRS = {"tests", "test", "testing"}
_AUX_DIRS = {
    "examples", "example", "scripts", "bench", "benchmarks", "tools", "ci", ".ci", ".github",
    "contrib", "misc",
}  # fmt: skip
_DOC_DIRS = {"docs", "doc", "documentation"}
_STOPWORDS = {
    "the", "and", "for", "with", "that", "this", "from", "into", "when", "then", "than", "are",
    "was", "use", "add", "make", "should", "must", "can", "not", "all", "any", "but", "its",
    "has", "have", "will", "new", "get", "set", "one", "two", "file", "files", "function",
    "code", "please", "also", "so", "it", "to", "of", "in", "on", "a", "an", "is", "be", "by",
    "or", "as", "at", "if", "py", "def", "self", "return", "returns", "init",
}  # fmt: skip


@dataclass
class _Entry:
    path: str
    tier: int
    lines: list[str] = field(default_factory=list)  # symbol lines (indented)
    symbols: list[str] = field(default_factory=list)  # bare names, for relevance


# -- public API ------------------------------------------------------------------------------


def repo_map(root: Path, max_chars: int = 6000) -> str:
    """The files of the repository at ``root``, most relevant first, each Python file with
    its top-level classes, functions and public methods; at most ``max_chars`` characters,
    ending with ``... N more files`` when not everything fits."""
    entries = _entries(root, symbols=False)
    out: list[str] = []
    used = 0
    for i, entry in enumerate(entries):
        if entry.path.endswith(".py"):  # parsed only when its turn comes
            _python_symbols(root / entry.path, entry)
        left = len(entries) - i
        reserve = len(f"... {left} more files\n") if left > 1 else 0
        block = [entry.path, *entry.lines]
        size = sum(len(line) + 1 for line in block)
        if used + size + reserve <= max_chars:
            out.extend(block)
            used += size
            continue
        # The first file that does not fit whole: its path and those of its symbols that fit.
        reserve = len(f"... {left} more files\n")
        partial, size = [entry.path], len(entry.path) + 1 + len("  ...\n")
        for line in entry.lines:
            if used + size + len(line) + 1 + reserve > max_chars:
                break
            partial.append(line)
            size += len(line) + 1
        if used + size + reserve <= max_chars:
            out.extend([*partial, "  ..."])
            left -= 1
        out.append(f"... {left} more files")
        break
    return "\n".join(out) + ("\n" if out else "")


def detect_test_command(root: Path) -> list[str] | None:
    """The command that runs the repository's own tests, or None when it has none.

    pytest when there is pytest configuration, a ``conftest.py``, or test files that are not
    (only) unittest-style; ``python3 -m unittest discover`` when every test file is a
    ``unittest.TestCase`` module.
    """
    files = _list_files(root)
    if _has_pytest_config(root) or any(PurePosixPath(f).name == "conftest.py" for f in files):
        return list(PYTEST_COMMAND)
    tests = [f for f in files if _is_test_file(f)]
    if not tests:
        if any(_in_test_dir(f) and f.endswith(".py") for f in files):
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


def relevant_files(root: Path, query: str, limit: int = 5) -> list[str]:
    """Up to ``limit`` files whose path and symbol names share most words with ``query``.

    Each word of the query found in the path counts 3, among the symbol names 1 (words match
    when equal or when the shorter, of 4+ letters, starts the longer: "checkpoint" and
    "checkpointer"). Ties go to package code before tests and docs, then to the path. Files
    sharing no word are not returned.
    """
    words = _words(query)
    if not words or limit <= 0:
        return []
    scored: list[tuple[int, int, str]] = []
    for entry in _entries(root):
        path_words = _words(entry.path.replace("/", " ").replace(".", " "))
        symbol_words = _words(" ".join(entry.symbols))
        score = sum(3 * _shares(word, path_words) + _shares(word, symbol_words) for word in words)
        if score:
            scored.append((-score, entry.tier, entry.path))
    return [path for _, _, path in sorted(scored)[:limit]]


# -- files -----------------------------------------------------------------------------------


def _list_files(root: Path) -> list[str]:
    """Tracked files (git ls-files), or every file when ``root`` is not a git work tree;
    vendored, lock, binary, huge files and symlinks left out."""
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=root,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=True,
            env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
        )
        candidates = sorted({p for p in proc.stdout.split("\0") if p})
    except (OSError, subprocess.CalledProcessError):
        candidates = sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if not _VENDORED_DIRS & set(p.relative_to(root).parts)
        )
    return [rel for rel in candidates if _keep(root, rel)]


def _keep(root: Path, rel: str) -> bool:
    pure = PurePosixPath(rel)
    if _VENDORED_DIRS & set(pure.parts[:-1]) or pure.name in _LOCK_FILES:
        return False
    if pure.suffix.lower() in _BINARY_SUFFIXES or pure.name.endswith((".min.js", ".min.css")):
        return False
    path = root / rel
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
            return False
        with path.open("rb") as fh:
            return b"\0" not in fh.read(4096)
    except OSError:
        return False


def _tier(rel: str) -> int:
    pure = PurePosixPath(rel)
    parts = [p.lower() for p in pure.parts]
    name = parts[-1]
    if len(parts) == 1 and (name in _PROJECT_FILES or name.startswith("readme")):
        return 0
    if _is_test_file(rel) or _in_test_dir(rel):
        return 3
    if parts[0] in _DOC_DIRS:
        return 5
    if parts[0] in _AUX_DIRS:
        return 4
    suffix = pure.suffix.lower()
    if suffix == ".py":
        return 1
    if suffix in _CODE_SUFFIXES:
        return 2
    return 5


def _is_test_file(rel: str) -> bool:
    name = PurePosixPath(rel).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _in_test_dir(rel: str) -> bool:
    return bool(_TEST_DIRS & {p.lower() for p in PurePosixPath(rel).parts[:-1]})


def _entries(root: Path, *, symbols: bool = True) -> list[_Entry]:
    entries = []
    for rel in _list_files(root):
        entry = _Entry(rel, _tier(rel))
        if symbols and rel.endswith(".py"):
            _python_symbols(root / rel, entry)
        entries.append(entry)
    entries.sort(key=lambda e: (e.tier, e.path))
    return entries


# -- Python symbols --------------------------------------------------------------------------


def _python_symbols(path: Path, entry: _Entry) -> None:
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        entry.lines.append(f"  (not parsed: syntax error at line {exc.lineno})")
        return
    except (OSError, ValueError, RecursionError):
        entry.lines.append("  (not parsed)")
        return
    private: list[str] = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        entry.symbols.append(node.name)
        if node.name.startswith("_") and not node.name.startswith("__"):
            private.append(node.name)
        elif isinstance(node, ast.ClassDef):
            bases = ", ".join(_unparse(b) for b in node.bases)
            head = f"class {node.name}({bases})" if bases else f"class {node.name}"
            entry.lines.append(f"  {head}{_doc(node)}")
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    entry.symbols.append(item.name)
                    if _public(item.name):
                        entry.lines.append(f"    {_signature(item)}{_doc(item)}")
        else:
            entry.lines.append(f"  {_signature(node)}{_doc(node)}")
    if private:
        names = ", ".join(private[:MAX_PRIVATE_NAMES])
        more = (
            f" and {len(private) - MAX_PRIVATE_NAMES} more"
            if len(private) > MAX_PRIVATE_NAMES
            else ""
        )
        entry.lines.append(f"  (private: {names}{more})")


def _public(name: str) -> bool:
    return not name.startswith("_") or name in {"__init__", "__call__"}


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    deco = "".join(
        f"@{name} "
        for d in node.decorator_list
        if (name := _unparse(d)) in {"property", "staticmethod", "classmethod"}
    )
    sig = f"{deco}{prefix} {node.name}({_unparse(node.args)})"
    if node.returns is not None:
        sig += f" -> {_unparse(node.returns)}"
    if len(sig) > MAX_SIGNATURE_CHARS:
        sig = sig[: MAX_SIGNATURE_CHARS - 4] + "...)"
    return sig


def _doc(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = ast.get_docstring(node, clean=True)
    if not doc:
        return ""
    first = doc.strip().splitlines()[0].strip()
    if len(first) > MAX_DOC_CHARS:
        first = first[: MAX_DOC_CHARS - 3] + "..."
    return f"  # {first}"


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except (ValueError, RecursionError):  # pragma: no cover - malformed trees only
        return "..."


# -- tests -----------------------------------------------------------------------------------


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


# -- words -----------------------------------------------------------------------------------


def _shares(word: str, others: set[str]) -> bool:
    if word in others:
        return True
    return any(
        min(len(word), len(o)) >= 4 and (o.startswith(word) or word.startswith(o)) for o in others
    )


_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT_RE = re.compile(r"[^A-Za-z0-9]+")


def _words(text: str) -> set[str]:
    """Lower-case words of ``text``: camelCase and snake_case split, plural ``s`` dropped,
    short and common words left out."""
    out = set()
    for chunk in _SPLIT_RE.split(_CAMEL_RE.sub(" ", text)):
        word = chunk.lower()
        if len(word) < 3 or word in _STOPWORDS or word.isdigit():
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.add(word)
    return out
