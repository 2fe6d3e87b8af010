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

import re
from pathlib import Path

from devteam.workspace.repo_files import list_files, tier
from devteam.workspace.symbols import Entry, python_symbols
from devteam.workspace.test_command import PYTEST_COMMAND, command_for_tests, detect_test_command

__all__ = [
    "PYTEST_COMMAND",
    "command_for_tests",
    "detect_test_command",
    "relevant_files",
    "repo_map",
]

_STOPWORDS = {
    "the", "and", "for", "with", "that", "this", "from", "into", "when", "then", "than", "are",
    "was", "use", "add", "make", "should", "must", "can", "not", "all", "any", "but", "its",
    "has", "have", "will", "new", "get", "set", "one", "two", "file", "files", "function",
    "code", "please", "also", "so", "it", "to", "of", "in", "on", "a", "an", "is", "be", "by",
    "or", "as", "at", "if", "py", "def", "self", "return", "returns", "init",
}  # fmt: skip


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
            python_symbols(root / entry.path, entry)
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


def _entries(root: Path, *, symbols: bool = True) -> list[Entry]:
    entries = []
    for rel in list_files(root):
        entry = Entry(rel, tier(rel))
        if symbols and rel.endswith(".py"):
            python_symbols(root / rel, entry)
        entries.append(entry)
    entries.sort(key=lambda e: (e.tier, e.path))
    return entries


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
