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
    at = header_end(tree)
    return "\n".join([*body[:at], *lines, *body[at:]]) + "\n", modules


def header_end(tree: ast.Module) -> int:
    """The line after a module's docstring and ``from __future__`` imports."""
    line = 0
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if (is_doc and line == 0) or is_future:
            line = node.end_lineno or line
        else:
            break
    return line


def strip_echoed_example(content: str, example: str, keep: list[str]) -> tuple[str, list[str]]:
    """``content`` without the top-level functions it copied word for word from ``example``
    (the reply-format example in the prompt), unless the request names them in ``keep``.

    Small models often paste the prompt's example (``def double(x)``) into every file.
    """
    try:
        tree, shown = ast.parse(content), ast.parse(example)
    except SyntaxError:
        return content, []
    echoes = {ast.dump(n) for n in shown.body if isinstance(n, ast.FunctionDef)}
    lines = content.splitlines()
    removed: list[str] = []
    for node in reversed(tree.body):
        if (
            isinstance(node, ast.FunctionDef)
            and node.name not in keep
            and ast.dump(node) in echoes
            and node.end_lineno is not None
        ):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            del lines[first - 1 : node.end_lineno]
            removed.append(node.name)
    if not removed:
        return content, []
    return "\n".join(lines).strip("\n") + "\n", removed
