"""What a Python error usually means, as one line a coder can act on.

Hard evidence hands the coder a traceback. A small model given
``TypeError: object of type 'Inventory' has no len()`` often returns its code unchanged;
the same fact said as the change it calls for ("class `Inventory` needs a `__len__`
method") is easier to act on. Each hint restates the error's own words and names only
what the error names: nothing here knows the request or guesses at a fix beyond that.
"""

from __future__ import annotations

import re

_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"object of type '(\w+)' has no len\(\)"),
        "class `{0}` needs a `__len__` method",
    ),
    (
        re.compile(r"argument of type '(\w+)' is not iterable"),
        "`in` on a `{0}` needs a `__contains__` (or `__iter__`) method in class `{0}`",
    ),
    (
        re.compile(r"'(\w+)' object is not iterable"),
        "iterating over a `{0}` needs an `__iter__` method in class `{0}`",
    ),
    (
        re.compile(r"'(\w+)' object is not subscriptable"),
        "indexing a `{0}` needs a `__getitem__` method in class `{0}`",
    ),
    (
        re.compile(r"'(\w+)' object has no attribute '(\w+)'"),
        "a `{0}` has no attribute `{1}`: define `{1}` in class `{0}` under that exact name",
    ),
    (
        re.compile(r"(\w+)\(\) missing \d+ required positional arguments?: (.+)"),
        "`{0}` is called without {1}: make the parameters match the request's signature",
    ),
    (
        re.compile(r"(\w+)\(\) takes \d+ positional arguments? but \d+ (?:was|were) given"),
        "`{0}` is called with more arguments than it takes: make the parameters match the "
        "request's signature",
    ),
    (
        re.compile(
            r"local variable '(\w+)' referenced before assignment"
            r"|cannot access local variable '(\w+)'"
        ),
        "`{0}` is assigned inside the function, so every use of `{0}` there is the local "
        "one: give the local variable another name",
    ),
    (
        re.compile(r"cannot import name '(\w+)' from '([\w.]+)'"),
        "`{0}` must be defined in, or imported into, module `{1}`",
    ),
    (
        re.compile(r"name '(\w+)' is not defined"),
        "`{0}` is used but never defined or imported in that module",
    ),
)


#: The first five hints are about the request's own classes: a built-in type there
#: (``'NoneType' object is not subscriptable``) means something else went wrong.
_CLASS_HINTS = 5


def hint(text: str) -> str | None:
    """The hint for the last error in ``text`` that has one, or None."""
    best: tuple[int, str] | None = None
    for index, (pattern, template) in enumerate(_HINTS):
        for match in pattern.finditer(text):
            groups = [g for g in match.groups() if g is not None]
            if index < _CLASS_HINTS and not _own_class(groups[0]):
                continue
            if len(groups) > 1 and index < _CLASS_HINTS and _builtin_method(groups[1]):
                continue  # `'Task' object has no attribute 'strip'`: a Task where a str was meant
            if best is None or match.start() > best[0]:
                best = (match.start(), template.format(*groups))
    return best[1] if best else None


def _own_class(name: str) -> bool:
    return name[:1].isupper() and name != "NoneType"


def _builtin_method(name: str) -> bool:
    return any(hasattr(kind, name) for kind in (str, list, dict, set, tuple, int, float))


def with_hint(evidence: str) -> str:
    """``evidence`` with a "Hint:" line added when its error has one."""
    found = hint(evidence)
    return f"{evidence}\nHint: {found}." if found else evidence
