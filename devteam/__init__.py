"""devteam: an autonomous software team in a box.

The public API, imported lazily so that ``import devteam`` does no work::

    from devteam import Team, load_settings
    result = Team(load_settings()).run("Write a Python module ...")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "DevteamError",
    "RunResult",
    "Settings",
    "Team",
    "__version__",
    "load_settings",
]

_EXPORTS = {
    "Team": "devteam.team",
    "RunResult": "devteam.team",
    "Settings": "devteam.config",
    "load_settings": "devteam.config",
    "DevteamError": "devteam.errors",
}

if TYPE_CHECKING:
    from devteam.config import Settings, load_settings
    from devteam.errors import DevteamError
    from devteam.team import RunResult, Team


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'devteam' has no attribute {name!r}")
