"""Output capping and pytest failure parsing (no Docker)."""

from __future__ import annotations

import tracemalloc

from devteam.sandbox.output import CUT_MARKER, CappedBuffer, cap_output, parse_failing_tests


def test_short_output_untouched() -> None:
    text, cut = cap_output("hello\n", 100)
    assert (text, cut) == ("hello\n", False)


def test_exact_limit_untouched() -> None:
    text, cut = cap_output(b"x" * 100, 100)
    assert text == "x" * 100 and not cut


def test_long_output_keeps_head_and_tail_and_counts_the_cut() -> None:
    data = b"H" * 50 + b"M" * 1000 + b"T" * 50
    text, cut = cap_output(data, 100)
    assert cut
    assert text.startswith("H" * 50)
    assert text.endswith("T" * 50)
    assert CUT_MARKER.format(n=1000) in text


def test_streamed_chunks_equal_one_shot() -> None:
    data = bytes(range(256)) * 400
    one = CappedBuffer(1000)
    one.feed(data)
    many = CappedBuffer(1000)
    for i in range(0, len(data), 7):
        many.feed(data[i : i + 7])
    assert one.getvalue() == many.getvalue()
    assert many.total == len(data) and many.cut == len(data) - 1000


def test_odd_limit_and_tiny_limit() -> None:
    buf = CappedBuffer(1)
    buf.feed(b"abc")
    assert buf.getvalue().startswith(b"a") and buf.cut == 2
    buf = CappedBuffer(3)
    buf.feed(b"abcdefg")
    assert buf.getvalue().startswith(b"ab") and buf.getvalue().endswith(b"g")


def test_memory_bounded_for_100mb() -> None:
    buf = CappedBuffer(16_000)
    chunk = b"y" * 65536
    tracemalloc.start()
    for _ in range(100 * 1024 * 1024 // len(chunk)):
        buf.feed(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert buf.total == 100 * 1024 * 1024
    assert peak < 1_000_000


def test_invalid_utf8_cut_midway_is_replaced() -> None:
    # 200 bytes of two-byte characters: the head keeps 6 bytes, the tail 5 (half a character)
    text, cut = cap_output("é" * 100, 11)
    assert cut is True
    assert text == "ééé" + CUT_MARKER.format(n=189) + "\ufffdéé"
    # an odd head ends in half a character: replaced, never an exception
    text, _ = cap_output("é" * 100, 13)
    assert text.startswith("ééé\ufffd" + CUT_MARKER.format(n=187)) and text.endswith("ééé")


PYTEST_OUT = """\
============================= test session starts ==============================
collected 5 items

tests/test_a.py .F.                                                      [ 60%]
tests/test_b.py FE                                                       [100%]

=================================== FAILURES ===================================
___________________________________ test_two ___________________________________
E       assert 1 == 2
=========================== short test summary info ============================
FAILED tests/test_a.py::test_two - assert 1 == 2
FAILED tests/test_b.py::test_param[1-2] - ValueError: bad - really
ERROR tests/test_b.py::test_fixture - RuntimeError: boom
==================== 2 failed, 2 passed, 1 error in 0.12s =====================
"""


def test_parse_summary_lines() -> None:
    assert parse_failing_tests(PYTEST_OUT) == [
        "tests/test_a.py::test_two",
        "tests/test_b.py::test_param[1-2]",
        "tests/test_b.py::test_fixture",
    ]


def test_parse_verbose_and_collection_errors_dedup() -> None:
    out = (
        "tests/test_c.py::test_x FAILED                                 [ 50%]\n"
        "tests/test_c.py::test_y PASSED                                 [100%]\n"
        "==================================== ERRORS ====================================\n"
        "______________________ ERROR collecting tests/test_d.py _______________________\n"
        "FAILED tests/test_c.py::test_x - assert False\n"
        "ERROR tests/test_d.py\n"
    )
    assert parse_failing_tests(out) == ["tests/test_c.py::test_x", "tests/test_d.py"]


def test_parse_ignores_colors_and_plain_text() -> None:
    out = "\x1b[31mFAILED\x1b[0m t.py::test_z - x\nAll good, nothing FAILED here\n"
    assert parse_failing_tests(out) == ["t.py::test_z"]
    assert parse_failing_tests("") == []
