"""The bot's own ledger (SQLite, or PostgreSQL for a fleet): deliveries seen, and runs.

Whatever the queue promises, this is what makes the bot idempotent: a delivery id is recorded
once (a replay finds it), a run is opened only when no other run of the same issue is queued
or running (a unique partial index decides, atomically), and a run is claimed by one worker at
a time under a lease that its worker renews; a run whose lease ran out is taken over.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

RunState = Literal["queued", "running", "done", "failed", "cancelled", "refused"]
ACTIVE = ("queued", "running")
ACTIVE_RUN = "SELECT * FROM runs WHERE repo = ? AND issue = ? AND state IN ('queued', 'running')"

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY, event TEXT NOT NULL, received FLOAT8 NOT NULL, outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id {id_column},
  repo TEXT NOT NULL, issue INTEGER NOT NULL, trigger TEXT NOT NULL, sender TEXT NOT NULL,
  installation BIGINT,
  state TEXT NOT NULL, run_id TEXT, comment_id BIGINT, pr_number INTEGER,
  worker TEXT, heartbeat FLOAT8, attempts INTEGER NOT NULL DEFAULT 0,
  cancel INTEGER NOT NULL DEFAULT 0, tokens BIGINT NOT NULL DEFAULT 0, outcome TEXT,
  created FLOAT8 NOT NULL, updated FLOAT8 NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_run ON runs(repo, issue)
  WHERE state IN ('queued', 'running');
"""
ID_COLUMN = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}


class Run(BaseModel):
    id: int
    repo: str
    issue: int
    trigger: str
    sender: str
    installation: int | None = None
    state: RunState
    run_id: str | None = None
    comment_id: int | None = None
    pr_number: int | None = None
    worker: str | None = None
    heartbeat: float | None = None
    attempts: int = 0
    cancel: bool = False
    tokens: int = 0
    outcome: str | None = None
    created: float
    updated: float


