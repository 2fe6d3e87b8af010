"""Search/replace edits: how the coder changes a file without rewriting all of it.

The format (the one aider made familiar)::

    EDIT: path/to/file.py
    <<<<<<< SEARCH
    lines as they are now
    =======
    lines as they should be
    >>>>>>> REPLACE

A search text must occur in the file; when it does not match exactly, a match that
ignores trailing whitespace and indentation differences of the whole block is tried.
An edit that cannot be placed is reported back, never guessed.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

_EDIT = re.compile(
    r"(?:EDIT|FILE):\s*`?(?P<path>[^\s`]+)`?\s*\n(?:```[\w+-]*\n)?"
    r"<{5,9}\s*SEARCH\s*\n(?P<search>.*?)\n?={5,9}\s*\n(?P<replace>.*?)\n?>{5,9}\s*REPLACE",
    re.DOTALL,
)


class Edit(BaseModel):
    path: str
    search: str
    replace: str


def extract_edits(text: str) -> list[Edit]:
    """Every SEARCH/REPLACE block in ``text``, with the file it names."""
    return [
        Edit(path=m.group("path"), search=m.group("search"), replace=m.group("replace"))
        for m in _EDIT.finditer(text)
    ]


def strip_edits(text: str) -> str:
    """``text`` without its edit blocks, so whole-file parsing does not see them."""
    return _EDIT.sub("", text)


def apply_edit(content: str, edit: Edit) -> str | None:
    """``content`` with ``edit`` applied once, or None when its search text is not there."""
    if not edit.search.strip():
        # An empty search on an empty (new) file means "create it with this".
        return edit.replace + "\n" if not content.strip() else None
    if edit.search in content:
        return content.replace(edit.search, edit.replace, 1)
    return _apply_loose(content, edit)


def _apply_loose(content: str, edit: Edit) -> str | None:
    """Match the block line by line, ignoring surrounding whitespace; keep the file's indent."""
    lines = content.splitlines()
    want = [ln.strip() for ln in edit.search.splitlines() if ln.strip()]
    if not want:
        return None
    for start in range(len(lines)):
        got: list[int] = []
        i = start
        while i < len(lines) and len(got) < len(want):
            if lines[i].strip():
                if lines[i].strip() != want[len(got)]:
                    break
                got.append(i)
            i += 1
        if len(got) == len(want):
            indent = _extra_indent(lines[got[0]], edit.search)
            replacement = [indent + ln if ln.strip() else ln for ln in edit.replace.splitlines()]
            out = lines[: got[0]] + replacement + lines[got[-1] + 1 :]
            return "\n".join(out) + ("\n" if content.endswith("\n") else "")
    return None


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _extra_indent(file_line: str, search: str) -> str:
    """The indent the file has beyond the search block's own (a model often drops it)."""
    first = next(ln for ln in search.splitlines() if ln.strip())
    have, given = _indent(file_line), _indent(first)
    return have[len(given) :] if have.startswith(given) else ""
