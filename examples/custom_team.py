"""A team from a config file: examples/teams/careful.yaml adds a security reviewer with
its own prompt, gives the coder its own temperature and allows two review rounds.

python examples/custom_team.py [examples/teams/careful.yaml | solo | default]
"""

import sys

from devteam import Team, load_settings


def main() -> int:
    team_file = sys.argv[1] if len(sys.argv) > 1 else "examples/teams/careful.yaml"
    team = Team(load_settings(), team=team_file)
    print(f"team {team.config.name}: {', '.join(team.config.roles)}")
    result = team.run(
        "Write a Python module safe_eval.py with calc(expr) that evaluates + - * / on integers "
        "and parentheses without using eval or exec, raising ValueError on anything else"
    )
    print(f"{result.status}: {result.reason}; review: {result.review or '-'}")
    return 0 if result.ok else 2


if __name__ == "__main__":
    sys.exit(main())
