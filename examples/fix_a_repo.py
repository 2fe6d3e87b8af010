"""Incremental mode: let the team change an existing git repository, on a branch.

The team reads a map of the repository (files and symbols, not everything), makes the
change on ``devteam/<run id>``, and runs the repository's own tests in the sandbox.
Your branch and your uncommitted work are never touched (a dirty tree is refused).

python examples/fix_a_repo.py PATH/TO/REPO "Make total() apply the discount as a percentage"
"""

import sys
from pathlib import Path

from devteam import Team, load_settings


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__)
        return 1
    repo, task = Path(sys.argv[1]), " ".join(sys.argv[2:])
    result = Team(load_settings()).run(task, repo=repo)
    print(f"{result.status}: {result.reason}")
    print(f"branch {result.branch} in {result.workspace}; review: {result.review or '-'}")
    return 0 if result.ok else 2


if __name__ == "__main__":
    sys.exit(main())
