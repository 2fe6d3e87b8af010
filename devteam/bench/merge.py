"""Merge a rerun of some tasks into a finished run: ``devteam bench merge BASE RERUN... --out``.

After a change that only some tasks reach, rerunning those tasks and merging them into the
earlier run gives a whole-suite figure at a fraction of the cost. The merged file says which
file (and so which commit) each task's result came from (``metadata.merged``), and keeps every
source's starts in ``metadata.segments``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from devteam.bench.errors import BenchError
from devteam.bench.results import (
    BenchResults,
    MergeSource,
    TaskResult,
    load_results,
    summarise,
    write_results,
)

# What must agree for two runs' tasks to be comparable: the rest (commit, prompts, settings
# other than these) is what a rerun is expected to change.
_SAME = ("suite", "strategy", "team", "model", "temperature", "seed", "max_rounds", "concurrency")


def _check_comparable(base: BenchResults, other: BenchResults, name: str) -> None:
    b, o = base.metadata, other.metadata
    for field in _SAME:
        if getattr(b, field) != getattr(o, field):
            raise BenchError(
                f"Cannot merge {name}: its {field} is {getattr(o, field)!r}, the base run's is "
                f"{getattr(b, field)!r}; only runs of the same {field} can be merged."
            )
    if b.model_sha256 and o.model_sha256 and b.model_sha256 != o.model_sha256:
        raise BenchError(
            f"Cannot merge {name}: it ran another model file (sha256 {o.model_sha256[:12]}..., "
            f"the base run's is {b.model_sha256[:12]}...)."
        )


def merge_results(
    base: BenchResults, reruns: Sequence[tuple[str, BenchResults]], base_name: str = "base"
) -> BenchResults:
    """``base`` with each task that a rerun also ran replaced by the rerun's (the last wins).

    Tasks a rerun ran that the base did not are added after the base's. Throughput is counted
    over the merged tasks' own time (wall + grading), as at concurrency 1.
    """
    if not reruns:
        raise BenchError("Give at least one rerun to merge into the base run.")
    # Throughput of a merge is only meaningful for runs of one task at a time; the reruns
    # must then match the base's concurrency like the rest of _SAME.
    if base.metadata.concurrency != 1:
        raise BenchError(
            f"Cannot merge into {base_name}: it ran at --concurrency "
            f"{base.metadata.concurrency}; merge runs of one task at a time."
        )
    for name, other in reruns:
        _check_comparable(base, other, name)

    chosen: dict[str, tuple[TaskResult, str]] = {t.task_id: (t, base_name) for t in base.tasks}
    for name, other in reruns:
        for t in other.tasks:
            chosen[t.task_id] = (t, name)
    tasks = [task for task, _ in chosen.values()]

    runs = [(base_name, base), *reruns]
    sources = []
    for name, res in runs:
        taken = [tid for tid, (_, src) in chosen.items() if src == name]
        m = res.metadata
        sources.append(
            MergeSource(
                path=name,
                git_commit=m.git_commit,
                git_dirty=m.git_dirty,
                started=m.started,
                finished=m.finished,
                task_ids=taken,
            )
        )
    elapsed = sum(t.wall_s + t.grade_s for t in tasks)
    finished = [r.metadata.finished for _, r in reruns if r.metadata.finished]
    metadata = base.metadata.model_copy(
        update={
            "task_ids": list(chosen),
            "git_commit": None,
            "git_dirty": None,
            "finished": max(finished) if finished else base.metadata.finished,
            "segments": [s for _, r in runs for s in r.metadata.segments],
            "merged": sources,
            "unfinished": [t for t in base.metadata.unfinished if t not in chosen],
        }
    )
    return BenchResults(metadata=metadata, summary=summarise(tasks, elapsed), tasks=tasks)


def merge(base: Path, reruns: Sequence[Path], out: Path) -> BenchResults:
    """Merge the result folders (or files); write ``results.json`` and ``results.md`` to ``out``."""
    inputs = {p.resolve() for p in [base, *reruns]}
    if out.resolve() in inputs:
        raise BenchError(f"--out {out} is one of the inputs; give a new folder.")
    if out.exists() and any(out.iterdir()):
        raise BenchError(f"{out} is not empty; give --out a new folder for the merged results.")
    merged = merge_results(
        load_results(base), [(str(p), load_results(p)) for p in reruns], base_name=str(base)
    )
    out.mkdir(parents=True, exist_ok=True)
    write_results(out, merged)
    return merged
