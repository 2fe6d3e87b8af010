"""The prompts a test's run rendered, by (role, template) with their variables (the
``rendered`` fixture in tests/conftest.py): tests check what a prompt was given, never how the
prompt file words it, so rewording a prompt breaks no test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rendered:
    """One prompt a role rendered: its prompt file, the template, the variables given."""

    role: str
    template: str
    variables: dict[str, Any]
    reminder: str | None = None  # a second template added at the end (a retry's correction)


def only(seen: list[Rendered], role: str, template: str) -> list[dict[str, Any]]:
    """The variables of each (role, template) prompt in ``seen``, in order."""
    return [r.variables for r in seen if (r.role, r.template) == (role, template)]
