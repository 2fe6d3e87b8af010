"""Where a run's LangGraph checkpoints live: a SQLite file (default) or a PostgreSQL server.

``Settings.checkpointer`` picks one: ``"sqlite"`` keeps them in ``state_dir/checkpoints.sqlite``;
a ``postgresql://`` (or ``postgres://``) URL keeps them in that database, so several machines
can resume each other's runs. The PostgreSQL saver needs ``pip install 'devteam[postgres]'``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from langgraph.checkpoint.base import BaseCheckpointSaver

from devteam.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from devteam.config import Settings

POSTGRES_SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10


def checkpointer_kind(value: str) -> str:
    """``"sqlite"`` or ``"postgres"`` for a valid ``Settings.checkpointer``; else ConfigError."""
    spec = value.strip()
    if spec.lower() == "sqlite":
        return "sqlite"
    if urlsplit(spec).scheme.lower() in POSTGRES_SCHEMES and "://" in spec:
        return "postgres"
    raise ConfigError(
        f'Unknown checkpointer {redact(spec)!r}: use "sqlite" or a PostgreSQL URL such as '
        "postgresql://user:password@host:5432/dbname (DEVTEAM_CHECKPOINTER)."
    )


def redact(value: str) -> str:
    """``value`` with any password in a URL replaced by ``***`` (safe for logs and errors)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "<unparsable checkpointer URL>"
    if parts.password is None:
        return value
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def describe_checkpointer(settings: Settings) -> str:
    """A password-free, human-readable name of where the checkpoints go."""
    if checkpointer_kind(settings.checkpointer) == "sqlite":
        return f"sqlite:{settings.checkpoint_db}"
    return redact(settings.checkpointer.strip())


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver[Any]]:
    """Open the checkpointer ``settings.checkpointer`` names, and close it on exit.

    Raises ConfigError for an unknown value, a missing PostgreSQL driver or an unreachable
    server (the message names the server, never its password).
    """
    spec = settings.checkpointer.strip()
    if checkpointer_kind(spec) == "sqlite":
        with _sqlite(settings) as saver:
            yield saver
    else:
        with _postgres(spec) as pg_saver:
            yield pg_saver


@contextmanager
def _sqlite(settings: Settings) -> Iterator[BaseCheckpointSaver[Any]]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    db = settings.checkpoint_db
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(db), check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise CheckpointError(
            f"Cannot open the checkpoint store {db} ({exc}); check the folder's permissions "
            "or set DEVTEAM_STATE_DIR."
        ) from exc
    try:
        conn.execute("PRAGMA schema_version").fetchone()  # reads the header: not a database?
        yield SqliteSaver(conn)
    except sqlite3.DatabaseError as exc:
        raise damaged(db, exc) from exc
    finally:
        conn.close()


def damaged(db: Path, exc: Exception) -> CheckpointError:
    """The sentence for a checkpoint file SQLite cannot read; nothing is deleted."""
    return CheckpointError(
        f"The checkpoint store {db} is damaged ({exc}); move it aside "
        f"(mv {db} {db}.damaged) to start afresh: the runs in it can no longer be resumed, "
        "their workspaces and audit logs stay."
    )


def verify_checkpointer(settings: Settings) -> str:
    """What ``doctor`` says about the checkpoint store; CheckpointError when it is damaged."""
    with open_checkpointer(settings) as saver:
        conn = getattr(saver, "conn", None)
        if isinstance(conn, sqlite3.Connection):
            try:
                rows = conn.execute("PRAGMA quick_check").fetchall()
            except sqlite3.DatabaseError as exc:
                raise damaged(settings.checkpoint_db, exc) from exc
            if rows != [("ok",)]:
                raise damaged(settings.checkpoint_db, ValueError(str(rows[0][0])[:200]))
        return describe_checkpointer(settings)


def has_checkpoint(settings: Settings, thread_id: str) -> bool:
    """Whether a run has a checkpoint to resume from (False when the store cannot tell)."""
    try:
        sqlite = checkpointer_kind(settings.checkpointer) == "sqlite"
        if sqlite and not settings.checkpoint_db.is_file():
            return False
        return last_values(settings, thread_id) is not None
    except Exception:  # a damaged or unreachable store has nothing to resume from
        return False


def last_values(settings: Settings, thread_id: str) -> dict[str, Any] | None:
    """The state a thread's last checkpoint holds, or None when the thread has none.

    Raises what ``open_checkpointer`` raises for a store it cannot open."""
    with open_checkpointer(settings) as saver:
        found = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    return None if found is None else dict(found.checkpoint.get("channel_values") or {})


@contextmanager
def _postgres(url: str) -> Iterator[BaseCheckpointSaver[Any]]:
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.conninfo import conninfo_to_dict
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise ConfigError(
            "The PostgreSQL checkpointer needs extra packages that are not installed; run "
            "pip install 'devteam[postgres]' (or set DEVTEAM_CHECKPOINTER=sqlite)."
        ) from exc

    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(
            f"The checkpointer URL {redact(url)!r} is not a valid PostgreSQL URL "
            f"({_scrub(str(exc), None)}); fix DEVTEAM_CHECKPOINTER."
        ) from exc
    password = str(params["password"]) if params.get("password") else None
    where = _where(params)
    extra: dict[str, Any] = (
        {} if "connect_timeout" in params else {"connect_timeout": CONNECT_TIMEOUT_S}
    )
    try:
        conn = psycopg.Connection.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row, **extra
        )
    except psycopg.Error as exc:
        raise ConfigError(
            f"Cannot connect to the PostgreSQL checkpointer at {where} "
            f"({_scrub(str(exc), password)}); start the server or fix DEVTEAM_CHECKPOINTER."
        ) from exc
    with conn:
        saver = PostgresSaver(conn)
        try:
            saver.setup()
        except psycopg.Error as exc:
            raise ConfigError(
                f"The PostgreSQL server at {where} refused to create the checkpoint tables "
                f"({_scrub(str(exc), password)}); give the user CREATE rights on the database."
            ) from exc
        yield saver


def _where(params: dict[str, Any]) -> str:
    """``user@host:port/dbname`` from libpq parameters, without the password."""
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    user = f"{params['user']}@" if params.get("user") else ""
    db = f"/{params['dbname']}" if params.get("dbname") else ""
    return f"{user}{host}{port}{db}"


def _scrub(message: str, password: str | None) -> str:
    """The first line of a driver error, with the password (if any) masked."""
    line = next((ln.strip() for ln in message.splitlines() if ln.strip()), "unknown error")
    if password:
        line = line.replace(password, "***")
    return line.rstrip(".")
