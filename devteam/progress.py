"""The progress callbacks a long step reports through (model start, image build, downloads)."""

from __future__ import annotations

from collections.abc import Callable

#: A line saying what is happening now.
Progress = Callable[[str], None]
#: A stage and how far it is (a fraction from 0 to 1, or None when unknown).
StagedProgress = Callable[[str, float | None], None]
