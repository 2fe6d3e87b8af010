"""Trusted examples: what the request itself says a call returns, taken out mechanically.

A request that states ``f(2, 3) == 5``, a doctest (``>>> f(2, 3)`` then ``5``), or
"``f(2, 3)`` returns ``5``" gives the team a check no model wrote. These outrank every
model-written test. Only calls to names the request itself defines or names are taken,
and only when both sides parse as Python and the arguments and the expected value are
literals, so what runs is exactly what the request wrote.
"""

from __future__ import annotations

import ast
import re

from pydantic import BaseModel

#: Words or arrows between a call and its result ("f(1) ==> 2", "f(1) returns 2", ...).
_ARROW = re.compile(
    r"^\s*`?\s*(?:==>|=>|==|->|➞|→|=|returns?|should\s+(?:return|be|give)|"
    r"would\s+return|gives?|evaluates\s+to|is\s+expected\s+to\s+return)\s*:?\s*",
    re.IGNORECASE,
)
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_TICK_CALL = re.compile(r"`([A-Za-z_]\w*)\(")
#: A call written in prose with its parameter names: "with top_words(text, n) returning".
_PROSE_CALL = re.compile(
    r"(?<![\w.`])([A-Za-z_]\w*)\(((?:\s*[A-Za-z_]\w*\s*,)*\s*[A-Za-z_]\w*\s*)\)"
)
_MAX_EXAMPLES = 20
#: Where the request's examples become pytest tests in the produced project.
EXAMPLES_FILE = "tests/test_examples.py"
_MAX_LEN = 400


class Example(BaseModel):
    """One call the request states the result of."""

    call: str
    expected: str
    line: int = 0


def files_named(text: str) -> list[str]:
    """The Python file names a request names, in order (``wordfreq.py``, ``pkg/a.py``)."""
    return re.findall(r"\b([A-Za-z_][\w/]*\.py)\b", text)


def target_names(text: str) -> list[str]:
    """Functions the request defines (``def f(``) or names in code (```f(...)```)."""
    names = [
        *_DEF.findall(text),
        *_TICK_CALL.findall(text),
        *(m[0] for m in _PROSE_CALL.findall(text)),
    ]
    return [n for n in dict.fromkeys(names) if not n.startswith("test_") and n not in _BUILTINS]


_DEF_LINE = re.compile(r"^[ \t]*def\s+[A-Za-z_]\w*\s*\([^)]*\)[^:\n]*:", re.M)


def def_lines(text: str) -> list[ast.FunctionDef]:
    """Each one-line ``def`` header in ``text`` that parses, as a function with no body."""
    return [fn for m in _DEF_LINE.finditer(text) if (fn := parse_header(m.group(0)[:-1]))]


def parse_header(header: str) -> ast.FunctionDef | None:
    """``def f(a: int, b=2) -> str`` (no colon) as a function with no body, or None."""
    try:
        fn = ast.parse(header.strip() + ": ...").body[0]
    except SyntaxError:
        return None
    return fn if isinstance(fn, ast.FunctionDef) else None


def signatures(text: str) -> dict[str, list[str]]:
    """Parameter names of each function the request defines with a ``def`` line."""
    out: dict[str, list[str]] = {}
    for fn in def_lines(text):
        if fn.name not in out:
            args = fn.args
            out[fn.name] = [a.arg for a in [*args.posonlyargs, *args.args]]
    for name, params in _PROSE_CALL.findall(text):
        if name not in out and name not in _BUILTINS:
            out[name] = [p.strip() for p in params.split(",")]
    return out


def extract_examples(text: str, names: list[str] | None = None) -> list[Example]:
    """Every example in ``text`` that calls one of ``names`` (default: the request's own)."""
    names = target_names(text) if names is None else names
    if not names:
        return []
    lines = text.splitlines()
    params = {n: p for n, p in signatures(text).items() if n in names}
    found: list[Example] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">>>"):
            inline = _inline(stripped[3:], names, i + 1)  # ">>> f(1) == 2"
            example = (
                None if inline else _doctest(stripped[3:].strip(), lines[i + 1 :], names, i + 1)
            )
            found.extend(inline or ([example] if example else []))
            continue
        found.extend(_inline(line, names, i + 1))
        found.extend(_by_parameters(line, params, i + 1))
        found.extend(_input_output(lines, i, params))
    unique: dict[tuple[str, str], Example] = {}
    for ex in found:
        unique.setdefault((ex.call, ex.expected), ex)
    return list(unique.values())[:_MAX_EXAMPLES]


