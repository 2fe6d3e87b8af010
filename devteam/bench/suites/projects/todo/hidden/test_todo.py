import dataclasses

import pytest
from task import Task
from todolist import TodoList


def test_task_is_a_dataclass_with_defaults():
    assert dataclasses.is_dataclass(Task)
    t = Task("write")
    assert (t.title, t.priority, t.done) == ("write", 3, False)
    assert Task("a", 1).priority == 1 and Task("b", 5).priority == 5


@pytest.mark.parametrize("priority", [0, 6, -1])
def test_task_priority_range(priority):
    with pytest.raises(ValueError):
        Task("bad", priority)


def test_add_returns_the_task():
    todo = TodoList()
    t = todo.add("shop", 2)
    assert isinstance(t, Task)
    assert (t.title, t.priority, t.done) == ("shop", 2, False)
    assert todo.add("cook").priority == 3
    assert len(todo) == 2


@pytest.mark.parametrize("title", ["", "   "])
def test_blank_titles(title):
    with pytest.raises(ValueError):
        TodoList().add(title)


def test_duplicate_title_and_bad_priority():
    todo = TodoList()
    todo.add("shop")
    with pytest.raises(ValueError):
        todo.add("shop", 1)
    with pytest.raises(ValueError):
        todo.add("other", 9)
    assert len(todo) == 1


def test_pending_order_is_priority_then_insertion():
    todo = TodoList()
    for title, prio in [("c", 3), ("a", 1), ("d", 3), ("b", 2), ("e", 1)]:
        todo.add(title, prio)
    assert [t.title for t in todo.pending()] == ["a", "e", "b", "c", "d"]


def test_complete_and_done():
    todo = TodoList()
    for title in ["x", "y", "z"]:
        todo.add(title)
    todo.complete("z")
    todo.complete("x")
    assert [t.title for t in todo.done()] == ["x", "z"]
    assert [t.title for t in todo.pending()] == ["y"]
    with pytest.raises(KeyError):
        todo.complete("nope")


def test_remove_done():
    todo = TodoList()
    for title in ["x", "y", "z"]:
        todo.add(title)
    todo.complete("y")
    todo.complete("z")
    assert todo.remove_done() == 2
    assert len(todo) == 1
    assert todo.remove_done() == 0
    assert [t.title for t in todo.pending()] == ["x"]
