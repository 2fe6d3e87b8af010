"""Runs INSIDE the sandbox, in one candidate's folder: ``python3 check_script.py SPEC OUT``.

Standard library only (the sandbox has python3 and pytest, nothing of devteam). It
imports the candidate's modules, checks that the names the request asks for exist with
the parameters it gives and in the modules it puts them in, calls every trusted example,
every probe input and every smoke call (each under a time limit), runs the tests with
pytest, and writes what happened to OUT as JSON. It judges nothing: the team's selection
reads the JSON.
"""

import importlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import traceback

CALL_TIMEOUT_S = 3.0
OUT_CHARS = 300


class CallTimeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise CallTimeout(f"did not return within {CALL_TIMEOUT_S:g} s")


def _trace(exc):
    """The last frames of a traceback that are the candidate's, and the error line."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(lines[-6:])
    return text[-1500:]


def _norm(value, depth=0):
    """A stable form of a value for comparing candidates (floats rounded, sets sorted)."""
    if depth > 20:
        return "..."
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return float(f"{value:.9g}")
    if isinstance(value, (list, tuple)):
        return type(value)(_norm(v, depth + 1) for v in value)
    if isinstance(value, (set, frozenset)):
        return sorted(repr(_norm(v, depth + 1)) for v in value)
    if isinstance(value, dict):
        return {repr(k): _norm(v, depth + 1) for k, v in value.items()}
    return value


def _same(got, expected):
    if isinstance(expected, float) or isinstance(got, float):
        try:
            return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)
        except TypeError:
            return False
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return (
            type(got) is type(expected)
            and len(got) == len(expected)
            and all(_same(g, e) for g, e in zip(got, expected, strict=True))
        )
    try:
        return bool(got == expected)
    except Exception:
        return False


def _call(source, namespace):
    signal.setitimer(signal.ITIMER_REAL, CALL_TIMEOUT_S)
    try:
        return eval(source, namespace)  # the request's own literal call, in the sandbox
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _pytest(test_paths, timeout_s):
    if not test_paths:
        return {"exit_code": None, "passed": [], "failed": {}, "errors": [], "output": ""}
    cmd = [sys.executable, "-m", "pytest", "-q", "-rA", "--tb=short", "-p", "no:cacheprovider"]
    try:
        proc = subprocess.run(
            cmd + test_paths, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        out, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = (
            (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else ""
        )
        out, code = out + "\nthe tests ran past the time limit", 124
    passed, failed, errors = [], {}, []
    sections = re.split(r"^_{3,} (\S+) _{3,}$", out, flags=re.M)
    details = {sections[i]: sections[i + 1].strip() for i in range(1, len(sections) - 1, 2)}
    for line in out.splitlines():
        m = re.match(r"^(PASSED|FAILED|ERROR) (\S+)(?: - (.*))?$", line)
        if not m:
            continue
        kind, node, msg = m.group(1), m.group(2), m.group(3) or ""
        name = node.split("::")[-1]
        if kind == "PASSED":
            passed.append(node)
        elif kind == "FAILED":
            failed[node] = (details.get(name) or msg)[-1200:]
        else:
            errors.append(f"{node}: {msg}"[:600])
    return {
        "exit_code": code,
        "passed": passed,
        "failed": failed,
        "errors": errors,
        "output": out[-2000:],
    }


def _defines(namespace, name):
    """Whether ``namespace`` binds ``name``, or one of its classes has it (a name the request
    mentions may be a method or attribute of a class it defines)."""
    return name in namespace or any(
        isinstance(v, type) and hasattr(v, name) for v in namespace.values()
    )


def main(spec_path, out_path):
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    sys.path.insert(0, os.getcwd())
    signal.signal(signal.SIGALRM, _alarm)
    sys.setrecursionlimit(3000)
    result: dict = {
        "imports": {},
        "missing": [],
        "misplaced": [],
        "signatures": [],
        "examples": [],
        "probes": {},
    }
    namespace = {}
    for module in spec["modules"]:
        try:
            signal.setitimer(signal.ITIMER_REAL, CALL_TIMEOUT_S * 2)
            try:
                mod = importlib.import_module(module)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            namespace.update({k: v for k, v in vars(mod).items() if not k.startswith("__")})
            result["imports"][module] = None
        except BaseException as exc:  # a candidate that does not import is evidence
            result["imports"][module] = _trace(exc)
    for name in spec["names"]:
        if not _defines(namespace, name):
            result["missing"].append(name)
    for name, module in spec.get("homes", {}).items():
        home = sys.modules.get(module)
        if home is None or result["imports"].get(module) or name in result["missing"]:
            continue
        if not _defines(vars(home), name):
            result["misplaced"].append(
                f"the request puts `{name}` in {module.replace('.', '/')}.py, "
                "and it is not there (import it or define it there)"
            )
    for name, params in spec.get("signatures", {}).items():
        fn = namespace.get(name)
        code = getattr(fn, "__code__", None)
        if code is not None and not (code.co_flags & 0x04):  # no *args
            got = list(code.co_varnames[: code.co_argcount])
            if got and got[0] == "self":
                got = got[1:]
            if len(got) != len(params):
                result["signatures"].append(
                    f"{name}({', '.join(got)}) takes {len(got)} "
                    f"parameters; the request gives {name}({', '.join(params)})"
                )
    for example in spec["examples"]:
        entry = {"call": example["call"], "expected": example["expected"], "ok": False}
        try:
            got = _call(example["call"], dict(namespace))
            entry["got"] = repr(got)[:OUT_CHARS]
            entry["ok"] = _same(got, eval(example["expected"], {}))
        except BaseException as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"[:OUT_CHARS]
            entry["trace"] = _trace(exc)
        result["examples"].append(entry)
    for probe in spec["probes"]:
        try:
            result["probes"][probe] = repr(_norm(_call(probe, dict(namespace))))[:OUT_CHARS]
        except BaseException as exc:
            result["probes"][probe] = f"!{type(exc).__name__}"
            if type(exc).__name__ in spec.get("crash_errors", []):
                result.setdefault("crashes", {})[probe] = _trace(exc)
    for call in spec.get("smoke_calls", []):
        # a requested function no example reaches, on the examples' own argument values:
        # only an error that is a bug whatever the input counts
        fn = namespace.get(call.split("(", 1)[0])
        if fn is None or isinstance(fn, type) or not callable(fn):
            continue
        try:
            _call(call, dict(namespace))
        except BaseException as exc:
            if type(exc).__name__ in spec.get("crash_errors", []):
                result.setdefault("crashes", {})[call] = _trace(exc)
    result["tests"] = _pytest(spec["tests"], spec.get("tests_timeout_s", 60))
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
