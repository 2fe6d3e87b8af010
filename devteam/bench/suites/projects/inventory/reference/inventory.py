from item import Item


class Inventory:
    def __init__(self) -> None:
        self._items: dict[str, Item] = {}

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Item) -> None:
        if item.sku in self._items:
            raise ValueError(f"duplicate sku {item.sku}")
        self._items[item.sku] = item

    def get(self, sku: str) -> Item:
        return self._items[sku]

    def remove(self, sku: str) -> Item:
        return self._items.pop(sku)

    def restock(self, sku: str, amount: int) -> int:
        item = self._items[sku]
        if amount <= 0:
            raise ValueError("amount must be positive")
        item.quantity += amount
        return item.quantity

    def sell(self, sku: str, amount: int) -> float:
        item = self._items[sku]
        if amount <= 0 or amount > item.quantity:
            raise ValueError("invalid amount")
        item.quantity -= amount
        return item.price * amount

    def total_value(self) -> float:
        return float(sum(item.value() for item in self._items.values()))

    def low_stock(self, threshold: int) -> list[str]:
        return sorted(sku for sku, item in self._items.items() if item.quantity < threshold)
