"""Watch a run as it happens: ``Team.stream`` yields the same typed events as the audit log.

python examples/stream_events.py "Write a Python module slug.py with slugify(text) ..."
"""

import sys

from devteam import Team, load_settings


def main() -> int:
    task = " ".join(sys.argv[1:]) or (
        "Write a Python module slug.py with slugify(text) that lowercases text, turns runs of "
        "non-alphanumeric characters into one '-', and strips '-' from both ends"
    )
    team = Team(load_settings())
    for event in team.stream(task):
        if event.kind == "phase":
            print(f"-> {event.role}: {event.phase}")
        elif event.kind == "model_call":
            print(f"   {event.role} used {event.prompt_tokens}+{event.completion_tokens} tokens")
        elif event.kind == "sandbox_run":
            print(f"   sandbox: exit {event.exit_code} in {event.duration_s:.1f}s")
        elif event.kind == "decision":
            print(f"   {event.source} -> {event.target}: {event.reason}")
    result = team.last_result
    assert result is not None
    print(f"{result.status}: {result.reason} ({result.workspace})")
    return 0 if result.ok else 2


if __name__ == "__main__":
    sys.exit(main())
