"""Search/replace edits: exact, tolerant of indentation, never guessed."""

from __future__ import annotations

from devteam.agents.edits import Edit, apply_edit, extract_edits, strip_edits

FILE = "class A:\n    def f(self):\n        return 1\n\n    def g(self):\n        return 2\n"


def test_extract_several_edits_and_strip_them() -> None:
    text = (
        "Here:\nEDIT: a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
        "EDIT: `b/c.py`\n```python\n<<<<<<< SEARCH\ny\n=======\nz\n>>>>>>> REPLACE\n```\n"
        "FILE: d.py\n```python\nw = 0\n```\n"
    )
    edits = extract_edits(text)
    assert [(e.path, e.search, e.replace) for e in edits] == [
        ("a.py", "x = 1", "x = 2"),
        ("b/c.py", "y", "z"),
    ]
    assert "SEARCH" not in strip_edits(text) and "FILE: d.py" in strip_edits(text)


def test_exact_edit_replaces_the_first_occurrence_only() -> None:
    assert apply_edit("a\nb\na\n", Edit(path="p", search="a", replace="c")) == "c\nb\na\n"


def test_edit_with_lost_indentation_keeps_the_files_indent() -> None:
    edit = Edit(path="p", search="def g(self):\n    return 2", replace="def g(self):\n    return 3")
    assert apply_edit(FILE, edit) == FILE.replace("return 2", "return 3")


def test_edit_whose_search_text_is_absent_is_refused() -> None:
    assert apply_edit(FILE, Edit(path="p", search="return 42", replace="x")) is None


def test_empty_search_creates_a_new_file_only() -> None:
    assert apply_edit("", Edit(path="p", search="", replace="x = 1")) == "x = 1\n"
    assert apply_edit("y", Edit(path="p", search="", replace="x = 1")) is None


def test_a_test_file_without_the_import_gets_it_after_docstring_and_future() -> None:
    from devteam.agents.hygiene import ensure_test_imports

    src = (
        '"""Tests."""\nfrom __future__ import annotations\n\n\n'
        "def test_a():\n    assert add(1, 2) == 3\n"
    )
    fixed, added = ensure_test_imports(src, ["calc"])
    assert added == ["calc"]
    assert fixed.splitlines()[2].startswith("from calc import *")
    ns: dict[str, object] = {}
    exec(
        compile(fixed.replace("from calc import *", "add = lambda a, b: a + b  #"), "t", "exec"), ns
    )


def test_a_test_file_that_imports_the_module_is_left_alone() -> None:
    from devteam.agents.hygiene import ensure_test_imports

    for src in ["import calc\n", "from calc import add\n", "from pkg.calc import add\n"]:
        assert ensure_test_imports(src, ["calc", "pkg.calc"]) == (src, [])
    assert ensure_test_imports("def broken(:\n", ["calc"]) == ("def broken(:\n", [])
