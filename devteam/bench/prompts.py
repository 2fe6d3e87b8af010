"""The prompts of the bench's own strategy ``reflect``, as data.

(``single`` asks with the coder's ``solve`` template: it is the team's candidate 0.)

Each ``bench/prompts/<name>.yaml`` is a role file like the team's (devteam/roles): a system
prompt and named Jinja templates, read and rendered by ``devteam.roles`` (StrictUndefined: a
missing variable is an error, never an empty string). The team strategy uses the team's own
prompts.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from devteam.bench.errors import BenchError
from devteam.errors import ConfigError
from devteam.roles import Role, load_role_file

PROMPTS_DIR = Path(__file__).with_name("prompts")


class PromptSet(Role):
    """A bench prompt file read as a role, with the file's sha256 for the results' record."""

    sha256: str = ""


@lru_cache(maxsize=16)
def load_prompts(name: str, prompts_dir: Path = PROMPTS_DIR) -> PromptSet:
    path = prompts_dir / f"{name}.yaml"
    try:
        role = load_role_file(name, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except (ConfigError, OSError) as exc:
        raise BenchError(f"The prompt file {path} cannot be used: {exc}") from exc
    return PromptSet(**role.model_dump(), sha256=digest)
