"""The event bus: a broken console is skipped, a broken audit log is never silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from devteam.errors import AuditLogError, DevteamError
from devteam.events import EventBus, JsonlSink, Note, _Event, read_audit_log


def test_a_failing_console_is_skipped_and_the_audit_log_still_written(tmp_path: Path) -> None:
    seen: list[_Event] = []

    def broken_console(event: _Event) -> None:
        raise RuntimeError("terminal gone")

    log = tmp_path / "runs" / "r1" / "audit.jsonl"
    bus = EventBus("r1", [broken_console, JsonlSink(log), seen.append])
    bus.emit(Note(text="hello"))
    assert [e.text for e in read_audit_log(log)] == ["hello"]  # type: ignore[union-attr]
    assert len(seen) == 1 and seen[0].run_id == "r1"


def test_a_full_disk_under_the_audit_log_is_raised_after_every_sink_had_the_event() -> None:
    seen: list[_Event] = []
    bus = EventBus("r1", [JsonlSink(Path("/dev/full")), seen.append])  # every write: ENOSPC
    with pytest.raises(AuditLogError) as caught:
        bus.emit(Note(text="hello"))
    assert isinstance(caught.value, DevteamError)
    message = str(caught.value)
    assert "audit log /dev/full" in message and "free disk space" in message
    assert len(seen) == 1  # the console still saw it


def test_an_audit_log_that_cannot_be_opened_is_raised(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    log.mkdir()  # a folder where the file should be
    with pytest.raises(AuditLogError, match="Could not write the audit log"):
        EventBus("r1", [JsonlSink(log)]).emit(Note(text="hello"))


def test_an_audit_log_folder_that_cannot_be_made_is_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(AuditLogError, match="fix the folder's permissions"):
        JsonlSink(blocker / "r1" / "audit.jsonl")


def test_a_run_whose_audit_log_cannot_be_written_stops_with_that_error(tmp_path: Path) -> None:
    from devteam.config import Settings
    from devteam.llm.scripted import ScriptedModel
    from devteam.sandbox.fake import FakeSandbox
    from devteam.team import Team

    settings = Settings(workspace_root=tmp_path / "ws", state_dir=tmp_path / "state")
    (settings.run_dir("r1") / "audit.jsonl").mkdir(parents=True)
    team = Team(settings, model=ScriptedModel([]), sandbox=FakeSandbox([]))
    with pytest.raises(AuditLogError, match=r"audit\.jsonl"):
        team.run("Write a Python module m.py with add(a, b)", run_id="r1")