_FOR = re.compile(r"\bfor\s+(?=[A-Za-z_]\w*\s*=[^=])", re.IGNORECASE)
_ASSIGN = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*")
_RESULT = re.compile(
    r"(?:should\s+(?:be|return)|(?:result|output|answer)\s+(?:is|will\s+be)|returns?)\s*:?\s*",
    re.IGNORECASE,
)


def _by_parameters(line: str, params: dict[str, list[str]], number: int) -> list[Example]:
    """ "For x = 3, y = [1, 2] the output should be 5" with the parameters of one function."""
    start = _FOR.search(line)
    if not start or len(params) != 1:
        return []
    (name, wanted), rest = next(iter(params.items())), line[start.end() :]
    values, rest = _assignments(rest, wanted)
    results = list(_RESULT.finditer(rest))
    if values is None or set(values) != set(wanted) or not results:
        return []
    expected = _leading_literal(rest[results[-1].end() :])
    if expected is None:
        return []
    call = f"{name}({', '.join(values[p] for p in wanted)})"
    return [Example(call=call, expected=expected, line=number)]


def _assignments(text: str, wanted: list[str]) -> tuple[dict[str, str] | None, str]:
    """``x = 3, y = [1, 2] and z = 'a'`` at the start of ``text``: the literal given to each
    parameter in ``wanted``, and the text after them (``None`` when a value is no literal)."""
    values: dict[str, str] = {}
    while (assign := _ASSIGN.match(text)) and assign.group(1) in wanted:
        value, used = _leading_span(text[assign.end() :])
        if value is None:
            return None, text
        values[assign.group(1)] = value
        text = text[assign.end() + used :].lstrip(" ,;")
        if text.lower().startswith("and "):
            text = text[4:]
    return values, text


_INPUT = re.compile(r"^\s*(?:[-*]\s*)?input\s*:\s*", re.IGNORECASE)
_OUTPUT = re.compile(r"^\s*(?:[-*]\s*)?output\s*:\s*", re.IGNORECASE)


def _input_output(lines: list[str], i: int, params: dict[str, list[str]]) -> list[Example]:
    """An ``Input: a = [1, 2], k = 3`` line (or ``Input: [1, 2]`` for a function of one
    parameter) and the ``Output: [2]`` line after it, for the request's one function."""
    start = _INPUT.match(lines[i])
    if not start or len(params) != 1:
        return []
    (name, wanted), given = next(iter(params.items())), lines[i][start.end() :]
    values, rest = _assignments(given, wanted)
    if values is None:
        return []
    if not values and len(wanted) == 1:
        value, used = _leading_span(given)
        values, rest = ({wanted[0]: value}, given[used:]) if value is not None else ({}, given)
    if set(values) != set(wanted) or rest.strip(" ,;."):
        return []
    following = [line for line in lines[i + 1 : i + 4] if line.strip()][:1]
    output = _OUTPUT.match(following[0]) if following else None
    if output is None:
        return []
    expected = _literal(following[0][output.end() :])
    if expected is None:
        return []
    call = f"{name}({', '.join(values[p] for p in wanted)})"
    return [Example(call=call, expected=expected, line=i + 1)]


def _doctest(source: str, rest: list[str], names: list[str], line: int) -> Example | None:
    call = _literal_call(source, names)
    if call is None or not rest:
        return None
    output = rest[0].strip()
    if not output or output.startswith(">>>"):
        return None
    expected = _literal(output)
    return Example(call=call, expected=expected, line=line) if expected is not None else None


def _inline(line: str, names: list[str], number: int) -> list[Example]:
    out = []
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in names) + r")\s*\(")
    for match in pattern.finditer(line):
        end = _close_paren(line, match.end() - 1)
        if end is None:
            continue
        call = _literal_call(line[match.start() : end + 1], names)
        if call is None:
            continue
        after = line[end + 1 :]
        arrow = _ARROW.match(after)
        if not arrow:
            continue
        expected = _leading_literal(after[arrow.end() :])
        if expected is not None:
            out.append(Example(call=call, expected=expected, line=number))
    return out


