"""Fuzzing: random text, random bytes and truncations never raise anything but the project's
own errors (the reply parser: ValueError, which the repair step handles; the config loader:
ConfigError)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from devteam.agents.state import Spec
from devteam.config import load_settings
from devteam.errors import ConfigError
from devteam.llm.parsing import extract_files, extract_json, parse_model
from tests.badinput.fake_openai import SPEC, TESTS

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REPLY = "Here is the spec:\n```json\n" + json.dumps(SPEC, indent=2) + "\n```\nDone."
FILES = "Sure.\n" + TESTS + "FILE: adder.py\n```python\ndef add(a, b):\n    return a + b\n```\n"


def parse_or_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_model(text, Spec)


@FUZZ
@given(st.text())
@example("[" * 100_000)
@example("{" + '"a":' * 50_000)
@example("```json\n" + "[" * 50_000 + "\n```")
def test_the_reply_parser_raises_only_value_errors_on_any_text(text: str) -> None:
    parse_or_value_error(text)
    assert isinstance(extract_files(text), list)


@FUZZ
@given(st.integers(min_value=0, max_value=len(REPLY)), st.sampled_from([REPLY, FILES]))
def test_the_reply_parser_survives_every_truncation(cut: int, reply: str) -> None:
    parse_or_value_error(reply[:cut])
    for block in extract_files(reply[:cut]):
        assert block.content.endswith("\n")


def test_a_whole_reply_still_parses() -> None:
    assert parse_model(REPLY, Spec).files == ["adder.py"]  # type: ignore[attr-defined]
    assert {b.path for b in extract_files(FILES)} == {"tests/test_adder.py", "adder.py"}
    with pytest.raises(ValueError, match="nested too deeply"):
        extract_json('{"a": ' * 50_000 + "1" + "}" * 50_000)


VALID_TOML = (
    'team = "solo"\nbase_url = "http://127.0.0.1:8000/v1"\n[budget]\nmax_run_tokens = 5000\n'
    'max_wall_s = 60\n[sandbox]\nmemory = "1g"\ncpus = 2.0\nenv = {A = "b"}\n'
)


def load_from(tmp_path: Path, data: bytes) -> None:
    cfg = tmp_path / "devteam.toml"
    cfg.write_bytes(data)
    old = {k: v for k, v in os.environ.items() if k.startswith("DEVTEAM_")}
    for key in old:
        del os.environ[key]
    os.environ["DEVTEAM_CONFIG"] = str(cfg)
    try:
        load_settings()
    except ConfigError as exc:
        assert "\n" not in str(exc).strip()
    finally:
        del os.environ["DEVTEAM_CONFIG"]
        os.environ.update(old)


@FUZZ
@given(st.binary(max_size=400))
def test_the_config_loader_raises_only_config_errors_on_any_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    load_from(tmp_path_factory.mktemp("cfg"), data)


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID_TOML)), st.binary(max_size=3))
def test_the_config_loader_survives_truncation_and_garbage(
    tmp_path_factory: pytest.TempPathFactory, cut: int, junk: bytes
) -> None:
    load_from(tmp_path_factory.mktemp("cfg"), VALID_TOML.encode()[:cut] + junk)


@FUZZ
@given(
    st.sampled_from(
        [
            "DEVTEAM_BUDGET__MAX_RUN_TOKENS",
            "DEVTEAM_SANDBOX__MEMORY",
            "DEVTEAM_TEMPERATURE",
            "DEVTEAM_SANDBOX__ENV",
            "DEVTEAM_SANDBOX",
            "DEVTEAM_STRUCTURED_OUTPUT",
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=30
    ),
)
def test_any_environment_value_is_a_setting_or_one_sentence(name: str, value: str) -> None:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        load_settings()
    except ConfigError as exc:
        assert "\n" not in str(exc).strip()
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old
