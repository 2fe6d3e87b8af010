"""The bot's own ledger (SQLite): deliveries seen, and runs (one active run per issue).

Whatever the queue promises, this is what makes the bot idempotent: a delivery id is recorded
once (a replay finds it), a run is opened only when no other run of the same issue is queued
or running (a unique partial index decides, atomically), and a run is claimed by one worker at
a time under a lease that its worker renews; a run whose lease ran out is taken over.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

RunState = Literal["queued", "running", "done", "failed", "cancelled", "refused"]
ACTIVE = ("queued", "running")
ACTIVE_RUN = "SELECT * FROM runs WHERE repo = ? AND issue = ? AND state IN ('queued', 'running')"

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY, event TEXT NOT NULL, received REAL NOT NULL, outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repo TEXT NOT NULL, issue INTEGER NOT NULL, trigger TEXT NOT NULL, sender TEXT NOT NULL,
  installation INTEGER,
  state TEXT NOT NULL, run_id TEXT, comment_id INTEGER, pr_number INTEGER,
  worker TEXT, heartbeat REAL, attempts INTEGER NOT NULL DEFAULT 0,
  cancel INTEGER NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0, outcome TEXT,
  created REAL NOT NULL, updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_run ON runs(repo, issue)
  WHERE state IN ('queued', 'running');
"""


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
    """Deliveries and runs in one SQLite file, safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- deliveries ----------------------------------------------------------------------
    def record_delivery(self, delivery: str, event: str) -> bool:
        """True the first time ``delivery`` is seen; False for a replay."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO deliveries (id, event, received, outcome) "
                "VALUES (?, ?, ?, 'received')",
                (delivery, event, time.time()),
            )
            return cur.rowcount == 1

    def set_outcome(self, delivery: str, outcome: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE deliveries SET outcome = ? WHERE id = ?", (outcome, delivery))

    def delivery_outcome(self, delivery: str) -> str | None:
        row = self._one("SELECT outcome FROM deliveries WHERE id = ?", delivery)
        return row["outcome"] if row else None

    # -- runs ----------------------------------------------------------------------------
    def open_run(
        self, repo: str, issue: int, trigger: str, sender: str, installation: int | None = None
    ) -> tuple[Run, bool]:
        """The issue's new run (True), or the one already queued or running (False)."""
        now = time.time()
        with self._tx() as db:
            active = db.execute(
                ACTIVE_RUN,
                (repo, issue),
            ).fetchone()
            if active is not None:
                return Run.model_validate(dict(active)), False
            cur = db.execute(
                "INSERT INTO runs (repo, issue, trigger, sender, installation, state, created, "
                "updated) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
                (repo, issue, trigger, sender, installation, now, now),
            )
            pk = cur.lastrowid
        run = self.get(int(pk or 0))
        assert run is not None
        return run, True

    def get(self, pk: int) -> Run | None:
        row = self._one("SELECT * FROM runs WHERE id = ?", pk)
        return Run.model_validate(dict(row)) if row else None

    def runs(self, repo: str | None = None, issue: int | None = None) -> list[Run]:
        sql = "SELECT * FROM runs WHERE 1=1"
        args: list[Any] = []
        if repo is not None:
            sql, args = sql + " AND repo = ?", [*args, repo]
        if issue is not None:
            sql, args = sql + " AND issue = ?", [*args, issue]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [Run.model_validate(dict(r)) for r in rows]

    def claim(self, pk: int, worker: str, lease_s: float) -> Run | None:
        """Make ``worker`` the run's owner if it is queued or its owner's lease ran out."""
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
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
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "UPDATE runs SET heartbeat = ? WHERE id = ? AND worker = ? AND state = 'running'",
                (now, pk, worker),
            )
            return cur.rowcount == 1

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
        with self._tx() as db:
            return db.execute(sql, args).rowcount == 1

    def stale(self, lease_s: float) -> list[int]:
        """Runs to (re)start: running with an expired lease, or queued and never picked up."""
        cutoff = time.time() - lease_s
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM runs WHERE (state = 'running' AND heartbeat < ?) OR "
                "(state = 'queued' AND updated < ?) ORDER BY id",
                (cutoff, cutoff),
            ).fetchall()
        return [r["id"] for r in rows]

    def request_cancel(self, repo: str, issue: int) -> Run | None:
        """Mark the issue's active run for cancellation; None when there is none."""
        with self._tx() as db:
            row = db.execute(
                ACTIVE_RUN,
                (repo, issue),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE runs SET cancel = 1, updated = ? WHERE id = ?", (time.time(), row["id"])
            )
        return self.get(row["id"])

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

    def _one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row