class Ledger:
    """Deliveries and runs in one database, safe to share between threads and processes.

    ``where`` is a SQLite file, or a ``postgresql://`` URL (several machines; needs psycopg).
    """

    def __init__(self, where: Path | str) -> None:
        self._lock = threading.RLock()
        self.kind = (
            "postgresql" if str(where).startswith(("postgresql://", "postgres://")) else "sqlite"
        )
        if self.kind == "postgresql":
            import psycopg
            from psycopg.rows import dict_row

            self._pg = psycopg.connect(str(where), autocommit=True, row_factory=dict_row)
            with self._pg.transaction():
                self._pg.execute("SELECT pg_advisory_xact_lock(7243)")  # one creator at a time
                for statement in SCHEMA.format(id_column=ID_COLUMN["postgresql"]).split(";"):
                    if statement.strip():
                        self._pg.execute(statement.encode())
        else:
            path = Path(where)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = _dict_row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(SCHEMA.format(id_column=ID_COLUMN["sqlite"]))

    def close(self) -> None:
        (self._pg if self.kind == "postgresql" else self._db).close()

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> Any:
        if self.kind == "postgresql":
            return self._pg.execute(re.sub(r"\?", "%s", sql).encode(), list(args))
        return self._db.execute(sql, tuple(args))

    @contextmanager
    def _tx(self) -> Iterator[None]:
        with self._lock:
            if self.kind == "postgresql":
                with self._pg.transaction():
                    yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        with self._lock:
            row: dict[str, Any] | None = self._exec(sql, args).fetchone()
            return row

    def _all(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._exec(sql, args).fetchall())

    # -- deliveries ----------------------------------------------------------------------
    def record_delivery(self, delivery: str, event: str) -> bool:
        """True the first time ``delivery`` is seen; False for a replay."""
        with self._tx():
            cur = self._exec(
                "INSERT INTO deliveries (id, event, received, outcome) "
                "VALUES (?, ?, ?, 'received') ON CONFLICT (id) DO NOTHING",
                (delivery, event, time.time()),
            )
            return bool(cur.rowcount == 1)

    def set_outcome(self, delivery: str, outcome: str) -> None:
        with self._tx():
            self._exec("UPDATE deliveries SET outcome = ? WHERE id = ?", (outcome, delivery))

    def delivery_outcome(self, delivery: str) -> str | None:
        row = self._one("SELECT outcome FROM deliveries WHERE id = ?", delivery)
        return row["outcome"] if row else None

    # -- runs ----------------------------------------------------------------------------
    def open_run(
        self, repo: str, issue: int, trigger: str, sender: str, installation: int | None = None
    ) -> tuple[Run, bool]:
        """The issue's new run (True), or the one already queued or running (False).

        The unique partial index decides between two triggers at once, on any database.
        """
        now = time.time()
        with self._tx():
            active = self._exec(ACTIVE_RUN, (repo, issue)).fetchone()
            if active is not None:
                return Run.model_validate(active), False
            row = self._exec(
                "INSERT INTO runs (repo, issue, trigger, sender, installation, state, created, "
                "updated) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) "
                "ON CONFLICT (repo, issue) WHERE state IN ('queued', 'running') DO NOTHING "
                "RETURNING id",
                (repo, issue, trigger, sender, installation, now, now),
            ).fetchone()
            if row is None:  # another process opened one between our read and write
                active = self._exec(ACTIVE_RUN, (repo, issue)).fetchone()
                return Run.model_validate(active), False
        run = self.get(int(row["id"]))
        assert run is not None
        return run, True

    def get(self, pk: int) -> Run | None:
        row = self._one("SELECT * FROM runs WHERE id = ?", pk)
        return Run.model_validate(row) if row else None

    def runs(self, repo: str | None = None, issue: int | None = None) -> list[Run]:
        sql = "SELECT * FROM runs WHERE 1=1"
        args: list[Any] = []
        if repo is not None:
            sql, args = sql + " AND repo = ?", [*args, repo]
        if issue is not None:
            sql, args = sql + " AND issue = ?", [*args, issue]
        return [Run.model_validate(r) for r in self._all(sql + " ORDER BY id", *args)]

    def claim(self, pk: int, worker: str, lease_s: float) -> Run | None:
        """Make ``worker`` the run's owner if it is queued or its owner's lease ran out."""
        now = time.time()
        with self._tx():
            cur = self._exec(
                "UPDATE runs SET state = 'running', worker = ?, heartbeat = ?, updated = ?, "
                "attempts = attempts + 1 WHERE id = ? AND (state = 'queued' OR "
                "(state = 'running' AND heartbeat < ?))",
                (worker, now, now, pk, now - lease_s),
            )
            if cur.rowcount != 1:
                return None
        return self.get(pk)

    def heartbeat(self, pk: int, worker: str) -> bool:
        """Renew the lease; False when the run is no longer this worker's."""
        with self._tx():
            cur = self._exec(
                "UPDATE runs SET heartbeat = ? WHERE id = ? AND worker = ? AND state = 'running'",
                (time.time(), pk, worker),
            )
            return bool(cur.rowcount == 1)

    def update(self, pk: int, worker: str | None = None, **fields: Any) -> bool:
        """Set ``fields`` (only while ``worker`` owns the run, when given)."""
        names = sorted(fields)
        sql = "UPDATE runs SET " + ", ".join(f"{n} = ?" for n in [*names, "updated"])
        args: list[Any] = [fields[n] for n in names] + [time.time()]
        sql += " WHERE id = ?"
        args.append(pk)
        if worker is not None:
            sql += " AND worker = ? AND state = 'running'"
            args.append(worker)
        with self._tx():
            return bool(self._exec(sql, args).rowcount == 1)

    def running(self) -> list[Run]:
        return [
            Run.model_validate(r) for r in self._all("SELECT * FROM runs WHERE state = 'running'")
        ]

    def expire(self, pk: int, worker: str) -> bool:
        """End ``worker``'s lease on the run now (the worker is known to be dead)."""
        with self._tx():
            cur = self._exec(
                "UPDATE runs SET heartbeat = 0 WHERE id = ? AND worker = ? AND state = 'running'",
                (pk, worker),
            )
            return bool(cur.rowcount == 1)

    def stale(self, lease_s: float) -> list[int]:
        """Runs to (re)start: running with an expired lease, or queued and never picked up."""
        cutoff = time.time() - lease_s
        rows = self._all(
            "SELECT id FROM runs WHERE (state = 'running' AND heartbeat < ?) OR "
            "(state = 'queued' AND updated < ?) ORDER BY id",
            cutoff,
            cutoff,
        )
        return [int(r["id"]) for r in rows]

    def request_cancel(self, repo: str, issue: int) -> Run | None:
        """Mark the issue's active run for cancellation; None when there is none."""
        with self._tx():
            row = self._exec(ACTIVE_RUN, (repo, issue)).fetchone()
            if row is None:
                return None
            self._exec(
                "UPDATE runs SET cancel = 1, updated = ? WHERE id = ?", (time.time(), row["id"])
            )
        return self.get(int(row["id"]))

    def usage_since(self, repo: str, since: float) -> tuple[int, int]:
        """(runs started, tokens spent) for ``repo`` since ``since``."""
        row = self._one(
            "SELECT COUNT(*) AS n, COALESCE(SUM(tokens), 0) AS t FROM runs "
            "WHERE repo = ? AND created >= ? AND state != 'refused'",
            repo,
            since,
        )
        assert row is not None
        return int(row["n"]), int(row["t"])


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}
