"""The prompts of the bench's own strategy ``reflect``, as data.

(``single`` asks with the coder's ``solve`` template: it is the team's candidate 0.)

Each ``bench/prompts/<name>.yaml`` holds a system prompt and named Jinja templates, rendered
with StrictUndefined (a missing variable is an error, never an empty string). The team
strategy uses the team's own prompts.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict

from devteam.bench.errors import BenchError

PROMPTS_DIR = Path(__file__).with_name("prompts")

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)


class PromptSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    system: str
    templates: dict[str, str]
    sha256: str = ""

    def render(self, template: str, **variables: Any) -> str:
        try:
            source = self.templates[template]
        except KeyError:
            raise BenchError(
                f"The prompt file {self.name}.yaml has no template {template!r}."
            ) from None
        return _ENV.from_string(source).render(**variables).strip() + "\n"

    def messages(self, template: str, **variables: Any) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": self.system.strip()},
            {"role": "user", "content": self.render(template, **variables)},
        ]


@lru_cache(maxsize=16)
def load_prompts(name: str, prompts_dir: Path = PROMPTS_DIR) -> PromptSet:
    path = prompts_dir / f"{name}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        return PromptSet(name=name, sha256=hashlib.sha256(text.encode()).hexdigest(), **data)
    except (OSError, yaml.YAMLError, TypeError, ValueError) as exc:
        raise BenchError(f"The prompt file {path} cannot be used: {exc}") from exc
