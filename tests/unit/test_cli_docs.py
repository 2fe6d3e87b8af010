"""Every command's --help has an example; docs/CLI.md's exit-status tables match the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from devteam import cli
from devteam.cli_sandbox import EXIT_INTERRUPTED
from devteam.exit_codes import MEANING, ExitCode, markdown_table
from devteam.sandbox.base import EXIT_OOM, EXIT_SANDBOX_ERROR, EXIT_TIMEOUT

DOC = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under ``group`` (typer's groups have ``commands``)."""
    found: list[tuple[str, ...]] = [prefix] if prefix else []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


COMMANDS = _commands(typer.main.get_group(cli.app))


def test_the_walk_finds_every_module_s_commands() -> None:
    names = {" ".join(c) for c in COMMANDS}
    expected = {
        "run", "resume", "runs", "show", "doctor", "version",
        "sandbox", "sandbox exec", "sandbox build", "sandbox prune", "sandbox status",
        "models", "models list", "models fetch", "models verify", "models path",
        "bench", "bench run", "bench compare", "bench merge", "bench tasks", "bench ceiling",
        "bot", "bot serve", "bot worker", "bot poll", "bot runs",
    }  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_s_help_shows_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli.app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    examples = re.findall(r"Example: (devteam [^\n│]*)", result.output)
    assert examples, f"devteam {' '.join(path)} --help has no example:\n{result.output}"
    # the example runs the command it documents
    assert examples[0].split()[1 : 1 + len(path)] == list(path), examples[0]


def test_docs_cli_holds_the_exit_code_table_of_the_code() -> None:
    text = DOC.read_text()
    block = text.split("<!-- exit-codes: generated from devteam/exit_codes.py -->\n")[1]
    block = block.split("<!-- end exit-codes -->")[0]
    assert block == markdown_table()
    assert set(MEANING) == set(ExitCode)


def test_docs_cli_documents_the_sandbox_exec_statuses() -> None:
    section = DOC.read_text().split("### `devteam sandbox exec`")[1]
    for code in (EXIT_TIMEOUT, EXIT_SANDBOX_ERROR, EXIT_OOM, EXIT_INTERRUPTED):
        assert re.search(rf"^\| {code} \|", section, flags=re.MULTILINE), code
