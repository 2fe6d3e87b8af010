class Item:
    def __init__(self, sku: str, name: str, price: float, quantity: int = 0) -> None:
        if price < 0 or quantity < 0:
            raise ValueError("price and quantity must not be negative")
        self.sku = sku
        self.name = name
        self.price = price
        self.quantity = quantity

    def value(self) -> float:
        return self.price * self.quantity
