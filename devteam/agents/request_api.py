"""What a request says about its own API, read mechanically (no model has a say here).

- ``name_homes``: which module the request puts each name in ("stats.py defines: ...
  `word_count(text: str)`"). Candidates are checked against it: a test or a user that
  writes ``from stats import word_count`` fails on code that defines it elsewhere.
- ``typed_calls``: the calls a request writes out with annotated parameters
  (```word_count(text: str) -> int```), and ``smoke_calls``: those functions called on the
  request's own example arguments of the same types, so that code no example reaches is
  still run once (a NameError or UnboundLocalError in it is a bug whatever the input).
"""

from __future__ import annotations

import ast
import re

from devteam.agents.examples import Example, def_lines, parse_header

#: A line that starts with a file name: "stats.py imports ... and defines:".
_HEADER = re.compile(r"^\s*(?:[-*]\s+)?`?([A-Za-z_][\w/]*)\.py`?\b")
_BULLET = re.compile(r"^\s*[-*]\s+`(?:class\s+)?([A-Za-z_]\w*)\s*[(`:]")
_CLASS = re.compile(r"\bclass\s+([A-Za-z_]\w*)")
_TICK = re.compile(r"`([^`\n]+)`")
_IMPORT = re.compile(r"^\s*(?:from\s+\S+\s+)?import\b")
_CALL_SPAN = re.compile(r"^([A-Za-z_]\w*)\((.*)\)\s*(?:->\s*.+)?$")

#: Annotations whose values can be taken from the request's example arguments.
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "list": (list,),
    "List": (list,),
    "dict": (dict,),
    "Dict": (dict,),
    "tuple": (tuple,),
    "Tuple": (tuple,),
    "set": (set,),
    "Set": (set,),
}
MAX_SMOKE_CALLS = 12


def _module_of(path: str, modules: list[str]) -> str | None:
    """The importable module for a file the request names (``pkg/a.py`` is ``pkg.a``)."""
    dotted = path.removesuffix(".py").replace("/", ".")
    if dotted in modules:
        return dotted
    tails = [m for m in modules if m.rsplit(".", 1)[-1] == dotted.rsplit(".", 1)[-1]]
    return tails[0] if len(tails) == 1 else None


def name_homes(text: str, names: list[str], modules: list[str]) -> dict[str, str]:
    """``{name: module}`` for each of ``names`` that the request places in exactly one module:
    on a line that starts with the module's file name ("`class X`" there), or on a bullet
    under it whose first code span is the name. Imports the line mentions are not placed."""
    wanted = set(names)
    seen: dict[str, set[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith(("-", "*")):
            current = _module_of(header.group(1) + ".py", modules)
            spans = [s for s in _TICK.findall(line) if not _IMPORT.match(s)]
            found = [n for s in spans for n in _CLASS.findall(s)]
            found += _CLASS.findall(_TICK.sub("", line))
        elif current is not None and (bullet := _BULLET.match(line)):
            found = [bullet.group(1), *(n for s in _TICK.findall(line) for n in _CLASS.findall(s))]
        else:
            continue
        if current is None:
            continue
        for name in found:
            if name in wanted:
                seen.setdefault(name, set()).add(current)
    return {name: next(iter(homes)) for name, homes in seen.items() if len(homes) == 1}


def typed_calls(text: str) -> dict[str, list[str]]:
    """``{function: [annotation of each required parameter]}`` for the calls the request
    writes with every parameter annotated (```f(text: str, n: int = 3) -> list```), and
    for its ``def`` lines. Parameters with a default are left out; ``self`` too."""
    spans = [s.strip() for s in _TICK.findall(text) if _CALL_SPAN.match(s.strip())]
    headers = [parse_header(f"def {s.split('->')[0].strip()}") for s in spans]
    out: dict[str, list[str]] = {}
    for fn in [*(h for h in headers if h is not None), *def_lines(text)]:
        if fn.name in out:
            continue
        args = [*fn.args.posonlyargs, *fn.args.args]
        required = args[: len(args) - len(fn.args.defaults)]
        if required and required[0].arg == "self":
            required = required[1:]
        if not required or any(a.annotation is None for a in required):
            continue
        out[fn.name] = [ast.unparse(a.annotation) for a in required]  # type: ignore[arg-type]
    return out


def _base(annotation: str) -> str:
    return annotation.split("[", 1)[0].split(".")[-1].strip()


def smoke_calls(text: str, names: list[str], examples: list[Example]) -> list[str]:
    """Calls of the requested functions that no example calls, on the examples' own
    argument values of the annotated types (the i-th call takes the i-th value of each
    type). A function with a parameter of a type no example supplies is left out."""
    values: dict[str, list[str]] = {}
    called: set[str] = set()
    for example in examples:
        try:
            node = ast.parse(example.call, mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name):
            called.add(node.func.id)
        for arg in node.args:
            try:
                value = ast.literal_eval(arg)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            for key, kinds in _TYPES.items():
                if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
                    source = ast.unparse(arg)
                    if source not in values.setdefault(key, []):
                        values[key].append(source)
    calls: list[str] = []
    for name, params in typed_calls(text).items():
        if name not in names or name in called:
            continue
        pools = [values.get(_base(p), []) for p in params]
        if any(not pool for pool in pools):
            continue
        for i in range(max(len(pool) for pool in pools)):
            # parameters of one type take successive values: f(a, b), then f(b, a)
            args = [
                pool[(i + params[:j].count(p)) % len(pool)]
                for j, (p, pool) in enumerate(zip(params, pools, strict=True))
            ]
            calls.append(f"{name}({', '.join(args)})")
    return list(dict.fromkeys(calls))[:MAX_SMOKE_CALLS]
