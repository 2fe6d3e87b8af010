"""Cheap, deterministic repairs of what small models reliably get wrong, each one noted.

Only mechanical slips are repaired here, never behaviour: a test file that uses the
module under test without importing it gets the import.
"""

from __future__ import annotations

import ast


def ensure_test_imports(content: str, modules: list[str]) -> tuple[str, list[str]]:
    """``content`` with ``from <module> import *`` added for spec modules it never imports.

    Only when the file imports none of the spec modules at all (the usual slip: the
    tests call ``add(1, 2)`` with no import). Returns the new content and what was added.
    """
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return content, []
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    if not modules or any(m in imported or m.split(".")[0] in imported for m in modules):
        return content, []
    lines = [f"from {m} import *  # noqa: F403 (added: the tests use {m})" for m in modules]
    body = content.splitlines()
    at = _after_future_and_docstring(tree)
    return "\n".join([*body[:at], *lines, *body[at:]]) + "\n", modules


def _after_future_and_docstring(tree: ast.Module) -> int:
    line = 0
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if (is_doc and line == 0) or is_future:
            line = node.end_lineno or line
        else:
            break
    return line
