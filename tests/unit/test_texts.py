"""Model-visible text no role owns comes from prompts/feedback.yaml, rendered exactly."""

from __future__ import annotations

import pytest

from devteam.errors import ConfigError
from devteam.roles import texts


def test_a_text_renders_its_variables_and_keeps_their_whitespace() -> None:
    assert texts.text("new_file", path="m.py", content="x = 1\n") == "+++ m.py (new file)\nx = 1\n"
    assert texts.text("diff_cut", chars=12).count("12") == 1
    assert "\n" not in texts.text("timed_out")  # one line, added after the output


def test_a_missing_variable_or_text_is_an_error_not_a_blank() -> None:
    with pytest.raises(ConfigError, match="'error' is undefined"):
        texts.text("json_repair")
    with pytest.raises(ConfigError, match="no text 'nope'"):
        texts.text("nope")
