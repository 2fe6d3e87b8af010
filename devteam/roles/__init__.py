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

#: The templates each role kind's prompt file must define (docs/TEAMS.md lists their variables).
REQUIRED_TEMPLATES: dict[str, tuple[str, ...]] = {
    "ceo": ("spec", "accept", "readme"),
    "tester": ("write", "triage"),
    "coder": ("write", "fix", "revise"),
    "reviewer": ("review",),
}

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
        detail = " ".join(str(exc).split())[:300]
        raise ConfigError(f"Prompt file {origin} is not a valid role definition: {detail}") from exc


def check_role(role: Role, kind: str, origin: str) -> None:
    """A ConfigError unless ``role`` has every template ``kind`` needs and all of its
    templates (and the system prompt) are valid Jinja: found at load, before any model call."""
    missing = [t for t in REQUIRED_TEMPLATES.get(kind, ()) if t not in role.templates]
    if missing:
        raise ConfigError(
            f"Prompt file {origin} lacks the template(s) {', '.join(missing)} that a {kind} "
            "needs; copy them from the built-in prompt file of that kind."
        )
    for key, source in [("system", role.system), *role.templates.items()]:
        try:
            _ENV.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"Prompt file {origin}: template {key!r} is not valid Jinja ({exc.message}, "
                f"line {exc.lineno}); fix it."
            ) from exc


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} {path} is not a text file (byte {exc.start} is not UTF-8); it must be YAML."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read {what.lower()} {path}: {exc.strerror or exc}.") from exc


@lru_cache(maxsize=64)
def load_role_file(name: str, path: Path) -> Role:
    """A role from a prompt file a team config names."""
    return _parse(name, _read(path, "Prompt file"), str(path))


@lru_cache(maxsize=64)
def load_role(name: str, prompts_dir: Path | None = None) -> Role:
    """Load a role from ``prompts_dir`` if it has ``<name>.yaml``, else the built-in one."""
    if prompts_dir is not None:
        custom = prompts_dir / f"{name}.yaml"
        if custom.is_file():
            return _parse(name, _read(custom, "Prompt file"), str(custom))
    builtin = resources.files("devteam.roles").joinpath("prompts", f"{name}.yaml")
    if not builtin.is_file():
        raise ConfigError(f"No prompt file for role {name!r}; create {name}.yaml in prompts_dir.")
    return _parse(name, builtin.read_text(encoding="utf-8"), f"devteam/roles/prompts/{name}.yaml")
