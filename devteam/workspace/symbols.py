"""The outline of one Python file, read with ``ast`` (never imported): its top-level classes,
functions and public methods, each with its signature and the first line of its docstring."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

MAX_SIGNATURE_CHARS = 100
MAX_DOC_CHARS = 72
MAX_PRIVATE_NAMES = 8


@dataclass
class Entry:
    path: str
    tier: int
    lines: list[str] = field(default_factory=list)  # symbol lines (indented)
    symbols: list[str] = field(default_factory=list)  # bare names, for relevance


def python_symbols(path: Path, entry: Entry) -> None:
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
