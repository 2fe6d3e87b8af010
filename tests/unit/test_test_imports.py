"""The tester's imports, repaired against the modules of candidate 0 (wiring, never
behaviour): unit cases, and the evidence loop on a two-file project with no example (also
where a test every candidate breaks on still drives a repair)."""

from __future__ import annotations

from pathlib import Path

from devteam.agents.test_imports import fix_test_imports, module_name
from tests.unit.test_evidence import events, roles, run

SOURCES = {
    "item.py": "class Item:\n    def __init__(self, sku):\n        self.sku = sku\n",
    "inventory.py": (
        "from item import Item\n\n\nclass Inventory:\n    def __init__(self):\n"
        "        self.items = {}\n\n    def __len__(self):\n        return len(self.items)\n"
    ),
}


def test_a_name_imported_from_the_wrong_module_is_imported_from_its_home() -> None:
    test = "import pytest\nfrom item import Item, Inventory\n\n\ndef test_a():\n    Inventory()\n"
    fixed, repairs = fix_test_imports(test, SOURCES)
    assert "from item import Item\nfrom inventory import Inventory\n" in fixed
    assert repairs == ["Inventory from inventory, not item"]
    compile(fixed, "t.py", "exec")


def test_a_name_a_module_imports_stays_where_the_tester_put_it() -> None:
    # inventory.py binds Item by importing it, so `from inventory import Item` works as is
    test = "from inventory import Item, Inventory\n\n\ndef test_a():\n    Item('a')\n"
    assert fix_test_imports(test, SOURCES) == (test, [])


def test_names_used_and_never_bound_are_imported_from_their_home_or_the_library() -> None:
    test = (
        '"""Tests."""\nfrom item import Item\n\n\ndef test_a():\n'
        "    with pytest.raises(KeyError):\n        Inventory().get('x')\n"
        "    assert math.isclose(1.0, 1.0)\n"
    )
    fixed, repairs = fix_test_imports(test, SOURCES)
    head = fixed.splitlines()[:4]
    assert head == [
        '"""Tests."""',
        "import math",
        "import pytest",
        "from inventory import Inventory",
    ]
    assert repairs == ["imported math", "imported pytest", "imported Inventory from inventory"]


def test_nothing_is_guessed() -> None:
    two_homes = {**SOURCES, "other.py": "class Inventory:\n    pass\n"}
    test = "from item import Inventory\n\n\ndef test_a():\n    assert helper(Inventory)\n"
    # Inventory is defined in two modules, helper in none: both stay as written
    assert fix_test_imports(test, two_homes) == (test, [])
    # a module that does not parse tells nothing; neither does a test file that does not
    assert fix_test_imports(test, {"item.py": "def (:\n"}) == (test, [])
    assert fix_test_imports("def (:\n", SOURCES) == ("def (:\n", [])
    # a star import from outside the project may bind anything
    star = "from os.path import *\n\n\ndef test_a():\n    assert Inventory\n"
    assert fix_test_imports(star, SOURCES) == (star, [])
    # but `from pytest import *` never binds `pytest` itself; nothing else is added
    star = "from pytest import *\n\n\n@pytest.mark.x\ndef test_a():\n    assert Inventory\n"
    fixed, repairs = fix_test_imports(star, SOURCES)
    assert repairs == ["imported pytest"] and "import pytest\n" in fixed
    assert "from inventory import" not in fixed


def test_bound_names_are_not_imported() -> None:
    test = (
        "from item import *\n\n\ndef test_a(tmp_path):\n    Inventory = dict\n"
        "    for k in [1]:\n        assert Item(k) and Inventory\n"
        "    try:\n        pass\n    except ValueError as err:\n        print(err)\n"
    )
    assert fix_test_imports(test, SOURCES) == (test, [])


def test_an_import_inside_a_test_keeps_its_indent() -> None:
    test = "def test_a():\n    from item import Inventory\n    assert Inventory\n"
    fixed, _ = fix_test_imports(test, SOURCES)
    assert "    from inventory import Inventory\n" in fixed


def test_module_names() -> None:
    assert module_name("pkg/mod.py") == "pkg.mod"
    assert module_name("pkg/__init__.py") == "pkg"
    assert module_name("item.py") == "item"


TASK = """Write an inventory library as two Python files, item.py and inventory.py.

item.py defines `class Item` with `Item(sku: str)` storing sku.
inventory.py defines `class Inventory` and imports Item with `from item import Item`:
`Inventory()` starts empty and `len(inventory)` is the number of items in it.
"""
CODE = "\n".join(f"FILE: {path}\n```python\n{src}```\n" for path, src in SOURCES.items())
WIRED_WRONG = """FILE: tests/test_item.py
```python
from item import Item, Inventory


def test_starts_empty():
    assert len(Inventory()) == 0


def test_item_keeps_its_sku():
    with pytest.raises(TypeError):
        Item()
    assert Item("a").sku == "a"
```
"""


def test_the_loop_runs_a_wrongly_wired_test_file_instead_of_asking_again(tmp_path: Path) -> None:
    result, model = run(
        tmp_path,
        TASK,
        {"coder": [CODE], "tester": [WIRED_WRONG]},
        samples=0,
        repairs=0,
        plan="never",
        review="never",
    )
    assert roles(model) == ["coder", "tester"], roles(model)  # not sent back to the tester
    notes = [e.text for e in events(result, "note")]
    assert any("Inventory from inventory, not item" in n and "imported pytest" in n for n in notes)
    tests = (result.workspace / "tests/test_item.py").read_text()
    assert "from inventory import Inventory" in tests and "import pytest" in tests
    assert result.tests_passed is True and result.status == "passed", result.reason


def test_a_spec_from_the_request_holds_the_files_it_names_and_no_other() -> None:
    from devteam.agents.ceo import normalise_spec, spec_from_request

    # each file is named more than once; no default main.py may be added to them
    spec = normalise_spec(spec_from_request(TASK), TASK)
    assert spec.files == ["item.py", "inventory.py"]


NO_LEN = CODE.replace("    def __len__(self):\n        return len(self.items)\n", "")
LEN_TESTS = """FILE: tests/test_item.py
```python
from inventory import Inventory


def test_starts_empty():
    assert len(Inventory()) == 0
```
"""


def test_a_test_every_candidate_breaks_on_drives_a_repair_where_no_example_anchors(
    tmp_path: Path,
) -> None:
    # both candidates lack __len__, so the test loses its vote; the TypeError still counts
    result, model = run(
        tmp_path,
        TASK,
        {"coder": [NO_LEN, NO_LEN, CODE], "tester": [LEN_TESTS]},
        samples=1,
        sample_rounds=1,
        parallel=1,
        plan="never",
        review="never",
    )
    assert roles(model) == ["coder", "tester", "coder", "coder"], roles(model)
    reasons = [e.reason for e in events(result, "decision")]
    assert "repair on hard evidence (1)" in reasons
    (repair_call,) = [m for r, m in model.calls[3:4]]
    assert "TypeError" in str(repair_call) and "has no len()" in str(repair_call)
    assert "__len__" in (result.workspace / "inventory.py").read_text()  # the repair is kept
