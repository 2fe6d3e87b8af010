"""``with`` for anything that is started and must be stopped: a sandbox backend, a server."""

from __future__ import annotations

from typing import Self


class Lifecycle:
    """``with``: ``start()`` on the way in, ``stop()`` always on the way out."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
