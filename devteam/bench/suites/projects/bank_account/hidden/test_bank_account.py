import pytest
from account import Account
from errors import InsufficientFundsError, InvalidAmountError


def test_exception_bases():
    assert issubclass(InsufficientFundsError, Exception)
    assert issubclass(InvalidAmountError, ValueError)


def test_new_account():
    a = Account("ann")
    assert a.owner == "ann"
    assert a.balance == 0.0
    assert a.history == []
    assert Account("bob", 10.0).balance == 10.0


def test_negative_opening_balance():
    with pytest.raises(InvalidAmountError):
        Account("ann", -1.0)


def test_deposit_returns_the_new_balance():
    a = Account("ann", 5.0)
    assert a.deposit(10.0) == 15.0
    assert a.balance == 15.0


@pytest.mark.parametrize("amount", [0, -5.0])
def test_deposit_of_a_non_positive_amount(amount):
    a = Account("ann", 5.0)
    with pytest.raises(InvalidAmountError):
        a.deposit(amount)
    assert a.balance == 5.0


def test_withdraw_returns_the_new_balance():
    a = Account("ann", 20.0)
    assert a.withdraw(5.0) == 15.0
    assert a.withdraw(15.0) == 0.0


@pytest.mark.parametrize("amount", [0, -1.0])
def test_withdraw_of_a_non_positive_amount(amount):
    a = Account("ann", 20.0)
    with pytest.raises(InvalidAmountError):
        a.withdraw(amount)


def test_overdraw_raises_and_keeps_the_balance():
    a = Account("ann", 20.0)
    with pytest.raises(InsufficientFundsError):
        a.withdraw(20.5)
    assert a.balance == 20.0
    assert a.history == []


def test_transfer_moves_money_and_records_both_sides():
    a, b = Account("ann", 50.0), Account("bob", 5.0)
    assert a.transfer(b, 20.0) is None
    assert a.balance == 30.0
    assert b.balance == 25.0
    assert a.history == [("transfer_out", 20.0)]
    assert b.history == [("transfer_in", 20.0)]


def test_failed_transfer_changes_nothing():
    a, b = Account("ann", 10.0), Account("bob", 5.0)
    with pytest.raises(InsufficientFundsError):
        a.transfer(b, 11.0)
    with pytest.raises(InvalidAmountError):
        a.transfer(b, 0)
    assert (a.balance, b.balance) == (10.0, 5.0)
    assert a.history == [] and b.history == []


def test_history_is_in_order():
    a = Account("ann")
    a.deposit(10.0)
    a.withdraw(3.0)
    a.deposit(1.5)
    assert a.history == [("deposit", 10.0), ("withdraw", 3.0), ("deposit", 1.5)]
