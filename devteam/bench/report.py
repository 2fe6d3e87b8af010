"""Merge several bench results into one comparison table (the tables of bench/RESULTS.md).

python -m devteam.bench.report bench/out/RUN1 bench/out/RUN2 ...   (folders or results.json files)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devteam.bench.errors import BenchError
from devteam.bench.results import load_results, summary_table, task_matrix


def compare(paths: list[Path], *, per_task: bool = False) -> str:
    """The comparison table of several results; ``per_task`` adds one row per task."""
    if not paths:
        raise BenchError("Give at least one bench output folder or results.json file.")
    results = [load_results(p) for p in paths]
    text = summary_table(results)
    return text + "\n" + task_matrix(results) if per_task else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--per-task", action="store_true", help="add a table row per task")
    args = parser.parse_args(argv)
    try:
        print(compare(args.results, per_task=args.per_task), end="")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
