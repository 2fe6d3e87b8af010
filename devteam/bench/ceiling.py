"""The ceiling of sampling and selection, measured before trusting any loop built on them.

For each task: candidate 0 (the coder's ``solve`` prompt at temperature 0, the bench's
``single``) and ``samples`` more at ``temperature``, each with its own seed; every one graded
on the hidden tests and run through the team's check (the request's examples, the tester's
property tests, shared inputs). From that:

- **pass@k** for k = 1..n+1 (the unbiased estimator of Chen et al. 2021 over the n+1
  candidates): how many tasks any k candidates solve, the most sampling can give;
- **selection**: for m = 0..n, whether ``devteam.agents.select.choose`` over candidate 0 and
  the first m samples picks one that passes the hidden tests, and whether one existed;
- **tester accuracy**: the share of the tester's tests (its classic ``write`` prompt, which
  computes expected values, and its ``properties`` prompt) that pass on the suite's known-good
  solution: a wrong test fails the right code.

``devteam bench ceiling --every 4 --samples 10`` writes ``ceiling.json`` and ``ceiling.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from math import comb
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from devteam.agents.examples import (
    EXAMPLES_FILE,
    examples_test_file,
    extract_examples,
    signatures,
    target_names,
)
from devteam.agents.execution import check_plan, run_candidates
from devteam.agents.replies import assign_paths, is_test_path
from devteam.agents.select import Candidate, Evidence, choose
from devteam.agents.test_imports import fix_test_imports
from devteam.bench.grading import grade, source_files
from devteam.bench.results import TaskRecord
from devteam.bench.resume import TASKS_FILE, read_records
from devteam.bench.tasks import Task
from devteam.config import SandboxSettings
from devteam.llm.metered import MeteredModel
from devteam.llm.parsing import extract_files
from devteam.roles import load_role
from devteam.sandbox import open_sandbox


class SampleResult(BaseModel):
    id: int
    temperature: float
    seed: int | None
    passed: bool = Field(description="the hidden tests pass")
    examples: str = Field("", description="the request's examples passed / stated")
    tests: str = Field("", description="the tester's property tests passed / run")
    probes: dict[str, str] = Field(
        default_factory=dict, description="what it returned on each shared input"
    )
    tests_passed: list[str] = Field(default_factory=list)
    tests_failed: list[str] = Field(default_factory=list)
    crashes: list[str] = Field(default_factory=list)


class TaskCeiling(TaskRecord):
    examples: int = Field(description="examples the request states")
    variants: list[str] = Field(
        default_factory=list, description="probes made from the examples by changing them"
    )
    candidates: list[SampleResult]
    correct: int
    pass_at_k: dict[int, float]
    selected: dict[int, bool] = Field(description="m samples added -> the choice passes")
    selected_plain: dict[int, bool] = Field(
        default_factory=dict,
        description="the same, compared on the shared inputs without the varied ones",
    )
    reachable: dict[int, bool] = Field(description="m samples added -> some candidate passes")
    tester_write: tuple[int, int] = Field(description="classic tests passing on the reference")
    tester_properties: tuple[int, int] = Field(description="property tests passing on it")
    tokens: int = 0
    wall_s: float = 0.0


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def sample_files(text: str, task: Task) -> dict[str, str]:
    """The source files of a coder's reply, on the task's paths (the team's parser)."""
    return assign_paths(extract_files(text), task.files, None)


def _tests(text: str, test_file: str) -> dict[str, str]:
    found = assign_paths(extract_files(text), [], test_file)
    return {p: c for p, c in found.items() if is_test_path(p) and p.endswith(".py")}


def measure_task(
    task: Task,
    model: MeteredModel,
    sandbox_settings: SandboxSettings,
    folder: Path,
    *,
    samples: int,
    temperature: float,
    seed: int,
) -> TaskCeiling:
    started = time.monotonic()
    coder, tester = load_role("coder"), load_role("tester")
    tokens = 0

    def ask(messages: list[dict[str, Any]], **kw: Any) -> str:
        nonlocal tokens
        reply = model.complete(messages, role=kw.pop("role"), **kw)
        tokens += reply.prompt_tokens + reply.completion_tokens
        return reply.text

    solve = coder.messages("solve", task=task.text, files=task.files)
    candidates = [
        Candidate(id=0, origin="draft", files=sample_files(ask(solve, role="coder"), task))
    ]
    for i in range(samples):
        text = ask(solve, role="coder", temperature=temperature, seed=seed + 1 + i)
        candidates.append(
            Candidate(
                id=i + 1, origin="sample", files=sample_files(text, task), temperature=temperature
            )
        )
    names = target_names(task.text)
    examples = extract_examples(task.text, names)
    modules = [Path(f).with_suffix("").as_posix().replace("/", ".") for f in task.files]
    props = _tests(
        ask(
            tester.messages(
                "properties",
                task=task.text,
                requirements=[],
                examples=[e.model_dump() for e in examples],
                names=names,
                test_file=task.test_file,
                modules=modules,
                problem="",
            ),
            role="tester",
        ),
        task.test_file,
    )
    spec = {"goal": task.text[:300], "requirements": [task.text], "acceptance_criteria": []}
    classic = _tests(
        ask(
            tester.messages(
                "write", task=task.text, spec=spec, test_file=task.test_file, modules=modules
            ),
            role="tester",
        ),
        task.test_file,
    )
    # wired to candidate 0's modules, as the team's write_properties does
    props = {path: fix_test_imports(text, candidates[0].files)[0] for path, text in props.items()}
    tests = dict(props)
    if examples:
        tests[EXAMPLES_FILE] = examples_test_file(examples, modules)
    plan = check_plan(
        modules,
        names,
        {n: p for n, p in signatures(task.text).items() if n in names},
        examples,
        tests,
        timeout_s=sandbox_settings.timeout_s,
        variants=True,
        request=task.text,
    )
    reference = Candidate(id=-1, origin="sample", files=dict(task.reference))
    work = folder / "check"
    work.mkdir(parents=True, exist_ok=True)
    with open_sandbox(sandbox_settings, workspace=work) as sandbox:
        evidence = run_candidates(
            sandbox, candidates, plan, tests, timeout_s=sandbox_settings.timeout_s
        )
        ref_props = run_candidates(
            sandbox,
            [reference],
            {**plan, "tests": sorted(props)},
            props,
            timeout_s=sandbox_settings.timeout_s,
        )[-1]
        ref_classic = run_candidates(
            sandbox,
            [reference],
            {**plan, "tests": sorted(classic)},
            classic,
            timeout_s=sandbox_settings.timeout_s,
        )[-1]
    passed = {
        c.id: grade(task, source_files(c.files), sandbox_settings, folder / f"grade-{c.id}").passed
        for c in candidates
    }
    varied = set(plan["variants"])
    plain = {
        i: ev.model_copy(update={"probes": {k: v for k, v in ev.probes.items() if k not in varied}})
        for i, ev in evidence.items()
    }
    selected, selected_plain, reachable = {}, {}, {}
    for m in range(samples + 1):
        pool = candidates[: m + 1]
        pick = choose(pool, {c.id: evidence[c.id] for c in pool}, has_examples=bool(examples))
        selected[m] = passed[pick.chosen]
        pick = choose(pool, {c.id: plain[c.id] for c in pool}, has_examples=bool(examples))
        selected_plain[m] = passed[pick.chosen]
        reachable[m] = any(passed[c.id] for c in pool)
    n, c = len(candidates), sum(passed.values())
    return TaskCeiling(
        task_id=task.id,
        examples=len(examples),
        variants=list(plan["variants"]),
        candidates=[
            SampleResult(
                id=cand.id,
                temperature=0.0 if cand.id == 0 else temperature,
                seed=None if cand.id == 0 else seed + cand.id,
                passed=passed[cand.id],
                examples=f"{evidence[cand.id].examples_passed}/{len(evidence[cand.id].examples)}",
                tests=_ratio(evidence[cand.id], set(props)),
                probes=evidence[cand.id].probes,
                tests_passed=sorted(evidence[cand.id].tests_passed),
                tests_failed=sorted(evidence[cand.id].tests_failed),
                crashes=sorted(evidence[cand.id].crashes),
            )
            for cand in candidates
        ],
        correct=c,
        pass_at_k={k: round(pass_at_k(n, c, k), 4) for k in range(1, n + 1)},
        selected=selected,
        selected_plain=selected_plain,
        reachable=reachable,
        tester_write=_counts(ref_classic),
        tester_properties=_counts(ref_props),
        tokens=tokens,
        wall_s=round(time.monotonic() - started, 1),
    )


def _ratio(ev: Evidence, files: set[str]) -> str:
    mine = [t for t in ev.tests_passed if t.split("::")[0] in files]
    failed = [t for t in ev.tests_failed if t.split("::")[0] in files]
    return f"{len(mine)}/{len(mine) + len(failed)}"


def _counts(ev: Evidence) -> tuple[int, int]:
    return len(ev.tests_passed), len(ev.tests_passed) + len(ev.tests_failed)


def summarise(tasks: list[TaskCeiling]) -> dict[str, Any]:
    """Mean pass@k, selection and reachability per m, and the testers' accuracy."""
    if not tasks:
        return {}
    n = min(len(t.candidates) for t in tasks)
    write = [sum(t.tester_write[i] for t in tasks) for i in (0, 1)]
    props = [sum(t.tester_properties[i] for t in tasks) for i in (0, 1)]
    return {
        "tasks": len(tasks),
        "pass_at_k": {
            k: round(sum(t.pass_at_k[k] for t in tasks) / len(tasks), 4) for k in range(1, n + 1)
        },
        "selected": {m: sum(t.selected[m] for t in tasks) for m in range(n)},
        "selected_plain": {m: sum(t.selected_plain.get(m, False) for t in tasks) for m in range(n)},
        "reachable": {m: sum(t.reachable[m] for t in tasks) for m in range(n)},
        "tester_write_correct": f"{write[0]}/{write[1]}",
        "tester_properties_correct": f"{props[0]}/{props[1]}",
        "tokens": sum(t.tokens for t in tasks),
    }


def to_markdown(tasks: list[TaskCeiling], meta: dict[str, Any]) -> str:
    s = summarise(tasks)
    lines = [
        f"# Ceiling: {meta.get('model')} on {len(tasks)} tasks, {meta.get('samples')} samples "
        f"at temperature {meta.get('temperature')}",
        "",
        "| k | " + " | ".join(str(k) for k in s.get("pass_at_k", {})) + " |",
        "| --- | " + " | ".join("---:" for _ in s.get("pass_at_k", {})) + " |",
        "| pass@k | " + " | ".join(f"{v:.1%}" for v in s.get("pass_at_k", {}).values()) + " |",
        "",
        "| samples added (m) | " + " | ".join(str(m) for m in s.get("selected", {})) + " |",
        "| --- | " + " | ".join("---:" for _ in s.get("selected", {})) + " |",
        "| a right candidate exists | "
        + " | ".join(str(v) for v in s.get("reachable", {}).values())
        + " |",
        "| the selector picks a right one | "
        + " | ".join(str(v) for v in s.get("selected", {}).values())
        + " |",
        "| ... without the varied inputs | "
        + " | ".join(str(v) for v in s.get("selected_plain", {}).values())
        + " |",
        "",
        f"- the tester's tests that pass on the known-good solution: classic (hand-computed "
        f"values) {s.get('tester_write_correct')}, properties {s.get('tester_properties_correct')}",
        f"- tokens: {s.get('tokens', 0):,}",
        "",
        "| task | examples | correct / candidates | selected at m=max | tester classic "
        "| tester properties |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for t in tasks:
        last = max(t.selected)
        lines.append(
            f"| {t.task_id} | {t.examples} | {t.correct}/{len(t.candidates)} "
            f"| {'right' if t.selected[last] else 'wrong'} "
            f"| {t.tester_write[0]}/{t.tester_write[1]} "
            f"| {t.tester_properties[0]}/{t.tester_properties[1]} |"
        )
    return "\n".join(lines) + "\n"


def run_ceiling(
    tasks: list[Task],
    model: MeteredModel,
    sandbox_settings: SandboxSettings,
    out: Path,
    *,
    samples: int,
    temperature: float,
    seed: int,
    meta: dict[str, Any],
    progress: Callable[[str], None],
) -> list[TaskCeiling]:
    """Measure every task (a finished task's record is kept and not measured again)."""
    out.mkdir(parents=True, exist_ok=True)
    records_file = out / TASKS_FILE
    done = read_records(records_file, TaskCeiling, "ceiling record")
    results = []
    for i, task in enumerate(tasks, 1):
        if task.id in done:
            results.append(done[task.id])
            continue
        rec = measure_task(
            task,
            model,
            sandbox_settings,
            out / task.slug,
            samples=samples,
            temperature=temperature,
            seed=seed,
        )
        with records_file.open("a") as fh:
            fh.write(rec.model_dump_json() + "\n")
        results.append(rec)
        progress(
            f"[{i}/{len(tasks)}] {task.id}: {rec.correct}/{len(rec.candidates)} right, "
            f"selected {'right' if rec.selected[samples] else 'wrong'} ({rec.wall_s:.0f}s)"
        )
    (out / "ceiling.json").write_text(
        json.dumps(
            {
                "metadata": meta,
                "summary": summarise(results),
                "tasks": [r.model_dump() for r in results],
            },
            indent=2,
        )
        + "\n"
    )
    (out / "ceiling.md").write_text(to_markdown(results, meta))
    return results
