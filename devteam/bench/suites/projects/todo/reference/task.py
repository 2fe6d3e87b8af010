from dataclasses import dataclass


@dataclass
class Task:
    title: str
    priority: int = 3
    done: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.priority <= 5:
            raise ValueError("priority must be 1..5")
