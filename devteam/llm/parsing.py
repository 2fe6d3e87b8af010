"""Tolerant parsing of what small models write: JSON with chatter, files in code fences."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[ \t]*\n(.*?)(?:\n```|\Z)", re.DOTALL)
_PATH = r"[^\s`*:'\"]*[\w]\.[A-Za-z0-9]{1,8}"
# A file name on the line just before a fence: "FILE: a/b.py", "### a/b.py", "**a/b.py**", "`a.py`:"
_NAME_BEFORE = re.compile(
    rf"(?:file(?:name)?\s*[:=]\s*|#+\s*|\*\*|`)\s*`?({_PATH})`?\*{{0,2}}:?\s*$", re.IGNORECASE
)
_BARE_NAME = re.compile(rf"^\s*`?({_PATH})`?:?\s*$")
# A file name as the first line inside a fence: "# file: a.py", "# a.py"
_NAME_INSIDE = re.compile(
    rf"^\s*(?:#|//)\s*(?:file(?:name)?\s*[:=]\s*)?({_PATH})\s*$", re.IGNORECASE
)


class FileBlock(BaseModel):
    path: str | None
    language: str
    content: str


def extract_json(text: str) -> Any:
    """Parse the first JSON object in ``text``, ignoring fences and chatter around it."""
    stripped = text.strip()
    try:
        return _loads(stripped)
    except json.JSONDecodeError:
        pass
    for match in _FENCE.finditer(stripped):
        body = match.group(2).strip()
        if body.startswith("{"):
            try:
                return _loads(body)
            except json.JSONDecodeError:
                continue
    start, end = stripped.find("{"), stripped.rfind("}")
    if start != -1 and end > start:
        return _loads(stripped[start : end + 1])
    raise json.JSONDecodeError("no JSON object found in the reply", stripped, 0)


def _loads(text: str) -> Any:
    """``json.loads``, with nesting too deep for the decoder a JSONDecodeError too."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", text[:80], 0) from None


def parse_model(text: str, schema: type[BaseModel]) -> BaseModel:
    """JSON -> pydantic, raising ValueError (JSONDecodeError or ValidationError) when it fails."""
    return schema.model_validate(extract_json(text))


_FILE_LINE = re.compile(r"^\s*(?:FILE|EDIT)\s*:\s*\S+\s*$")


def close_open_fences(text: str) -> str:
    """Close a code fence left open before the next ``FILE:``/``EDIT:`` line.

    Small models often forget the closing fence of one file and go straight on to the
    next; without this, the next file's name and code would end up inside the first.
    """
    out: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif in_fence and _FILE_LINE.match(line):
            out.append("```")
            in_fence = False
        out.append(line)
    return "\n".join(out)


def extract_files(text: str) -> list[FileBlock]:
    """Every fenced code block, with the file name the model gave it, if any."""
    text = close_open_fences(text)
    blocks: list[FileBlock] = []
    for match in _FENCE.finditer(text):
        lang, body = match.group(1).lower(), match.group(2)
        path = None
        preceding = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        named = _NAME_BEFORE.search(preceding) or _BARE_NAME.match(preceding)
        if named:
            path = named.group(1)
        first, _, rest = body.partition("\n")
        inside = _NAME_INSIDE.match(first)
        if inside:
            path = path or inside.group(1)
            if path == inside.group(1):
                body = rest
        if lang and "." in lang and not path:  # ```wordfreq.py
            path, lang = lang, lang.rsplit(".", 1)[-1]
        blocks.append(FileBlock(path=path, language=lang, content=body.rstrip() + "\n"))
    return blocks
