"""devteam: an autonomous software team in a box."""

__version__ = "0.1.0"
