import pytest
from inventory import Inventory
from item import Item


def make():
    inv = Inventory()
    inv.add(Item("b2", "bolt", 0.5, 100))
    inv.add(Item("a1", "anvil", 40.0, 2))
    inv.add(Item("c3", "chain", 7.25, 0))
    return inv


def test_item_attributes_and_value():
    item = Item("x9", "widget", 2.5, 4)
    assert (item.sku, item.name, item.price, item.quantity) == ("x9", "widget", 2.5, 4)
    assert item.value() == 10.0
    assert Item("y", "thing", 3.0).quantity == 0


@pytest.mark.parametrize("price,quantity", [(-1.0, 1), (1.0, -1)])
def test_item_rejects_negatives(price, quantity):
    with pytest.raises(ValueError):
        Item("x", "bad", price, quantity)


def test_add_get_and_len():
    inv = make()
    assert len(inv) == 3
    assert inv.get("a1").name == "anvil"
    assert len(Inventory()) == 0


def test_duplicate_sku():
    inv = make()
    with pytest.raises(ValueError):
        inv.add(Item("a1", "another anvil", 1.0, 1))
    assert len(inv) == 3


def test_unknown_sku_is_a_key_error():
    inv = make()
    with pytest.raises(KeyError):
        inv.get("zz")
    with pytest.raises(KeyError):
        inv.remove("zz")
    with pytest.raises(KeyError):
        inv.restock("zz", 1)
    with pytest.raises(KeyError):
        inv.sell("zz", 1)


def test_remove_returns_the_item():
    inv = make()
    item = inv.remove("b2")
    assert item.sku == "b2"
    assert len(inv) == 2


def test_restock():
    inv = make()
    assert inv.restock("c3", 5) == 5
    assert inv.get("c3").quantity == 5
    with pytest.raises(ValueError):
        inv.restock("c3", 0)


def test_sell():
    inv = make()
    assert inv.sell("b2", 10) == 5.0
    assert inv.get("b2").quantity == 90


@pytest.mark.parametrize("amount", [0, -2, 3])
def test_bad_sale_changes_nothing(amount):
    inv = make()
    with pytest.raises(ValueError):
        inv.sell("a1", amount)
    assert inv.get("a1").quantity == 2


def test_total_value():
    assert make().total_value() == 130.0
    assert Inventory().total_value() == 0.0


def test_low_stock_is_sorted():
    inv = make()
    assert inv.low_stock(3) == ["a1", "c3"]
    assert inv.low_stock(0) == []
    assert inv.low_stock(1000) == ["a1", "b2", "c3"]
