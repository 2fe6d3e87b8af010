"""Running candidates: what the sandbox is asked to check, running it, and marking tests.

Shared by the evidence loop (``devteam.agents.candidates``) and the bench's ceiling
measurement, so both judge candidates by the very same execution.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from devteam.agents.examples import EXAMPLES_FILE, Example
from devteam.agents.request_api import name_homes, smoke_calls
from devteam.agents.runner import sandbox_event
from devteam.agents.select import CRASH_ERRORS, Candidate, Evidence
from devteam.agents.variants import input_variants, literal_call
from devteam.errors import SandboxError
from devteam.sandbox.base import Sandbox

CHECK_DIR = "_devteam_check"
MAX_PROBES = 30


def check_plan(
    modules: list[str],
    names: list[str],
    sigs: dict[str, list[str]],
    examples: list[Example],
    tests: dict[str, str],
    *,
    timeout_s: float,
    variants: bool = False,
    request: str = "",
) -> dict[str, Any]:
    """What ``check_script`` is asked to do for every candidate (the same for all).
    With ``variants``, the probes also hold the examples' calls with one argument changed
    (``devteam.agents.variants``), listed apart under ``variants``. With the ``request``'s
    text, each name is also looked for in the module the request puts it in, and the
    requested functions no example calls are called once on the examples' own arguments
    (``devteam.agents.request_api``)."""
    probes = _probes(examples, tests, names)
    extra = input_variants([e.call for e in examples], names) if variants else []
    extra = [v for v in extra if v not in probes][: max(0, MAX_PROBES - len(probes))]
    return {
        "modules": modules,
        "names": names,
        "signatures": sigs,
        "examples": [e.model_dump(include={"call", "expected"}) for e in examples],
        "probes": probes + extra,
        "variants": extra,
        "homes": name_homes(request, names, modules) if request else {},
        "smoke_calls": smoke_calls(request, names, examples) if request else [],
        "tests": sorted(p for p in tests if p != EXAMPLES_FILE)
        + ([EXAMPLES_FILE] if EXAMPLES_FILE in tests else []),
        "crash_errors": list(CRASH_ERRORS),
        "tests_timeout_s": min(60.0, timeout_s),
    }


def run_candidates(
    sandbox: Sandbox,
    todo: list[Candidate],
    plan: dict[str, Any],
    tests: dict[str, str],
    *,
    timeout_s: float,
    emit: Callable[[Any], None] | None = None,
) -> dict[int, Evidence]:
    """One sandbox command per candidate, each in a folder of its own with the same tests."""
    staged: dict[str, str] = {
        f"{CHECK_DIR}/check.py": _script_text(),
        f"{CHECK_DIR}/plan.json": json.dumps(plan),
    }
    for c in todo:
        # the marker makes the folder exist even for a candidate with no file at all
        staged[f"{CHECK_DIR}/c{c.id}/.candidate"] = str(c.id)
        for path, content in {**c.files, **tests}.items():
            staged[f"{CHECK_DIR}/c{c.id}/{path}"] = content
    sandbox.put_files(staged)
    out: dict[int, Evidence] = {}
    for c in todo:
        folder = f"{CHECK_DIR}/c{c.id}"
        result = sandbox.exec(
            ["python3", "../check.py", "../plan.json", "result.json"],
            workdir=folder,
            timeout_s=timeout_s,
        )
        if emit is not None:
            tail = (result.stdout + result.stderr)[-900:]
            emit(sandbox_event(result, f"candidate {c.id}: {tail}"))
        try:
            raw = json.loads(sandbox.get_file(f"{folder}/result.json"))
            out[c.id] = Evidence.model_validate(raw)
        except (SandboxError, ValueError) as exc:
            why = "timed out" if result.timed_out else f"exit {result.exit_code}"
            tail = (result.stderr or result.stdout)[-600:]
            out[c.id] = Evidence(
                harness_error=f"running candidate {c.id} failed ({why}): {tail or exc}"
            )
    return out


def _script_text() -> str:
    """The harness that runs inside the sandbox (standard library only)."""
    return resources.files("devteam.agents").joinpath("check_script.py").read_text("utf-8")


def _probes(examples: list[Example], tests: dict[str, str], names: list[str]) -> list[str]:
    """Shared inputs: the examples' calls, then the literal calls of the targets in the tests,
    also those whose arguments a ``pytest.mark.parametrize`` gives (``f(a, b)`` under
    ``parametrize("a, b", [(1, 2)])`` is ``f(1, 2)``). Inputs only: what a test expects
    back is never taken."""
    calls = [e.call for e in examples]
    for content in tests.values():
        try:
            tree = ast.parse(content)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                calls += _parametrized_calls(node, names)
        for sub in ast.walk(tree):
            if _literal_target_call(sub, names):
                calls.append(ast.unparse(sub))
    return list(dict.fromkeys(calls))[:MAX_PROBES]


def _literal_target_call(node: ast.AST, names: list[str]) -> bool:
    return literal_call(node, names) is not None


def _parametrized_calls(fn: ast.FunctionDef | ast.AsyncFunctionDef, names: list[str]) -> list[str]:
    """The calls of targets in ``fn`` with each parametrize case's literals put in."""
    cases: list[dict[str, ast.expr]] = [{}]
    for deco in fn.decorator_list:
        table = _parametrize_table(deco)
        if table is not None:
            cases = [{**c, **row} for c in cases for row in table][:MAX_PROBES]
    if cases == [{}]:
        return []
    out: list[str] = []
    for sub in ast.walk(fn):
        if not (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)):
            continue
        if sub.func.id not in names or sub.keywords:
            continue
        for case in cases:
            args = [case.get(a.id, a) if isinstance(a, ast.Name) else a for a in sub.args]
            call = ast.Call(func=sub.func, args=args, keywords=[])
            if _literal_target_call(call, names):
                out.append(ast.unparse(call))
    return out


