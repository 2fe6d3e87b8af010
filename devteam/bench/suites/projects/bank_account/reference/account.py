from __future__ import annotations

from errors import InsufficientFundsError, InvalidAmountError


class Account:
    def __init__(self, owner: str, balance: float = 0.0) -> None:
        if balance < 0:
            raise InvalidAmountError("opening balance must not be negative")
        self.owner = owner
        self.balance = balance
        self.history: list[tuple[str, float]] = []

    def _check(self, amount: float) -> None:
        if amount <= 0:
            raise InvalidAmountError("amount must be positive")

    def deposit(self, amount: float) -> float:
        self._check(amount)
        self.balance += amount
        self.history.append(("deposit", amount))
        return self.balance

    def withdraw(self, amount: float) -> float:
        self._check(amount)
        if amount > self.balance:
            raise InsufficientFundsError("not enough money")
        self.balance -= amount
        self.history.append(("withdraw", amount))
        return self.balance

    def transfer(self, target: Account, amount: float) -> None:
        self._check(amount)
        if amount > self.balance:
            raise InsufficientFundsError("not enough money")
        self.balance -= amount
        target.balance += amount
        self.history.append(("transfer_out", amount))
        target.history.append(("transfer_in", amount))
