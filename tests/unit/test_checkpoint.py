from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from devteam.checkpoint import (
    checkpointer_kind,
    describe_checkpointer,
    open_checkpointer,
    redact,
)
from devteam.config import Settings
from devteam.errors import ConfigError
from tests.guards import require_module


def test_sqlite_is_the_default_and_lives_under_the_state_dir(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    assert settings.checkpointer == "sqlite"
    with open_checkpointer(settings) as saver:
        assert isinstance(saver, SqliteSaver)
        assert saver.get_tuple({"configurable": {"thread_id": "nope"}}) is None
        conn = saver.conn
    assert (tmp_path / "state" / "checkpoints.sqlite").is_file()
    with pytest.raises(sqlite3.ProgrammingError):  # closed on exit
        conn.execute("select 1")
    assert describe_checkpointer(settings).startswith("sqlite:")


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVTEAM_CHECKPOINTER", "postgresql://u@db/devteam")
    assert Settings().checkpointer == "postgresql://u@db/devteam"


@pytest.mark.parametrize(
    "value", ["", "mysql://u:hunter2@h/db", "postgresql:db", "sqlite3", "/tmp/x.sqlite"]
)
def test_an_unknown_checkpointer_is_one_sentence_with_the_accepted_forms(
    tmp_path: Path, value: str
) -> None:
    settings = Settings(state_dir=tmp_path, checkpointer=value)
    with (
        pytest.raises(ConfigError, match=r'use "sqlite" or a PostgreSQL URL') as err,
        open_checkpointer(settings),
    ):
        pass
    assert "hunter2" not in str(err.value)
    assert not (tmp_path / "checkpoints.sqlite").exists()


@pytest.mark.parametrize(
    ("value", "kind"),
    [("sqlite", "sqlite"), (" SQLite ", "sqlite"), ("postgres://h/db", "postgres"),
     ("postgresql://u:p@h:5433/db?sslmode=require", "postgres")],
)  # fmt: skip
def test_accepted_forms(value: str, kind: str) -> None:
    assert checkpointer_kind(value) == kind


def test_redact_hides_only_the_password() -> None:
    assert (
        redact("postgresql://me:s3cret@db.example:5432/x")
        == "postgresql://me:***@db.example:5432/x"
    )
    assert redact("postgresql://me@db/x") == "postgresql://me@db/x"


def test_without_the_postgres_extra_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres", None)  # import fails
    settings = Settings(state_dir=tmp_path, checkpointer="postgresql://u@localhost/db")
    with (
        pytest.raises(ConfigError, match=r"pip install 'devteam\[postgres\]'"),
        open_checkpointer(settings),
    ):
        pass


def test_an_unreachable_server_is_named_without_its_password(tmp_path: Path) -> None:
    require_module("langgraph.checkpoint.postgres", "pip install 'devteam[postgres]'")
    url = "postgresql://devteam:s3cret@127.0.0.1:1/runs"  # port 1: connection refused at once
    settings = Settings(state_dir=tmp_path, checkpointer=url)
    with pytest.raises(ConfigError) as err, open_checkpointer(settings):
        pass
    msg = str(err.value)
    assert "devteam@127.0.0.1:1/runs" in msg and "s3cret" not in msg
    assert "DEVTEAM_CHECKPOINTER" in msg and "\n" not in msg
