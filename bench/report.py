"""Merge several bench results into one comparison table (the tables of bench/RESULTS.md).

python -m bench.report bench/out/RUN1 bench/out/RUN2 ...   (folders or results.json files)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import BenchError
from bench.results import load_results, summary_table


def compare(paths: list[Path]) -> str:
    if not paths:
        raise BenchError("Give at least one bench output folder or results.json file.")
    return summary_table([load_results(p) for p in paths])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        print(compare(args.results), end="")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