def _close_paren(text: str, start: int) -> int | None:
    """The index of the parenthesis closing the one at ``start`` (strings respected)."""
    depth, quote, i = 0, "", start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _literal_call(source: str, names: list[str]) -> str | None:
    """``source`` normalised when it is one call of a target with literal arguments."""
    source = source.strip().strip("`").strip()
    if len(source) > _MAX_LEN:
        return None
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    if not _target_call(tree, names, wrapped=True):
        return None
    return ast.unparse(tree)


def _target_call(node: ast.expr, names: list[str], *, wrapped: bool = False) -> bool:
    """``node`` is a call of a target with literal arguments or, when ``wrapped``, such a
    call inside builtins that only shape its result (``round(f(x), 2)``, ``sorted(f(x))``)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return False
    if any(k.arg is None for k in node.keywords):
        return False
    args = [*node.args, *(k.value for k in node.keywords)]
    if node.func.id in names:
        try:
            for arg in args:
                ast.literal_eval(arg)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
        return True
    if not wrapped or node.func.id not in _SHAPERS:
        return False
    inner = [a for a in args if _target_call(a, names, wrapped=True)]
    try:
        for arg in args:
            if arg not in inner:
                ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return bool(inner)


#: Builtins a request may wrap around a call to state its result (``round(f(x), 2)``).
_SHAPERS = frozenset(
    {"round", "abs", "len", "sorted", "list", "tuple", "set", "frozenset", "str", "int"}
    | {"float", "bool", "sum", "min", "max", "repr"}
)


_JSON_WORDS = {"true": "True", "false": "False", "null": "None", "none": "None"}


def _literal(source: str) -> str | None:
    source = source.strip()
    source = _JSON_WORDS.get(source, source)
    if not source or len(source) > _MAX_LEN:
        return None
    try:
        tree = ast.parse(source, mode="eval").body
        ast.literal_eval(tree)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return ast.unparse(tree)


def _leading_literal(text: str) -> str | None:
    """The longest literal at the start of ``text`` ("[1, 2].", "`'ab'` and so on", "3")."""
    return _leading_span(text)[0]


def _leading_span(text: str) -> tuple[str | None, int]:
    """The longest literal at the start of ``text`` and how many characters it takes."""
    skipped = len(text) - len(text.lstrip())
    text = text.strip()
    if text.startswith("`"):
        end = text.find("`", 1)
        return (_literal(text[1:end]), skipped + end + 1) if end > 0 else (None, 0)
    for end in range(min(len(text), _MAX_LEN), 0, -1):
        if end < len(text) and (text[end].isalnum() or text[end] == "_"):
            continue  # never cut inside a word or a number
        if text[:end].rstrip().endswith((",", ".")):
            continue  # "3, the ..." is 3, not the tuple (3,); "is 5." is 5, not 5.0
        value = _literal(text[:end])
        if value is not None:
            return value, skipped + end
    return None, 0


_BUILTINS = frozenset(
    {"print", "len", "sorted", "sum", "min", "max", "range", "list", "dict", "set", "str"}
    | {"int", "float", "tuple", "abs", "round", "isinstance", "open", "map", "filter", "zip"}
)


def examples_test_file(examples: list[Example], modules: list[str]) -> str:
    """A pytest file that checks each example as the request wrote it."""
    imports = "\n".join(f"from {m} import *  # noqa: F403" for m in modules)
    body = [
        '"""The examples stated in the request, checked as written (taken out mechanically)."""',
        "",
        "import math",
        "",
        imports,
        "",
        "",
        "def _same(got, expected):",
        "    if isinstance(expected, float) or isinstance(got, float):",
        "        try:",
        "            return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)",
        "        except TypeError:",
        "            return False",
        "    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):",
        "        return type(got) is type(expected) and len(got) == len(expected) and all(",
        "            _same(g, e) for g, e in zip(got, expected)",
        "        )",
        "    return got == expected",
    ]
    for n, ex in enumerate(examples, 1):
        body += [
            "",
            "",
            f"def test_example_{n}():",
            f"    got = {ex.call}",
            f"    assert _same(got, {ex.expected}), f'{{got!r}} != ' + {ex.expected!r}",
        ]
    return "\n".join(body) + "\n"
