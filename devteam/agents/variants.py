"""More shared inputs, made mechanically from the request's own example calls.

The request's examples are calls every candidate that reaches selection already answers
right, so on them candidates cannot disagree. A small change to one argument (a list
reversed or rotated, a string reversed, a number moved up by one) keeps the input's type
and, usually, its meaning, and is where a candidate that only fits the examples parts from
one that follows the rule. Only inputs are made: nobody computes what they should return;
candidates are compared by what they answer on them (output agreement).
"""

from __future__ import annotations

import ast
from typing import Any

#: How many variant calls at most (they run for every candidate, each under a time limit).
MAX_VARIANTS = 12


def _changed(value: Any) -> list[Any]:
    """Nearby values of the same type; none for types where a change means little."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [value + 1, value + 3] if value >= 0 else [value - 1, value + 1]
    if isinstance(value, float):
        return [value + 0.5]
    if isinstance(value, str):
        return [value[::-1]] if len(value) >= 2 else []
    if isinstance(value, list | tuple) and len(value) >= 2:
        items = list(value)
        return [type(value)(items[::-1]), type(value)(items[1:] + items[:1])]
    return []


def literal_call(node: ast.AST, names: list[str]) -> tuple[str, list[Any]] | None:
    """``f(1, [2, 3])`` -> ("f", [1, [2, 3]]) when ``node`` is a call of a target by name,
    with no keywords and literal arguments only; otherwise None."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in names
        and not node.keywords
    ):
        return None
    try:
        return node.func.id, [ast.literal_eval(a) for a in node.args]
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _call_args(call: str, names: list[str]) -> tuple[str, list[Any]] | None:
    try:
        return literal_call(ast.parse(call, mode="eval").body, names)
    except SyntaxError:
        return None


def input_variants(calls: list[str], names: list[str], *, limit: int = MAX_VARIANTS) -> list[str]:
    """Calls like ``calls`` with one argument changed, new ones only, taken in turn from
    each call so that every example contributes before any contributes twice."""
    per_call: list[list[str]] = []
    for call in calls:
        parsed = _call_args(call, names)
        if parsed is None:
            continue
        name, args = parsed
        made: list[str] = []
        for i, arg in enumerate(args):
            for new in _changed(arg):
                changed = [*args[:i], new, *args[i + 1 :]]
                made.append(f"{name}({', '.join(repr(a) for a in changed)})")
        per_call.append(made)
    seen = set(calls)
    out: list[str] = []
    depth = max((len(m) for m in per_call), default=0)
    for j in range(depth):
        for made in per_call:
            if j < len(made) and made[j] not in seen:
                seen.add(made[j])
                out.append(made[j])
    return out[:limit]
