"""Would more samples tell a false claim from a true one?

For every task of a finished team run that said ``passed``: ``samples`` more answers from the
coder's ``solve`` prompt (temperature 0.8, seeds ``seed + 1000 + i``, the seeds of the
team's first sample round), run with the delivered candidate through the team's own check
(the run's recorded tester tests and the request's examples, with varied inputs), compared
with it on every shared input, and graded on the hidden tests. Then, per rule and per
number of samples m: how many right claims and how many false ones would stand if a claim
were withdrawn when the samples contradict it.

``devteam bench claims <run> --samples 2 --out DIR`` writes ``claims.json`` and
``claims.md``. A rerun into the same folder keeps finished tasks (``tasks.jsonl``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, Field

from devteam.agents.candidates import SAMPLE_SEED
from devteam.agents.checking import plan_for
from devteam.agents.common import modules_of, spec_of
from devteam.agents.examples import EXAMPLES_FILE, Example, examples_test_file
from devteam.agents.execution import run_candidates
from devteam.agents.select import Candidate
from devteam.agents.state import RunState
from devteam.bench.ceiling import sample_files
from devteam.bench.errors import BenchError
from devteam.bench.grading import grade, source_files
from devteam.bench.recorded import NOT_TEAMS, final_state
from devteam.bench.results import TaskRecord, load_results
from devteam.bench.resume import TASKS_FILE, read_records
from devteam.bench.tasks import Task, load_tasks
from devteam.config import SandboxSettings
from devteam.llm.metered import MeteredModel
from devteam.roles import load_role
from devteam.sandbox import open_sandbox


class ClaimSample(BaseModel):
    seed: int
    passed: bool = Field(description="the hidden tests pass")
    working: bool = Field(description="it imports and has every requested name")
    all_examples: bool = Field(description="it passes every example the request states")
    differs: list[str] = Field(
        default_factory=list, description="shared inputs it answers unlike the delivered one"
    )
    differs_stated: list[str] = Field(
        default_factory=list, description="... of them, the examples' calls and varied calls"
    )


class ClaimRecord(TaskRecord):
    chosen: int
    right: bool = Field(description="the delivered candidate passes the hidden tests")
    examples: int
    samples: list[ClaimSample]
    tokens: int = 0


#: Withdraw a claim when, among the first m samples, ...
RULES: dict[str, str] = {
    "stated": "one that passes every example answers differently on an example or varied input",
    "stated_or_none": "... or none passes every example",
    "any": "... or one that passes every example answers differently on any shared input",
}


def withdrawn(rec: ClaimRecord, m: int, rule: str) -> bool:
    """Whether ``rule`` withdraws the claim given its first ``m`` samples. A request without
    examples was claimed by the agreement of sampled candidates already: never withdrawn."""
    if not rec.examples:
        return False
    agreeing = [s for s in rec.samples[:m] if s.working and s.all_examples]
    if rule == "stated":
        return any(s.differs_stated for s in agreeing)
    if rule == "stated_or_none":
        return not agreeing or any(s.differs_stated for s in agreeing)
    if rule == "any":
        return not agreeing or any(s.differs for s in agreeing)
    raise ValueError(f"unknown rule {rule!r}")


def measure_claim(
    task: Task,
    state: dict[str, Any],
    model: MeteredModel,
    sandbox: SandboxSettings,
    folder: Path,
    *,
    samples: int,
    temperature: float,
    seed: int,
) -> ClaimRecord:
    chosen_id = int((state.get("selection") or {}).get("chosen", 0))
    chosen = Candidate.model_validate(next(c for c in state["candidates"] if c["id"] == chosen_id))
    run_state = cast(RunState, state)
    spec = spec_of(run_state)
    solve = load_role("coder").messages("solve", task=state["task"], files=spec.files)
    drawn: list[Candidate] = []
    seeds = [seed + SAMPLE_SEED + i for i in range(samples)]  # the team's first round
    tokens = 0
    for i, s in enumerate(seeds):
        reply = model.complete(
            solve, role="coder", template="solve", temperature=temperature, seed=s
        )
        tokens += reply.prompt_tokens + reply.completion_tokens
        drawn.append(Candidate(id=-1 - i, origin="sample", files=sample_files(reply.text, task)))
    examples = [Example.model_validate(e) for e in state.get("examples", [])]
    tests = dict(state.get("tester_tests") or {})
    if examples:
        tests[EXAMPLES_FILE] = examples_test_file(examples, modules_of(spec))
    plan = plan_for(run_state, tests, timeout_s=sandbox.timeout_s, variants=True)
    stated = {*plan["variants"], *(e.call for e in examples)}
    work = folder / "check"
    work.mkdir(parents=True, exist_ok=True)
    with open_sandbox(sandbox, workspace=work) as box:
        evidence = run_candidates(box, [chosen, *drawn], plan, tests, timeout_s=sandbox.timeout_s)
    mine = evidence[chosen.id].probes
    graded = []
    for i, (cand, s) in enumerate(zip(drawn, seeds, strict=True)):
        ev = evidence[cand.id]
        differs = sorted(p for p, v in mine.items() if ev.probes.get(p) != v)
        passed = grade(task, source_files(cand.files), sandbox, folder / f"grade-{i}").passed
        graded.append(
            ClaimSample(
                seed=s,
                passed=passed,
                working=ev.smoke_ok and not ev.crashes,
                all_examples=ev.examples_passed == len(ev.examples),
                differs=differs,
                differs_stated=[p for p in differs if p in stated],
            )
        )
    right = grade(task, source_files(chosen.files), sandbox, folder / "grade-chosen").passed
    return ClaimRecord(
        task_id=task.id,
        chosen=chosen_id,
        right=right,
        examples=len(examples),
        samples=graded,
        tokens=tokens,
    )


def run_claims(
    run: Path,
    model: MeteredModel,
    sandbox: SandboxSettings,
    out: Path,
    *,
    samples: int,
    temperature: float,
    seed: int,
    progress: Callable[[str], None],
) -> list[ClaimRecord]:
    """Measure every claimed task of the team run in ``run`` (finished ones are kept)."""
    results = load_results(run / "results.json")
    if results.metadata.strategy in NOT_TEAMS:
        raise BenchError(
            f"{run} holds a {results.metadata.strategy!r} run; only a team run claims "
            "`passed` on its own evidence. Point to a `devteam bench run --strategy team` folder."
        )
    claimed = [r.task_id for r in results.tasks if r.status == "passed"]
    tasks = load_tasks(results.metadata.suite, claimed) if claimed else []
    out.mkdir(parents=True, exist_ok=True)
    records_file = out / TASKS_FILE
    done = read_records(records_file, ClaimRecord, "claim record")
    records: list[ClaimRecord] = []
    for i, task in enumerate(tasks, 1):
        if task.id in done:
            records.append(done[task.id])
            continue
        state = final_state(run / "state" / task.slug, task.slug)
        if not state or not state.get("candidates"):
            progress(f"[{i}/{len(tasks)}] {task.id}: no checkpoint with candidates; left out")
            continue
        rec = measure_claim(
            task,
            state,
            model,
            sandbox,
            out / task.slug,
            samples=samples,
            temperature=temperature,
            seed=seed,
        )
        with records_file.open("a", encoding="utf-8") as fh:
            fh.write(rec.model_dump_json() + "\n")
        records.append(rec)
        progress(
            f"[{i}/{len(tasks)}] {task.id}: claim {'right' if rec.right else 'false'}; samples "
            + ", ".join(
                f"{'right' if s.passed else 'wrong'}"
                f"{'' if s.all_examples else ' (fails an example)'}"
                f"{f', differs on {len(s.differs)}' if s.differs else ''}"
                for s in rec.samples
            )
        )
    (out / "claims.json").write_text(
        json.dumps([r.model_dump() for r in records], indent=2) + "\n", encoding="utf-8"
    )
    (out / "claims.md").write_text(to_markdown(records, samples), encoding="utf-8")
    return records


def to_markdown(records: list[ClaimRecord], samples: int) -> str:
    """Right and false claims that stand, per rule and number of samples."""
    right = sum(r.right for r in records)
    lines = [
        f"# Claims of a team run, checked by up to {samples} more samples",
        "",
        f"{len(records)} claims: {right} right, {len(records) - right} false "
        f"({_rate(len(records) - right, len(records))} false success). "
        f"Sampling cost {sum(r.tokens for r in records):,} tokens.",
        "",
        "| withdraw the claim when, among m samples, | m | right claims kept | false kept "
        "| false success |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for rule, words in RULES.items():
        for m in range(1, samples + 1):
            kept = [r for r in records if not withdrawn(r, m, rule)]
            true_kept = sum(r.right for r in kept)
            false_kept = len(kept) - true_kept
            lines.append(
                f"| {words} | {m} | {true_kept} of {right} | {false_kept} "
                f"| {_rate(false_kept, len(kept))} |"
            )
    return "\n".join(lines) + "\n"


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
