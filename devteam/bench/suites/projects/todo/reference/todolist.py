from task import Task


class TodoList:
    def __init__(self) -> None:
        self._tasks: list[Task] = []

    def __len__(self) -> int:
        return len(self._tasks)

    def add(self, title: str, priority: int = 3) -> Task:
        if not title.strip():
            raise ValueError("empty title")
        if any(t.title == title for t in self._tasks):
            raise ValueError(f"duplicate title {title!r}")
        task = Task(title, priority)
        self._tasks.append(task)
        return task

    def complete(self, title: str) -> None:
        for task in self._tasks:
            if task.title == title:
                task.done = True
                return
        raise KeyError(title)

    def pending(self) -> list[Task]:
        return sorted((t for t in self._tasks if not t.done), key=lambda t: t.priority)

    def done(self) -> list[Task]:
        return [t for t in self._tasks if t.done]

    def remove_done(self) -> int:
        before = len(self._tasks)
        self._tasks = [t for t in self._tasks if not t.done]
        return before - len(self._tasks)
