"""The tester's imports, pointed at the project modules that define what the tests use.

The tester writes its tests before it sees any code, and in a project of several files a
small model often imports a name from the wrong one (``from item import Inventory`` when
``inventory.py`` defines it) or forgets an import (``pytest.raises`` with no ``import
pytest``). The whole file then fails to import, and every test in it is lost.

These are slips of wiring, not of behaviour, so they are repaired mechanically against the
modules of a candidate: a name imported from a module that does not bind it is imported
from the one project module that defines it; a name the tests use and never bind is
imported from the one module that defines it. Nothing is guessed: a name defined in no
module, or in more than one, is left as the tester wrote it.
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Iterator
from pathlib import PurePosixPath

from devteam.agents.hygiene import header_end

_MODULE_GLOBALS = {"__name__", "__file__", "__doc__", "__spec__", "__builtins__"}
_LIBRARIES = {"pytest", *(m for m in sys.stdlib_module_names if not m.startswith("_"))}


def module_name(path: str) -> str:
    """``pkg/mod.py`` -> ``pkg.mod``; ``pkg/__init__.py`` -> ``pkg``."""
    pure = PurePosixPath(path).with_suffix("")
    parts = list(pure.parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def fix_test_imports(content: str, sources: dict[str, str]) -> tuple[str, list[str]]:
    """``content`` with its project imports repaired against ``sources`` (path -> code).

    Returns the new content and one phrase per repair (empty when nothing changed).
    """
    layout = _Layout.of(sources)
    if not layout.defines:
        return content, []
    content, moved = _repoint(content, layout)
    content, added = _add_missing(content, layout)
    return content, [*moved, *added]


class _Layout:
    """Which names each project module defines, and which it binds at all."""

    def __init__(self, defines: dict[str, set[str]], binds: dict[str, set[str] | None]) -> None:
        self.defines = defines
        self.binds = binds  # None: the module star-imports, so what it binds is unknown

    @classmethod
    def of(cls, sources: dict[str, str]) -> _Layout:
        defines: dict[str, set[str]] = {}
        binds: dict[str, set[str] | None] = {}
        for path, code in sources.items():
            if not path.endswith(".py"):
                continue
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            name = module_name(path)
            defined, imported, star = _top_level(tree)
            defines[name] = defined
            binds[name] = None if star else defined | imported
        return cls(defines, binds)

    def home(self, name: str) -> str | None:
        """The one module that defines ``name``, if exactly one does."""
        homes = [m for m, names in self.defines.items() if name in names]
        return homes[0] if len(homes) == 1 else None

    def binds_name(self, module: str, name: str) -> bool:
        bound = self.binds.get(module, set())
        return bound is None or name in bound


def _top_level(tree: ast.Module) -> tuple[set[str], set[str], bool]:
    defined: set[str] = set()
    imported: set[str] = set()
    star = False
    for node in _statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                defined |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            star = star or any(a.name == "*" for a in node.names)
            imported |= {a.asname or a.name for a in node.names if a.name != "*"}
    return defined, imported, star


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, including those inside top-level if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.With)):
            yield from _statements(node.body)
            yield from _statements(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _statements(block)
            for handler in node.handlers:
                yield from _statements(handler.body)


def _repoint(content: str, layout: _Layout) -> tuple[str, list[str]]:
    """``from m import a`` where m does not bind a and one other module defines it."""
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return content, []
    lines = content.splitlines()
    done: list[str] = []
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    for node in sorted(imports, key=lambda n: n.lineno, reverse=True):
        if node.level or node.module not in layout.defines or not _alone(node, lines):
            continue
        groups: dict[str, list[str]] = {}
        moved: list[str] = []
        for alias in node.names:
            target = node.module
            if alias.name != "*" and not layout.binds_name(node.module, alias.name):
                target = layout.home(alias.name) or node.module
            if target != node.module:
                moved.append(f"{alias.name} from {target}, not {node.module}")
            spelled = f"{alias.name} as {alias.asname}" if alias.asname else alias.name
            groups.setdefault(target, []).append(spelled)
        if not moved:
            continue
        indent = " " * node.col_offset
        new = [f"{indent}from {m} import {', '.join(names)}" for m, names in groups.items()]
        lines[node.lineno - 1 : (node.end_lineno or node.lineno)] = new
        done = moved + done
    if not done:
        return content, []
    return "\n".join(lines) + "\n", done


def _alone(node: ast.stmt, lines: list[str]) -> bool:
    """Whether the statement has its lines to itself (no ``;`` neighbours)."""
    first = lines[node.lineno - 1]
    last = lines[(node.end_lineno or node.lineno) - 1]
    before = first[: node.col_offset]
    after = last[node.end_col_offset :] if node.end_col_offset is not None else ""
    return not before.strip() and (not after.strip() or after.strip().startswith("#"))


def _add_missing(content: str, layout: _Layout) -> tuple[str, list[str]]:
    """Imports for names the file uses and never binds: a library, or a project name."""
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return content, []
    bound, opaque = _bound(tree, layout)
    if opaque - {"pytest"}:  # a star import from outside the project may bind anything
        return content, []
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    missing = sorted(used - bound - set(dir(builtins)) - _MODULE_GLOBALS)
    if opaque:  # `from pytest import *` binds pytest's names, never `pytest` itself
        missing = [n for n in missing if n == "pytest"]
    homes = {name: layout.home(name) for name in missing}
    libraries = [n for n in missing if homes[n] is None and n in _LIBRARIES]
    project = [(n, home) for n, home in homes.items() if home is not None]
    new = [f"import {n}" for n in libraries] + [f"from {h} import {n}" for n, h in project]
    added = [f"imported {n}" for n in libraries] + [f"imported {n} from {h}" for n, h in project]
    if not new:
        return content, []
    body = content.splitlines()
    at = header_end(tree)
    return "\n".join([*body[:at], *new, *body[at:]]) + "\n", added


def _bound(tree: ast.Module, layout: _Layout) -> tuple[set[str], set[str]]:
    """Every name the file binds anywhere (generously), and the modules outside the project
    it star-imports (what those bind is unknown)."""
    bound: set[str] = set()
    opaque: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Import):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    bound.add(alias.asname or alias.name)
                    continue
                known = layout.binds.get(node.module or "")
                if known is None:
                    opaque.add(node.module or "")
                else:
                    bound |= known
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound |= set(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    return bound, opaque
