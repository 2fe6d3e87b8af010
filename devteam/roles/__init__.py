"""Roles and their prompts, as data: one YAML file per role of Jinja templates.

Templates render with StrictUndefined, so a missing variable is an error, not an empty string.
A user can point ``prompts_dir`` at a folder of their own YAML files to re-prompt a role.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict

from devteam.errors import ConfigError

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)


class Role(BaseModel):
    """A role: its name, system prompt and named message templates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    system: str
    templates: dict[str, str]
    template_hash: str = ""

    def render(self, template: str, **variables: Any) -> str:
        try:
            source = self.templates[template]
        except KeyError:
            raise ConfigError(
                f"Role {self.name!r} has no template {template!r}; add it to its prompt file."
            ) from None
        try:
            return _ENV.from_string(source).render(**variables).strip() + "\n"
        except jinja2.TemplateError as exc:
            raise ConfigError(
                f"Template {self.name}.{template} failed to render: {exc}; fix the prompt file."
            ) from exc

    def messages(
        self, template: str, *, reminder: str | None = None, **variables: Any
    ) -> list[dict[str, Any]]:
        """A system + user message pair, the system part stable so prefix caches hit.

        ``reminder`` names a second template, rendered with the same variables and added
        at the end of the user message: a correction for a retry that keeps the prompt.
        """
        user = self.render(template, **variables)
        if reminder is not None:
            user += "\n" + self.render(reminder, **variables)
        return [
            {"role": "system", "content": self.system.strip()},
            {"role": "user", "content": user},
        ]


def _parse(name: str, text: str, origin: str) -> Role:
    try:
        data = yaml.safe_load(text)
        return Role(name=name, template_hash=hashlib.sha256(text.encode()).hexdigest()[:16], **data)
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        raise ConfigError(f"Prompt file {origin} is not a valid role definition: {exc}") from exc


@lru_cache(maxsize=64)
def load_role_file(name: str, path: Path) -> Role:
    """A role from a prompt file a team config names."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read prompt file {path} for role {name!r}: {exc}.") from exc
    return _parse(name, text, str(path))


@lru_cache(maxsize=64)
def load_role(name: str, prompts_dir: Path | None = None) -> Role:
    """Load a role from ``prompts_dir`` if it has ``<name>.yaml``, else the built-in one."""
    if prompts_dir is not None:
        custom = prompts_dir / f"{name}.yaml"
        if custom.is_file():
            return _parse(name, custom.read_text(encoding="utf-8"), str(custom))
    builtin = resources.files("devteam.roles").joinpath("prompts", f"{name}.yaml")
    if not builtin.is_file():
        raise ConfigError(f"No prompt file for role {name!r}; create {name}.yaml in prompts_dir.")
    return _parse(name, builtin.read_text(encoding="utf-8"), f"devteam/roles/prompts/{name}.yaml")