def _parametrize_table(deco: ast.expr) -> list[dict[str, ast.expr]] | None:
    """``@pytest.mark.parametrize("a, b", [(1, 2), (3, 4)])`` as rows of literals by name."""
    if not (isinstance(deco, ast.Call) and len(deco.args) >= 2):
        return None
    if not (isinstance(deco.func, ast.Attribute) and deco.func.attr == "parametrize"):
        return None
    argnames, values = deco.args[0], deco.args[1]
    if not (isinstance(argnames, ast.Constant) and isinstance(argnames.value, str)):
        return None
    if not isinstance(values, ast.List | ast.Tuple):
        return None
    keys = [k.strip() for k in argnames.value.split(",") if k.strip()]
    rows: list[dict[str, ast.expr]] = []
    for value in values.elts:
        items = value.elts if len(keys) > 1 and isinstance(value, ast.Tuple) else [value]
        if len(items) != len(keys):
            return None
        rows.append(dict(zip(keys, items, strict=True)))
    return rows


def mark_suspect(content: str, path: str, suspect: list[str]) -> str:
    """``content`` with a skip mark on each suspect test of ``path`` (a visible verdict)."""
    names = {s.split("::")[-1].split("[")[0] for s in suspect if s.split("::")[0] == path}
    if not names:
        return content
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return content
    lines = content.splitlines()
    marks: list[tuple[int, str]] = []
    for sub in ast.walk(tree):
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef) and sub.name in names:
            first = min([sub.lineno, *(d.lineno for d in sub.decorator_list)])
            indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            marks.append(
                (
                    first - 1,
                    f'{indent}@pytest.mark.skip(reason="no candidate passes it: its '
                    'expected value is suspect")',
                )
            )
    for at, line in sorted(marks, reverse=True):
        lines.insert(at, line)
    text = "\n".join(lines) + "\n"
    if not any(
        isinstance(n, ast.Import) and any(a.name == "pytest" for a in n.names) for n in tree.body
    ):
        text = "import pytest\n" + text
    return text
