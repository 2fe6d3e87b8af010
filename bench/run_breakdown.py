"""Where a run's wall time went, from its audit log: model, sandbox, everything else.

python -m bench.run_breakdown .devteam/runs/<run-id>/audit.jsonl [...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from devteam.events import read_audit_log


def breakdown(path: Path) -> dict[str, float]:
    events = read_audit_log(path)
    start = next(e.ts for e in events if e.kind == "run_started")
    end = [e for e in events if e.kind == "run_finished"]
    if not end:
        raise SystemExit(f"{path}: the run has not finished (no run_finished event)")
    fin = end[-1]
    wall = fin.ts - start
    model = sum(e.latency_s for e in events if e.kind == "model_call")  # type: ignore[union-attr]
    sandbox = sum(e.duration_s for e in events if e.kind == "sandbox_run")  # type: ignore[union-attr]
    return {
        "wall_s": wall,
        "model_s": model,
        "sandbox_s": sandbox,
        "other_s": wall - model - sandbox,
        "model_calls": sum(1 for e in events if e.kind == "model_call"),
        "sandbox_runs": sum(1 for e in events if e.kind == "sandbox_run"),
        "tokens": fin.prompt_tokens + fin.completion_tokens,  # type: ignore[union-attr]
        "fix_attempts": fin.fix_attempts,  # type: ignore[union-attr]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("audit_logs", nargs="+", type=Path)
    args = parser.parse_args()
    print(
        "| run | status | wall s | model s | sandbox s (%) | other s (%) | calls | tokens | fixes |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in args.audit_logs:
        b = breakdown(path)
        status = [e for e in read_audit_log(path) if e.kind == "run_finished"][-1].status  # type: ignore[union-attr]
        w = b["wall_s"] or 1.0
        print(
            f"| {path.parent.name} | {status} | {b['wall_s']:.1f} | {b['model_s']:.1f} | "
            f"{b['sandbox_s']:.2f} ({100 * b['sandbox_s'] / w:.1f}%) | "
            f"{b['other_s']:.1f} ({100 * b['other_s'] / w:.1f}%) | {b['model_calls']:.0f} | "
            f"{b['tokens']:.0f} | {b['fix_attempts']:.0f} |"
        )


if __name__ == "__main__":
    main()
