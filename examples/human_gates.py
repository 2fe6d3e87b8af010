"""Human gates: approve the spec and the delivery yourself, from a program.

A gate stops the run (``status == "waiting"``, ``result.question`` says what it asks);
``Team.resume(run_id, answer=...)`` goes on. Answers: True/"yes", False/"no", or text
saying what to change. Finished steps are never redone when a gate resumes.

python examples/human_gates.py
"""

import json
import sys

from devteam import Team, load_settings


def main() -> int:
    team = Team(load_settings(), gates=["approve_spec", "approve_delivery"])
    result = team.run(
        "Write a Python module roman.py with to_roman(n) for 1 <= n <= 3999, raising ValueError "
        "outside that range"
    )
    while result.waiting:
        assert result.question is not None
        print(json.dumps(result.question, indent=2))
        answer = input(f"{result.question['gate']}: yes / no / what to change > ")
        result = team.resume(result.run_id, answer=answer)
    print(f"{result.status}: {result.reason} ({result.workspace})")
    return 0 if result.ok else 2


if __name__ == "__main__":
    sys.exit(main())
