"""Run the team from Python and print what came out.

python examples/run_task.py "Write a Python module fizz.py with fizzbuzz(n) ..."
"""

import sys

from devteam import Team, load_settings


def main() -> int:
    task = " ".join(sys.argv[1:]) or (
        "Write a Python module fizz.py with fizzbuzz(n) returning 'Fizz', 'Buzz', 'FizzBuzz' "
        "or str(n), with pytest tests"
    )
    result = Team(load_settings(), progress=print).run(task)
    print(f"{result.status}: {result.reason}")
    print(f"workspace: {result.workspace}")
    print(f"tokens: {result.tokens}, time: {result.duration_s:.1f}s, fixes: {result.fix_attempts}")
    return 0 if result.ok else 2


if __name__ == "__main__":
    sys.exit(main())
