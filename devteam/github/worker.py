"""The durable queue (huey on SQLite: no server; or on PostgreSQL for a fleet) and the
worker loop.

Two tasks travel on the queue: ``trigger`` (a delivery's candidate trigger) and ``run`` (a run
of the ledger to execute). huey hands a task to one consumer and forgets it, so a worker that
dies mid-job would lose it: the ledger is what recovers it. Each worker sweeps the ledger every
``lease_s / 3`` seconds and queues again any run whose lease ran out (its worker died) or that
was never picked up; ``Ledger.claim`` lets only one worker have it, and the team run resumes
from its checkpoint.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from huey import SqliteHuey
from huey.api import Huey

from devteam.config import Settings
from devteam.errors import ConfigError
from devteam.github.api import GitHubAPI
from devteam.github.job import BotContext, TeamFactory, default_team, execute, handle_trigger
from devteam.github.ledger import Ledger
from devteam.github.settings import BotSettings
from devteam.github.triggers import Trigger

log = logging.getLogger("devteam.bot")


def _dead_here(worker: str) -> bool:
    """True when ``worker`` (host:pid:nonce) ran on this machine and its process is gone."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def make_huey(bot: BotSettings) -> Huey:
    """huey on SQLite (one machine, no server) or on PostgreSQL (a fleet: ``FOR UPDATE SKIP
    LOCKED`` hands each task to one worker)."""
    if is_postgres(bot.queue):
        try:
            from huey.contrib.sql_huey import SqlHuey
            from peewee import PostgresqlDatabase
        except ImportError:
            raise ConfigError(
                "A PostgreSQL queue needs peewee and psycopg; pip install 'devteam[fleet]'."
            ) from None
        from peewee import IntegrityError

        # Workers that start together race to create the queue's tables: PostgreSQL's CREATE
        # TABLE IF NOT EXISTS can still fail on its catalogue's unique index for all but one.
        # The one that lost finds the tables made when it tries again.
        for attempt in range(3):
            try:
                # libpq takes a whole URL where a database name goes
                database = PostgresqlDatabase(bot.queue)
                return SqlHuey(name="devteam-bot", database=database, results=False)
            except IntegrityError:
                if attempt == 2:
                    raise
                time.sleep(0.5)
    if bot.queue not in ("sqlite", "immediate"):
        raise ConfigError(
            f'bot.queue {bot.queue!r} is not supported; use "sqlite" or a postgresql:// URL.'
        )
    bot.state_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        name="devteam-bot",
        filename=str(bot.state_dir / "queue.sqlite"),
        immediate=bot.queue == "immediate",
        results=False,
        utc=True,
    )


class Bot:
    """The receiver's queue and the workers' loop, over one ledger and one huey queue."""

    def __init__(
        self,
        settings: Settings,
        bot: BotSettings,
        *,
        team: TeamFactory = default_team,
        transport: Any = None,
        worker: str | None = None,
    ) -> None:
        self.bot = bot
        self.ledger = Ledger(
            bot.queue if is_postgres(bot.queue) else bot.state_dir / "ledger.sqlite"
        )
        self.huey = make_huey(bot)

        def api(installation_id: int | None) -> GitHubAPI:
            return GitHubAPI(bot, installation_id=installation_id, transport=transport)

        self.ctx = BotContext(
            settings=settings,
            bot=bot,
            ledger=self.ledger,
            api=api,
            team=team,
            worker=worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
        )

        # A trigger whose checks fail (GitHub down past githubkit's own retries) is tried
        # again later; a run is never retried by huey: the ledger's sweep does that.
        @self.huey.task(name="devteam.trigger", retries=3, retry_delay=bot.retry_delay_s)
        def trigger_task(data: dict[str, Any]) -> None:
            run = handle_trigger(self.ctx, Trigger.model_validate(data))
            if run is not None:
                execute(self.ctx, run.id)

        @self.huey.task(name="devteam.run")
        def run_task(pk: int) -> None:
            execute(self.ctx, pk)

        self._trigger_task = trigger_task
        self._run_task = run_task
        self._requeued: dict[int, float] = {}

    def enqueue(self, trigger: Trigger) -> None:
        """Put a trigger on the durable queue (the receiver's ``enqueue``)."""
        self._trigger_task(trigger.model_dump())

    def sweep(self) -> list[int]:
        """Queue tasks whose retry time has come, and again the runs whose worker died or
        that were never picked up."""
        for task in self.huey.read_schedule():
            self.huey.enqueue(task)
        for run in self.ledger.running():  # a dead worker of this machine: no need to wait
            if run.worker and _dead_here(run.worker) and self.ledger.expire(run.id, run.worker):
                log.info("run %d: its worker %s is dead; taking it over", run.id, run.worker)
        now = time.time()
        again = []
        for pk in self.ledger.stale(self.bot.lease_s):
            if now - self._requeued.get(pk, 0.0) >= self.bot.lease_s:
                self._requeued[pk] = now
                self._run_task(pk)
                again.append(pk)
        if again:
            log.info("runs %s queued again (lease ran out or never started)", again)
        return again

    def work(self, stop: threading.Event, threads: int | None = None) -> None:
        """Run queued tasks on ``threads`` threads and sweep the ledger, until ``stop``."""

        def loop() -> None:
            while not stop.is_set():
                task = self.huey.dequeue()
                if task is None:
                    stop.wait(0.2)
                    continue
                try:
                    self.huey.execute(task)
                except Exception:  # logged; the ledger's sweep retries the run
                    log.exception("task %s failed", task.name)

        pool = [
            threading.Thread(target=loop, name=f"bot-worker-{i}", daemon=True)
            for i in range(threads or self.bot.workers)
        ]
        for t in pool:
            t.start()
        self.sweep()
        while not stop.wait(max(0.2, min(self.bot.lease_s, self.bot.retry_delay_s) / 3)):
            self.sweep()
        for t in pool:
            t.join(timeout=5)

    def close(self) -> None:
        self.ledger.close()
