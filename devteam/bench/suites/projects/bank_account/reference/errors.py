class InsufficientFundsError(Exception):
    pass


class InvalidAmountError(ValueError):
    pass
