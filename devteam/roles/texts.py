"""Model-visible text that belongs to no single role (prompts/feedback.yaml), as data.

Each text is a Jinja template rendered with StrictUndefined; the newline YAML's ``|`` adds
at the end is dropped, nothing else, so a rendered text is exactly what the file says.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
import yaml

from devteam.errors import ConfigError

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)


@lru_cache(maxsize=8)
def _templates(name: str) -> dict[str, jinja2.Template]:
    source = resources.files("devteam.roles").joinpath("prompts", f"{name}.yaml")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return {key: _ENV.from_string(text) for key, text in data["templates"].items()}


def text(key: str, *, file: str = "feedback", **variables: Any) -> str:
    """The text ``key`` of ``prompts/<file>.yaml``, rendered with ``variables``."""
    try:
        template = _templates(file)[key]
    except KeyError:
        raise ConfigError(f"devteam/roles/prompts/{file}.yaml has no text {key!r}.") from None
    try:
        return template.render(**variables).removesuffix("\n")
    except jinja2.TemplateError as exc:
        raise ConfigError(f"Text {file}.{key} failed to render: {exc}.") from exc
