from __future__ import annotations

import pytest
from pydantic import BaseModel

from devteam.agents.replies import assign_paths
from devteam.llm.parsing import extract_files, extract_json, parse_model


class Point(BaseModel):
    x: int
    y: int


@pytest.mark.parametrize(
    "text",
    [
        '{"x": 1, "y": 2}',
        'Sure! Here it is:\n```json\n{"x": 1, "y": 2}\n```\nHope it helps.',
        'The answer is {"x": 1, "y": 2} as requested.',
    ],
)
def test_json_is_found_in_chatter_and_fences(text: str) -> None:
    assert parse_model(text, Point) == Point(x=1, y=2)


def test_no_json_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        extract_json("I cannot do that.")


def test_file_names_in_the_forms_small_models_use() -> None:
    text = (
        "FILE: a.py\n```python\nA = 1\n```\n"
        "### pkg/b.py\n```python\nB = 2\n```\n"
        "**c.py**\n```python\nC = 3\n```\n"
        "```python\n# file: d.py\nD = 4\n```\n"
        "`e.py`:\n```python\nE = 5\n```\n"
    )
    blocks = extract_files(text)
    assert [(b.path, b.content) for b in blocks] == [
        ("a.py", "A = 1\n"),
        ("pkg/b.py", "B = 2\n"),
        ("c.py", "C = 3\n"),
        ("d.py", "D = 4\n"),
        ("e.py", "E = 5\n"),
    ]


def test_an_unclosed_last_fence_still_counts() -> None:
    blocks = extract_files("FILE: a.py\n```python\nA = 1\n")
    assert blocks[0].path == "a.py" and blocks[0].content == "A = 1\n"


def test_unnamed_blocks_go_to_the_test_file_and_the_spec_files() -> None:
    blocks = extract_files(
        "```python\ndef f():\n    return 1\n```\n"
        "```python\nfrom m import f\n\ndef test_f():\n    assert f() == 1\n```\n"
        "```bash\npip install pytest\n```\n"
    )
    assert assign_paths(blocks, ["m.py"], "tests/test_m.py") == {
        "m.py": "def f():\n    return 1\n",
        "tests/test_m.py": "from m import f\n\ndef test_f():\n    assert f() == 1\n",
    }


def test_escaping_names_are_kept_as_written_so_the_workspace_can_refuse_them() -> None:
    blocks = extract_files("FILE: ../../etc/x.py\n```python\nX = 1\n```\n")
    assert assign_paths(blocks, ["m.py"], "tests/test_m.py", keep_unsafe=True) == {
        "../../etc/x.py": "X = 1\n"
    }
    assert assign_paths(blocks, ["m.py"], "tests/test_m.py") == {}


def test_an_unclosed_fence_ends_at_the_next_file_line() -> None:
    from devteam.llm.parsing import extract_files

    text = (
        "FILE: errors.py\n```python\nclass E(Exception):\n    pass\n\n"
        "FILE: account.py\n```python\nfrom errors import E\n```\n"
    )
    blocks = extract_files(text)
    assert [(b.path, b.content) for b in blocks] == [
        ("errors.py", "class E(Exception):\n    pass\n"),
        ("account.py", "from errors import E\n"),
    ]
